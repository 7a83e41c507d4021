"""Event-level precision, recall, F1 and detection delay.

NAB scores rows; operators see *alarms*. Here a maximal run of consecutive detecting rows is
one alarm, and a labelled anomaly window is one event:

- a run is cut where it enters or leaves a window, so an alarm lies wholly inside one window
  (a *true* alarm) or wholly outside every window (a *false* alarm); otherwise flagging
  every row would be one "true" alarm with perfect precision;
- an event is *detected* when any row of its window detects;
- precision = true alarms / alarms, recall = detected events / events, F1 their harmonic mean;
- delay = rows from the event's reference row (its first labelled point when known, else its
  window's first row) to the first detecting row in the window. It can be negative: NAB
  windows open before the labelled point, and an early alarm is a good one.

Probation rows (NAB's learning period) are ignored, as in the NAB score.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["EventCounts", "event_counts"]


@dataclass(frozen=True, slots=True)
class EventCounts:
    """Alarm and event counts, summable over files.

    Examples
    --------
    >>> c = EventCounts(alarms=4, true_alarms=3, events=3, detected=2, delays=(1, 5))
    >>> round(c.precision, 3), round(c.recall, 3), round(c.f1, 3), c.mean_delay
    (0.75, 0.667, 0.706, 3.0)
    >>> (c + c).alarms
    8
    """

    alarms: int = 0
    true_alarms: int = 0
    events: int = 0
    detected: int = 0
    delays: tuple[int, ...] = ()

    def __add__(self, other: EventCounts) -> EventCounts:
        return EventCounts(
            self.alarms + other.alarms,
            self.true_alarms + other.true_alarms,
            self.events + other.events,
            self.detected + other.detected,
            self.delays + other.delays,
        )

    @property
    def precision(self) -> float:
        """True alarms over alarms (NaN without any alarm)."""
        return self.true_alarms / self.alarms if self.alarms else float("nan")

    @property
    def recall(self) -> float:
        """Detected events over events (NaN without any event)."""
        return self.detected / self.events if self.events else float("nan")

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall (0 when either is 0 or undefined)."""
        p, r = self.precision, self.recall
        if not (p > 0 and r > 0):
            return 0.0
        return 2 * p * r / (p + r)

    @property
    def mean_delay(self) -> float:
        """Mean delay in rows over detected events (NaN when none is detected)."""
        return float(np.mean(self.delays)) if self.delays else float("nan")


def _alarms(detect: np.ndarray, member: np.ndarray) -> tuple[int, int]:
    """``(alarms, true alarms)``: runs of detections, cut where window membership changes."""
    rows = np.flatnonzero(detect)
    if not len(rows):
        return 0, 0
    starts = np.r_[True, (np.diff(rows) > 1) | (member[rows][1:] != member[rows][:-1])]
    return int(starts.sum()), int((member[rows][starts] >= 0).sum())


def event_counts(
    detect: Sequence[bool] | np.ndarray,
    windows: Iterable[tuple[int, int]],
    probation: int = 0,
    labels: Iterable[int] = (),
) -> EventCounts:
    """Count alarms and events for one file.

    Parameters
    ----------
    detect
        One boolean per row of the file.
    windows
        Inclusive ``(left, right)`` row ranges of the labelled events.
    probation
        Leading rows to ignore.
    labels
        Row indices of labelled anomaly points (the delay reference), optional.

    Examples
    --------
    Two alarms (rows 3-4 and 9), one window on rows 2..5 labelled at row 3:

    >>> detect = [False] * 12
    >>> detect[3] = detect[4] = detect[9] = True
    >>> c = event_counts(detect, [(2, 5)], labels=[3])
    >>> c.alarms, c.true_alarms, c.events, c.detected, c.delays
    (2, 1, 1, 1, (0,))
    """
    flags = np.asarray(detect, dtype=bool).copy()
    flags[:probation] = False
    bounds = [(lo, hi) for lo, hi in windows if hi >= probation]
    member = np.full(len(flags), -1)
    for k, (lo, hi) in enumerate(bounds):
        member[lo : hi + 1] = k
    n_alarms, true_alarms = _alarms(flags, member)
    label_rows = sorted(labels)
    detected, delays = 0, []
    for lo, hi in bounds:
        hits = np.flatnonzero(flags[lo : hi + 1])
        if not len(hits):
            continue
        detected += 1
        inside = [r for r in label_rows if lo <= r <= hi]
        reference = inside[0] if inside else lo
        delays.append(int(lo + hits[0] - reference))
    return EventCounts(n_alarms, true_alarms, len(bounds), detected, tuple(delays))
