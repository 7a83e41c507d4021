"""Calibration: turn raw scores into a grade, a flag, a confidence and a warming-up state.

Scoring and deciding live in separate objects (River's ``AnomalyFilter`` style). A
:class:`ScoreCalibrator` holds one key's recent score history; a :class:`CalibratedFilter`
wraps any River anomaly detector with a calibrator and can be placed after preprocessing
with ``|``.

The grade is the empirical CDF of the key's own recent scores at the new score: the share of
the last ``window`` scores strictly below it (1 minus the tail probability). It is in [0, 1]
whatever the detector's scale, so grades are comparable across detectors and keys. The
calibrator lives in :mod:`detectors.grading` (quantile/threshold and tail modes) and is
re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from river import base

from .grading import TAIL_DEFAULTS, ScoreCalibrator
from .rcf import RandomCutForest

__all__ = ["CalibratedFilter", "ScoreCalibrator", "TAIL_DEFAULTS"]


class CalibratedFilter(base.AnomalyFilter):
    """River anomaly filter that grades, flags and qualifies scores of a wrapped detector.

    ``score_one`` is the wrapped detector's raw score, ``classify(score)`` applies the
    calibration rule, ``learn_one`` scores, records the score in the history and updates the
    detector (unless ``protect_anomaly_detector`` and the record is flagged), and
    :meth:`assess_one` does all of that in one pass and returns the calibrated outcome.
    The warming-up state also covers a detector that is not ready yet (RCF's
    ``output_after``).

    Parameters
    ----------
    anomaly_detector
        Any River anomaly detector (or pipeline ending in one).
    threshold, quantile, warmup, window, tail
        See :class:`ScoreCalibrator`.
    protect_anomaly_detector
        Do not learn flagged records. Off by default: with level shifts, a protected model
        never learns the new level and keeps flagging it (unless ``relearn_after``).
    relearn_after
        With ``protect_anomaly_detector``: after this many flagged records in a row, learn
        the flagged ones again (until an unflagged record ends the run), so a lasting level
        shift becomes the new normal; ``None``: never.

    Examples
    --------
    >>> import random
    >>> from river import anomaly, preprocessing
    >>> rng = random.Random(0)
    >>> model = preprocessing.MinMaxScaler() | CalibratedFilter(
    ...     anomaly.HalfSpaceTrees(seed=1), quantile=0.95, warmup=20)
    >>> for _ in range(600):  # HST outputs 0.0 until its first window (250) is full
    ...     model.learn_one({"x": rng.gauss(0, 1)})
    >>> model.score_one({"x": 30.0}) > model.score_one({"x": 0.0})
    True
    >>> flt = model["CalibratedFilter"]
    >>> flt.classify(model.score_one({"x": 0.0})), flt.classify(model.score_one({"x": 30.0}))
    (False, True)

    Protected, a short excursion is not learned; one longer than ``relearn_after`` is:

    >>> flt = CalibratedFilter(RandomCutForest(n_trees=10, seed=1), threshold=2.5, warmup=5,
    ...                        protect_anomaly_detector=True, relearn_after=3)
    >>> for _ in range(200):
    ...     flt.learn_one({"x": rng.gauss(0, 1)})
    >>> for _ in range(3):
    ...     flt.learn_one({"x": 30.0})
    >>> flt.anomaly_detector._n
    200
    >>> flt.learn_one({"x": 30.0})
    >>> flt.anomaly_detector._n
    201
    """

    def __init__(
        self,
        anomaly_detector: base.AnomalyDetector,
        threshold: float | None = None,
        quantile: float | None = None,
        warmup: int | None = None,
        window: int | None = None,
        protect_anomaly_detector: bool = False,
        tail: Mapping[str, Any] | None = None,
        relearn_after: int | None = None,
    ) -> None:
        super().__init__(anomaly_detector, protect_anomaly_detector=protect_anomaly_detector)
        if relearn_after is not None and relearn_after < 1:
            raise ValueError(f"relearn_after must be >= 1, got {relearn_after}")
        self.relearn_after = relearn_after
        self._protected_run = 0  # flagged records in a row not learned (protect)
        self.threshold = threshold
        self.quantile = quantile
        self.warmup = warmup
        self.window = window
        self.tail = tail
        self.calibrator = ScoreCalibrator(threshold, quantile, warmup, window, tail)
        # horizon of the running feature means (imputation, explanations)
        self._horizon = self.calibrator.window if tail is None else 1000
        # running mean of every input field: imputation and expected values in explanations;
        # a bare RCF keeps them already, so the hot path does not compute them twice
        self._means: dict[str, float] = {}
        self._vars: dict[str, float] = {}
        self._n_learned = 0
        self._ready = False
        self._rcf_means = isinstance(anomaly_detector, RandomCutForest)

    def __setstate__(self, st: dict) -> None:
        # snapshots from before the hot-path changes lack these attributes
        st.setdefault("_ready", False)
        st.setdefault("_rcf_means", False)
        st.setdefault("_means", st.pop("feature_means", {}))
        st.setdefault("_vars", {})
        st.setdefault("tail", None)
        st.setdefault("_horizon", st.get("window") or 1000)
        st.setdefault("relearn_after", None)
        st.setdefault("_protected_run", 0)
        self.__dict__.update(st)

    @property
    def feature_means(self) -> dict[str, float]:
        """Running mean of every numeric input field learned so far."""
        if self._rcf_means:
            return self.anomaly_detector.feature_means
        return self._means

    @property
    def feature_spreads(self) -> dict[str, float]:
        """Running standard deviation of every numeric input field (empty for a bare RCF,
        whose explanations do not need it)."""
        return {name: math.sqrt(v) for name, v in self._vars.items()}

    @property
    def detector_ready(self) -> bool:
        """Whether the wrapped detector emits real scores.

        RCF: past ``output_after``; River HST: past its first window (it scores 0 until then).
        """
        if self._ready:  # readiness never goes back; skip the look-up on the hot path
            return True
        det = self.anomaly_detector
        if hasattr(det, "steps"):
            det = list(det.steps.values())[-1]
        self._ready = bool(getattr(det, "is_ready", not getattr(det, "_first_window", False)))
        return self._ready

    def score_one(self, *args: Any, **kwargs: Any) -> float:
        """Raw score of the wrapped detector (high means odd)."""
        return self.anomaly_detector.score_one(*args)

    def classify(self, score: float) -> bool:
        """Whether ``score`` is flagged by the calibration rule (never while warming up)."""
        if not self.detector_ready:
            return False
        return self.calibrator.assess(score)[1]

    def assess_score(self, score: float) -> tuple[float, bool, float, bool]:
        """``(grade, flag, confidence, warming_up)`` of a score, the detector's state included."""
        grade, flag, confidence, warming = self.calibrator.assess(score)
        if not self.detector_ready:
            return grade, False, 0.0, True
        return grade, flag, confidence, warming

    def observe_score(self, score: float) -> tuple[float, bool, float, bool]:
        """:meth:`assess_score`, then record the score (the first half of :meth:`learn_score`).

        One pass over the history; pair it with :meth:`learn_observed` (the scorer's hot path).

        Examples
        --------
        >>> flt = CalibratedFilter(RandomCutForest(n_trees=5, seed=1), threshold=2.5)
        >>> flt.observe_score(0.0)  # the forest is not ready: warming up, nothing recorded
        (0.0, False, 0.0, True)
        >>> flt.calibrator.n_seen
        0
        """
        if self._ready or self.detector_ready:
            return self.calibrator.observe(score)
        grade = self.calibrator.assess(score)[0]
        return grade, False, 0.0, True

    def learn_score(self, x: dict, score: float, flag: bool, **learn_kwargs: Any) -> None:
        """Record an already computed score and update the detector (no second scoring)."""
        if self.detector_ready:
            self.calibrator.update(score)
        self.learn_observed(x, flag, **learn_kwargs)

    def score_point(self, x: dict) -> tuple[float, Any]:
        """Raw score and what :meth:`learn_observed` may reuse to learn ``x`` (RCF: its point).

        Examples
        --------
        >>> flt = CalibratedFilter(RandomCutForest(n_trees=5, seed=1), threshold=2.5)
        >>> flt.score_point({"a": 1.0})
        (0.0, None)
        """
        if self._rcf_means:
            return self.anomaly_detector.score_point(x)
        return float(self.anomaly_detector.score_one(x)), None

    def learn_observed(
        self, x: dict, flag: bool, point: Any = None, **learn_kwargs: Any
    ) -> None:
        """Update the feature means and the detector; the score was recorded already.

        ``point``: the second value :meth:`score_point` returned for ``x``, if nothing was
        learned since.

        Examples
        --------
        >>> flt = CalibratedFilter(RandomCutForest(n_trees=5, seed=1), threshold=2.5)
        >>> score, point = flt.score_point({"a": 1.0})
        >>> flt.learn_observed({"a": 1.0}, flag=False, point=point)
        >>> flt.feature_means
        {'a': 1.0}
        """
        if not self._rcf_means:
            self._n_learned += 1
            inv = 1.0 / min(self._n_learned, self._horizon)
            means, variances = self._means, self._vars
            for name, value in x.items():
                if isinstance(value, (int, float)):
                    mean = means.get(name)
                    if mean is None:
                        means[name], variances[name] = value, 0.0
                        continue
                    diff = value - mean
                    step = diff * inv
                    means[name] = mean + step
                    variances[name] = (1.0 - inv) * (variances[name] + diff * step)
        if not self.learns(flag):
            return
        if point is not None:  # a bare RCF whose forest exists: the point it scored
            self.anomaly_detector.learn_vector(point)
        else:
            self.anomaly_detector.learn_one(x, **learn_kwargs)

    def learns(self, flag: bool) -> bool:
        """Whether the detector learns a record flagged ``flag`` (and count protected runs).

        Not with ``protect_anomaly_detector`` and a flag, unless ``relearn_after`` flagged
        records in a row were already held back; an unflagged record ends the run.
        """
        if flag and self.protect_anomaly_detector:
            if self.relearn_after is None or self._protected_run < self.relearn_after:
                self._protected_run += 1
                return False
        elif self._protected_run:
            self._protected_run = 0
        return True

    def learn_one(self, *args: Any, **learn_kwargs: Any) -> None:
        """Score ``x``, record the score, then update the detector."""
        x = args[0]
        score = self.score_one(x)
        self.learn_score(x, score, self.assess_score(score)[1], **learn_kwargs)

    @classmethod
    def _unit_test_params(cls):
        from river import anomaly

        yield {"anomaly_detector": anomaly.HalfSpaceTrees(seed=1), "quantile": 0.95}
