"""Checkpoints: flush sinks -> snapshot per-partition state -> commit offsets, and the way back.

Lifecycle (the runner calls one method per event):

- **assign** (:meth:`Checkpointer.assign`): for every newly assigned partition, read its
  state from the :class:`~connector.state_store.StateStore` and decide where to resume
  (:func:`plan_resume`). State *newer* than the committed offset wins: its documents were
  flushed before it was written, so we resume at the state's offset. State *older* than the
  committed offset is rolled forward by replaying the gap (records are re-scored, never
  re-written). No state: a fresh model, or with ``warm_start`` a model trained on the
  partition's history before the first live record.
- **commit** (:meth:`Checkpointer.commit`): always in this order: flush the sinks (raises on
  failure, and then nothing below happens), snapshot the partitions that are due, commit the
  offsets. Snapshots are bounded by :class:`SnapshotPolicy` (every N seconds or N records),
  so between two snapshots the committed offset runs ahead of the state; the replay on
  restore covers exactly that gap.
- **revoke** (:meth:`Checkpointer.revoke`): the same order, with a snapshot forced for the
  revoked partitions, then their in-memory state is dropped; the next owner restores it.

State is one :class:`PartitionState` per assigned partition (a scorer and, for windowed
pipelines, a window aggregator): keys map to partitions, so per-key order and per-key models
follow the partition. The blob is versioned (:func:`encode_state`).
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError

from connector.errors import ConnectorError
from connector.records import SourceRecord
from connector.state_store import (
    FORMAT_NAME,
    StateStore,
    StateStoreError,
    decode_state,
    encode_state,
)

__all__ = [
    "Checkpointer",
    "PartitionState",
    "Resume",
    "SnapshotPolicy",
    "StateFactory",
    "kafka_replay",
    "build_checkpointer",
    "by_partition",
    "plan_resume",
    "read_range",
]

logger = logging.getLogger(__name__)

TP = tuple[str, int]
# What the runner treats as a bad record (its prepare errors): skipped on replay.
_REJECTS = (ConnectorError, ValueError, TypeError, KeyError, AttributeError)


@dataclass(frozen=True, slots=True)
class SnapshotPolicy:
    """When a partition's state is snapshotted: after ``every_seconds`` or ``every_records``.

    Examples
    --------
    >>> p = SnapshotPolicy(every_seconds=10, every_records=1000)
    >>> p.due(elapsed=3.0, records=10), p.due(elapsed=11.0, records=1), p.due(3.0, 1000)
    (False, True, True)
    >>> p.due(elapsed=99.0, records=0)
    False
    """

    every_seconds: float = 10.0
    every_records: int = 100_000

    def due(self, elapsed: float, records: int) -> bool:
        return records > 0 and (elapsed >= self.every_seconds or records >= self.every_records)


@dataclass(frozen=True, slots=True)
class Resume:
    """Where a partition resumes: ``start`` (``None`` = the consumer's reset policy), and the
    ``[replay_from, replay_to)`` range to re-score first (empty when equal)."""

    start: int | None
    replay_from: int = 0
    replay_to: int = 0


def plan_resume(
    stored: int | None,
    committed: int | None,
    *,
    warm_start: bool = False,
    low: int = 0,
    high: int = 0,
) -> Resume:
    """Decide where a newly assigned partition resumes, from its state and committed offsets.

    Parameters
    ----------
    stored
        Next offset the stored state has not seen, or ``None`` (no state).
    committed
        The group's committed offset, or ``None`` (none yet).
    warm_start
        With no state and no committed offset, train on history ``[low, high)`` and go live
        at ``high`` (without it, start where ``auto.offset.reset`` says, with a fresh model).
    low, high
        The partition's watermarks.

    No state but a committed offset means the state was lost before its first snapshot (or
    checkpoints were just turned on): it is rebuilt from the start of the retained log.

    Examples
    --------
    >>> plan_resume(500, 400)            # state ahead of the commit: its docs were flushed
    Resume(start=500, replay_from=0, replay_to=0)
    >>> plan_resume(300, 400)            # state behind: replay the gap, then go live
    Resume(start=400, replay_from=300, replay_to=400)
    >>> plan_resume(None, 400, low=10)   # state never stored: rebuild from the log's start
    Resume(start=400, replay_from=10, replay_to=400)
    >>> plan_resume(None, None)
    Resume(start=None, replay_from=0, replay_to=0)
    >>> plan_resume(None, None, warm_start=True, low=10, high=900)
    Resume(start=900, replay_from=10, replay_to=900)
    """
    if stored is not None:
        if committed is None or stored >= committed:
            return Resume(stored)
        return Resume(committed, stored, committed)
    if committed is not None:
        return Resume(committed, min(low, committed), committed)
    if warm_start:
        return Resume(high, min(low, high), high)
    return Resume(None)


@dataclass(frozen=True, slots=True)
class StateFactory:
    """How to build a fresh partition state, and how to restore one from snapshot parts.

    ``new_transform`` builds the record preparation (its stateful features, such as running
    means per key, are part of the state); ``new_windows``/``restore_windows`` are set for
    windowed pipelines only.
    """

    new_scorer: Callable[[], Any]
    restore_scorer: Callable[[bytes], Any]
    new_transform: Callable[[], Any] | None = None
    new_windows: Callable[[], Any] | None = None
    restore_windows: Callable[[bytes], Any] | None = None

    def fresh(self) -> PartitionState:
        transform = self.new_transform() if self.new_transform is not None else None
        windows = self.new_windows() if self.new_windows is not None else None
        return PartitionState(self.new_scorer(), transform, windows)

    def restore(self, blob: bytes) -> PartitionState:
        offset, parts = decode_state(blob)
        st = self.fresh()
        st.scorer = self.restore_scorer(parts["scorer"])
        if st.transform is not None and parts.get("transform"):
            st.transform.restore(json.loads(parts["transform"]))
        if self.restore_windows is not None and parts.get("windows"):
            st.windows = self.restore_windows(parts["windows"])
        st.offset = st.stored_offset = offset
        return st


@dataclass(slots=True)
class PartitionState:
    """The model state of one partition: ``offset`` is the next offset not folded into it.

    ``pending`` is set while a scored batch is not yet committed: such a state is ahead of
    its offset and must not be snapshotted (an abandoned batch would be learned twice).
    """

    scorer: Any
    transform: Any = None
    windows: Any = None
    offset: int | None = None
    stored_offset: int | None = None
    records: int = 0  # folded in since the last snapshot
    since: float = field(default_factory=time.monotonic)
    pending: bool = False

    def advance(self, next_offset: int) -> None:
        """Note that records up to ``next_offset - 1`` are folded into the state."""
        if self.offset is None or next_offset > self.offset:
            self.records += next_offset - self.offset if self.offset is not None else 1
            self.offset = next_offset
        self.pending = False

    def snapshot(self) -> bytes:
        parts = {"scorer": self.scorer.snapshot()}
        if self.transform is not None:
            parts["transform"] = json.dumps(self.transform.snapshot()).encode()
        if self.windows is not None:
            parts["windows"] = self.windows.snapshot()
        return encode_state(self.offset if self.offset is not None else 0, parts)


@dataclass(slots=True)
class CheckpointStats:
    """Figures for the bench and the logs (sums; divide by the counts)."""

    snapshots: int = 0
    snapshot_bytes: int = 0
    snapshot_seconds: float = 0.0
    restores: int = 0
    restore_seconds: float = 0.0
    replayed: int = 0
    replay_seconds: float = 0.0


#: ``replay(topic, partition, start, end, state) -> records``: re-score ``[start, end)``
#: into ``state`` without writing any document.
Replay = Callable[[str, int, int, int, PartitionState], int]


class Checkpointer:
    """Per-partition states, their snapshots and their restores (see the module docstring).

    Parameters
    ----------
    store
        Where snapshots go (:class:`~connector.state_store.StateStore`).
    factory
        Builds fresh states and restores stored ones.
    policy
        When a partition is snapshotted on :meth:`commit`.
    replay
        Re-scores a gap of a partition into its state (:func:`kafka_replay`); without it,
        gaps are skipped (the state then lags, and scores differ from an uninterrupted run).
    warm_start
        Train a partition with no state on its history before going live.
    grouped
        ``True`` with a consumer group: only assigned partitions keep state (records of a
        partition revoked meanwhile are scored by a throwaway state that is never stored).
        ``False`` for a file source: states are made on first use.
    restore_timeout
        Seconds :meth:`assign` keeps retrying an unreachable state store before raising.
    """

    def __init__(
        self,
        store: StateStore,
        factory: StateFactory,
        policy: SnapshotPolicy | None = None,
        *,
        replay: Replay | None = None,
        warm_start: bool = False,
        grouped: bool = True,
        restore_timeout: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.factory = factory
        self.policy = policy or SnapshotPolicy()
        self.replay = replay
        self.warm_start = warm_start
        self.grouped = grouped
        self.restore_timeout = restore_timeout
        self.clock = clock
        self.states: dict[TP, PartitionState] = {}
        self.stats = CheckpointStats()
        self._scored: dict[TP, PartitionState] = {}  # the states that scored the open batch
        self._assigned = False  # a first assignment is a start, the next ones rebalances

    def state(self, topic: str, partition: int) -> PartitionState:
        """The state of a partition (see ``grouped`` for partitions that are not assigned)."""
        st = self.states.get((topic, partition))
        if st is None:
            st = self.factory.fresh()
            if not self.grouped:
                self.states[(topic, partition)] = st
        return st

    def _get(self, tp: TP) -> Any:
        delay, deadline = 0.5, self.clock() + self.restore_timeout
        while True:
            try:
                return self.store.get(*tp)
            except StateStoreError as exc:
                if self.clock() + delay > deadline:
                    raise
                logger.warning("state restore failed topic=%s partition=%s retry_in=%.1fs "
                               "error=%s", tp[0], tp[1], delay, exc)
                time.sleep(delay)
                delay = min(delay * 2, 10.0)

    def assign(
        self,
        partitions: Iterable[TP],
        committed: Mapping[TP, int | None],
        watermarks: Callable[[str, int], tuple[int, int]] | None = None,
    ) -> dict[TP, int | None]:
        """Restore state for new partitions, replay gaps; returns where each one resumes.

        **Blocks** on the state store (retried up to ``restore_timeout``) and on the replay
        (bounded by the snapshot policy; by the history's length with ``warm_start``).
        """
        starts: dict[TP, int | None] = {}
        event = "rebalance" if self._assigned else "start"
        self._assigned = True
        for tp in partitions:
            began = self.clock()
            stored = self._get(tp)
            st = self.factory.restore(stored.blob) if stored else self.factory.fresh()
            low = high = 0
            if stored is None and watermarks is not None and (
                    self.warm_start or committed.get(tp) is not None):
                low, high = watermarks(*tp)
            plan = plan_resume(stored.offset if stored else None, committed.get(tp),
                               warm_start=self.warm_start, low=low, high=high)
            restored = self.clock()
            if plan.replay_to > plan.replay_from and self.replay is not None:
                self.stats.replayed += self.replay(*tp, plan.replay_from, plan.replay_to, st)
                st.offset = plan.replay_to
                self.stats.replay_seconds += self.clock() - restored
            st.since, st.records = self.clock(), 0
            self.states[tp] = st
            self.stats.restores += 1
            self.stats.restore_seconds += restored - began
            starts[tp] = plan.start
            logger.info(
                "partition assigned event=%s topic=%s partition=%s state_offset=%s committed=%s "
                "start=%s replayed=%s restore_s=%.3f total_s=%.3f", event, tp[0], tp[1],
                stored.offset if stored else None, committed.get(tp), plan.start,
                plan.replay_to - plan.replay_from, restored - began, self.clock() - began,
            )
        return starts

    def commit(
        self,
        flush: Callable[[], Any],
        commit_offsets: Callable[[Mapping[TP, int]], Any],
        offsets: Mapping[TP, int],
        *,
        force: Iterable[TP] = (),
    ) -> None:
        """Flush sinks, snapshot due (or ``force``\\ d) partitions, then commit ``offsets``.

        ``offsets`` (next offset per partition) are also what the states now cover: every
        record below them was scored (or rejected) before this call.
        """
        flush()
        scored, self._scored = self._scored, {}
        for tp, offset in offsets.items():
            st = self.states.get(tp)
            # A rebalance during the batch (while a write was retried) may have replaced the
            # state that scored it: the new one resumes at its own offset and relearns.
            if st is not None and (tp not in scored or scored[tp] is st):
                st.advance(offset)
        self.snapshot(force=force)
        commit_offsets(offsets)

    def snapshot(self, *, force: Iterable[TP] = ()) -> int:
        """Store the state of every partition that is due (or forced); returns how many."""
        forced, now, done = set(force), self.clock(), 0
        for tp, st in self.states.items():
            if st.offset is None or st.offset == st.stored_offset or st.pending:
                continue
            # never stored: snapshot at the first commit, so a crash rarely replays from zero
            due = st.stored_offset is None or self.policy.due(now - st.since, st.records)
            if tp not in forced and not due:
                continue
            began = self.clock()
            blob = st.snapshot()
            try:
                self.store.put(tp[0], tp[1], st.offset, blob, FORMAT_NAME)
            except StateStoreError as exc:
                # Safe to go on: the stored state only lags, and the next restore replays
                # the gap. The offsets are still committed (their documents are written).
                logger.warning("state snapshot failed topic=%s partition=%s offset=%s "
                               "error=%s", tp[0], tp[1], st.offset, exc)
                continue
            self.stats.snapshots += 1
            self.stats.snapshot_bytes += len(blob)
            self.stats.snapshot_seconds += self.clock() - began
            st.stored_offset, st.records, st.since = st.offset, 0, self.clock()
            done += 1
        return done

    def revoke(self, partitions: Iterable[TP]) -> None:
        """Snapshot revoked partitions (forced) and forget them.

        The runner commits every batch after flushing it, so by the time a rebalance runs
        (inside the consumer's poll) everything scored is flushed and committed.
        """
        revoked = [tp for tp in partitions if tp in self.states]
        try:
            self.snapshot(force=revoked)
        finally:
            for tp in revoked:
                self.states.pop(tp, None)

    def lose(self, partitions: Iterable[TP]) -> None:
        """Forget partitions taken away without a revoke (session lost): no snapshot."""
        for tp in partitions:
            self.states.pop(tp, None)


def by_partition(
    checkpointer: Checkpointer, scoring: Any, records: list[SourceRecord]
) -> Iterator[tuple[Any, Any, list[SourceRecord]]]:
    """Split a batch by partition: ``(transform, scoring, records)`` per partition, in order.

    ``scoring`` (a :class:`connector.scoring.Scoring`) is pointed at the partition's scorer
    for the time its slice is processed, so consume each item before asking for the next.
    The partition's state is marked ``pending`` until :meth:`Checkpointer.commit` covers it.
    """
    groups: dict[TP, list[SourceRecord]] = defaultdict(list)
    for rec in records:
        groups[(rec.topic, rec.partition)].append(rec)
    for tp, part in groups.items():
        st = checkpointer.state(*tp)
        st.pending = True
        checkpointer._scored[tp] = st
        _point(scoring, st)
        yield st.transform, scoring, part


def _point(scoring: Any, state: PartitionState | None) -> None:
    """Aim a (windowed) scoring at a partition's scorer and windows (``None``: at nothing)."""
    scoring.scorer = state.scorer if state is not None else None
    if hasattr(scoring, "aggregator"):
        scoring.aggregator = state.windows if state is not None else None


def kafka_replay(settings: Mapping[str, Any], transform: Any, scoring: Any,
                 rejects: tuple[type[BaseException], ...] = _REJECTS) -> Replay:
    """A :data:`Replay` reading the gap from Kafka and scoring it into the state's scorer.

    Records that fail ``transform.prepare`` were dead-lettered on their first pass: they are
    skipped. The documents built are dropped (they were written before the commit).
    """

    def replay(topic: str, partition: int, start: int, end: int, state: PartitionState) -> int:
        n = 0
        _point(scoring, state)
        prepare = (state.transform or transform).prepare
        try:
            for batch in read_range(settings, topic, partition, start, end):
                prepared, kept = [], []
                for rec in batch:
                    try:
                        if rec.value is None:
                            continue
                        prepared.append(prepare(rec.value))
                        kept.append(rec)
                    except rejects:
                        continue
                scoring.documents(prepared, kept)
                n += len(batch)
        finally:
            _point(scoring, None)
        return n

    return replay


def read_range(
    settings: Mapping[str, Any], topic: str, partition: int, start: int, end: int,
    *, batch_size: int = 2000, stall_timeout: float = 60.0,
) -> Iterator[list[SourceRecord]]:
    """Batches of the records ``[start, end)`` of one partition, from a group-less consumer.

    ``settings`` are the pipeline's librdkafka settings (the group is replaced by a throwaway
    one and nothing is committed). **Blocks**; raises ``ConnectorError`` when no record comes
    for ``stall_timeout`` seconds before ``end`` is reached (records below ``end`` that were
    compacted or deleted are simply absent).
    """
    from confluent_kafka import Consumer, TopicPartition

    conf = {k: v for k, v in settings.items() if not k.startswith(("group.", "enable.auto"))}
    conf.update({"group.id": f"outlier-replay-{topic}-{partition}", "enable.auto.commit": False,
                 "enable.partition.eof": True})
    consumer = Consumer(conf)
    try:
        consumer.assign([TopicPartition(topic, partition, start)])
        position, last = start, time.monotonic()
        while position < end:
            batch = []
            for msg in consumer.consume(batch_size, 1.0):
                if msg.error() is not None:
                    if msg.error().code() == KafkaError._PARTITION_EOF:
                        position = max(position, msg.offset())
                        continue
                    raise ConnectorError(f"replay {topic}[{partition}]: {msg.error()}")
                position = msg.offset() + 1
                if msg.offset() < end:
                    batch.append(SourceRecord(topic, partition, msg.offset(), msg.value(),
                                              msg.key(), msg.headers()))
            if batch:
                last = time.monotonic()
                yield batch
            elif time.monotonic() - last > stall_timeout:
                raise ConnectorError(
                    f"replay {topic}[{partition}] stalled at offset={position} end={end}")
    finally:
        consumer.close()


def build_checkpointer(
    cfg: Any, store: StateStore | None = None, *, policy: SnapshotPolicy | None = None,
    warm_start: bool = False,
) -> Checkpointer:
    """A :class:`Checkpointer` for a loaded pipeline: per partition, a scorer and a transform
    built from the same config (``detectors.build_scorer``, ``build_transform``); state in
    the pipeline's OpenSearch (``outlier-connector-state``), gaps replayed from its Kafka."""
    import detectors
    from connector.features.windows import WindowAggregator
    from connector.scoring import Scoring, WindowedScoring
    from connector.transform import build_transform

    windowed = cfg.window is not None
    features = list(cfg.features_names)
    factory = StateFactory(
        new_scorer=lambda: Scoring.from_config(cfg).scorer,
        restore_scorer=detectors.restore_scorer,
        new_transform=lambda: build_transform(cfg),
        new_windows=(lambda: WindowAggregator(cfg.window, features)) if windowed else None,
        restore_windows=(lambda b: WindowAggregator.restore(b, cfg.window)) if windowed else None,
    )
    grouped = cfg.source.kind == "kafka"
    group = cfg.source.group_id or f"outliers-{cfg.name}"
    if store is None:
        kwargs = {"timeout": 30, **dict(cfg.output.opensearch)}
        store = StateStore(kwargs, f"{group}/{cfg.name}")
    replay = None
    if grouped:
        from connector.sources.kafka import consumer_settings

        scoring = WindowedScoring(None, cfg.name, None) if windowed else Scoring(None, cfg.name)
        replay = kafka_replay(consumer_settings(cfg.source.kafka, group), build_transform(cfg),
                              scoring)
    return Checkpointer(store, factory, policy, replay=replay, warm_start=warm_start,
                        grouped=grouped)
