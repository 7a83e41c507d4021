"""NAB's published scoring rules, implemented from their description (our own code).

A detector gives every row of every file a score; a row *detects* when its score is at or
above a threshold. Rows inside an anomaly window reward the earliest detection with a scaled
sigmoid of its position; detections outside every window cost a false-positive penalty that
shrinks right after a window; a window without detection costs the miss weight. The first
rows of a file (probation) are not scored. Raw scores are normalised between the null
detector (never fires) and the perfect detector (hits every window at its first row).

References
----------
Lavin, A. and Ahmad, S. (2015). Evaluating Real-time Anomaly Detection Algorithms - the
Numenta Anomaly Benchmark. arXiv:1510.03336. Rules as summarised in
``../shared/data/nab/SCORING.md``; NAB data and labels are MIT-licensed, Copyright 2014-2024
Numenta Inc.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "PROFILES",
    "Profile",
    "ProfileResult",
    "ScoredRows",
    "row_weights",
    "scaled_sigmoid",
]


@dataclass(frozen=True, slots=True)
class Profile:
    """Weights of one NAB application profile."""

    name: str
    tp: float
    fp: float
    fn: float


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("standard", tp=1.0, fp=0.11, fn=1.0),
        Profile("reward_low_FP_rate", tp=1.0, fp=0.22, fn=1.0),
        Profile("reward_low_FN_rate", tp=1.0, fp=0.11, fn=2.0),
    )
}


def scaled_sigmoid(x: float) -> float:
    """NAB's scaled sigmoid ``2 / (1 + e^(5x)) - 1``, exactly -1 beyond ``x > 3``.

    Examples
    --------
    >>> round(scaled_sigmoid(-1.0), 4), scaled_sigmoid(0.0), scaled_sigmoid(3.5)
    (0.9866, 0.0, -1.0)
    """
    if x > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


_MAX_TP = scaled_sigmoid(-1.0)


def row_weights(
    n_rows: int, windows: Iterable[tuple[int, int]], probation: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row window index and unweighted reward/penalty, for the scored rows only.

    Parameters
    ----------
    n_rows
        Rows in the file.
    windows
        Inclusive ``(left, right)`` row ranges, sorted and disjoint.
    probation
        Leading rows that are not scored.

    Returns
    -------
    window, weight
        Arrays over rows ``probation..n_rows-1``. ``window`` is the index of the window
        holding the row, or -1 outside every window. ``weight`` is the reward of a detection
        in a window (1 at its first row, towards 0 at its last) or the (negative) penalty of
        a detection outside (-1 before the first window, near 0 just after a window).

    Examples
    --------
    A window on rows 2..5 of an 8-row file with no probation:

    >>> win, w = row_weights(8, [(2, 5)], 0)
    >>> win.tolist()
    [-1, -1, 0, 0, 0, 0, -1, -1]
    >>> [round(v, 3) for v in w.tolist()]
    [-1.0, -1.0, 1.0, 0.967, 0.86, 0.562, -0.682, -0.931]
    """
    window = np.full(n_rows, -1, dtype=np.int64)
    weight = np.full(n_rows, -1.0)
    bounds = list(windows)
    for k, (left, right) in enumerate(bounds):
        width = right - left + 1
        for i in range(left, right + 1):
            window[i] = k
            weight[i] = scaled_sigmoid(-(right - i + 1) / width) / _MAX_TP
        # the rows after this window, up to the next one, are penalised relative to it
        stop = bounds[k + 1][0] if k + 1 < len(bounds) else n_rows
        # a one-row window would divide by zero in NAB; treat its width as 2 here
        span = float(max(width - 1, 1))
        for i in range(right + 1, stop):
            weight[i] = scaled_sigmoid((i - right) / span)
    return window[probation:], weight[probation:]


@dataclass(frozen=True, slots=True)
class ProfileResult:
    """A profile's threshold, raw score and normalised score (100 perfect, 0 null)."""

    profile: str
    threshold: float
    raw: float
    score: float


