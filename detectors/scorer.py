"""The scoring API the connector calls: ``build_scorer(...)`` -> ``Scorer.process_one``."""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

from . import state
from .assessment import Assessment
from .calibration import CalibratedFilter, ScoreCalibrator
from .explain import explain_one, top_of
from .keyed import KeyedModels
from .missing import MISSING_POLICIES, vector
from .models import build_filter, model_id

__all__ = ["EARLY_MIN_RECORDS", "MISSING_POLICIES", "Scorer", "build_scorer", "restore_scorer"]

#: Records a key's model must have seen before a value far outside them is flagged early.
EARLY_MIN_RECORDS = 20


class Scorer:
    """Scores records (score, then learn), per key or with one model, and snapshots state.

    Built by :func:`build_scorer`; see there for the parameters. Never raises on a record:
    missing or non-numeric features follow the ``missing`` policy. Not thread-safe: one
    scorer per partition or thread.

    Examples
    --------
    >>> scorer = build_scorer({"name": "rcf", "n_trees": 10, "seed": 1}, {"threshold": 2.5},
    ...                       keyed={"max_keys": 2}, features=["count"])
    >>> out = scorer.process_many([{"count": 10.0}] * 3, keys=["a", "b", "c"])
    >>> [a.key for a in out], [a.warming_up for a in out], scorer.counters()["evictions"]
    (['a', 'b', 'c'], [True, True, True], 1)
    >>> scorer.process_one({"count": None}).rejected is None  # imputed by default
    True
    """

    def __init__(
        self,
        detector: Mapping[str, Any],
        calibration: Mapping[str, Any] | None,
        keyed: Mapping[str, Any] | None,
        features: Sequence[str] | None,
        missing: str = "impute",
    ) -> None:
        if missing not in MISSING_POLICIES:
            raise ValueError(f"missing: expected one of {MISSING_POLICIES}, got {missing!r}")
        self.detector = dict(detector)
        # plain dicts all the way down (the named defaults nest read-only mappings, which
        # do not pickle into snapshots)
        self.calibration = {k: dict(v) if isinstance(v, Mapping) else v
                            for k, v in (calibration or {}).items()}
        self.keyed = dict(keyed) if keyed is not None else None
        self.features = list(features) if features else None
        self._names = tuple(self.features) if self.features else None
        self.missing = missing
        self.model = model_id(self.detector, self.calibration)
        # tail.early: flag values far outside everything seen while warming up (_early_flag)
        early = (self.calibration.get("tail") or {}).get("early", False)
        if not isinstance(early, (bool, int, float)) or early < 0:
            raise ValueError(f"calibration.tail.early: true, false or a level >= 0, "
                             f"got {early!r}")
        # True: the calibration's threshold; a number: that level (log10(1 + z^2))
        self._early = early
        prototype = build_filter(self.detector, self.calibration, self.features)
        self._pool = KeyedModels(prototype, **self.keyed) if self.keyed is not None else None
        self._single: CalibratedFilter | None = prototype if self._pool is None else None

    def __setstate__(self, st: dict) -> None:
        # snapshots from before the RCF fast path lack the feature tuple
        st.setdefault("_names", tuple(st["features"]) if st.get("features") else None)
        st.setdefault("_early", False)
        self.__dict__.update(st)

    # -- record path ---------------------------------------------------------------------
    def _unit(self, key: Hashable | None) -> CalibratedFilter:
        if self._pool is None:
            return self._single  # type: ignore[return-value]
        return self._pool.get(key)

    def _prepare(self, x: Mapping[str, Any], unit: CalibratedFilter) -> tuple[dict, str | None]:
        names = self.features if self.features is not None else sorted(x, key=str)
        return vector(x, names, unit.feature_means, self.missing)

    def process_one(self, x: Mapping[str, Any], key: Hashable | None = None) -> Assessment:
        """Score ``x`` with its key's model, calibrate, explain if flagged, then learn it.

        Blocks for tens of microseconds (see ``python -m detectors.bench``); a new key's
        first record costs more, and much more for HST, whose trees River builds on the first
        learn (about 0.1 s at the default size).

        Examples
        --------
        >>> scorer = build_scorer({"name": "rcf", "n_trees": 10, "seed": 2}, {"threshold": 2.5})
        >>> a = scorer.process_one({"rt": 0.1}, key="wp-login")
        >>> a.score, a.flag, a.warming_up, a.key
        (0.0, False, True, 'wp-login')
        """
        unit = self._single if self._pool is None else self._pool.get(key)
        names = self._names
        if names is not None and unit._rcf_means and unit.anomaly_detector._order == names:
            try:  # hot path: a bare RCF in the scorer's feature order, every value finite
                point = [float(x[name]) for name in names]
                total = sum(point)
            except (KeyError, TypeError, ValueError, OverflowError):
                total = math.nan
            if total - total == 0.0:
                return self._process_point(unit, point, key)
        xf, reason = self._prepare(x, unit)
        if reason is not None:
            return self._rejected(unit, reason, key)
        # score once, grade and record the score in one pass, explain, learn (point reused)
        score, point = unit.score_point(xf)
        a = self._assessment(unit, xf, score, unit.observe_score(score), key)
        if a.warming_up and self._early and unit._rcf_means and \
                unit.anomaly_detector.feature_order is not None:
            self._early_flag(unit, unit.anomaly_detector._vector(xf), a)
        unit.learn_observed(xf, a.flag, point)
        return a

    def _early_flag(self, unit: CalibratedFilter, point: list[float], a: Assessment) -> None:
        """Flag a record of a warming-up model whose value is far outside everything seen.

        A value ``z`` standard deviations beyond the highest (or under the lowest) value of
        its feature so far has, by Cantelli's inequality, a chance of at most ``1 / (1 +
        z^2)`` under any distribution with that mean and spread: flagged when ``log10(1 +
        z^2)`` reaches the calibration's threshold (3: ``z`` about 32), after
        :data:`EARLY_MIN_RECORDS` records. The grade is ``1 - 1 / (1 + z^2)``; the
        confidence says how little history stands behind it (``log10(n + 1) / threshold``,
        ``n`` records seen); ``warming_up`` stays true. Needs a standardising RCF.
        """
        scaler = unit.anomaly_detector._scaler
        if scaler is None or scaler.n < EARLY_MIN_RECORDS:
            return
        where, z = scaler.novelty(point)
        threshold = unit.calibrator.threshold or 3.0
        needed = threshold if self._early is True else float(self._early)
        if where < 0 or math.log10(1.0 + z * z) < needed:
            return
        names = unit.anomaly_detector.feature_order
        name = names[where]
        mean = scaler.means()[where]
        a.flag = True
        a.grade = 1.0 - 1.0 / (1.0 + z * z)
        a.confidence = min(1.0, math.log10(scaler.n + 1) / threshold)
        a.top_field, a.direction = name, "high" if point[where] > mean else "low"
        a.explanation = {name: {"attribution": a.score, "direction": a.direction,
                                "expected": unit.feature_means.get(name, mean)}}

    def _rejected(self, unit: CalibratedFilter, reason: str, key: Any) -> Assessment:
        warming = unit.calibrator.warming_up or not unit.detector_ready
        skey = None if key is None else str(key)
        return Assessment(0.0, 0.0, False, 0.0, warming, skey, self.model, rejected=reason)

    def _assessment(
        self, unit: CalibratedFilter, xf: dict, score: float, graded: tuple, key: Any
    ) -> Assessment:
        """The assessment of a graded score, explained when flagged."""
        a = Assessment(score, *graded, None if key is None else str(key), self.model)
        if a.flag:
            a.explanation = explain_one(
                unit.anomaly_detector, xf, unit.feature_means, score, unit.feature_spreads
            )
            a.top_field, a.direction = top_of(a.explanation)
        return a

    def _process_point(self, unit: CalibratedFilter, point: list[float], key: Any) -> Assessment:
        """:meth:`process_one` for a bare RCF, every feature present and finite.

        The same steps as the general path (equal outputs, pinned by the equivalence tests)
        without the feature dict, a second point and the filter's generic layers.
        """
        # Calls are inlined where the callee is one line (each costs about 0.1 us here):
        # the forest's score, CalibratedFilter.observe_score once ready, and the
        # common case of CalibratedFilter.learns (unflagged, no protected run to end).
        rcf = unit.anomaly_detector
        forest = rcf._forest
        if forest is None:
            score = 0.0
        elif rcf._scaler is None:
            score = float(forest.score(point))
        else:
            score = float(forest.score(rcf._scaler.transform(point)))
        if unit._ready:
            grade, flag, confidence, warming = unit.calibrator.observe(score)
        else:
            grade, flag, confidence, warming = unit.observe_score(score)
        a = Assessment(score, grade, flag, confidence, warming,
                       None if key is None else str(key), self.model)
        if warming and self._early:
            self._early_flag(unit, point, a)
            flag = a.flag
        if flag and a.explanation is None:
            xf = dict(zip(self._names, point, strict=True))  # type: ignore[arg-type]
            a.explanation = explain_one(rcf, xf, unit.feature_means, score, unit.feature_spreads)
            a.top_field, a.direction = top_of(a.explanation)
        if (not flag and not unit._protected_run) or unit.learns(flag):
            if forest is None:
                rcf.learn_vector(point)
            else:
                rcf._learn(point)
        return a

    def assess_one(self, x: Mapping[str, Any], key: Hashable | None = None) -> Assessment:
        """Score, calibrate and explain ``x`` like :meth:`process_one`, learning nothing.

        For a revision of something the model has already learned (a window that a late
        record updated): neither the model nor the score history takes it in a second time.

        Examples
        --------
        >>> scorer = build_scorer({"name": "rcf", "n_trees": 5, "seed": 3}, {"threshold": 2.5})
        >>> _ = scorer.process_many([{"n": float(i % 7)} for i in range(300)])
        >>> before = scorer.snapshot()
        >>> scorer.assess_one({"n": 40.0}).flag, scorer.snapshot() == before
        (True, True)
        """
        unit = self._unit(key)
        xf, reason = self._prepare(x, unit)
        if reason is not None:
            return self._rejected(unit, reason, key)
        score = float(unit.score_one(xf))
        return self._assessment(unit, xf, score, unit.assess_score(score), key)

    def process_many(
        self, xs: Iterable[Mapping[str, Any]], keys: Iterable[Hashable | None] | None = None
    ) -> list[Assessment]:
        """:meth:`process_one` over a batch, in order (``keys`` aligned with ``xs``)."""
        xs = list(xs)
        keys = [None] * len(xs) if keys is None else list(keys)
        if len(keys) != len(xs):
            raise ValueError(f"process_many: {len(xs)} records but {len(keys)} keys")
        one = self.process_one
        return [one(x, k) for x, k in zip(xs, keys, strict=True)]

    def calibrator(self, key: Hashable | None = None) -> ScoreCalibrator:
        """The score calibrator of ``key``'s model (created if the key is new).

        In tail mode its ``last_level`` is the level of the last record it recorded.

        Examples
        --------
        >>> scorer = build_scorer({"name": "rcf", "n_trees": 5}, {"threshold": 3.0, "tail": {}})
        >>> scorer.calibrator().tail["history"]
        20000
        """
        return self._unit(key).calibrator

    # -- state ------------------------------------------------------------------------------
    def counters(self) -> dict[str, int]:
        """Keyed-pool counters (keys, created, evictions, bytes); one key when not keyed.

        Examples
        --------
        >>> build_scorer({"name": "rcf"}).counters()["keys"]
        1
        """
        if self._pool is None:
            return {"keys": 1, "created": 1, "evictions": 0, "bytes": 0, "bytes_per_model": 0}
        return self._pool.counters()

    def snapshot(self, compress: bool | None = None) -> bytes:
        """Versioned bytes of the whole scorer (config, every key's model and calibration).

        ``compress=None`` zlib-compresses small snapshots only (see
        :data:`detectors.state.AUTO_COMPRESS_MAX_BYTES`); this call blocks for about 0.4 ms
        per keyed model uncompressed.
        """
        return state.dumps(self, compress=compress)


