"""Robustness variants of labelled series: the same labels, a different stream.

A detector whose decision is free of length and units scores about the same on each variant
as on the original. Each variant keeps the file's name and its windows as row ranges; the
values change (units, offset, rounding, a gap of missing values) or the file is cut short
(windows past the cut are dropped, a window crossing the cut is clipped to it, and NAB's
probation is that of the shorter file).

Variants, by name (:data:`VARIANTS`): ``original``, ``cut1000``, ``cut2500`` (first 1,000 /
2,500 rows, scored alone), ``x1000`` (values times 1000), ``plus1e6`` (values + 10^6),
``round`` (values rounded to integers), ``gap`` (10 % of the rows in the middle missing:
NaN, the product's missing-value path).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from evaluation.corpus import LabelledSeries

__all__ = ["VARIANTS", "cut", "gap", "make_variant"]

#: Share of rows blanked by the ``gap`` variant, centred on the middle of the file.
GAP_FRACTION = 0.10


def cut(series: LabelledSeries, rows: int) -> LabelledSeries:
    """The first ``rows`` rows of ``series``; windows past the cut dropped, crossing ones clipped.

    Examples
    --------
    >>> s = LabelledSeries("a/b.csv", tuple("0123456789"), np.arange(10.0), ((2, 4), (7, 9)))
    >>> short = cut(s, 8)
    >>> short.values.tolist()[-1], short.windows
    (7.0, ((2, 4), (7, 7)))
    >>> cut(s, 6).windows
    ((2, 4),)
    """
    if rows >= len(series.values):
        return series
    windows = tuple((lo, min(hi, rows - 1)) for lo, hi in series.windows if lo < rows)
    labels = tuple(r for r in series.labels if r < rows)
    return LabelledSeries(series.name, series.timestamps[:rows], series.values[:rows].copy(),
                          windows, labels)


def gap(series: LabelledSeries, fraction: float = GAP_FRACTION) -> LabelledSeries:
    """``series`` with ``fraction`` of its rows, centred on the middle, set to NaN.

    Examples
    --------
    >>> s = LabelledSeries("a/b.csv", tuple("0123456789"), np.arange(10.0), ((2, 4),))
    >>> np.isnan(gap(s, 0.2).values).nonzero()[0].tolist()
    [4, 5]
    """
    n = len(series.values)
    width = max(1, round(fraction * n))
    start = (n - width) // 2
    values = series.values.copy()
    values[start:start + width] = np.nan
    return _with_values(series, values)


def _with_values(series: LabelledSeries, values: np.ndarray) -> LabelledSeries:
    return LabelledSeries(series.name, series.timestamps, values, series.windows, series.labels)


def _mapped(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[LabelledSeries], LabelledSeries]:
    return lambda s: _with_values(s, fn(s.values))


#: Every variant, by name: a function from a series to its variant.
VARIANTS: dict[str, Callable[[LabelledSeries], LabelledSeries]] = {
    "original": lambda s: s,
    "cut1000": lambda s: cut(s, 1000),
    "cut2500": lambda s: cut(s, 2500),
    "x1000": _mapped(lambda v: v * 1000.0),
    "plus1e6": _mapped(lambda v: v + 1e6),
    "round": _mapped(np.round),
    "gap": gap,
}


def make_variant(series: LabelledSeries, name: str) -> LabelledSeries:
    """The variant ``name`` of ``series`` (see :data:`VARIANTS`).

    Examples
    --------
    >>> s = LabelledSeries("a/b.csv", ("t0", "t1"), np.array([0.4, 2.6]), ())
    >>> make_variant(s, "round").values.tolist(), make_variant(s, "plus1e6").values.tolist()
    ([0.0, 3.0], [1000000.4, 1000002.6])
    """
    try:
        return VARIANTS[name](series)
    except KeyError:
        raise ValueError(f"unknown variant {name!r}; known: {', '.join(VARIANTS)}") from None
