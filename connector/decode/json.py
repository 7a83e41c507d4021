"""Decode one message as a JSON object."""

from __future__ import annotations

import json
from typing import Any

from connector.errors import RecordRejected

__all__ = ["decode_json", "text_of"]


def text_of(value: bytes | str | None) -> str:
    """The message as text; empty, tombstone and non-UTF-8 messages are rejected.

    >>> text_of(b'{"a": 1}')
    '{"a": 1}'
    >>> text_of(b"\\xff")
    Traceback (most recent call last):
    ...
    connector.errors.RecordRejected: not UTF-8: invalid start byte at byte 0
    """
    if value is None:
        raise RecordRejected("empty message (no value)")
    if isinstance(value, str):
        text = value
    else:
        try:
            text = bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RecordRejected(f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    if not text.strip():
        raise RecordRejected("empty message")
    return text


def decode_json(value: bytes | str | None) -> dict[str, Any]:
    """Parse a JSON object; anything else is rejected with the position of the fault.

    >>> decode_json(b'{"status_code": 502}')
    {'status_code': 502}
    >>> decode_json(b'{"status_code": ')
    Traceback (most recent call last):
    ...
    connector.errors.RecordRejected: bad JSON: Expecting value at line 1 column 17 (char 16)
    >>> decode_json(b'[1, 2]')
    Traceback (most recent call last):
    ...
    connector.errors.RecordRejected: bad JSON: expected an object at the top level, got array
    """
    text = text_of(value)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno} (char {exc.pos})"
        raise RecordRejected(f"bad JSON: {exc.msg} at {where}") from None
    if not isinstance(obj, dict):
        raise RecordRejected(
            f"bad JSON: expected an object at the top level, got {_json_type(obj)}"
        )
    return obj


def _json_type(value: Any) -> str:
    names = {list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")
