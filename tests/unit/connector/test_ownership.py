"""A partition revoked while its batch is in flight gets neither outputs nor a commit from
that batch (its new owner replays it); the other partitions of the batch get both."""

from __future__ import annotations

from connector.errors import RecordRejected
from connector.records import Document, SourceRecord
from connector.runner import Runner
from connector.sinks.opensearch import BulkOutcome


class _Source:
    """A consumer stand-in: one batch, rebalance callbacks kept for the test to call."""

    def __init__(self, records):
        self.batches = [records]
        self.committed: list[dict] = []
        self.callbacks = None

    def on_rebalance(self, assigned, revoked, lost):
        self.callbacks = (assigned, revoked, lost)

    def consume(self):
        return self.batches.pop() if self.batches else []

    def commit(self, offsets):
        self.committed.append(dict(offsets))

    def close(self):
        pass


class _Transform:
    def prepare(self, value):
        if value == b"bad":
            raise RecordRejected("bad")
        return value


class _Scoring:
    def documents(self, prepared, records):
        return [Document(f"d{r.offset}", "", "{}", r) for r in records], []

    def hold(self):
        return {}


class _Sink:
    """Buffers documents; the flush runs the rebalance that revokes partition 1."""

    def __init__(self, on_flush):
        self.docs, self.on_flush = [], on_flush

    def add(self, docs):
        self.docs += docs

    def flush(self):
        self.on_flush()
        n, self.docs = len(self.docs), []
        return BulkOutcome(indexed=n)


class _Errors:
    fences = object()  # a fenced sink: the runner installs rebalance callbacks

    def __init__(self):
        self.letters: list = []
        self._pending: list = []

    def assigned(self, tps):
        pass

    def add(self, rejection):
        self._pending.append(rejection.record.position)

    def __len__(self):
        return len(self._pending)

    def flush(self):
        self.letters += self._pending
        self._pending = []


def test_a_partition_revoked_during_its_batch_is_left_to_its_new_owner():
    records = [SourceRecord("t", p, o, b"bad" if o == 1 else b"ok")
               for p in (0, 1) for o in range(3)]
    source = _Source(records)
    errors = _Errors()
    sink = _Sink(lambda: source.callbacks[1]([("t", 1)]))  # revoked while writing
    runner = Runner(source, _Transform(), _Scoring(), sink, errors)
    source.callbacks[0]([("t", 0), ("t", 1)], {}, None)  # the group assigned both

    runner.run(max_records=len(records))

    assert errors.letters == [("t", 0, 1)]  # partition 1's dead letter is its new owner's
    assert source.committed == [{("t", 0): 3}]
    assert runner.stats.records == 6


def test_without_a_rebalance_every_partition_is_dead_lettered_and_committed():
    records = [SourceRecord("t", p, o, b"bad" if o == 1 else b"ok")
               for p in (0, 1) for o in range(3)]
    source = _Source(records)
    errors = _Errors()
    runner = Runner(source, _Transform(), _Scoring(), _Sink(lambda: None), errors)
    source.callbacks[0]([("t", 0), ("t", 1)], {}, None)

    runner.run(max_records=len(records))

    assert sorted(errors.letters) == [("t", 0, 1), ("t", 1, 1)]
    assert source.committed == [{("t", 0): 3, ("t", 1): 3}]