def build_scorer(
    detector: Mapping[str, Any],
    calibration: Mapping[str, Any] | None = None,
    keyed: Mapping[str, Any] | None = None,
    features: Sequence[str] | None = None,
    missing: str | None = None,
) -> Scorer:
    """Build the scorer the connector calls for every record.

    Parameters
    ----------
    detector
        ``{"name": "rcf" | "hst", **params}`` (see :data:`detectors.models.DETECTORS`);
        may also carry ``missing``.
    calibration
        ``{"threshold": 2.5}`` or ``{"quantile": 0.99}``, plus ``warmup``, ``window``,
        ``protect`` (do not learn flagged records) and ``relearn_after`` (with ``protect``:
        learn them again after that many in a row; see
        :class:`~detectors.calibration.CalibratedFilter`); or tail mode ``{"tail":
        {"history": ..., "suppress": ..., "margin": ..., "min_history": ...}, "threshold":
        3.0}`` (see
        :class:`~detectors.grading.ScoreCalibrator`).
    keyed
        ``{"max_keys": ..., "max_bytes": ...}`` for one model per key, or ``None`` for one
        model for all records.
    features
        Stable feature order; ``None`` takes the sorted field names of each record.
    missing
        Missing-feature policy, ``"impute"`` (default) or ``"reject"``.

    Examples
    --------
    >>> import random
    >>> rng = random.Random(1)
    >>> scorer = build_scorer({"name": "hst", "seed": 1}, {"quantile": 0.99, "warmup": 50},
    ...                       keyed={"max_keys": 100}, features=["count"])
    >>> for _ in range(400):  # HST window (250) + calibration warm-up (50)
    ...     a = scorer.process_one({"count": rng.gauss(100, 5)}, key="Exit79")
    >>> a.warming_up, a.key, a.model.startswith("hst@")
    (False, 'Exit79', True)
    >>> a = scorer.process_one({"count": 400.0}, key="Exit79")
    >>> a.flag, a.top_field, a.direction
    (True, 'count', 'high')
    >>> restore_scorer(scorer.snapshot()).process_one({"count": 100.0}, key="Exit79") == (
    ...     scorer.process_one({"count": 100.0}, key="Exit79"))
    True
    """
    detector = dict(detector)
    spec_missing = detector.pop("missing", None)
    return Scorer(detector, calibration, keyed, features, missing or spec_missing or "impute")


def restore_scorer(blob: bytes) -> Scorer:
    """Restore a :class:`Scorer` from :meth:`Scorer.snapshot` bytes.

    Raises
    ------
    detectors.state.StateFormatError
        Foreign bytes, an unreadable format version, or a snapshot of something else.

    Examples
    --------
    >>> scorer = build_scorer({"name": "rcf", "n_trees": 5, "seed": 3})
    >>> for v in range(100):
    ...     _ = scorer.process_one({"v": float(v % 7)})
    >>> again = restore_scorer(scorer.snapshot())
    >>> again.process_one({"v": 3.0}) == scorer.process_one({"v": 3.0})
    True
    >>> restore_scorer(b"not a snapshot")
    Traceback (most recent call last):
    ...
    detectors.state.StateFormatError: not a detector snapshot: header ...
    """
    obj = state.loads(blob)
    if not isinstance(obj, Scorer):
        raise state.StateFormatError(f"snapshot holds a {type(obj).__name__}, not a Scorer")
    return obj
