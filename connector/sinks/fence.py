"""Output fences: no dead letter or event is produced twice when a partition's records replay.

A record is replayed after a crash (SIGKILL between producing its outputs and committing its
offset) or when a partition moves to another instance. Documents are safe (deterministic
``_id``), but a dead letter or an event produced again would be a repeat. The fence:

- the outputs derived from source partition *p* go to partition *p* of the output topic (when
  the output topic has at least as many partitions as every source topic; otherwise the
  fence is off, outputs use the default partitioner, and a warning says how to fix it);
- they are produced in source order (by :data:`FenceKey`: source offset, then window id for
  several windows closed by one record), by an idempotent producer, so the delivered outputs
  of one source partition are a prefix of its outputs, in order;
- on every partition assignment (:meth:`Fences.learn`) the tail of partition *p* is read: the
  highest key found there is the fence, and outputs at or below it are skipped.

Every output carries its origin in headers (``source.topic``, ``source.partition``,
``source.offset`` and, for a window, ``window.id``). Reading the tail needs read access to
the output topic; when it fails the partition is left unfenced (at-least-once, as without it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from connector.records import Origin

__all__ = ["FenceKey", "Fences", "fence_key", "origin_headers", "parse_origin", "read_tail"]

logger = logging.getLogger(__name__)

#: ``(source offset, window id or "")``: the order outputs of one source partition follow.
FenceKey = tuple[int, str]
TP = tuple[str, int]

# producer-only librdkafka properties: a consumer warns about each, so they are left out
_PRODUCER_ONLY = (
    "linger.ms", "acks", "enable.idempotence", "batch.", "compression.", "queue.buffering.",
    "message.send.max.retries", "retries", "retry.backoff", "delivery.timeout.ms",
    "message.timeout.ms", "transactional.", "max.in.flight", "request.required.acks",
    "partitioner", "sticky.", "group.", "enable.auto.", "auto.commit.",
)


def fence_key(origin: Origin) -> FenceKey:
    """The order key of an output within its source partition.

    Examples
    --------
    >>> fence_key(("t", 0, 7, None)), fence_key(("t", 0, 7, "p+a+0"))
    ((7, ''), (7, 'p+a+0'))
    >>> fence_key(("t", 0, 7, "p+a+0")) < fence_key(("t", 0, 8, None))
    True
    """
    return (origin[2], origin[3] or "")


def origin_headers(origin: Origin) -> list[tuple[str, bytes]]:
    """Headers naming where an output comes from.

    Examples
    --------
    >>> origin_headers(("tolls", 2, 90, "tolls+Exit79+0"))  # doctest: +NORMALIZE_WHITESPACE
    [('source.topic', b'tolls'), ('source.partition', b'2'), ('source.offset', b'90'),
     ('window.id', b'tolls+Exit79+0')]
    """
    topic, partition, offset, window = origin
    headers = [("source.topic", topic.encode()), ("source.partition", str(partition).encode()),
               ("source.offset", str(offset).encode())]
    if window:
        headers.append(("window.id", window.encode()))
    return headers


def parse_origin(headers: Iterable[tuple[str, bytes]] | None) -> Origin | None:
    """Inverse of :func:`origin_headers` (``None`` for a message without them).

    Examples
    --------
    >>> parse_origin(origin_headers(("t", 1, 5, None)) + [("error.reason", b"bad")])
    ('t', 1, 5, None)
    >>> parse_origin([("x", b"1")]) is None
    True
    """
    found = {k: v for k, v in headers or [] if v is not None}
    try:
        window = found.get("window.id")
        return (found["source.topic"].decode(), int(found["source.partition"]),
                int(found["source.offset"]), window.decode() if window else None)
    except (KeyError, ValueError, UnicodeDecodeError):
        return None


def reader_settings(kafka: Mapping[str, object], topic: str) -> dict[str, object]:
    """Settings of the group-less consumer that reads output tails (connection kept).

    Examples
    --------
    >>> s = reader_settings({"bootstrap.servers": "b:9092", "linger.ms": 20, "group.id": "g"}, "e")
    >>> s["bootstrap.servers"], "linger.ms" in s, s["group.id"]
    ('b:9092', False, 'outlier-fence-e')
    """
    conf = {k: v for k, v in kafka.items() if not k.startswith(_PRODUCER_ONLY)}
    conf.update({"group.id": f"outlier-fence-{topic}", "enable.auto.commit": False,
                 "enable.partition.eof": True})
    return conf


def read_tail(
    consumer: Consumer, topic: str, partition: int, tail: int = 200, timeout: float = 30.0
) -> tuple[dict[str, FenceKey], bool]:
    """The highest key per source topic among the last ``tail`` messages of one partition.

    Returns ``(keys, complete)``: ``complete`` is True when those messages are the whole
    partition (a source topic absent from ``keys`` then has no output there at all).
    Only outputs of source partition ``partition`` count. **Blocks** up to ``timeout``.
    """
    tp = TopicPartition(topic, partition)
    low, high = consumer.get_watermark_offsets(tp, timeout=timeout)
    start = max(low, high - tail)
    keys: dict[str, FenceKey] = {}
    if high <= low:
        return keys, True
    consumer.assign([TopicPartition(topic, partition, start)])
    position, deadline = start, time.monotonic() + timeout
    try:
        while position < high:
            if time.monotonic() > deadline:
                raise KafkaException(KafkaError(KafkaError._TIMED_OUT,
                                                f"tail of {topic}[{partition}] not read"))
            # consume() waits for all it asks or the timeout: ask for what is left, briefly
            for msg in consumer.consume(high - position, 0.5):
                if msg.error() is not None:
                    if msg.error().code() == KafkaError._PARTITION_EOF:
                        position = max(position, msg.offset())
                        continue
                    raise KafkaException(msg.error())
                position = msg.offset() + 1
                found = parse_origin(msg.headers())
                if found is not None and found[1] == partition:
                    key = fence_key(found)
                    if key > keys.get(found[0], (-1, "")):
                        keys[found[0]] = key
    finally:
        consumer.unassign()
    return keys, start == low


class Fences:
    """What each assigned source partition already has in one output topic.

    Parameters
    ----------
    topic
        The output topic (the error topic or the events topic).
    settings
        librdkafka connection settings to read it with (see :func:`reader_settings`).
    tail
        Messages read from the end of a partition on assignment (one is enough with a single
        source topic; more let several source topics share an output partition).
    """

    def __init__(self, topic: str, settings: Mapping[str, object], *, tail: int = 200) -> None:
        self.topic = topic
        self.settings = reader_settings(settings, topic)
        self.tail = tail
        self.aligned = False
        self._fence: dict[TP, FenceKey | None] = {}  # absent: unknown (not fenced)
        self._consumer: Consumer | None = None
        self._warned = False

    def partition(self, origin: Origin | None) -> int | None:
        """The output partition for an output (``None``: let the producer choose)."""
        if not self.aligned or origin is None or origin[1] < 0:
            return None
        return origin[1]

    def seen(self, origin: Origin | None) -> bool:
        """Whether an output of this origin is already in the topic (do not produce it)."""
        if not self.aligned or origin is None:
            return False
        fence = self._fence.get((origin[0], origin[1]))
        return fence is not None and fence_key(origin) <= fence

    def learn(self, producer: Any, partitions: Iterable[TP]) -> None:
        """Read the fence of newly assigned source partitions (**blocks** on Kafka)."""
        tps = list(partitions)
        if not tps:
            return
        try:
            self.aligned = self._aligned(producer, {t for t, _ in tps})
            if not self.aligned:
                return
            if self._consumer is None:
                self._consumer = Consumer(self.settings)
            by_partition: dict[int, list[str]] = {}
            for t, p in tps:
                by_partition.setdefault(p, []).append(t)
            for p, topics in by_partition.items():
                keys, complete = read_tail(self._consumer, self.topic, p, self.tail)
                for t in topics:
                    if t in keys or complete:
                        self._fence[(t, p)] = keys.get(t)
                    else:
                        self._fence.pop((t, p), None)
                        logger.warning("output fence unknown topic=%s partition=%s output=%s: "
                                       "replayed outputs may repeat", t, p, self.topic)
        except KafkaException as exc:
            for tp in tps:
                self._fence.pop(tp, None)
            logger.warning("output fence not read output=%s partitions=%s error=%s: replayed "
                           "outputs may repeat", self.topic, tps, exc)

    def _aligned(self, producer: Any, sources: set[str]) -> bool:
        meta = producer.list_topics(timeout=30).topics
        out = meta.get(self.topic)
        have = len(out.partitions) if out is not None and out.error is None else 0
        need = max((len(meta[t].partitions) for t in sources if t in meta), default=0)
        if have >= need > 0:
            return True
        if not self._warned:
            self._warned = True
            logger.warning(
                "output topic %s has %d partition(s), source needs %d: outputs of replayed "
                "records may repeat; create it with at least %d partitions", self.topic, have,
                need, need)
        return False

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
