"""Replaying a partition's gap from Kafka into its restored state (records re-scored, never
re-written), and pointing a scoring at one partition's scorer. Used by
:mod:`connector.checkpoint` when the state is older than the committed offset.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from confluent_kafka import KafkaError

from connector.errors import ConnectorError
from connector.partition_state import PartitionState
from connector.records import SourceRecord

__all__ = ["Replay", "kafka_replay", "point_scoring", "read_range"]

# What the runner treats as a bad record (its prepare errors): skipped on replay.
_REJECTS = (ConnectorError, ValueError, TypeError, KeyError, AttributeError)
#: replay(topic, partition, start, end, state) -> records replayed
Replay = Callable[[str, int, int, int, PartitionState], int]


def point_scoring(scoring: Any, state: PartitionState | None) -> None:
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
        point_scoring(scoring, state)
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
            point_scoring(scoring, None)
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
