"""One key's score history: grade, flag, confidence and warming-up state of raw scores.

:class:`ScoreCalibrator` has two modes, a quantile/threshold filter and the tail mode (the
empirical tail probability of the score in the key's own history, new peaks only). It is
re-exported by :mod:`detectors.calibration`, where :class:`CalibratedFilter` wraps a
detector with it.
"""

from __future__ import annotations

import bisect
import math
from array import array
from collections.abc import Mapping
from typing import Any

from .peaks import PeakFilter

__all__ = ["ScoreCalibrator", "TAIL_DEFAULTS", "exp_tail_level"]

#: Tail-mode settings: score history length, rows a new peak must beat, by how much (log10
#: units), scores needed before grading, and the tail beyond the history's top scores
#: (``fit``: ``"none"``, empirical only; ``"exp"``, peaks over threshold with an exponential
#: tail fitted to the scores above the history's ``fit_quantile``, at least ``fit_min`` of
#: them; see :func:`exp_tail_level`), ``young``: while fewer than ``mature`` scores are
#: recorded, the level is lowered by ``young * log10(mature / n)`` (a short history must see
#: a rarer score to flag; 0: off), and ``early``: whether the scorer flags a value far
#: outside everything seen while the model warms up (``detectors.scorer.Scorer._early_flag``;
#: the calibrator itself ignores it).
TAIL_DEFAULTS = {"history": 20_000, "suppress": 200, "margin": 0.05, "min_history": 50,
                 "fit": "none", "fit_quantile": 0.9, "fit_min": 5, "young": 0.0,
                 "mature": 1000, "early": False}
_FITS = ("none", "exp")
#: Highest level the fitted tail gives (``p = 1e-50``): beyond it the extrapolation says
#: nothing more (a tail fitted to near-equal scores would otherwise give levels in the
#: thousands).
MAX_FITTED_LEVEL = 50.0


def exp_tail_level(ordered: Any, n: int, pos: int, score: float, quantile: float,
                   fit_min: int) -> float:
    """``-log10 p`` of ``score`` with an exponential tail fitted above a high quantile.

    Peaks over threshold (Siffer et al., "Anomaly detection in streams with extreme value
    theory", KDD 2017, with the exponential member of the generalised Pareto family): the
    ``k = max(fit_min, ceil((1 - quantile) n))`` highest of the ``n`` sorted scores define
    the threshold ``t`` (the lowest of them) and the mean excess ``beta`` over it; a score
    above ``t`` has ``p = k / (n + 1) * exp(-(score - t) / beta)``, which goes below
    ``1 / (n + 1)``, so a short history can still call a score rarer than 1 in 1000. The
    result is never under the empirical level ``-log10((n - pos + 1) / (n + 1))`` (``pos``:
    the score's ``bisect_left`` in ``ordered``) and the fitted one never over
    :data:`MAX_FITTED_LEVEL`.

    Examples
    --------
    >>> scores = [1.0 + i / 100 for i in range(100)]  # 1.00 .. 1.99
    >>> round(exp_tail_level(scores, 100, 100, 2.0, 0.9, 5), 2)  # the empirical cap: 2.0
    2.0
    >>> round(exp_tail_level(scores, 100, 100, 4.0, 0.9, 5), 2)  # far beyond: extrapolated
    21.27
    """
    empirical = -math.log10((n - pos + 1) / (n + 1))
    k = max(fit_min, math.ceil((1.0 - quantile) * n))
    if k >= n:
        return empirical
    t = ordered[n - k]
    if score <= t:
        return empirical
    beta = sum(ordered[n - k:]) / k - t
    if beta <= 0.0:  # every top score equal: anything above them is beyond all history
        return max(empirical, 12.0)
    fitted = math.log10((n + 1) / k) + (score - t) / (beta * math.log(10.0))
    return max(empirical, min(fitted, MAX_FITTED_LEVEL))


