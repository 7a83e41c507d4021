"""Where documents and dead letters go: OpenSearch bulk, and Kafka (error topic, events)."""

from __future__ import annotations

from connector.sinks.kafka import ErrorTopicSink, EventSink, producer_settings
from connector.sinks.opensearch import BulkOutcome, OpenSearchSink, classify_status

__all__ = [
    "BulkOutcome",
    "ErrorTopicSink",
    "EventSink",
    "OpenSearchSink",
    "classify_status",
    "producer_settings",
]
