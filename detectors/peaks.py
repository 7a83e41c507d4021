"""New-peak rule for tail levels: a sustained excursion alarms once, at its start."""

from __future__ import annotations

from collections import deque

__all__ = ["PeakFilter"]


class PeakFilter:
    """Keep a level only if it beats every level of the previous ``suppress`` rows.

    A level must exceed the highest level of the last ``suppress`` rows by more than
    ``margin`` to count as a new peak. The margin stops a slow climb (each row a new
    maximum, each a hair rarer than the last) from counting on every row. A monotone deque
    keeps the candidates, so both calls are O(1) amortised and memory is O(suppress).

    Parameters
    ----------
    suppress
        Rows a new peak must beat (0: every level is a peak).
    margin
        How much higher than those rows a new peak must be.

    Examples
    --------
    >>> pf = PeakFilter(suppress=2, margin=0.0)
    >>> [pf.step(level) for level in (1.0, 3.0, 2.0, 2.5, 1.0, 1.0, 1.5)]
    [True, True, False, False, False, False, True]
    >>> pf.beats(1.6), pf.beats(1.4)  # asks about the next row without recording it
    (True, False)
    """

    def __init__(self, suppress: int = 200, margin: float = 0.05) -> None:
        if suppress < 0 or margin < 0:
            raise ValueError("suppress and margin must be >= 0")
        self.suppress = suppress
        self.margin = margin
        self._peaks: deque[tuple[int, float]] = deque()  # (row, level), levels decreasing
        self._row = 0

    def beats(self, level: float) -> bool:
        """Whether ``level`` on the next row is a new peak (does not change the state)."""
        oldest = self._row - self.suppress
        for row, peak in self._peaks:  # the first live entry is the highest live level
            if row >= oldest:
                return level > peak + self.margin
        return True

    def step(self, level: float) -> bool:
        """Record the level of the next row; return whether it was a new peak (:meth:`beats`).

        >>> PeakFilter(suppress=2).step(1.0)  # nothing to beat yet
        True
        """
        peaks = self._peaks
        oldest = self._row - self.suppress
        while peaks and peaks[0][0] < oldest:  # expired rows are a prefix (rows increase)
            peaks.popleft()
        beats = level > peaks[0][1] + self.margin if peaks else True
        while peaks and peaks[-1][1] <= level:
            peaks.pop()
        peaks.append((self._row, level))
        self._row += 1
        return beats

    def __repr__(self) -> str:
        return f"PeakFilter(suppress={self.suppress}, margin={self.margin})"
