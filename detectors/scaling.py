"""Online per-feature standardisation: inputs without units for the forest.

A Random Cut Forest cuts a dimension with a probability proportional to its range, so on raw
multivariate records the cuts follow the units (a voltage of 230 V outweighs a vibration of
0.03 g). :class:`OnlineScaler` keeps, per feature, an exponentially weighted mean and
variance whose updates are clipped at ``clip`` standard deviations (so the outliers being
looked for barely move them) and maps a record to ``(value - mean) / sd``. The raw values
stay with the caller (documents, the explanation's ``expected``).
"""

from __future__ import annotations

import math

__all__ = ["OnlineScaler", "SPREAD_FLOOR"]

#: Smallest spread a feature is divided by, relative to ``max(1, |mean|)`` (a feature that
#: was constant so far: any change is many "standard deviations" away, as it should be).
SPREAD_FLOOR = 1e-9


class OnlineScaler:
    """Per-feature robust online standardisation of fixed-length points.

    Parameters
    ----------
    horizon
        Records the mean and variance reflect (weight ``1 / min(n, horizon)``).
    clip
        Once ``min_clip`` records were seen, a value further than ``clip`` standard
        deviations from the mean updates the statistics as if it were at that distance.
    min_clip
        Records seen before updates are clipped.

    Examples
    --------
    >>> sc = OnlineScaler(horizon=100)
    >>> for v in (10.0, 12.0, 8.0, 11.0, 9.0) * 10:
    ...     sc.learn([v, 1000.0 * v])
    >>> [round(z, 3) for z in sc.transform([10.0, 10000.0])]
    [0.0, 0.0]
    >>> [round(z, 3) for z in sc.transform([14.0, 14000.0])]  # the same in either unit
    [2.828, 2.828]
    >>> sc.learn([1e6, 10000.0])  # an outlier counts as if it were `clip` sd away
    >>> round(sc.transform([14.0, 0.0])[0], 3)
    2.259
    """

    def __init__(self, horizon: int = 10_000, clip: float = 5.0, min_clip: int = 20) -> None:
        if horizon < 1 or clip <= 0 or min_clip < 1:
            raise ValueError("need horizon >= 1, clip > 0 and min_clip >= 1")
        self.horizon = horizon
        self.clip = clip
        self.min_clip = min_clip
        self.n = 0
        self._mean: list[float] = []
        self._var: list[float] = []
        self._low: list[float] = []
        self._high: list[float] = []

    def _spread(self, i: int) -> float:
        mean = self._mean[i]
        return max(math.sqrt(self._var[i]), SPREAD_FLOOR * max(1.0, abs(mean)))

    def transform(self, point: list[float]) -> list[float]:
        """``(value - mean) / sd`` per feature (the values themselves before any learning)."""
        if not self._mean:
            return [0.0] * len(point)
        mean, var = self._mean, self._var
        out = []
        for i, v in enumerate(point):
            m = mean[i]
            sd = math.sqrt(var[i])
            floor = SPREAD_FLOOR * (m if m > 1.0 else (-m if m < -1.0 else 1.0))
            out.append((v - m) / (sd if sd > floor else floor))
        return out

    def learn(self, point: list[float]) -> None:
        """Update every feature's statistics with ``point`` (finite values)."""
        n = self.n = self.n + 1
        if n == 1:
            self._mean, self._var = list(point), [0.0] * len(point)
            self._low, self._high = list(point), list(point)
            return
        inv = 1.0 / (n if n < self.horizon else self.horizon)
        clipping = n > self.min_clip
        mean, var, low, high = self._mean, self._var, self._low, self._high
        limit = self.clip
        for i, v in enumerate(point):
            if v < low[i]:
                low[i] = v
            elif v > high[i]:
                high[i] = v
            m = mean[i]
            d = v - m
            if clipping and var[i] > 0.0:
                bound = limit * math.sqrt(var[i])
                d = bound if d > bound else (-bound if d < -bound else d)
            step = d * inv
            mean[i] = m + step
            var[i] = (1.0 - inv) * (var[i] + d * step)

    def novelty(self, point: list[float]) -> tuple[int, float]:
        """The feature furthest outside the range seen so far and that distance in sd.

        ``(index, distance)``: how many standard deviations the value lies beyond the
        highest (or under the lowest) value seen; ``(-1, 0.0)`` when every value is inside.

        Examples
        --------
        >>> sc = OnlineScaler()
        >>> for v in (0.2, 0.3, 0.25, 0.35, 0.3) * 6:
        ...     sc.learn([v, 5.0])
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
                z = (v - self._high[i]) / self._spread(i)
            elif v < self._low[i]:
                z = (self._low[i] - v) / self._spread(i)
            else:
                continue
            if z > best:
                best, where = z, i
        return where, best

    def means(self) -> list[float]:
        """The running mean of every feature (raw units)."""
        return list(self._mean)
