"""Detectors chosen by name ("rcf", "hst") with their params, wrapped for calibration."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from river import base

from .calibration import CalibratedFilter
from .hst import make_hst
from .rcf import RandomCutForest

__all__ = ["DETECTORS", "build_detector", "build_filter", "model_id", "rcf_shape"]

#: Detector names and the params each accepts (besides ``name``).
DETECTORS: dict[str, tuple[str, ...]] = {
    "rcf": (
        "n_trees",
        "sample_size",
        "shingle_size",
        "time_decay",
        "output_after",
        "bounding_box_cache_fraction",
        "seed",
        "standardize",
        "standardize_warmup",
    ),
    "hst": ("n_trees", "height", "window_size", "scaler", "seed", "span"),
}

_CALIBRATION_KEYS = (
    "threshold", "quantile", "warmup", "window", "protect", "relearn_after", "tail"
)


def rcf_shape(shape: str, seed: int = 42) -> dict[str, Any]:
    """An rcf spec from a shape name: ``TxS`` (T trees x S points, krcf's time decay) or
    ``TxSdD`` (time decay D records), as the benchmark and the NAB sweep name them.

    >>> rcf_shape("15x1024d3000", seed=7)
    {'name': 'rcf', 'n_trees': 15, 'sample_size': 1024, 'seed': 7, 'time_decay': 3000}
    """
    size, _, decay = shape.lower().partition("d")
    trees, sample = (int(v) for v in size.split("x"))
    spec: dict[str, Any] = {"name": "rcf", "n_trees": trees, "sample_size": sample, "seed": seed}
    if decay:
        spec["time_decay"] = int(decay)
    return spec


def build_detector(spec: Mapping[str, Any], features: list[str] | None = None) -> base.Estimator:
    """Build a River anomaly detector from ``{"name": ..., **params}``.

    ``rcf`` is :class:`~detectors.rcf.RandomCutForest` on the raw values (RCF scale, as in
    Kinesis). ``hst`` is River's ``HalfSpaceTrees`` behind a scaler to [0, 1] (see
    :func:`detectors.hst.make_hst`; ``scaler="minmax"`` for River's ``MinMaxScaler``).

    Raises
    ------
    ValueError
        Unknown detector name or parameter (the message lists the accepted ones).

    Examples
    --------
    >>> build_detector({"name": "hst", "n_trees": 5, "seed": 1})
    Pipeline (
      UnitScaler (...),
      HalfSpaceTrees (
        n_trees=5
        ...
        seed=1
      )
    )
    >>> build_detector({"name": "iforest"})
    Traceback (most recent call last):
    ...
    ValueError: detector.name: unknown detector 'iforest', expected one of ['hst', 'rcf']
    """
    params = dict(spec)
    name = params.pop("name", None)
    if name not in DETECTORS:
        raise ValueError(f"detector.name: unknown detector {name!r}, expected one of "
                         f"{sorted(DETECTORS)}")
    unknown = sorted(set(params) - set(DETECTORS[name]))
    if unknown:
        raise ValueError(f"detector: unknown parameter(s) {unknown} for {name!r}, expected "
                         f"some of {list(DETECTORS[name])}")
    if name == "rcf":
        return RandomCutForest(**params, features=tuple(features) if features else None)
    return make_hst(**params)


def build_filter(
    detector: Mapping[str, Any],
    calibration: Mapping[str, Any] | None = None,
    features: list[str] | None = None,
) -> CalibratedFilter:
    """Build the per-key unit: the named detector inside a :class:`CalibratedFilter`.

    Examples
    --------
    >>> flt = build_filter({"name": "rcf", "n_trees": 5}, {"threshold": 2.5, "warmup": 10})
    >>> flt.calibrator
    ScoreCalibrator(threshold=2.5, warmup=10, window=1000)
    """
    cal = dict(calibration or {})
    if cal.get("tail") is not None:
        cal["tail"] = dict(cal["tail"])
    unknown = sorted(set(cal) - set(_CALIBRATION_KEYS))
    if unknown:
        raise ValueError(f"calibration: unknown key(s) {unknown}, expected some of "
                         f"{list(_CALIBRATION_KEYS)}")
    protect = bool(cal.pop("protect", False))
    if cal.get("relearn_after") is not None and not protect:
        raise ValueError("calibration.relearn_after: only with protect: true")
    return CalibratedFilter(
        build_detector(detector, features), protect_anomaly_detector=protect, **cal
    )


def model_id(detector: Mapping[str, Any], calibration: Mapping[str, Any] | None = None) -> str:
    """Name and config version of a detector, e.g. ``"rcf@<8 hex digits>"``.

    The version is a hash of the detector and calibration params, so documents scored by
    differently configured models can be told apart.

    Examples
    --------
    >>> model_id({"name": "hst", "seed": 1}) == model_id({"seed": 1, "name": "hst"})
    True
    >>> model_id({"name": "hst"}).startswith("hst@")
    True
    >>> from types import MappingProxyType as ro
    >>> model_id({"name": "rcf"}, {"tail": ro({"history": 9})}) == model_id(
    ...     {"name": "rcf"}, {"tail": {"history": 9}})
    True
    """
    blob = json.dumps([dict(detector), dict(calibration or {})], sort_keys=True,
                      default=lambda o: dict(o) if isinstance(o, Mapping) else str(o))
    return f"{detector.get('name')}@{hashlib.sha256(blob.encode()).hexdigest()[:8]}"
