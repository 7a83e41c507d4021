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
    state: str = "new"  # new -> sent -> done | failed (produced again on the next flush)
    error: str = ""

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
        ``timeout`` s). Returns how many were delivered since the last successful flush."""
        if not self._pending:
            return 0
        self._pending.sort(key=_Message.order)
        for msg in self._pending:
            if msg.state in ("new", "failed"):
                self._produce(msg)
        deadline = time.monotonic() + self.timeout
        while True:  # in slices, so a stop request does not wait out the whole timeout
            remaining = self.producer.flush(max(0.0, min(0.2, deadline - time.monotonic())))
            if not remaining or time.monotonic() >= deadline or self.interrupt.is_set():
                break
        failed = [m for m in self._pending if m.state == "failed"]
        self._pending = [m for m in self._pending if m.state != "done"]
        if self._pending:
            reason = failed[0].error if failed else f"{remaining} message(s) unsent"
            raise SinkError(f"produce to {self.topic} failed: {reason}")
        count, self._delivered = self._delivered, 0
        self.produced += count
        return count

    def _produce(self, msg: _Message) -> None:
        def delivered(err: Any, _kmsg: Any) -> None:
            if err is None:
                msg.state = "done"
                self._delivered += 1
                self.acknowledged += 1
            else:
                msg.state, msg.error = "failed", str(err)
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
                raise SinkError(f"produce to {self.topic} failed: {exc}") from exc


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
