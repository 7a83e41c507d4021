"""Decode one message as a JSON object.

Well-formed messages take orjson (a game-day record: 3.4 against 7.3 us with ``json``); every
other message, and any message orjson might read differently from ``json`` (a run of 19 or
more digits: orjson turns integers past 64 bits into floats), goes through ``json``, so the
accepted values and the error texts are ``json``'s (``tests/unit/decode/test_json_fast.py``
checks both paths agree).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from connector.errors import RecordRejected

__all__ = ["decode_json", "decode_json_text", "text_of"]


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
    if type(value) is bytes and _LONG_RUN not in value.translate(_DIGITS_AS_ZERO):
        try:
            obj = orjson.loads(value)
        except orjson.JSONDecodeError:
            obj = None  # json below says what is wrong, in its words
        if type(obj) is dict:
            return obj
    return decode_json_text(value)


#: A run of 19 digits (every digit mapped to ``0`` first, which is much faster to search than
#: a regular expression): orjson may not read it as ``json`` does (integers beyond 64 bits
#: become floats).
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= i <= 0x39 else i for i in range(256))
_LONG_RUN = b"0" * 19


def decode_json_text(value: bytes | str | None) -> dict[str, Any]:
    """:func:`decode_json` with the standard library only (the reference for the fast path).

    >>> decode_json_text(b'{"n": 123456789012345678901234567890}')
    {'n': 123456789012345678901234567890}
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