class ScoreCalibrator:
    """Grade, flag and confidence for raw scores, from one key's recent score history.

    Two modes. *Quantile/threshold*: flags by absolute ``threshold`` (score >= threshold,
    e.g. 2.5 on the RCF scale) or by ``quantile`` (grade >= q); when neither is given,
    ``quantile=0.99``; the grade is the share of the last ``window`` scores strictly below
    the score. *Tail* (``tail={...}``): the tail probability ``p = (m + 1) / (n + 1)``, where
    ``m`` of the last ``n`` scores (``n <= history``) are at or above the score; grade
    ``1 - p``; flag when ``-log10(p) >= threshold`` (default 3: rarer than 1 in 1000) *and*
    that level is a new peak (see :class:`~detectors.peaks.PeakFilter`), so a sustained
    excursion alarms once. :attr:`last_level` is the level of the last recorded score
    (``-log10(p)`` at a new peak, else 0): the number the threshold applies to.

    While fewer than ``warmup`` (tail: ``min_history``) scores have been seen, :meth:`assess`
    reports ``warming_up=True`` and never flags. The confidence is the filled share of the
    history window (tail: ``log10(n + 1) / threshold``, 1 once the history is long enough
    for the threshold to be reachable), 0 while warming up.

    Parameters
    ----------
    threshold
        Absolute score threshold (tail mode: ``-log10`` tail level), or ``None``.
    quantile
        Grade level in (0, 1) above which to flag, or ``None`` (not with ``tail``).
    warmup
        Number of scores to see before grading is trusted and flags are raised (50).
    window
        Number of recent scores the grade is computed from (1000; bounded memory).
    tail
        ``{"history": 20000, "suppress": 200, "margin": 0.05, "min_history": 50}`` (any
        subset) for tail mode; ``history`` and ``min_history`` replace ``window`` and
        ``warmup``.

    Examples
    --------
    >>> cal = ScoreCalibrator(threshold=2.5, warmup=3, window=10)
    >>> cal.assess(9.0)
    (0.0, False, 0.0, True)
    >>> for s in (1.0, 1.1, 0.9, 1.2):
    ...     cal.update(s)
    >>> grade, flag, confidence, warming_up = cal.assess(3.0)
    >>> grade, flag, warming_up
    (1.0, True, False)
    >>> cal.assess(1.05)[:2]
    (0.5, False)

    Tail mode on seeded noise: a score above all 1999 before it is rarer than 1 in 1000 and
    flags; the same score right after does not (not a new peak).

    >>> import random
    >>> rng = random.Random(0)
    >>> tail = ScoreCalibrator(threshold=3.0, tail={"history": 5000, "min_history": 50})
    >>> for _ in range(1999):
    ...     tail.update(rng.gauss(1.0, 0.1))
    >>> grade, flag, confidence, warming_up = tail.assess(5.0)
    >>> round(grade, 4), flag, confidence, warming_up
    (0.9995, True, 1.0, False)
    >>> tail.update(5.0)
    >>> round(tail.last_level, 2), tail.assess(5.0)[1]
    (3.3, False)
    """

    def __init__(
        self,
        threshold: float | None = None,
        quantile: float | None = None,
        warmup: int | None = None,
        window: int | None = None,
        tail: Mapping[str, Any] | None = None,
    ) -> None:
        self.tail = None if tail is None else {**TAIL_DEFAULTS, **tail}
        if self.tail is not None:
            unknown = sorted(set(self.tail) - set(TAIL_DEFAULTS))
            if unknown or quantile is not None or warmup is not None or window is not None:
                raise ValueError(f"tail calibration: unknown key(s) {unknown}, or quantile, "
                                 "warmup or window given (use tail.min_history, tail.history)")
            threshold = 3.0 if threshold is None else threshold
            warmup, window = self.tail["min_history"], self.tail["history"]
            if self.tail["fit"] not in _FITS or not 0.0 < self.tail["fit_quantile"] < 1.0 \
                    or self.tail["fit_min"] < 1:
                raise ValueError(f"tail calibration: fit must be one of {_FITS}, fit_quantile "
                                 f"in (0, 1) and fit_min >= 1, got {self.tail['fit']!r}, "
                                 f"{self.tail['fit_quantile']}, {self.tail['fit_min']}")
            self._fit = self.tail["fit"] == "exp"
            if self.tail["young"] < 0 or self.tail["mature"] < 1:
                raise ValueError(f"tail calibration: young must be >= 0 and mature >= 1, got "
                                 f"{self.tail['young']}, {self.tail['mature']}")
            self._young = float(self.tail["young"])
            self._peaks: PeakFilter | None = PeakFilter(self.tail["suppress"],
                                                        self.tail["margin"])
        else:
            warmup = 50 if warmup is None else warmup
            window = 1000 if window is None else window
            self._peaks = None
            self._fit = False
            self._young = 0.0
            if threshold is None and quantile is None:
                quantile = 0.99
        if quantile is not None and not 0.0 < quantile < 1.0:
            raise ValueError(f"quantile must be in (0, 1), got {quantile}")
        if window < 1 or warmup < 0 or (self.tail is not None and threshold <= 0):
            raise ValueError("window must be >= 1, warmup >= 0 and a tail threshold > 0")
        self.threshold = threshold
        self.quantile = quantile
        self.warmup = warmup
        self.window = window
        self.n_seen = 0
        self.last_level = 0.0
        # compact doubles (8 bytes per score), a ring of the recent scores and a sorted copy
        self._ring = array("d")
        self._pos = 0
        self._sorted = array("d")

    @property
    def warming_up(self) -> bool:
        """Whether fewer than ``warmup`` scores have been seen."""
        return self.n_seen < self.warmup

    def grade(self, score: float) -> float:
        """Share of the recent scores strictly below ``score`` (tail: ``1 - p``; 0.0 with
        no history)."""
        n = len(self._sorted)
        if n == 0 or math.isnan(score):
            return 0.0
        return bisect.bisect_left(self._sorted, score) / (n + 1 if self._peaks else n)

    def _tail_level(self, score: float) -> float:
        n = len(self._sorted)
        if n < self.warmup or math.isnan(score):
            return 0.0
        pos = bisect.bisect_left(self._sorted, score)
        if self._fit:
            level = exp_tail_level(self._sorted, n, pos, score, self.tail["fit_quantile"],
                                   self.tail["fit_min"])
        else:
            level = -math.log10((n - pos + 1) / (n + 1))
        return self._aged(level, n) if self._young else level

    def _aged(self, level: float, n: int) -> float:
        """``level`` lowered by ``young * log10(mature / n)`` while ``n < mature`` (>= 0)."""
        mature = self.tail["mature"]  # type: ignore[index]
        if n >= mature or level <= 0.0:
            return level
        return max(0.0, level - self._young * math.log10(mature / n))

    def level(self, score: float) -> float:
        """Tail mode: ``-log10(p)`` of ``score`` if it is a new peak, else 0 (no learning)."""
        level = self._tail_level(score)
        return level if self._peaks.beats(level) else 0.0  # type: ignore[union-attr]

    def assess(self, score: float) -> tuple[float, bool, float, bool]:
        """Return ``(grade, flag, confidence, warming_up)`` for ``score`` without learning it."""
        grade = self.grade(score)
        if self.warming_up:
            return grade, False, 0.0, True
        if self._peaks is not None:
            flag = self.level(score) >= self.threshold
            confidence = min(1.0, math.log10(len(self._sorted) + 1) / self.threshold)
            return grade, flag, confidence, False
        if self.threshold is not None:
            flag = score >= self.threshold
        else:
            flag = grade >= self.quantile  # type: ignore[operator]
        confidence = min(1.0, len(self._sorted) / self.window)
        return grade, bool(flag), confidence, False

    def update(self, score: float) -> None:
        """Add ``score`` to the history (NaN scores are ignored)."""
        if math.isnan(score):
            return
        if self._peaks is not None:
            level = self._tail_level(score)
            self.last_level = level if self._peaks.step(level) else 0.0
        self._record(score)

    def observe(self, score: float) -> tuple[float, bool, float, bool]:
        """:meth:`assess` then :meth:`update` of ``score`` in one pass (same results).

        The scorer's hot path: one bisection of the sorted history serves the grade, the
        tail level and the flag.

        Examples
        --------
        >>> cal = ScoreCalibrator(threshold=2.5, warmup=3, window=10)
        >>> for s in (1.0, 1.1, 0.9, 1.2):
        ...     _ = cal.observe(s)
        >>> cal.observe(3.0)[:2], cal.n_seen
        ((1.0, True), 5)
        """
        if score != score:  # NaN: graded 0, never recorded
            return self.assess(score)
        ordered = self._sorted
        n = len(ordered)
        pos = bisect.bisect_left(ordered, score)
        warming = self.n_seen < self.warmup
        peaks = self._peaks
        if peaks is not None:
            grade = pos / (n + 1) if n else 0.0
            if n < self.warmup:
                level = 0.0
            else:
                if self._fit:
                    tail = self.tail
                    level = exp_tail_level(ordered, n, pos, score, tail["fit_quantile"],
                                           tail["fit_min"])
                else:
                    level = -math.log10((n - pos + 1) / (n + 1))
                if self._young:
                    level = self._aged(level, n)
            self.last_level = last = level if peaks.step(level) else 0.0
            if warming:
                out = (grade, False, 0.0, True)
            else:
                threshold = self.threshold
                out = (grade, last >= threshold, min(1.0, math.log10(n + 1) / threshold), False)
        else:
            grade = pos / n if n else 0.0
            if warming:
                out = (grade, False, 0.0, True)
            else:
                if self.threshold is not None:
                    flag = score >= self.threshold
                else:
                    flag = grade >= self.quantile  # type: ignore[operator]
                out = (grade, bool(flag), min(1.0, n / self.window), False)
        self._record(score, pos)
        return out

    def _record(self, score: float, pos: int | None = None) -> None:
        """Add ``score``; ``pos``: its ``bisect_left`` in the sorted history, if known."""
        self.n_seen += 1
        ring, ordered = self._ring, self._sorted
        if pos is None:
            pos = bisect.bisect_left(ordered, score)
        # insertion point after any equal scores (insort's), without a second bisection
        # unless the score is already in the history (each probe of an array boxes a float)
        if pos == len(ordered) or ordered[pos] != score:
            at = pos
        else:
            at = bisect.bisect_right(ordered, score)
        if len(ring) < self.window:
            ring.append(score)
            ordered.insert(at, score)
            return
        old = ring[self._pos]
        ring[self._pos] = score
        self._pos = (self._pos + 1) % self.window
        # Full history: drop the oldest score and insert the new one with ONE move of the
        # scores between them (not a delete and an insert, each moving the tail of the
        # array); the same array as `del ordered[bisect_left(old)]; insort(ordered, score)`.
        gone = bisect.bisect_left(ordered, old)
        view = memoryview(ordered)
        if at <= gone:
            view[at + 1 : gone + 1] = view[at:gone]
        else:
            at -= 1
            view[gone:at] = view[gone + 1 : at + 1]
        view.release()
        ordered[at] = score

    def __setstate__(self, st: dict) -> None:
        # snapshots from before the compact history kept a deque and a list of floats
        if "_recent" in st:
            recent = list(st.pop("_recent"))
            st["_ring"], st["_pos"] = array("d", recent), 0
            st["_sorted"] = array("d", sorted(recent))
        for name, value in (("tail", None), ("_peaks", None), ("last_level", 0.0),
                            ("_fit", False), ("_young", 0.0)):
            st.setdefault(name, value)
        if st["tail"] is not None:
            st["tail"] = {**TAIL_DEFAULTS, **st["tail"]}
        self.__dict__.update(st)

    def __repr__(self) -> str:
        if self.tail is not None:
            return f"ScoreCalibrator(threshold={self.threshold}, tail={self.tail})"
        rule = f"threshold={self.threshold}" if self.threshold is not None else (
            f"quantile={self.quantile}"
        )
        return f"ScoreCalibrator({rule}, warmup={self.warmup}, window={self.window})"
