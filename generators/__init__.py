"""Labelled, tunable anomaly-injecting data generators, one module per scenario.

Each scenario module exposes ``records(count, rate, anomaly_rate, seed, strength, start)``
yielding :class:`~generators.base.GeneratedRecord` (Kafka key, value bytes, label) and the
shared :func:`~generators.base.produce` sends them to Kafka with the label in a header.
"""

from __future__ import annotations

from generators.base import GeneratedRecord, produce, write_labels, write_lines

SCENARIOS = ("gameday", "tolls", "reviews", "sensors", "flowlogs")

__all__ = ["SCENARIOS", "GeneratedRecord", "produce", "write_labels", "write_lines"]
