"""The decoding part of a pipeline config: format, envelope, CSV columns and event time.

Frozen dataclasses built by :mod:`connector.config` (which re-exports them) from the YAML
``decode:`` and ``timestamp:`` blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connector.errors import ConfigError

__all__ = ["Column", "DecodeSpec", "TimestampSpec", "parse_decode"]


@dataclass(frozen=True)
class Column:
    """A named, typed CSV column (``str``, ``int``, ``float`` or ``bool``)."""

    name: str
    type: str = "str"


@dataclass(frozen=True)
class DecodeSpec:
    """How bytes become a dict: ``json``, ``envelope`` (JSON wrapper to unwrap) or ``csv``."""

    format: str
    envelope_field: str | None = None
    envelope_markers: tuple[tuple[str, str], ...] = ()
    columns: tuple[Column, ...] = ()
    delimiter: str = ","


@dataclass(frozen=True)
class TimestampSpec:
    """Event time: ``field`` read with ``format`` (epoch_s, epoch_ms, iso8601 or auto)."""

    field: str
    format: str = "auto"


def parse_decode(raw: dict[str, Any], path: str) -> DecodeSpec:
    """The ``decode:`` block; ``path`` is its YAML path (for errors)."""
    fmt = raw["format"]
    if fmt == "envelope" and not raw.get("field"):
        raise ConfigError(f"{path}.field", "is required for format envelope")
    if fmt == "csv" and not raw.get("columns"):
        raise ConfigError(f"{path}.columns", "is required for format csv")
    columns = tuple(
        Column(c, "str") if isinstance(c, str) else Column(c["name"], c.get("type", "str"))
        for c in raw.get("columns", [])
    )
    markers = tuple((str(k), str(v)) for k, v in (raw.get("markers") or {}).items())
    return DecodeSpec(fmt, raw.get("field"), markers, columns, raw.get("delimiter", ","))
