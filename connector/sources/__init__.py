"""Where records come from: a Kafka consumer group, or lines of a file or stdin."""

from __future__ import annotations

from connector.sources.file import FileSource
from connector.sources.kafka import KafkaSource

__all__ = ["FileSource", "KafkaSource"]
