"""Candidate NAB ideas on the product's parts: forests on inputs at several scales, an
ensemble of their raw scores, a smoothed score, then the product's tail calibration.

:class:`ForestTail` reproduces the ``default`` configuration exactly with one member on the
value and ``smooth=1`` (a check of the harness, see ``tests/unit/evaluation``); the other
settings are the ideas measured in ``evaluation/README.md``. Members are product
:class:`detectors.RandomCutForest` instances; the score history is a product
:class:`detectors.ScoreCalibrator`, recorded once every member is ready (as the product
does), so the swept number is the calibrator's tail level and the default decision is its
flag (``-log10 p >= 3`` at a new peak).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from detectors import RandomCutForest, ScoreCalibrator
from detectors.defaults import TAIL_CALIBRATION

__all__ = ["INPUTS", "ForestTail", "RollingInput"]


class RollingInput:
    """One input of a member forest, from the value stream at one scale.

    ``kind``: ``value`` (the value), ``mean`` (mean of the last ``span`` values), ``std``
    (their standard deviation), ``diff`` (value minus the mean of the ``span`` values
    before it).

    Examples
    --------
    >>> f = RollingInput("mean", 2)
    >>> [f.transform(v) for v in (1.0, 3.0, 5.0)]
    [1.0, 2.0, 4.0]
    >>> d = RollingInput("diff", 2)
    >>> [d.transform(v) for v in (1.0, 3.0, 5.0)]
    [0.0, 2.0, 3.0]
    """

    def __init__(self, kind: str, span: int = 1) -> None:
        if kind not in INPUTS:
            raise ValueError(f"unknown input {kind!r}, expected one of {INPUTS}")
        self.kind = kind
        self.span = span
        self._past: deque[float] = deque(maxlen=span)

    def transform(self, value: float) -> float:
        past = self._past
        if self.kind == "diff":
            out = value - (sum(past) / len(past) if past else value)
            past.append(value)
            return out
        past.append(value)
        if self.kind == "value":
            return value
        mean = sum(past) / len(past)
        if self.kind == "mean":
            return mean
        return (sum((v - mean) ** 2 for v in past) / len(past)) ** 0.5


#: Input kinds of :class:`RollingInput`.
INPUTS = ("value", "mean", "std", "diff")


class ForestTail:
    """Forests on inputs at several scales -> mean raw score -> smoothed -> tail level.

    Parameters
    ----------
    members
        ``[(rcf params, [(kind, span), ...]), ...]``: one product RCF per member, fed the
        listed inputs (one feature each).
    smooth
        The calibrated score is the mean of the last ``smooth`` combined raw scores.
    calibration
        Product tail calibration (default :data:`detectors.TAIL_CALIBRATION`).

    Examples
    --------
    >>> import random
    >>> rng = random.Random(0)
    >>> ft = ForestTail([({"n_trees": 10, "sample_size": 64, "seed": 1}, [("value", 1)]),
    ...                  ({"n_trees": 10, "sample_size": 64, "seed": 2}, [("std", 8)])])
    >>> out = [ft.decide(rng.gauss(0, 1)) for _ in range(3000)] + [ft.decide(30.0)]
    >>> round(out[-1][0], 2), out[-1][1], sum(flag for _, flag in out[:-1])
    (3.47, True, 1)
    """

    def __init__(
        self,
        members: Sequence[tuple[Mapping[str, Any], Sequence[tuple[str, int]]]],
        smooth: int = 1,
        calibration: Mapping[str, Any] = TAIL_CALIBRATION,
    ) -> None:
        self._members = []
        for params, inputs in members:
            names = tuple(f"{kind}{span}" for kind, span in inputs)
            rcf = RandomCutForest(**{"shingle_size": 1, **params}, features=names)
            self._members.append((rcf, names, [RollingInput(k, s) for k, s in inputs]))
        self.smooth = smooth
        self._recent: deque[float] = deque(maxlen=smooth)
        self.calibrator = ScoreCalibrator(threshold=calibration["threshold"],
                                          tail=dict(calibration["tail"]))

    def decide(self, value: float) -> tuple[float, bool]:
        points = []
        total, ready = 0.0, True
        for rcf, names, inputs in self._members:
            x = dict(zip(names, (f.transform(value) for f in inputs), strict=True))
            points.append((rcf, x))
            ready = ready and rcf.is_ready
            total += rcf.score_one(x)
        flag = False
        if ready:
            self._recent.append(total / len(self._members))
            flag = self.calibrator.observe(sum(self._recent) / len(self._recent))[1]
        for rcf, x in points:
            rcf.learn_one(x)
        return self.calibrator.last_level, flag

    def process(self, value: float) -> float:
        return self.decide(value)[0]
