"""Event time from a record field: epoch seconds, epoch milliseconds or ISO-8601."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from connector.errors import RecordRejected

__all__ = ["parse_timestamp"]

# epoch values above this are taken as milliseconds by ``auto`` (year 2286 in seconds)
_MS_THRESHOLD = 1e10


def parse_timestamp(value: Any, fmt: str = "auto", field: str = "timestamp") -> datetime:
    """Parse an event time into an aware UTC datetime.

    ``auto`` accepts numbers (seconds, or milliseconds when above 1e10), numeric strings and
    ISO-8601 strings; naive ISO times are taken as UTC.

    >>> parse_timestamp(1728565962.2251318, "epoch_s").isoformat()
    '2024-10-10T13:12:42.225132+00:00'
    >>> parse_timestamp("2026-11-22T10:00:00.123Z").isoformat()
    '2026-11-22T10:00:00.123000+00:00'
    >>> parse_timestamp(1763805600123).isoformat()
    '2025-11-22T10:00:00.123000+00:00'
    >>> parse_timestamp("yesterday", "iso8601", "date")
    Traceback (most recent call last):
    ...
    connector.errors.RecordRejected: bad timestamp in 'date': 'yesterday' is not ISO-8601
    """
    if value is None:
        raise RecordRejected(f"missing field '{field}' (event time)")
    if isinstance(value, bool):
        raise RecordRejected(f"bad timestamp in '{field}': {value!r} is not a time")
    if fmt in ("epoch_s", "epoch_ms") or (fmt == "auto" and _numeric(value)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise RecordRejected(f"bad timestamp in '{field}': {value!r} is not a number") from None
        if not math.isfinite(number):
            raise RecordRejected(f"bad timestamp in '{field}': {value!r} is not finite")
        if fmt == "epoch_ms" or (fmt == "auto" and abs(number) > _MS_THRESHOLD):
            number /= 1000.0
        try:
            return datetime.fromtimestamp(number, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise RecordRejected(f"bad timestamp in '{field}': {value!r} out of range") from None
    if not isinstance(value, str):
        raise RecordRejected(f"bad timestamp in '{field}': {value!r} is not ISO-8601")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise RecordRejected(f"bad timestamp in '{field}': {value!r} is not ISO-8601") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _numeric(value: Any) -> bool:
    if isinstance(value, int | float):
        return True
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