class ScoredRows:
    """Detector scores of the scored rows of many files, pooled for corpus-level scoring.

    Parameters
    ----------
    parts
        Iterable of ``(scores, windows, probation)``: one file's scores for *all* its rows,
        its inclusive window row ranges and its probation length. Windows that end inside
        probation are dropped.

    Examples
    --------
    One 10-row file, window on rows 4..6, no probation, a detector firing at row 5 only:

    >>> scores = np.array([0, 0, 0, 0, 0.2, 0.9, 0.3, 0, 0, 0.1])
    >>> rows = ScoredRows([(scores, [(4, 6)], 0)])
    >>> r = rows.at_threshold(0.5, PROFILES["standard"])
    >>> round(r.raw, 4), round(r.score, 2)
    (0.9437, 97.19)
    >>> best = rows.best(PROFILES["standard"])
    >>> best.threshold, round(best.raw, 4)
    (0.2, 1.0)
    """

    def __init__(self, parts: Iterable[tuple[np.ndarray, Iterable[tuple[int, int]], int]]):
        scores, windows, weights = [], [], []
        n_windows = 0
        for file_scores, file_windows, probation in parts:
            file_scores = np.asarray(file_scores, dtype=np.float64)
            bounds = [(lo, hi) for lo, hi in file_windows if hi >= probation]
            win, weight = row_weights(len(file_scores), bounds, probation)
            scores.append(file_scores[probation:])
            windows.append(np.where(win >= 0, win + n_windows, -1))
            weights.append(weight)
            n_windows += len(bounds)
        self.scores = np.concatenate(scores) if scores else np.zeros(0)
        self.window = np.concatenate(windows) if windows else np.zeros(0, dtype=np.int64)
        self.weight = np.concatenate(weights) if weights else np.zeros(0)
        self.n_windows = n_windows

    def normalise(self, raw: float, profile: Profile) -> float:
        """``100 * (raw - null) / (perfect - null)`` over this pool's windows."""
        null, perfect = -profile.fn * self.n_windows, profile.tp * self.n_windows
        if perfect == null:  # no window at all: nothing to normalise against
            return float("nan")
        return 100.0 * (raw - null) / (perfect - null)

    def at_threshold(self, threshold: float, profile: Profile) -> ProfileResult:
        """Score with a fixed threshold (rows with ``score >= threshold`` detect)."""
        detect = self.scores >= threshold
        outside = self.window < 0
        fp = profile.fp * float(self.weight[detect & outside].sum())
        best = np.full(self.n_windows, -np.inf)
        hits = detect & ~outside
        np.maximum.at(best, self.window[hits], self.weight[hits])
        hit = np.isfinite(best)
        raw = fp + profile.tp * float(best[hit].sum()) - profile.fn * int((~hit).sum())
        return ProfileResult(profile.name, float(threshold), raw, self.normalise(raw, profile))

    def sweep(self, profile: Profile) -> tuple[np.ndarray, np.ndarray]:
        """Raw score at every distinct score value, in ONE pass over the rows sorted by score.

        Returns
        -------
        thresholds, raw
            Thresholds in descending order and the raw score when rows at or above each
            detect. The null detector (``inf``, nothing detects) comes first.
        """
        order = np.argsort(-self.scores, kind="stable")
        s, win, w = self.scores[order], self.window[order], self.weight[order]
        delta = np.where(win < 0, profile.fp * w, 0.0)
        # Inside windows only the earliest detection counts, and the reward falls along the
        # window, so a window's value is the best reward seen so far; a row adds the
        # improvement over that running best (the first one also cancels the miss).
        idx = np.flatnonzero(win >= 0)
        group = win[idx]
        by_group = np.argsort(group, kind="stable")  # keeps descending-score order per group
        g, v = group[by_group], profile.tp * w[idx][by_group]
        offset = g * (profile.tp + 1.0)  # rewards lie in [0, tp]: offsets keep groups apart
        running = np.maximum.accumulate(v + offset) - offset
        first = np.r_[True, g[1:] != g[:-1]]
        before = np.where(first, -profile.fn, np.r_[0.0, running[:-1]])
        delta[idx[by_group]] = running - before
        total = -profile.fn * self.n_windows + np.cumsum(delta)
        last_of_value = np.r_[s[1:] != s[:-1], True] if len(s) else np.zeros(0, dtype=bool)
        thresholds = np.r_[np.inf, s[last_of_value]]
        raw = np.r_[-profile.fn * self.n_windows, total[last_of_value]]
        return thresholds, raw

    def best(self, profile: Profile) -> ProfileResult:
        """The threshold with the highest raw score (ties: the highest threshold)."""
        thresholds, raw = self.sweep(profile)
        k = int(np.argmax(raw))
        return ProfileResult(
            profile.name, float(thresholds[k]), float(raw[k]), self.normalise(raw[k], profile)
        )
