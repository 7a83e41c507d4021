"""Post-processing of raw scores: how unusual is this score for this stream?

NAB's leaders differ from the rest less by their model than by what they do with its raw
score: they turn it into a tail probability of the stream's own score history (one scale
for every stream, so one threshold serves all of them) and they alarm once per excursion.
:class:`TailScore` and :class:`ProductTail` do both (empirical tail, new peaks only) with
the product's own tail calibration (:class:`detectors.ScoreCalibrator`), the measured winner;
:class:`GaussianTail` is NAB's "anomaly likelihood" idea (Gaussian tail of a short-term
average), measured and kept for comparison; :class:`MaxOf` is a simple ensemble.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from detectors import ScoreCalibrator
from evaluation.scorers import RowScorer

__all__ = ["GaussianTail", "MaxOf", "ProductTail", "TailScore"]


def _log_tail(z: float) -> float:
    """``-log10`` of the upper Gaussian tail ``Q(z)``, finite for large ``z``."""
    q = 0.5 * math.erfc(z / math.sqrt(2.0))
    if q > 1e-300:
        return -math.log10(q)
    # asymptotic: Q(z) ~ phi(z) / z
    return (z * z / 2.0 + math.log(z * math.sqrt(2.0 * math.pi))) / math.log(10.0)


class GaussianTail:
    """Post-process a raw score into how far in the tail of its own recent history it is.

    The short-term mean of the last ``short`` raw scores is compared with the mean and
    standard deviation of the last ``long`` raw scores; the output is ``-log10`` of the
    Gaussian upper-tail probability (NAB's "anomaly likelihood" idea), so 2 means "1 in
    100", 3 "1 in 1000". Output is 0 until ``min_history`` scores were seen. Unlike the raw
    score, it is comparable across streams of very different behaviour.

    Parameters
    ----------
    inner
        The row scorer whose raw score is post-processed.
    long, short
        History and short-term averaging lengths, in rows.
    min_history
        Rows of history needed before output.

    Examples
    --------
    >>> class Steps:
    ...     def __init__(self, values):
    ...         self.values = iter(values)
    ...     def process(self, value):
    ...         return next(self.values)
    >>> raw = [1.0, 1.2, 0.8, 1.1, 0.9] * 20 + [5.0]
    >>> tail = GaussianTail(Steps(raw), long=50, short=1, min_history=10)
    >>> out = [tail.process(0.0) for _ in raw]
    >>> out[0], round(out[50], 2) < 1.0, out[-1] > 10
    (0.0, True, True)
    """

    def __init__(self, inner: RowScorer, long: int = 1000, short: int = 5, min_history: int = 50):
        self.inner = inner
        self.long = long
        self.short = short
        self.min_history = min_history
        self._history: deque[float] = deque()
        self._recent: deque[float] = deque(maxlen=short)
        self._sum = 0.0
        self._sq = 0.0

    def process(self, value: float) -> float:
        raw = self.inner.process(value)
        self._recent.append(raw)
        out = 0.0
        n = len(self._history)
        if n >= self.min_history:
            # running sums keep this O(1) per row; scores are small, float64 is plenty
            mean = self._sum / n
            std = math.sqrt(max(self._sq / n - mean * mean, 0.0))
            std = max(std, 1e-6 * max(abs(mean), 1e-12))
            z = (sum(self._recent) / len(self._recent) - mean) / std
            out = _log_tail(z) if z > 0 else 0.0
        self._history.append(raw)
        self._sum += raw
        self._sq += raw * raw
        if n + 1 > self.long:
            old = self._history.popleft()
            self._sum -= old
            self._sq -= old * old
        return out


class TailScore:
    """Post-process a raw score into its tail level with the product's tail calibration.

    A row-scorer wrapper around :class:`detectors.ScoreCalibrator` in tail mode (one
    implementation, shared with the product): ``-log10((m + 1) / (n + 1))`` where ``m`` of
    the last ``n`` raw scores (``n <= history``) are at or above the new one, reported only
    at a new peak (it must beat every level of the previous ``suppress`` rows by more than
    ``margin``), else 0; 0 for the first ``min_history`` rows. :meth:`decide` flags
    ``level >= threshold`` (default 3: rarer than 1 in 1000 and a new peak), a rule that
    needs no labels. For raw scores from outside the product (bare krcf, z-score); the
    product path uses :class:`ProductTail`.

    Parameters
    ----------
    inner
        Row scorer whose raw score is post-processed (any scale; high means odd).
    history, suppress, margin, min_history, threshold
        See :class:`detectors.ScoreCalibrator` (tail mode).

    Examples
    --------
    >>> class Raw:
    ...     def __init__(self, values):
    ...         self.values = iter(values)
    ...     def process(self, value):
    ...         return next(self.values)
    >>> raw = [float(i % 10) for i in range(99)] + [50.0, 60.0, 1.0]
    >>> t = TailScore(Raw(raw), suppress=5, margin=0.0, min_history=10)
    >>> out = [t.process(0.0) for _ in raw]
    >>> [round(v, 3) for v in out[98:]]
    [0.717, 2.0, 2.004, 0.0]

    Row 98 (an 8: 19 in 99 are as high) peaks over the 3..7 before it; 50 and then 60 are
    new maxima (each a little rarer than the last); 1.0 right after them is suppressed.
    """

    def __init__(
        self,
        inner: RowScorer,
        history: int = 20_000,
        suppress: int = 50,
        margin: float = 0.0,
        min_history: int = 50,
        threshold: float = 3.0,
    ) -> None:
        self.inner = inner
        self.threshold = threshold
        tail = {"history": history, "suppress": suppress, "margin": margin,
                "min_history": min_history}
        self.calibrator = ScoreCalibrator(threshold=threshold, tail=tail)

    def process(self, value: float) -> float:
        self.calibrator.update(self.inner.process(value))
        return self.calibrator.last_level

    def decide(self, value: float) -> tuple[float, bool]:
        out = self.process(value)
        return out, out >= self.threshold


class ProductTail:
    """The product path in tail mode: ``detectors.build_scorer`` with a ``tail`` calibration.

    :meth:`decide` returns the calibrator's level of the row (``-log10`` tail probability at
    a new peak, else 0: the number the threshold applies to, swept by NAB) and the product's
    own ``Assessment.flag``.

    Examples
    --------
    >>> import random
    >>> rng = random.Random(0)
    >>> pt = ProductTail({"name": "rcf", "n_trees": 20, "sample_size": 64, "seed": 1},
    ...                  {"tail": {"history": 5000, "suppress": 50}, "threshold": 3.0})
    >>> out = [pt.decide(rng.gauss(0, 1)) for _ in range(1500)] + [pt.decide(30.0)]
    >>> round(out[-1][0], 2), out[-1][1], sum(flag for _, flag in out[:-1])
    (3.17, True, 1)
    """

    def __init__(self, detector: Mapping[str, Any], calibration: Mapping[str, Any]) -> None:
        import detectors

        self._scorer = detectors.build_scorer(detector, calibration, None, ["value"])
        self._calibrator = self._scorer.calibrator()

    def decide(self, value: float) -> tuple[float, bool]:
        flag = self._scorer.process_one({"value": value}).flag
        return self._calibrator.last_level, bool(flag)

    def process(self, value: float) -> float:
        return self.decide(value)[0]


class MaxOf:
    """Ensemble: the maximum of several row scorers' outputs (same scale expected)."""

    def __init__(self, members: Sequence[RowScorer]) -> None:
        self.members = list(members)

    def process(self, value: float) -> float:
        return max(m.process(value) for m in self.members)
