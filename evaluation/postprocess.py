"""Post-processing of raw scores: how unusual is this score for this stream?

NAB's leaders differ from the rest less by their model than by what they do with its raw
score: they turn it into a tail probability of the stream's own score history (one scale
for every stream, so one threshold serves all of them) and they alarm once per excursion.
:class:`TailScore` does both (empirical tail, new peaks only) and is the measured winner;
:class:`GaussianTail` is NAB's "anomaly likelihood" idea (Gaussian tail of a short-term
average), measured and kept for comparison; :class:`MaxOf` is a simple ensemble.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Sequence

from evaluation.scorers import RowScorer

__all__ = ["GaussianTail", "MaxOf", "TailScore"]


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
    """Post-process a raw score into its empirical tail probability, keeping only new peaks.

    1. *Tail*: ``-log10((m + 1) / (n + 1))`` where ``m`` of the last ``n`` raw scores
       (``n <= history``) are at or above the new one: 2 means "1 in 100", 3 "1 in 1000".
       One scale for every stream, whatever the detector or the data.
    2. *Peaks only*: a tail value that does not beat every tail value of the previous
       ``suppress`` rows by more than ``margin`` is reported as 0, so a sustained excursion
       alarms once, at its start, and not on every row (NAB charges every row; operators
       see one alarm). The margin stops a slow climb (each row a new maximum, each a hair
       rarer than the last) from alarming on every row.

    Output is 0 for the first ``min_history`` rows. Memory is bounded by ``history``.
    :meth:`decide` flags ``tail >= threshold`` (default 3: rarer than 1 in 1000 and a new
    peak), a rule that needs no labels.

    Parameters
    ----------
    inner
        Row scorer whose raw score is post-processed (any scale; high means odd).
    history
        Raw scores kept for the empirical distribution.
    suppress
        Rows a new peak must beat (0 disables the suppression).
    margin
        How much rarer (in log10 units) than those rows a new peak must be.
    min_history
        Rows before any output.
    threshold
        Tail level flagged by :meth:`decide`.

    Examples
    --------
    >>> class Raw:
    ...     def __init__(self, values):
    ...         self.values = iter(values)
    ...     def process(self, value):
    ...         return next(self.values)
    >>> raw = [float(i % 10) for i in range(99)] + [50.0, 60.0, 1.0]
    >>> t = TailScore(Raw(raw), suppress=5, min_history=10)
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
        self.history = history
        self.suppress = suppress
        self.margin = margin
        self.min_history = min_history
        self.threshold = threshold
        self._sorted: list[float] = []
        self._order: deque[float] = deque()
        self._peaks: deque[tuple[int, float]] = deque()  # (row, tail), tails decreasing
        self._row = 0

    def _tail(self, raw: float) -> float:
        n = len(self._sorted)
        if n < self.min_history:
            return 0.0
        at_or_above = n - bisect.bisect_left(self._sorted, raw)
        return -math.log10((at_or_above + 1) / (n + 1))

    def process(self, value: float) -> float:
        raw = self.inner.process(value)
        tail = self._tail(raw)
        peaks, row = self._peaks, self._row
        while peaks and peaks[0][0] < row - self.suppress:
            peaks.popleft()
        out = tail if not peaks or tail > peaks[0][1] + self.margin else 0.0
        while peaks and peaks[-1][1] <= tail:
            peaks.pop()
        peaks.append((row, tail))
        self._row += 1
        bisect.insort(self._sorted, raw)
        self._order.append(raw)
        if len(self._order) > self.history:
            old = self._order.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, old)]
        return out

    def decide(self, value: float) -> tuple[float, bool]:
        out = self.process(value)
        return out, out >= self.threshold


class MaxOf:
    """Ensemble: the maximum of several row scorers' outputs (same scale expected)."""

    def __init__(self, members: Sequence[RowScorer]) -> None:
        self.members = list(members)

    def process(self, value: float) -> float:
        return max(m.process(value) for m in self.members)
