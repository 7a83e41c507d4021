"""Kafka sinks: the error topic (dead letters) and an events topic for flagged outliers.

Both follow the sink contract: ``add`` only queues (no waiting for the broker), ``flush``
**blocks** until the broker acknowledged every queued message or ``timeout`` passed, and
raises :class:`~connector.errors.SinkError` when one was not delivered. The runner flushes
them after OpenSearch acknowledged the batch and before it commits offsets. On failure the
undelivered messages are kept and produced again on the next flush; delivered ones are not.

With :class:`~connector.sinks.fence.Fences` (the runner's default on Kafka sources), each
output goes to the partition of its source partition, in source order, and outputs of
replayed records that the topic already holds are skipped: the error topic then holds each
bad record exactly once, and the events topic each event once (see :mod:`connector.sinks.fence`).

Dead letters keep the original bytes and key, and carry headers ``error.reason``,
``source.topic``, ``source.partition``, ``source.offset`` (and ``error.status`` when
OpenSearch refused the document, ``window.id`` when the refused document was a window, whose
source position is then the record that closed it). Events carry the same ``source.*`` headers.

An output too large for the producer's ``message.max.bytes`` or the topic's
``max.message.bytes`` is sent truncated, with headers saying so (:mod:`connector.sinks.oversize`);
one that does not fit even then is logged, counted in :attr:`undeliverable` and dropped, so
it never holds back the other outputs (nor the commit) of its partition.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaException, Producer

from connector.errors import SinkError
from connector.records import Origin, Rejection
from connector.sinks.fence import Fences, fence_key, origin_headers
from connector.sinks.oversize import is_size_error, shrink

__all__ = ["ErrorTopicSink", "EventSink", "error_headers", "producer_settings"]

logger = logging.getLogger(__name__)

# librdkafka consumer-only properties: a producer warns about each, so they are left out.
_CONSUMER_ONLY = (
    "group.", "auto.offset.reset", "enable.auto.", "auto.commit.", "session.timeout.ms",
    "heartbeat.interval.ms", "max.poll.interval.ms", "partition.assignment.strategy",
    "fetch.", "queued.", "isolation.level", "enable.partition.eof", "check.crcs",
    "coordinator.query.interval.ms", "consume.callback.max.messages",
)


def producer_settings(kafka: Mapping[str, object]) -> dict[str, object]:
    """Producer settings from the pipeline's consumer block (connection and security kept).

    Examples
    --------
    >>> producer_settings({"bootstrap.servers": "b:9092", "group.id": "g",
    ...                    "auto.offset.reset": "earliest", "security.protocol": "SSL"})
    ... # doctest: +NORMALIZE_WHITESPACE
    {'bootstrap.servers': 'b:9092', 'security.protocol': 'SSL', 'linger.ms': 20,
     'enable.idempotence': True}
    """
    settings = {k: v for k, v in kafka.items() if not k.startswith(_CONSUMER_ONLY)}
    settings.setdefault("linger.ms", 20)
    # in order and without repeats per partition, even across broker retries: the fences
    # (connector.sinks.fence) rely on the delivered outputs of a partition being a prefix
    settings.setdefault("enable.idempotence", True)
    return settings


def error_headers(rejection: Rejection) -> list[tuple[str, bytes]]:
    """Headers of one dead letter.

    Examples
    --------
    >>> from connector.records import SourceRecord
    >>> error_headers(Rejection(SourceRecord("gameday", 1, 7, b"{"), "bad JSON", 400))
    ... # doctest: +NORMALIZE_WHITESPACE
    [('error.reason', b'bad JSON'), ('source.topic', b'gameday'),
     ('source.partition', b'1'), ('source.offset', b'7'), ('error.status', b'400')]
    """
    rec = rejection.record
    headers = [
        ("error.reason", rejection.reason.encode()),
        *origin_headers((rec.topic, rec.partition, rec.offset, rejection.window)),
    ]
    if rejection.status is not None:
        headers.append(("error.status", str(rejection.status).encode()))
    return headers


@dataclass(slots=True)
class _Message:
    key: bytes | None
    value: bytes | None
    headers: list | None
    origin: Origin | None
    # new -> sent -> done | failed (produced again on the next flush) | dropped (undeliverable)
    state: str = "new"
    error: str = ""
    too_large: bool = False  # its last failure said "message too large"
    truncated: bool = False  # replaced by its first bytes (connector.sinks.oversize)

    def size(self) -> int:
        return len(self.value or b"") + len(self.key or b"")

    def order(self) -> tuple:
        if self.origin is None:
            return (1, "", 0, (0, ""))
        return (0, self.origin[0], self.origin[1], fence_key(self.origin))


class _ProducerSink:
    """Queue of messages produced to one topic on :meth:`flush`.

    Parameters
    ----------
    producer
        A ``confluent_kafka.Producer`` (idempotent: see :func:`producer_settings`).
    topic
        The output topic.
    timeout
        Seconds one :meth:`flush` waits for the broker.
    fences
        Optional :class:`~connector.sinks.fence.Fences` for this topic: outputs go to their
        source partition and repeats of replayed records are skipped (:meth:`assigned`).
    """

    def __init__(self, producer: Producer, topic: str, *, timeout: float = 30.0,
                 fences: Fences | None = None) -> None:
        self.producer = producer
        self.topic = topic
        self.timeout = timeout
        self.fences = fences
        self._pending: list[_Message] = []
        self._delivered = 0
        self.produced = 0
        self.acknowledged = 0  # every delivery the broker confirmed, failed flushes included
        self.skipped = 0  # already in the topic (a replayed record's output)
        self.truncated = 0  # sent cut to their first bytes (too large for the topic)
        self.undeliverable = 0  # too large even when cut: logged and dropped
        #: set on a stop request: a flush stops waiting for the broker (within 0.2 s)
        self.interrupt = threading.Event()

    def __len__(self) -> int:
        return len(self._pending)

    def assigned(self, partitions: list[tuple[str, int]]) -> None:
        """Source partitions were assigned: learn what the topic already holds of them."""
        if self.fences is not None:
            self.fences.learn(self.producer, partitions)

    def _queue(self, key: bytes | None, value: bytes | None, headers: list | None,
               origin: Origin | None) -> bool:
        if self.fences is not None and self.fences.seen(origin):
            self.skipped += 1
            return False
        self._pending.append(_Message(key, value, headers, origin))
        return True

    def flush(self) -> int:
        """Produce the queue, in source order, and wait for every delivery (**blocks** up to
        ``timeout`` s). Returns how many were delivered since the last successful flush.

        An output the broker refused as too large is sent again alone (the broker refuses
        a whole batch for one large message), then cut (:func:`shrink`), then dropped.
        """
        if not self._pending:
            return 0
        self._pending.sort(key=_Message.order)
        deadline = time.monotonic() + self.timeout
        remaining = self._send([m for m in self._pending if m.state in ("new", "failed")],
                               deadline)
        for msg in [m for m in self._pending if m.state == "failed" and m.too_large]:
            for step in ("alone", "cut", "drop"):
                if self.interrupt.is_set() or msg.state != "failed" or not msg.too_large:
                    break
                if step == "drop":
                    self._drop(msg)
                    break
                if step == "cut" and not self._cut(msg):
                    continue  # cut already: this failure was the cut one's
                remaining = self._send([msg], deadline)
        failed = [m for m in self._pending if m.state == "failed"]
        self._pending = [m for m in self._pending if m.state not in ("done", "dropped")]
        if self._pending:
            reason = failed[0].error if failed else f"{remaining} message(s) unsent"
            raise SinkError(f"produce to {self.topic} failed: {reason}")
        count, self._delivered = self._delivered, 0
        self.produced += count
        return count

    def _send(self, messages: list[_Message], deadline: float) -> int:
        """Produce ``messages`` and wait for their deliveries; returns how many are unsent."""
        for msg in messages:
            self._produce(msg)
        while True:  # in slices, so a stop request does not wait out the whole timeout
            remaining = self.producer.flush(max(0.0, min(0.2, deadline - time.monotonic())))
            if not remaining or time.monotonic() >= deadline or self.interrupt.is_set():
                return remaining

    def _produce(self, msg: _Message) -> None:
        def delivered(err: Any, _kmsg: Any) -> None:
            if err is None:
                msg.state = "done"
                self._delivered += 1
                self.acknowledged += 1
            else:
                msg.state, msg.error, msg.too_large = "failed", str(err), is_size_error(err)
                logger.warning("produce to %s failed error=%s", self.topic, err)

        partition = self.fences.partition(msg.origin) if self.fences is not None else None
        kwargs = {"partition": partition} if partition is not None else {}
        while True:
            try:
                self.producer.produce(self.topic, msg.value, msg.key, headers=msg.headers,
                                      on_delivery=delivered, **kwargs)
                msg.state = "sent"
                return
            except BufferError:  # local queue full: let deliveries drain, then retry
                self.producer.poll(0.1)
            except KafkaException as exc:
                if not is_size_error(exc):
                    raise SinkError(f"produce to {self.topic} failed: {exc}") from exc
                # over the producer's own message.max.bytes: cut it, or drop the cut one
                msg.state, msg.error, msg.too_large = "failed", str(exc), True
                if not self._cut(msg):
                    self._drop(msg)
                    return

    def _cut(self, msg: _Message) -> bool:
        """Replace an output by its truncated stand-in; ``False`` if it was cut already."""
        if msg.truncated:
            return False
        original = len(msg.value or b"")
        msg.key, msg.value, msg.headers = shrink(msg.key, msg.value, msg.headers)
        msg.truncated = True
        self.truncated += 1
        logger.warning("output too large for %s: sending its first %d of %d bytes, marked "
                       "error.truncated origin=%s", self.topic, len(msg.value), original,
                       msg.origin)
        return True

    def _drop(self, msg: _Message) -> None:
        """Give up an output that does not fit even cut: logged, counted, never blocking."""
        msg.state = "dropped"
        self.undeliverable += 1
        logger.error("output undeliverable: too large for %s even truncated (%d bytes), "
                     "dropped so its partition goes on origin=%s error=%s", self.topic,
                     msg.size(), msg.origin, msg.error)


class ErrorTopicSink(_ProducerSink):
    """Dead letters: original bytes and key, reason and source position in headers."""

    def add(self, rejection: Rejection) -> bool:
        """Queue a dead letter; ``False`` when the topic already holds it (a replay)."""
        rec = rejection.record
        where = (rec.topic, rec.partition, rec.offset, rejection.window)
        return self._queue(rec.key, rec.value, error_headers(rejection),
                           where if rec.partition >= 0 else None)


class EventSink(_ProducerSink):
    """Events (JSON objects) for flagged outliers, e.g. ``suspicious_activity``."""

    def add(self, event: Mapping[str, Any], key: str | None = None,
            origin: Origin | None = None) -> bool:
        """Queue an event; ``False`` when the topic already holds it (a replay)."""
        value = json.dumps(event, separators=(",", ":"), default=str).encode()
        headers = origin_headers(origin) if origin is not None else None
        return self._queue(key.encode() if key is not None else None, value, headers, origin)
