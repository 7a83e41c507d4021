"""Running aggregates of one window: count, sum, distinct count, mean, min, max, std.

Each accumulator is a small mutable object with ``add(value)``, ``value`` and a JSON-friendly
``state`` so a window survives a restart. Values that are missing or not numbers are skipped
by the numeric ops (``count`` counts records, not values).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["Accumulator", "make_accumulator"]


class Accumulator:
    """Welford running moments plus min, max and a distinct set, reported per ``op``.

    Examples
    --------
    >>> acc = make_accumulator("std")
    >>> for v in (3, 4, 5):
    ...     acc.add(v)
    >>> round(acc.value, 4)
    0.8165
    >>> acc2 = make_accumulator("std", acc.state)
    >>> acc2.value == acc.value
    True
    >>> make_accumulator("mean").value  # an empty window
    0.0
    """

    __slots__ = ("op", "n", "mean", "m2", "total", "low", "high", "distinct")

    def __init__(self, op: str, state: dict[str, Any] | None = None) -> None:
        self.op = op
        s = state or {}
        self.n: int = s.get("n", 0)
        self.mean: float = s.get("mean", 0.0)
        self.m2: float = s.get("m2", 0.0)
        self.total: float = s.get("total", 0.0)
        self.low: float | None = s.get("low")
        self.high: float | None = s.get("high")
        self.distinct: set[str] = set(s.get("distinct", ()))

    def add(self, value: Any) -> None:
        """Fold one record's value in (``count`` ignores the value)."""
        if self.op == "count":
            self.n += 1
            return
        if self.op == "distinct_count":
            if value is not None:
                self.distinct.add(str(value))
            return
        number = _number(value)
        if number is None:
            return
        self.n += 1
        delta = number - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (number - self.mean)
        self.total += number
        self.low = number if self.low is None else min(self.low, number)
        self.high = number if self.high is None else max(self.high, number)

    @property
    def value(self) -> float:
        """The aggregate; 0.0 for an empty window."""
        op = self.op
        if op == "count":
            return float(self.n)
        if op == "distinct_count":
            return float(len(self.distinct))
        if op == "sum":
            return self.total
        if self.n == 0:
            return 0.0
        if op == "mean":
            return self.mean
        if op == "min":
            return float(self.low or 0.0)
        if op == "max":
            return float(self.high or 0.0)
        return math.sqrt(self.m2 / self.n)  # std: population spread of the window

    @property
    def state(self) -> dict[str, Any]:
        """JSON-friendly state; :func:`make_accumulator` rebuilds from it."""
        out: dict[str, Any] = {
            "n": self.n,
            "mean": self.mean,
            "m2": self.m2,
            "total": self.total,
            "low": self.low,
            "high": self.high,
        }
        if self.distinct:
            out["distinct"] = sorted(self.distinct)
        return out


def make_accumulator(op: str, state: dict[str, Any] | None = None) -> Accumulator:
    """A fresh (or restored) accumulator for ``op``."""
    return Accumulator(op, state)


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, str | bytes) and not str(value).strip():
        return None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
