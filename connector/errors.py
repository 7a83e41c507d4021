"""One root for every error the connector raises, with typed subclasses that carry data.

Policy: a bad *record* becomes a :class:`RecordRejected` and goes to the error topic, never
stopping the pipeline; a bad *config* is a :class:`ConfigError` raised at start; an
*infrastructure* failure (Kafka or OpenSearch unreachable) raises and is retried by the runner.
"""

from __future__ import annotations

__all__ = ["Backpressure", "ConfigError", "ConnectorError", "RecordRejected", "SinkError"]


class ConnectorError(Exception):
    """Root of every error raised by the connector."""


class ConfigError(ConnectorError):
    """A pipeline config breaks a rule; ``path`` is the YAML path, ``rule`` what it must be.

    >>> str(ConfigError("tolls.detector.shingle_size", "must be ≥ 1"))
    'tolls.detector.shingle_size: must be ≥ 1'
    """

    def __init__(self, path: str, rule: str) -> None:
        super().__init__(f"{path}: {rule}")
        self.path = path
        self.rule = rule


class RecordRejected(ConnectorError):
    """A record cannot be processed; it goes to the error topic with ``reason``.

    >>> RecordRejected("bad JSON at char 3", topic="gameday", partition=0, offset=7).where()
    'gameday[0]@7'
    """

    def __init__(
        self,
        reason: str,
        *,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.topic = topic
        self.partition = partition
        self.offset = offset

    def where(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


class SinkError(ConnectorError):
    """A sink could not write a batch as a whole (connection lost, cluster down)."""


class Backpressure(ConnectorError):
    """The downstream asked us to slow down; retry the same batch after ``retry_after`` s."""

    def __init__(self, retry_after: float, reason: str = "") -> None:
        super().__init__(reason or f"retry after {retry_after:.1f}s")
        self.retry_after = retry_after
