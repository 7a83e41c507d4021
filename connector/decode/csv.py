"""Decode one CSV line into a dict of named, typed columns."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import Any, Protocol

from connector.decode.json import text_of
from connector.errors import RecordRejected

__all__ = ["decode_csv"]

_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}


class _Column(Protocol):
    name: str
    type: str


def decode_csv(
    value: bytes | str | None, columns: Sequence[_Column], delimiter: str = ","
) -> dict[str, Any]:
    """Split one line and convert each column to its declared type.

    >>> from connector.config import Column
    >>> cols = [Column("date"), Column("toll"), Column("user")]
    >>> decode_csv(b"2026-11-22T10:00:00.123Z,Exit79,T4OFLD\\n", cols)
    {'date': '2026-11-22T10:00:00.123Z', 'toll': 'Exit79', 'user': 'T4OFLD'}
    >>> decode_csv(b"a,b", cols)
    Traceback (most recent call last):
    ...
    connector.errors.RecordRejected: bad CSV: expected 3 columns (date, toll, user), got 2
    >>> decode_csv(b"x,2.5", [Column("n", "int"), Column("f", "float")])
    Traceback (most recent call last):
    ...
    connector.errors.RecordRejected: bad CSV: column 'n' (1): expected int, got 'x'
    """
    text = text_of(value).rstrip("\r\n")
    try:
        rows = list(csv.reader([text], delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise RecordRejected(f"bad CSV: {exc}") from None
    cells = rows[0] if rows else []
    if len(cells) != len(columns):
        names = ", ".join(c.name for c in columns)
        raise RecordRejected(
            f"bad CSV: expected {len(columns)} columns ({names}), got {len(cells)}"
        )
    return {
        c.name: _convert(cell.strip(), c, i + 1)
        for i, (c, cell) in enumerate(zip(columns, cells, strict=True))
    }


def _convert(cell: str, column: _Column, position: int) -> Any:
    try:
        if column.type == "int":
            return int(cell)
        if column.type == "float":
            return float(cell)
        if column.type == "bool":
            low = cell.lower()
            if low in _TRUE or low in _FALSE:
                return low in _TRUE
            raise ValueError(cell)
    except ValueError:
        raise RecordRejected(
            f"bad CSV: column '{column.name}' ({position}): expected {column.type}, got {cell!r}"
        ) from None
    return cell
