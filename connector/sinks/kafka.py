"""Kafka sinks: the error topic (dead letters) and an events topic for flagged outliers.

Both follow the sink contract: ``add`` only queues (no waiting for the broker), ``flush``
**blocks** until the broker acknowledged every queued message or ``timeout`` passed, and
raises :class:`~connector.errors.SinkError` when one was not delivered. The runner flushes
them after OpenSearch acknowledged the batch and before it commits offsets. On failure the
pending messages are kept and produced again on the next flush (at-least-once: a dead letter
may then appear twice, never zero times).

Dead letters keep the original bytes and key, and carry headers ``error.reason``,
``source.topic``, ``source.partition``, ``source.offset`` (and ``error.status`` when
OpenSearch refused the document).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from confluent_kafka import KafkaException, Producer

from connector.errors import SinkError
from connector.records import Rejection

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
    {'bootstrap.servers': 'b:9092', 'security.protocol': 'SSL', 'linger.ms': 20}
    """
    settings = {k: v for k, v in kafka.items() if not k.startswith(_CONSUMER_ONLY)}
    settings.setdefault("linger.ms", 20)
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
        ("source.topic", rec.topic.encode()),
        ("source.partition", str(rec.partition).encode()),
        ("source.offset", str(rec.offset).encode()),
    ]
    if rejection.status is not None:
        headers.append(("error.status", str(rejection.status).encode()))
    return headers


class _ProducerSink:
    """Queue of ``(key, value, headers)`` produced to one topic on :meth:`flush`."""

    def __init__(self, producer: Producer, topic: str, *, timeout: float = 30.0) -> None:
        self.producer = producer
        self.topic = topic
        self.timeout = timeout
        self._pending: list[tuple[bytes | None, bytes | None, list | None]] = []
        self._failed: list[str] = []
        self.produced = 0

    def __len__(self) -> int:
        return len(self._pending)

    def _on_delivery(self, err: Any, msg: Any) -> None:
        if err is not None:
            self._failed.append(str(err))

    def flush(self) -> int:
        """Produce the queue and wait for every delivery (**blocks** up to ``timeout`` s)."""
        if not self._pending:
            return 0
        self._failed = []
        for key, value, headers in self._pending:
            self._produce(key, value, headers)
        remaining = self.producer.flush(self.timeout)
        if remaining or self._failed:
            reason = self._failed[0] if self._failed else f"{remaining} message(s) unsent"
            raise SinkError(f"produce to {self.topic} failed: {reason}")
        count = len(self._pending)
        self.produced += count
        self._pending = []
        return count

    def _produce(self, key: bytes | None, value: bytes | None, headers: list | None) -> None:
        while True:
            try:
                self.producer.produce(
                    self.topic, value, key, headers=headers, on_delivery=self._on_delivery
                )
                return
            except BufferError:  # local queue full: let deliveries drain, then retry
                self.producer.poll(0.1)
            except KafkaException as exc:
                raise SinkError(f"produce to {self.topic} failed: {exc}") from exc


class ErrorTopicSink(_ProducerSink):
    """Dead letters: original bytes and key, reason and source position in headers."""

    def add(self, rejection: Rejection) -> None:
        rec = rejection.record
        self._pending.append((rec.key, rec.value, error_headers(rejection)))


class EventSink(_ProducerSink):
    """Events (JSON objects) for flagged outliers, e.g. ``suspicious_activity``."""

    def add(self, event: Mapping[str, Any], key: str | None = None) -> None:
        value = json.dumps(event, separators=(",", ":"), default=str).encode()
        self._pending.append((key.encode() if key is not None else None, value, None))
