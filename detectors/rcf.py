"""Random Cut Forest as a River anomaly detector, over krcf (the Rust RCF's Python bindings).

Time decay, the Kinesis way and the krcf way
--------------------------------------------
Kinesis ``RANDOM_CUT_FOREST(cursor, n_trees, sample_size, time_decay, shingle_size)`` takes
``time_decay`` as a number of records: roughly how many recent records the sample reflects
(default 100000). krcf takes the stream sampler's decay rate ``lambda``: a point's chance
to stay in a tree's sample decays like ``exp(-lambda * age)``, so the sample reflects about
the last ``1 / lambda`` records. We take the Kinesis meaning and pass
``lambda = 1 / time_decay``. With ``time_decay=None`` krcf's own default applies
(``1 / (10 * sample_size)``). ``time_decay == sample_size`` (the Kinesis preset 10, 10) is
accepted: the sample then forgets about as fast as it fills.
"""

from __future__ import annotations

import math
from typing import Any

import krcf
from river import base

from .missing import as_float
from .scaling import OnlineScaler

__all__ = ["RandomCutForest", "KINESIS_PRESET"]

#: Parameters of the Kinesis call ``RANDOM_CUT_FOREST(cursor, 1, 10, 10, 2)``.
KINESIS_PRESET: dict[str, int] = {
    "n_trees": 1,
    "sample_size": 10,
    "time_decay": 10,
    "shingle_size": 2,
}


