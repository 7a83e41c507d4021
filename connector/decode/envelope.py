"""Unwrap a JSON envelope such as ``{"start": "LOG_START", "log_message": {...}, "stop": ...}``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from connector.errors import RecordRejected

__all__ = ["unwrap"]


def unwrap(
    obj: dict[str, Any], field: str, markers: Iterable[tuple[str, str]] = ()
) -> dict[str, Any]:
    """Return ``obj[field]`` after checking the envelope's marker keys.

    >>> env = {"start": "LOG_START", "log_message": {"a": 1}, "stop": "LOG_END"}
    >>> unwrap(env, "log_message", [("start", "LOG_START"), ("stop", "LOG_END")])
    {'a': 1}
    >>> unwrap({"a": 1}, "log_message")
    Traceback (most recent call last):
    ...
    connector.errors.RecordRejected: missing envelope: no 'log_message' key (keys: a)
    """
    for key, expected in markers:
        if obj.get(key) != expected:
            raise RecordRejected(
                f"bad envelope: '{key}' is {obj.get(key)!r}, expected {expected!r}"
            )
    if field not in obj:
        keys = ", ".join(sorted(map(str, obj))) or "none"
        raise RecordRejected(f"missing envelope: no '{field}' key (keys: {keys})")
    inner = obj[field]
    if not isinstance(inner, dict):
        raise RecordRejected(
            f"bad envelope: '{field}' must be an object, got {type(inner).__name__}"
        )
    return inner
