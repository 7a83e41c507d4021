"""Per-row scorers for single-value streams: score a value, then learn it.

A *row scorer* is any object with ``process(value) -> float`` (the score of the value given
only the past, after which the value is learned). These adapt the product's scorer, River
detectors, a bare krcf forest and a rolling z-score baseline to that contract, plus richer
inputs (:class:`ChangeFeatures`). Post-processing of scores lives in
:mod:`evaluation.postprocess`.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol

__all__ = [
    "ChangeFeatures",
    "KrcfScorer",
    "ProductScorer",
    "RiverScorer",
    "RollingZScore",
    "RowScorer",
]


class RowScorer(Protocol):
    """Scores one value given the past, then learns it."""

    def process(self, value: float) -> float: ...


class ChangeFeatures:
    """Value plus its changes at several scales: ``value - EWMA_span(past values)``.

    Parameters
    ----------
    spans
        EWMA spans in rows; span 1 is the change from the previous value.
    keep_value
        Include the raw value as feature ``value``.

    Examples
    --------
    >>> f = ChangeFeatures(spans=(1, 4))
    >>> f.transform(10.0)
    {'value': 10.0, 'd1': 0.0, 'd4': 0.0}
    >>> f.transform(12.0)
    {'value': 12.0, 'd1': 2.0, 'd4': 2.0}
    >>> f.transform(12.0)
    {'value': 12.0, 'd1': 0.0, 'd4': 1.2}
    """

    def __init__(self, spans: Sequence[int] = (1, 8, 64), keep_value: bool = True) -> None:
        self.spans = tuple(spans)
        self.keep_value = keep_value
        self._ewma: list[float] | None = None

    @property
    def names(self) -> list[str]:
        """Feature names in a stable order."""
        return (["value"] if self.keep_value else []) + [f"d{s}" for s in self.spans]

    def transform(self, value: float) -> dict[str, float]:
        """Features of ``value`` against the past, then update the averages with it."""
        if self._ewma is None:
            self._ewma = [value] * len(self.spans)
        x = {"value": value} if self.keep_value else {}
        for i, span in enumerate(self.spans):
            x[f"d{span}"] = value - self._ewma[i]
            alpha = 2.0 / (span + 1.0)
            self._ewma[i] += alpha * (value - self._ewma[i])
        return x


class ProductScorer:
    """The product path: ``detectors.build_scorer(...)``, one model, ``process_one`` per row.

    :meth:`decide` also returns the product's own flag (its default calibration, never
    tuned on labels). ``use`` picks which number feeds the NAB threshold sweep: the raw
    ``score`` or the calibrated ``grade``.
    """

    def __init__(
        self,
        detector: dict[str, Any],
        calibration: dict[str, Any] | None = None,
        features: ChangeFeatures | None = None,
        use: str = "score",
    ) -> None:
        import detectors

        names = features.names if features else ["value"]
        self._scorer = detectors.build_scorer(detector, calibration, None, names)
        self.features = features
        self.use = use

    def decide(self, value: float) -> tuple[float, bool]:
        x = self.features.transform(value) if self.features else {"value": value}
        a = self._scorer.process_one(x)
        return (a.grade if self.use == "grade" else a.score), bool(a.flag)

    def process(self, value: float) -> float:
        return self.decide(value)[0]


class RiverScorer:
    """A River anomaly detector (or pipeline) fed ``{"value": v}`` or engineered features."""

    def __init__(self, model: Any, features: ChangeFeatures | None = None) -> None:
        self.model = model
        self.features = features

    def process(self, value: float) -> float:
        x = self.features.transform(value) if self.features else {"value": value}
        score = float(self.model.score_one(x))
        self.model.learn_one(x)
        return score


class KrcfScorer:
    """A bare krcf forest on the raw value (or features), raw RCF score; 0 until ready."""

    def __init__(
        self,
        n_trees: int = 100,
        sample_size: int = 256,
        shingle_size: int = 1,
        time_decay: float | None = None,
        features: ChangeFeatures | None = None,
        seed: int = 42,
    ) -> None:
        import krcf

        dims = len(features.names) if features else 1
        # with internal shingling krcf takes the per-record dimension and shingles itself
        options: dict[str, Any] = {
            "dimensions": dims,
            "shingle_size": shingle_size,
            "num_trees": n_trees,
            "sample_size": sample_size,
            "random_seed": seed,
            "internal_shingling": shingle_size > 1,
        }
        if time_decay is not None:
            options["lambda"] = 1.0 / time_decay
        self.features = features
        self._forest = krcf.RandomCutForest(options)

    def process(self, value: float) -> float:
        if self.features:
            point = list(self.features.transform(value).values())
        else:
            point = [value]
        score = float(self._forest.score(point)) if self._forest.is_output_ready() else 0.0
        self._forest.update(point)
        return score


class RollingZScore:
    """Baseline: ``|value - mean| / std`` over the last ``window`` values (0 until 2 seen).

    Examples
    --------
    >>> z = RollingZScore(window=4)
    >>> [round(z.process(v), 2) for v in (1.0, 3.0, 1.0, 3.0, 9.0)]
    [0.0, 0.0, 1.0, 1.41, 7.0]
    """

    def __init__(self, window: int = 1000) -> None:
        self.window = window
        self._values: deque[float] = deque(maxlen=window)
        self._sum = 0.0
        self._sq = 0.0

    def process(self, value: float) -> float:
        n = len(self._values)
        score = 0.0
        if n >= 2:
            mean = self._sum / n
            var = max(self._sq / n - mean * mean, 0.0)
            std = math.sqrt(var)
            score = abs(value - mean) / std if std > 0 else (0.0 if value == mean else 1e6)
        if n == self.window:
            old = self._values[0]
            self._sum -= old
            self._sq -= old * old
        self._values.append(value)
        self._sum += value
        self._sq += value * value
        return score


ScorerFactory = Callable[[], RowScorer]
