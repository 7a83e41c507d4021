"""Kafka source: a confluent-kafka consumer that reads in batches and commits explicitly.

Lifecycle: ``KafkaSource(...)`` subscribes; :meth:`KafkaSource.consume` returns up to
``batch_size`` records (**blocks** up to ``poll_timeout`` seconds when nothing is waiting);
the runner commits a batch with :meth:`KafkaSource.commit` only after every document of the
batch was acknowledged; :meth:`KafkaSource.close` leaves the group. Offsets are never
auto-committed nor auto-stored (``enable.auto.commit=False``, ``enable.auto.offset.store=False``):
what is committed is exactly what the runner hands to :meth:`commit`.

While the runner waits for OpenSearch it :meth:`pause`\\ s the assigned partitions and keeps
calling :meth:`consume` (which then returns nothing), so the consumer stays in its group
(``max.poll.interval.ms``) without fetching records it could not write.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from connector.errors import ConnectorError
from connector.records import Position, SourceRecord

__all__ = ["KafkaSource", "cap_offsets", "consumer_settings", "next_offsets"]

logger = logging.getLogger(__name__)

# Settings the at-least-once contract depends on: the user's block cannot turn them off.
_FORCED = {"enable.auto.commit": False, "enable.auto.offset.store": False}


def consumer_settings(kafka: Mapping[str, object], group_id: str | None) -> dict[str, object]:
    """librdkafka settings for the consumer: the pipeline's block verbatim, plus our invariants.

    Examples
    --------
    >>> s = consumer_settings({"bootstrap.servers": "b:9092", "enable.auto.commit": True}, "g")
    >>> s["enable.auto.commit"], s["group.id"], s["auto.offset.reset"]
    (False, 'g', 'earliest')
    """
    settings = dict(kafka)
    for key, value in _FORCED.items():
        if key in settings and settings[key] != value:
            logger.warning("kafka setting overridden key=%s value=%s", key, value)
    settings.update(_FORCED)
    if group_id is not None:
        settings["group.id"] = group_id
    settings.setdefault("auto.offset.reset", "earliest")
    return settings


def next_offsets(positions: Iterable[Position]) -> dict[tuple[str, int], int]:
    """Offsets to commit for processed positions: per partition, highest offset + 1.

    Examples
    --------
    >>> next_offsets([("t", 0, 4), ("t", 1, 9), ("t", 0, 6), ("t", 0, 5)])
    {('t', 0): 7, ('t', 1): 10}
    """
    result: dict[tuple[str, int], int] = {}
    for topic, partition, offset in positions:
        tp = (topic, partition)
        if offset + 1 > result.get(tp, -1):
            result[tp] = offset + 1
    return result


def cap_offsets(offsets: dict[tuple[str, int], int], hold: dict[tuple[str, int], int]
            ) -> dict[tuple[str, int], int]:
    """Offsets to commit, kept at or below what open windows still hold.

    Examples
    --------
    >>> cap_offsets({("t", 0): 50, ("t", 1): 9}, {("t", 0): 41})
    {('t', 0): 41, ('t', 1): 9}
    """
    return {tp: min(o, hold.get(tp, o)) for tp, o in offsets.items()}


class KafkaSource:
    """Batches of records from a consumer group, with explicit commits.

    Parameters
    ----------
    topics
        Topics to subscribe to.
    settings
        librdkafka settings, passed verbatim to ``Consumer`` (see :func:`consumer_settings`).
    batch_size
        Most records returned by one :meth:`consume`.
    poll_timeout
        Seconds one :meth:`consume` blocks when no record is waiting.
    """

    def __init__(
        self,
        topics: list[str],
        settings: Mapping[str, object],
        *,
        batch_size: int = 2000,
        poll_timeout: float = 0.5,
    ) -> None:
        self.topics = list(topics)
        self.batch_size = batch_size
        self.poll_timeout = poll_timeout
        self._consumer = Consumer(dict(settings))
        #: when the group last handed this member its partitions (``None``: not yet); an
        #: idle timeout counts from here, not from the start of the wait for the group
        self.assigned_at: float | None = None
        self._consumer.subscribe(self.topics, on_assign=self._note_assignment)
        self._paused: list[TopicPartition] = []
        self._warned: dict[int, float] = {}
        # offsets whose commit failed (a broker restart): committed again when idle, so the
        # last batches before a quiet spell do not stay uncommitted until the next record
        self._uncommitted: dict[tuple[str, int], int] = {}

    def consume(self) -> list[SourceRecord]:
        """Up to ``batch_size`` records; **blocks** up to ``poll_timeout`` s when idle."""
        messages = self._consumer.consume(self.batch_size, self.poll_timeout)
        if not messages and self._uncommitted:
            self._commit_again()
        records = []
        append = records.append
        for msg in messages:
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    continue
                if err.fatal():
                    raise ConnectorError(f"kafka consume failed: {err}")
                self._warn(msg.topic(), err)
                continue
            append(
                SourceRecord(
                    msg.topic(), msg.partition(), msg.offset(), msg.value(), msg.key(),
                    msg.headers(),
                )
            )
        return records

    def _warn(self, topic: str | None, err: KafkaError) -> None:
        # A missing topic is reported on every poll until it exists: say it once a minute.
        now = time.monotonic()
        if now - self._warned.get(err.code(), -60.0) >= 60.0:
            self._warned[err.code()] = now
            logger.warning("kafka consume error topic=%s error=%s", topic, err.str())

    def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        """Commit ``{(topic, partition): next_offset}`` synchronously (**blocks**)."""
        if not offsets:
            return
        tps = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
        for tp in offsets:
            self._uncommitted.pop(tp, None)  # superseded by this commit
        try:
            result = self._consumer.commit(offsets=tps, asynchronous=False)
        except KafkaException as exc:
            # A rebalance took the partition away: the new owner replays from the last
            # commit, and deterministic ids make that replay harmless. Otherwise (the
            # coordinator is restarting) the commit is tried again when idle.
            logger.warning("kafka commit failed offsets=%s error=%s", offsets, exc)
            self._uncommitted.update(offsets)
            return
        for tp in result or []:
            if tp.error is not None:
                logger.warning(
                    "kafka commit failed topic=%s partition=%s offset=%s error=%s",
                    tp.topic, tp.partition, tp.offset, tp.error,
                )
                self._uncommitted[(tp.topic, tp.partition)] = tp.offset

    def _commit_again(self) -> None:
        """Commit again what failed, for the partitions still assigned (**blocks**)."""
        owned = {(tp.topic, tp.partition) for tp in self._consumer.assignment()}
        pending = {tp: o for tp, o in self._uncommitted.items() if tp in owned}
        self._uncommitted = {}
        if pending:
            logger.info("kafka commit retried offsets=%s", pending)
            self.commit(pending)

    def committed(self, timeout: float = 10.0) -> dict[tuple[str, int], int]:
        """Committed offsets of the current assignment (``-1001`` when none)."""
        tps = self._consumer.committed(self._consumer.assignment(), timeout=timeout)
        return {(tp.topic, tp.partition): tp.offset for tp in tps}

    def pause(self) -> None:
        """Stop fetching from every assigned partition (kept until :meth:`resume`)."""
        self._paused = self._consumer.assignment()
        if self._paused:
            self._consumer.pause(self._paused)

    def resume(self) -> None:
        """Fetch again from the partitions paused by :meth:`pause`."""
        if self._paused:
            try:
                self._consumer.resume(self._paused)
            except KafkaException as exc:  # partitions revoked meanwhile
                logger.warning("kafka resume failed error=%s", exc)
        self._paused = []

    def idle(self, seconds: float, interrupt: threading.Event | None = None
             ) -> list[SourceRecord]:
        """Keep polling for ``seconds`` while paused (**blocks**), to stay in the group;
        returns early (within one ``poll_timeout``) once ``interrupt`` is set.

        Returns records that arrived anyway (from partitions assigned during the pause): the
        caller must process them later, not drop them.
        """
        deadline = time.monotonic() + seconds
        held: list[SourceRecord] = []
        stop = interrupt or threading.Event()
        while (left := deadline - time.monotonic()) > 0 and not stop.is_set():
            for msg in self._consumer.consume(self.batch_size, min(left, self.poll_timeout)):
                if msg.error() is None:
                    held.append(SourceRecord(msg.topic(), msg.partition(), msg.offset(),
                                             msg.value(), msg.key(), msg.headers()))
        return held

    def on_rebalance(
        self,
        assigned: Callable[..., Mapping[tuple[str, int], int | None]],
        revoked: Callable[[list[tuple[str, int]]], None],
        lost: Callable[[list[tuple[str, int]]], None],
    ) -> None:
        """Re-subscribe with rebalance callbacks (they run inside :meth:`consume`).

        ``assigned(partitions, committed, watermarks)`` returns the offset each partition
        starts from (``None``: the committed offset, else ``auto.offset.reset``);
        ``watermarks(topic, partition) -> (low, high)``. ``revoked`` runs before the
        partitions are released, ``lost`` when they were taken away without a revoke.
        """

        def watermarks(topic: str, partition: int) -> tuple[int, int]:
            return self._consumer.get_watermark_offsets(TopicPartition(topic, partition), 30)

        def on_assign(consumer: Consumer, partitions: list[TopicPartition]) -> None:
            tps = [(p.topic, p.partition) for p in partitions]
            committed = {(p.topic, p.partition): p.offset if p.offset >= 0 else None
                         for p in consumer.committed(partitions, timeout=30)}
            starts = assigned(tps, committed, watermarks)
            for p in partitions:
                tp = (p.topic, p.partition)
                start = starts.get(tp)
                if start is not None:
                    p.offset = start
                    if committed.get(tp) is not None and start > committed[tp]:
                        # resumed ahead of the commit (state newer than it: its outputs
                        # were flushed before it was stored): commit that, once idle
                        self._uncommitted[tp] = start
            consumer.assign(partitions)
            self._note_assignment(consumer, partitions)

        def on_revoke(consumer: Consumer, partitions: list[TopicPartition]) -> None:
            self._forget(partitions)
            revoked([(p.topic, p.partition) for p in partitions])

        def on_lost(consumer: Consumer, partitions: list[TopicPartition]) -> None:
            self._forget(partitions)
            lost([(p.topic, p.partition) for p in partitions])

        self._consumer.subscribe(
            self.topics, on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost
        )

    def _note_assignment(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.assigned_at = time.monotonic()
        logger.info("group assignment partitions=%s",
                    sorted((p.topic, p.partition) for p in partitions))

    def _forget(self, partitions: list[TopicPartition]) -> None:
        # a released partition's failed commit is its next owner's business now
        for p in partitions:
            self._uncommitted.pop((p.topic, p.partition), None)

    def close(self) -> None:
        """Leave the group. Only commits that failed earlier (a coordinator restart) are
        tried again here; the runner committed everything else already."""
        if self._uncommitted:
            try:
                self._commit_again()
            except KafkaException as exc:  # closing anyway: the next run replays them
                logger.warning("kafka commit on close failed error=%s", exc)
        self._consumer.close()
