"""Calibration: turn raw scores into a grade, a flag, a confidence and a warming-up state.

Scoring and deciding live in separate objects (River's ``AnomalyFilter`` style). A
:class:`ScoreCalibrator` holds one key's recent score history; a :class:`CalibratedFilter`
wraps any River anomaly detector with a calibrator and can be placed after preprocessing
with ``|``.

The grade is the empirical CDF of the key's own recent scores at the new score: the share of
the last ``window`` scores strictly below it (1 minus the tail probability). It is in [0, 1]
whatever the detector's scale, so grades are comparable across detectors and keys.
"""

from __future__ import annotations

import bisect
import math
from array import array
from typing import Any

from river import base

from .rcf import RandomCutForest

__all__ = ["CalibratedFilter", "ScoreCalibrator"]


class ScoreCalibrator:
    """Grade, flag and confidence for raw scores, from one key's recent score history.

    Flags by absolute ``threshold`` (score >= threshold, e.g. 2.5 on the RCF scale) or by
    ``quantile`` (grade >= q); when neither is given, ``quantile=0.99``. While fewer than
    ``warmup`` scores have been seen, :meth:`assess` reports ``warming_up=True`` and never
    flags. The confidence is the filled share of the history window (the grade's resolution
    is ``1 / len(history)``), 0 while warming up.

    Parameters
    ----------
    threshold
        Absolute score threshold, or ``None``.
    quantile
        Grade level in (0, 1) above which to flag, or ``None``.
    warmup
        Number of scores to see before grading is trusted and flags are raised.
    window
        Number of recent scores the grade is computed from (bounded memory).

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
    """

    def __init__(
        self,
        threshold: float | None = None,
        quantile: float | None = None,
        warmup: int = 50,
        window: int = 1000,
    ) -> None:
        if threshold is None and quantile is None:
            quantile = 0.99
        if quantile is not None and not 0.0 < quantile < 1.0:
            raise ValueError(f"quantile must be in (0, 1), got {quantile}")
        if window < 1 or warmup < 0:
            raise ValueError("window must be >= 1 and warmup >= 0")
        self.threshold = threshold
        self.quantile = quantile
        self.warmup = warmup
        self.window = window
        self.n_seen = 0
        # compact doubles (8 bytes per score), a ring of the recent scores and a sorted copy
        self._ring = array("d")
        self._pos = 0
        self._sorted = array("d")

    @property
    def warming_up(self) -> bool:
        """Whether fewer than ``warmup`` scores have been seen."""
        return self.n_seen < self.warmup

    def grade(self, score: float) -> float:
        """Share of the recent scores strictly below ``score`` (0.0 with no history)."""
        n = len(self._sorted)
        if n == 0 or math.isnan(score):
            return 0.0
        return bisect.bisect_left(self._sorted, score) / n

    def assess(self, score: float) -> tuple[float, bool, float, bool]:
        """Return ``(grade, flag, confidence, warming_up)`` for ``score`` without learning it."""
        grade = self.grade(score)
        if self.warming_up:
            return grade, False, 0.0, True
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
        self.n_seen += 1
        ring = self._ring
        if len(ring) < self.window:
            ring.append(score)
        else:
            old = ring[self._pos]
            ring[self._pos] = score
            self._pos = (self._pos + 1) % self.window
            del self._sorted[bisect.bisect_left(self._sorted, old)]
        bisect.insort(self._sorted, score)

    def __setstate__(self, st: dict) -> None:
        # snapshots from before the compact history kept a deque and a list of floats
        if "_recent" in st:
            recent = list(st.pop("_recent"))
            st["_ring"], st["_pos"] = array("d", recent), 0
            st["_sorted"] = array("d", sorted(recent))
        self.__dict__.update(st)

    def __repr__(self) -> str:
        rule = f"threshold={self.threshold}" if self.threshold is not None else (
            f"quantile={self.quantile}"
        )
        return f"ScoreCalibrator({rule}, warmup={self.warmup}, window={self.window})"


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
    threshold, quantile, warmup, window
        See :class:`ScoreCalibrator`.
    protect_anomaly_detector
        Do not learn flagged records. Off by default: with level shifts, a protected model
        never learns the new level and keeps flagging it.

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
    """

    def __init__(
        self,
        anomaly_detector: base.AnomalyDetector,
        threshold: float | None = None,
        quantile: float | None = None,
        warmup: int = 50,
        window: int = 1000,
        protect_anomaly_detector: bool = False,
    ) -> None:
        super().__init__(anomaly_detector, protect_anomaly_detector=protect_anomaly_detector)
        self.threshold = threshold
        self.quantile = quantile
        self.warmup = warmup
        self.window = window
        self.calibrator = ScoreCalibrator(threshold, quantile, warmup, window)
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

    def learn_score(self, x: dict, score: float, flag: bool, **learn_kwargs: Any) -> None:
        """Record an already computed score and update the detector (no second scoring)."""
        if self.detector_ready:
            self.calibrator.update(score)
        if not self._rcf_means:
            self._n_learned += 1
            inv = 1.0 / min(self._n_learned, self.window)
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
        if not (self.protect_anomaly_detector and flag):
            self.anomaly_detector.learn_one(x, **learn_kwargs)

    def learn_one(self, *args: Any, **learn_kwargs: Any) -> None:
        """Score ``x``, record the score, then update the detector."""
        x = args[0]
        score = self.score_one(x)
        self.learn_score(x, score, self.assess_score(score)[1], **learn_kwargs)

    @classmethod
    def _unit_test_params(cls):
        from river import anomaly

        yield {"anomaly_detector": anomaly.HalfSpaceTrees(seed=1), "quantile": 0.95}
