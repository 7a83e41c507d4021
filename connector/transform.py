"""Record preparation: bytes -> decoded document, event time, key and features.

``build_transform(cfg).prepare(value)`` is the one call the runner makes per record. It raises
:class:`~connector.errors.RecordRejected` (reason says what and where) for bad input and never
anything else; the runner sends those records to the error topic and goes on.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connector.config import EventsOutput, PipelineConfig
from connector.decode import decode_csv, decode_json, parse_timestamp, unwrap
from connector.errors import RecordRejected
from connector.features.extract import FeatureExtractor, get_field

__all__ = ["Prepared", "Transform", "build_transform", "render_event"]

_OPS = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
_PLACEHOLDER = re.compile(r"\{([\w.@]+)\}")


@dataclass(frozen=True, slots=True)
class Prepared:
    """One record ready for scoring (``document`` has no ``outlier.*`` fields yet)."""

    document: dict[str, Any]
    timestamp: datetime
    key: str | None
    features: dict[str, float]


class Transform:
    """Decode, time, key and featurize records of one pipeline.

    Examples
    --------
    >>> from connector.config import load_pipeline
    >>> t = build_transform(load_pipeline("pipelines/gameday.yaml", env={}))
    >>> p = t.prepare(b'{"start": "LOG_START", "log_message": {"log_identifier": "LOG-000000",'
    ...     b' "timestamp": 1728565962.2251318, "log_level": "INFO", "ip_address": "1.2.3.4",'
    ...     b' "user_id": "u", "method": "GET", "path": "wp-content/list", "status_code": 502,'
    ...     b' "response_time": 0.146, "message": "m"}, "stop": "LOG_END"}')
    >>> p.timestamp.isoformat(), p.key, p.document["log_identifier"]
    ('2024-10-10T13:12:42.225132+00:00', 'wp-content/list', 'LOG-000000')
    >>> t.prepare(b'{"log_message": {}}')
    Traceback (most recent call last):
    ...
    connector.errors.RecordRejected: bad envelope: 'start' is None, expected 'LOG_START'
    """

    def __init__(self, cfg: PipelineConfig) -> None:
        self.cfg = cfg
        self.extractor = FeatureExtractor(cfg.features)

    def decode(self, value: bytes | str | None) -> dict[str, Any]:
        """The record as a dict (envelope unwrapped, CSV columns named and typed)."""
        spec = self.cfg.decode
        if spec.format == "csv":
            return decode_csv(value, spec.columns, spec.delimiter)
        obj = decode_json(value)
        if spec.format == "envelope":
            return unwrap(obj, spec.envelope_field or "", spec.envelope_markers)
        return obj

    def key_of(self, document: dict[str, Any]) -> str | None:
        """The model key, or ``None`` when the pipeline has no key fields."""
        fields = self.cfg.key.fields
        if not fields:
            return None
        parts = []
        for name in fields:
            value = get_field(document, name, None)
            if value is None or value == "":
                raise RecordRejected(f"missing field '{name}' (key)")
            parts.append(str(value))
        return self.cfg.key.separator.join(parts)

    def prepare(self, value: bytes | str | None) -> Prepared:
        """Decode and featurize one message value; raises ``RecordRejected``."""
        document = self.decode(value)
        ts_spec = self.cfg.timestamp
        timestamp = parse_timestamp(
            get_field(document, ts_spec.field, None), ts_spec.format, ts_spec.field
        )
        key = self.key_of(document)
        features = self.extractor.extract(document, key, timestamp)
        return Prepared(document, timestamp, key, features)

    def snapshot(self) -> dict[str, Any]:
        """State of stateful features (recent counts, per-key means), JSON-friendly."""
        return self.extractor.snapshot()

    def restore(self, blob: dict[str, Any]) -> None:
        """Load what :meth:`snapshot` returned."""
        self.extractor.restore(blob)


def build_transform(cfg: PipelineConfig) -> Transform:
    """The :class:`Transform` for a loaded pipeline."""
    return Transform(cfg)


def render_event(events: EventsOutput, document: dict[str, Any]) -> Any | None:
    """The event body for a scored document, or ``None`` when ``events.when`` does not hold.

    A template string that is exactly one ``{field}`` keeps the field's type; other strings
    are formatted; dicts and lists are rendered item by item; no template sends the document.

    >>> ev = EventsOutput("suspicious_activity", "count > 1",
    ...     {"reviewer": "{reviewer}", "movie_count": "{count}", "event_time": "{window.end}"})
    >>> render_event(ev, {"reviewer": "ur1", "count": 3, "window": {"end": "2026-11-22T10:01:00Z"}})
    {'reviewer': 'ur1', 'movie_count': 3, 'event_time': '2026-11-22T10:01:00Z'}
    >>> render_event(ev, {"reviewer": "ur1", "count": 1}) is None
    True
    """
    field, op, expected = events.condition
    actual = get_field(document, field, None)
    try:
        if actual is None or not _OPS[op](actual, expected):
            return None
    except TypeError:
        return None
    return document if events.template is None else _render(events.template, document)


def _render(template: Any, document: dict[str, Any]) -> Any:
    if isinstance(template, dict):
        return {k: _render(v, document) for k, v in template.items()}
    if isinstance(template, list):
        return [_render(v, document) for v in template]
    if not isinstance(template, str):
        return template
    whole = _PLACEHOLDER.fullmatch(template)
    if whole:
        return get_field(document, whole.group(1), None)
    return _PLACEHOLDER.sub(lambda m: str(get_field(document, m.group(1), "")), template)
