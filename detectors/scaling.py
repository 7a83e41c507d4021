"""Per-feature standardisation fixed early: inputs without units for the forest.

A Random Cut Forest cuts a dimension with a probability proportional to its range, so on raw
multivariate records the cuts follow the units (a voltage of 230 V outweighs a vibration of
0.03 g). :class:`OnlineScaler` fixes, per feature, a centre and a scale from the stream's
first ``warmup`` records (median and MAD, robust to outliers among them) and maps every
record to ``(value - centre) / scale``. The frame is then kept: a forest's stored points stay
comparable with new ones, and a level shift stays visible as one (a moving frame would
standardise it away). The first ``warmup`` records are held back and handed over at once,
in the fixed frame, so on one feature the forest sees an affine image of the raw stream
(RCF's cuts are invariant to it). The raw values stay with the caller (documents, the
explanation's ``expected``).
"""

from __future__ import annotations

import math
import statistics

__all__ = ["MAD_TO_SD", "OnlineScaler", "SPREAD_FLOOR"]

#: Smallest scale a feature is divided by, relative to ``max(1, |centre|)`` (only for a
#: feature that never varied: any change of it is then far outside, as it should be).
SPREAD_FLOOR = 1e-9
#: Median absolute deviation to standard deviation under a normal distribution.
MAD_TO_SD = 1.4826


class OnlineScaler:
    """Per-feature standardisation of fixed-length points, its frame fixed after ``warmup``.

    Parameters
    ----------
    warmup
        Records whose median and MAD fix each feature's centre and scale (a feature whose
        MAD is 0 takes its standard deviation; one that has not varied at all keeps
        looking until it does).

    Examples
    --------
    >>> sc = OnlineScaler(warmup=4)
    >>> [sc.learn([v, 1000.0 * v]) for v in (10.0, 12.0, 8.0)]  # held back until warmup
    [[], [], []]
    >>> [[round(z, 3) for z in p] for p in sc.learn([11.0, 11000.0])]  # all four, one frame
    [[-0.337, -0.337], [1.012, 1.012], [-1.686, -1.686], [0.337, 0.337]]
    >>> [round(z, 3) for z in sc.transform([14.0, 14000.0])]  # the same in either unit
    [2.361, 2.361]
    """

    def __init__(self, warmup: int = 64) -> None:
        if warmup < 1:
            raise ValueError(f"warmup must be >= 1, got {warmup}")
        self.warmup = warmup
        self.n = 0
        self._held: list[list[float]] = []
        self._centre: list[float] = []
        self._scale: list[float] = []
        self._fixed: list[bool] = []
        # every record: running mean and variance (Welford), lowest and highest value
        self._mean: list[float] = []
        self._m2: list[float] = []
        self._low: list[float] = []
        self._high: list[float] = []

    @property
    def ready(self) -> bool:
        """Whether the frame is fixed (``warmup`` records seen)."""
        return bool(self._centre)

    def transform(self, point: list[float]) -> list[float]:
        """``(value - centre) / scale`` per feature (the current running frame before the
        frame is fixed)."""
        if not self._centre:
            if not self._mean:
                return [0.0] * len(point)
            return [(v - m) / self._sd(i, m) for i, (v, m) in enumerate(zip(point, self._mean,
                                                                             strict=False))]
        return [(v - c) / s for v, c, s in zip(point, self._centre, self._scale, strict=False)]

    def _sd(self, i: int, centre: float) -> float:
        sd = math.sqrt(self._m2[i] / self.n) if self.n else 0.0
        return max(sd, SPREAD_FLOOR * max(1.0, abs(centre)))

    def learn(self, point: list[float]) -> list[list[float]]:
        """Take ``point`` (finite values) in; return the points to hand to the forest, in
        the fixed frame: none while held back, all of them at the ``warmup``-th record,
        then this one."""
        n = self.n = self.n + 1
        if n == 1:
            self._mean, self._m2 = list(point), [0.0] * len(point)
            self._low, self._high = list(point), list(point)
        else:
            mean, m2, low, high = self._mean, self._m2, self._low, self._high
            for i, v in enumerate(point):
                if v < low[i]:
                    low[i] = v
                elif v > high[i]:
                    high[i] = v
                d = v - mean[i]
                mean[i] += d / n
                m2[i] += d * (v - mean[i])
        if not self._centre:
            self._held.append(list(point))
            if n < self.warmup:
                return []
            self._fix()
            held, self._held = self._held, []
            return [self.transform(p) for p in held]
        if not all(self._fixed):
            self._refix()
        return [self.transform(point)]

    def _fix(self) -> None:
        columns = list(zip(*self._held, strict=True))
        self._centre = [statistics.median(c) for c in columns]
        self._scale, self._fixed = [], []
        for i, (c, centre) in enumerate(zip(columns, self._centre, strict=True)):
            mad = MAD_TO_SD * statistics.median(abs(v - centre) for v in c)
            sd = math.sqrt(self._m2[i] / self.n)
            scale = mad if mad > 0.0 else sd
            self._fixed.append(scale > 0.0)
            self._scale.append(scale if scale > 0.0 else SPREAD_FLOOR * max(1.0, abs(centre)))

    def _refix(self) -> None:
        """A feature that had not varied takes its scale once it has (then keeps it)."""
        for i, fixed in enumerate(self._fixed):
            if not fixed and self._m2[i] > 0.0:
                self._scale[i] = math.sqrt(self._m2[i] / self.n)
                self._fixed[i] = True

    def novelty(self, point: list[float]) -> tuple[int, float]:
        """The feature furthest outside the range seen so far and that distance in sd.

        ``(index, distance)``: how many standard deviations (of every value seen) the value
        lies beyond the highest (or under the lowest) value seen; ``(-1, 0.0)`` when every
        value is inside.

        Examples
        --------
        >>> sc = OnlineScaler()
        >>> for v in (0.2, 0.3, 0.25, 0.35, 0.3) * 6:
        ...     _ = sc.learn([v, 5.0])
        >>> i, z = sc.novelty([30.0, 5.0])
        >>> i, z > 500
        (0, True)
        >>> sc.novelty([0.3, 5.0])
        (-1, 0.0)
        """
        best, where = 0.0, -1
        if not self._mean:
            return where, best
        for i, v in enumerate(point):
            if v > self._high[i]:
                z = (v - self._high[i]) / self._sd(i, self._mean[i])
            elif v < self._low[i]:
                z = (self._low[i] - v) / self._sd(i, self._mean[i])
            else:
                continue
            if z > best:
                best, where = z, i
        return where, best

    def means(self) -> list[float]:
        """The mean of every feature over every record seen (raw units)."""
        return list(self._mean)
