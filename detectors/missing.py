"""The missing-feature policy: what a record without one of the model's features gets.

``impute``: a missing or non-numeric feature takes the key's running mean (0.0 before any);
``reject``: the record is not scored nor learned, and the assessment says why.

>>> vector({"a": 1, "b": None}, ["a", "b"], {"b": 4.0}, "impute")
({'a': 1.0, 'b': 4.0}, None)
>>> vector({"a": 1, "b": "x"}, ["a", "b"], {}, "reject")
({'a': 1.0}, "missing or non-numeric feature 'b'")
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["MISSING_POLICIES", "as_float", "vector"]

MISSING_POLICIES = ("impute", "reject")


def vector(
    x: Mapping[str, Any], names: Sequence[str], means: Mapping[str, float], policy: str
) -> tuple[dict[str, float], str | None]:
    """``x`` as floats in ``names`` order, and the reason it was refused (``None``: kept)."""
    try:  # fast path: every feature present, numeric and finite
        out = {name: float(x[name]) for name in names}
        total = sum(out.values())
        if total - total == 0.0:
            return out, None
    except (KeyError, TypeError, ValueError, OverflowError):
        pass
    out = {}
    for name in names:
        value = as_float(x.get(name))
        if not math.isfinite(value):
            if policy == "reject":
                return out, f"missing or non-numeric feature {name!r}"
            value = means.get(name, 0.0)
        out[name] = value
    return out, None


def as_float(value: Any) -> float:
    """``value`` as a float; NaN when it is missing or not a number (the caller imputes).

    >>> as_float("2.5"), as_float(None), as_float("n/a")
    (2.5, nan, nan)
    """
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan
