"""A commit that failed (the coordinator restarting) is made again once the source is idle,
for the partitions it still owns; a later commit supersedes it (plain values, no broker)."""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException, TopicPartition

from connector.sources.kafka import KafkaSource


class _Consumer:
    """A consumer stand-in whose first commit fails."""

    def __init__(self, owned):
        self.owned = owned
        self.commits: list[dict] = []
        self.failures = 1

    def commit(self, offsets, asynchronous):
        if self.failures:
            self.failures -= 1
            raise KafkaException(KafkaError(KafkaError.COORDINATOR_NOT_AVAILABLE))
        self.commits.append({(tp.topic, tp.partition): tp.offset for tp in offsets})
        return offsets

    def consume(self, n, timeout):
        return []

    def assignment(self):
        return [TopicPartition(t, p) for t, p in self.owned]

    def close(self):
        pass


def _source(owned):
    source = KafkaSource(["t"], {"bootstrap.servers": "127.0.0.1:1", "group.id": "g"})
    source._consumer.close()
    source._consumer = _Consumer(owned)
    return source


def test_a_failed_commit_is_made_again_when_idle_for_owned_partitions_only():
    source = _source([("t", 0)])
    source.commit({("t", 0): 50, ("t", 1): 70})  # fails; t/1 is no longer ours by then
    assert source._consumer.commits == []
    assert source.consume() == []
    assert source._consumer.commits == [{("t", 0): 50}]
    assert source.consume() == [] and len(source._consumer.commits) == 1  # done once


def test_a_later_commit_supersedes_the_failed_one():
    source = _source([("t", 0)])
    source.commit({("t", 0): 50})
    source.commit({("t", 0): 80})
    source.consume()
    assert source._consumer.commits == [{("t", 0): 80}]


class _Group(_Consumer):
    """Also a group member: keeps the rebalance callbacks, knows committed offsets."""

    def __init__(self, owned, committed):
        super().__init__(owned)
        self.failures = 0
        self.offsets = committed
        self.callbacks = {}

    def subscribe(self, topics, **callbacks):
        self.callbacks = callbacks

    def committed(self, partitions, timeout):
        return [TopicPartition(p.topic, p.partition, self.offsets.get((p.topic, p.partition),
                                                                       -1001)) for p in partitions]

    def assign(self, partitions):
        self.assigned = [(p.topic, p.partition, p.offset) for p in partitions]


def test_resuming_ahead_of_the_commit_commits_the_resume_point_when_idle():
    source = _source([("t", 0), ("t", 1)])
    group = source._consumer = _Group([("t", 0), ("t", 1)], {("t", 0): 40, ("t", 1): 10})
    # the checkpointer's plan: t/0 resumes at its state (ahead), t/1 at its commit
    source.on_rebalance(lambda tps, committed, wm: {("t", 0): 55, ("t", 1): 10},
                        lambda tps: None, lambda tps: None)
    group.callbacks["on_assign"](group, [TopicPartition("t", 0), TopicPartition("t", 1)])
    assert group.assigned == [("t", 0, 55), ("t", 1, 10)]
    source.consume()
    assert group.commits == [{("t", 0): 55}]