class RandomCutForest(base.AnomalyDetector):
    """Random Cut Forest anomaly detector (high score = odd, the RCF scale; ~1 is normal).

    Inputs are dicts of numbers. The feature order is ``features`` when given, else the
    sorted names of the first non-empty dict learned, and stays fixed; later extra fields
    are ignored, and missing or non-finite fields are imputed with the running mean of
    that field (never an exception). ``score_one`` returns 0.0 before any learning and
    until ``output_after`` records have been learned (see :attr:`is_ready`). With
    ``shingle_size > 1`` the forest shingles internally: a score covers the last
    ``shingle_size`` records, so scoring must follow the stream order.

    Parameters
    ----------
    n_trees
        Number of trees.
    sample_size
        Points kept per tree (the sub-sample size).
    shingle_size
        Number of consecutive records concatenated into one point.
    time_decay
        Approximate number of recent records the sample reflects (Kinesis meaning;
        krcf ``lambda = 1 / time_decay``). ``None``: krcf's default.
    output_after
        Records to learn before scores are output. ``None``: ``sample_size // 4`` (at least 1).
    bounding_box_cache_fraction
        Share of tree nodes caching bounding boxes (1.0 fastest, 0.0 smallest memory).
    features
        Explicit feature order, or ``None`` to take it from the first record.
    seed
        Random seed of the forest.
    standardize
        Feed the forest ``(value - centre) / scale`` per feature, the frame fixed from the
        first ``standardize_warmup`` records (median and MAD; :class:`~detectors.scaling.
        OnlineScaler`), so the cuts do not follow the units; the forest receives those
        records at once when the frame is fixed. Scores, means and explanations are of the
        raw values. Off here; on in :data:`detectors.DEFAULT_RCF`.
    standardize_warmup
        Records that fix the standardisation's frame (at most ``output_after`` is sensible).

    Examples
    --------
    >>> import random
    >>> rng = random.Random(42)
    >>> rcf = RandomCutForest(n_trees=20, sample_size=64, seed=42)
    >>> rcf.score_one({"a": 1.0, "b": 2.0})
    0.0
    >>> for _ in range(500):
    ...     rcf.learn_one({"a": rng.gauss(0, 1), "b": rng.gauss(0, 1)})
    >>> rcf.score_one({"a": 0.0, "b": 0.0}) < 1.5 < rcf.score_one({"a": 0.0, "b": 9.0})
    True

    It composes with River preprocessing:

    >>> from river import preprocessing
    >>> model = preprocessing.StandardScaler() | RandomCutForest(n_trees=10, seed=1)
    >>> model.learn_one({"a": 1.0})

    References
    ----------
    Guha, S., Mishra, N., Roy, G., Schrijvers, O. (2016). Robust Random Cut Forest Based
    Anomaly Detection on Streams. ICML.
    """

    def __init__(
        self,
        n_trees: int = 30,
        sample_size: int = 64,
        shingle_size: int = 1,
        time_decay: float | None = None,
        output_after: int | None = None,
        bounding_box_cache_fraction: float = 1.0,
        features: tuple[str, ...] | None = None,
        seed: int | None = None,
        standardize: bool = False,
        standardize_warmup: int = 64,
    ) -> None:
        if n_trees < 1 or sample_size < 2 or shingle_size < 1:
            raise ValueError("need n_trees >= 1, sample_size >= 2, shingle_size >= 1")
        if time_decay is not None and time_decay <= 0:
            raise ValueError(f"time_decay must be > 0, got {time_decay}")
        self.n_trees = n_trees
        self.sample_size = sample_size
        self.shingle_size = shingle_size
        self.time_decay = time_decay
        self.output_after = output_after
        self.bounding_box_cache_fraction = bounding_box_cache_fraction
        self.features = tuple(features) if features is not None else None
        self.seed = seed
        self.standardize = standardize
        self.standardize_warmup = standardize_warmup
        self._scaler = OnlineScaler(standardize_warmup) if standardize else None
        self._order: tuple[str, ...] | None = self.features
        self._forest: Any = None
        self._means: list[float] = []
        self._n = 0

    def __setstate__(self, st: dict) -> None:
        # snapshots from before the standardisation option
        st.setdefault("standardize", False)
        st.setdefault("standardize_warmup", 64)
        st.setdefault("_scaler", None)
        self.__dict__.update(st)

    # -- internals ---------------------------------------------------------------------------
    def _options(self, dims: int) -> dict[str, Any]:
        output_after = self.output_after
        if output_after is None:
            output_after = max(1, self.sample_size // 4)
        options: dict[str, Any] = {
            "dimensions": dims,
            "shingle_size": self.shingle_size,
            "num_trees": self.n_trees,
            "sample_size": self.sample_size,
            "output_after": output_after,
            "random_seed": self.seed,
            "bounding_box_cache_fraction": self.bounding_box_cache_fraction,
        }
        if self.shingle_size > 1:
            options["internal_shingling"] = True
        if self.time_decay is not None:
            options["lambda"] = 1.0 / self.time_decay
        return options

    def _vector(self, x: dict) -> list[float]:
        """Point in feature order; missing and non-finite values take the running mean."""
        try:  # fast path: every feature present and numeric
            point = [float(x[name]) for name in self._order]  # type: ignore[union-attr]
            total = sum(point)
            if total - total == 0.0:  # no NaN or infinity among the values
                return point
        except (KeyError, TypeError, ValueError, OverflowError):
            pass
        point = []
        means = self._means
        for i, name in enumerate(self._order):  # type: ignore[arg-type]
            v = as_float(x.get(name))
            if not math.isfinite(v):
                v = means[i] if means else 0.0
            point.append(v)
        return point

    # -- public API --------------------------------------------------------------------------
    @property
    def feature_order(self) -> tuple[str, ...] | None:
        """The fixed feature order (``None`` until known)."""
        return self._order

    @property
    def is_ready(self) -> bool:
        """Whether the forest has learned enough (``output_after``) to output scores."""
        return self._forest is not None and self._forest.is_output_ready()

    @property
    def feature_means(self) -> dict[str, float]:
        """Running mean of every feature learned so far."""
        return dict(zip(self._order or (), self._means, strict=False))

    def learn_one(self, x: dict) -> None:
        """Update the forest with ``x`` (never raises on missing or odd values)."""
        if self._order is None:
            if not x:
                return
            self._order = tuple(sorted(x, key=str))
        point = self._vector(x)
        if self._forest is None:
            self._forest = krcf.RandomCutForest(self._options(len(self._order)))
            self._means = list(point)
        self._learn(point)

    def _learn(self, point: list[float]) -> None:
        scaler = self._scaler
        if scaler is None:
            self._forest.update(point)
        else:  # nothing until the frame is fixed, then the held-back records at once
            update = self._forest.update
            for z in scaler.learn(point):
                update(z)
        n = self._n = self._n + 1
        # the means follow the forest's memory: about the last `time_decay` records
        horizon = self.time_decay or 1000
        inv = 1.0 / (n if n < horizon else max(1.0, horizon))
        # same length by construction: the strict check cost a third of this line's time
        self._means = [m + (v - m) * inv for m, v in zip(self._means, point, strict=False)]

    def score_one(self, x: dict) -> float:
        """RCF anomaly score of ``x`` (0.0 before the forest is ready)."""
        if self._forest is None:
            return 0.0
        return self.score_vector(self._vector(x))

    def score_vector(self, point: list[float]) -> float:
        """Score of a point given in :attr:`feature_order` (values finite; forest built)."""
        if self._scaler is not None:
            point = self._scaler.transform(point)
        return float(self._forest.score(point))

    def score_point(self, x: dict) -> tuple[float, list[float] | None]:
        """``score_one(x)`` and the point that was scored, to learn with :meth:`learn_vector`.

        Scoring then learning the same record this way builds its point once (valid if
        nothing is learned in between). The point is ``None`` before the forest exists.

        Examples
        --------
        >>> rcf = RandomCutForest(n_trees=5, sample_size=16, seed=1)
        >>> rcf.score_point({"a": 1.0})
        (0.0, None)
        >>> for v in range(40):
        ...     rcf.learn_one({"a": float(v % 5)})
        >>> score, point = rcf.score_point({"a": 2.0})
        >>> score == rcf.score_one({"a": 2.0}), point
        (True, [2.0])
        """
        if self._forest is None:
            return 0.0, None
        point = self._vector(x)
        return self.score_vector(point), point

    def learn_vector(self, point: list[float]) -> None:
        """``learn_one`` of a point given in :attr:`feature_order` (known), values finite.

        Examples
        --------
        >>> rcf = RandomCutForest(n_trees=5, sample_size=16, features=("a",), seed=1)
        >>> rcf.learn_vector([1.0])
        >>> rcf.feature_means
        {'a': 1.0}
        """
        if self._forest is None:
            self._forest = krcf.RandomCutForest(self._options(len(point)))
            self._means = list(point)
        self._learn(point)

    def attribution_one(self, x: dict) -> dict[str, tuple[float, float]]:
        """Per-feature ``(high, low)`` attribution of the score of ``x``.

        The values over all features sum to ``score_one(x)``. With shingles, the
        contributions of a feature's positions in the shingle are added up.

        Examples
        --------
        >>> import random
        >>> rng = random.Random(3)
        >>> rcf = RandomCutForest(n_trees=20, sample_size=64, seed=3)
        >>> for _ in range(300):
        ...     rcf.learn_one({"a": rng.gauss(0, 1), "b": rng.gauss(0, 1)})
        >>> att = rcf.attribution_one({"a": 0.0, "b": -9.0})
        >>> max(att, key=lambda k: sum(att[k])), att["b"][1] > att["b"][0]
        ('b', True)
        """
        if self._forest is None:
            return {}
        point = self._vector(x)
        if self._scaler is not None:
            point = self._scaler.transform(point)
        dv = self._forest.attribution(point)
        high, low = dv["high"], dv["low"]
        dims = len(self._order)  # type: ignore[arg-type]
        out = {}
        for i, name in enumerate(self._order):  # type: ignore[arg-type]
            h = sum(high[i::dims])
            lo = sum(low[i::dims])
            out[name] = (h, lo)
        return out

    @classmethod
    def _unit_test_params(cls):
        yield {"n_trees": 10, "sample_size": 32, "seed": 42}
        yield {**KINESIS_PRESET, "seed": 1}
