"""Named detector configurations compared by ``outlier-connector evaluate``.

One configuration serves every file (no per-file settings). Each name maps to a factory
building a fresh row scorer for one file (NAB runs every file from a cold model). The
*default decision* of a configuration is never a threshold tuned on labels: the product
configurations use their own ``Assessment.flag``, the baselines get the product's default
calibration (``detectors.DEFAULT_CALIBRATION``) applied to their raw score, and ``*-tail``
configurations flag ``-log10 p >= 3`` at new peaks (``detectors.TAIL_CALIBRATION``).

``default`` is the product default (``detectors.DEFAULT_RCF`` + ``DEFAULT_CALIBRATION``);
``winner`` is :data:`detectors.NAB_BEST` (alias :data:`WINNING_DETECTOR`); ``tail-TxS``
(``-s7``: forest seed 7) are the candidates of the first default sweep, rcf T trees x S points,
tail calibration; the later sweep over shapes with a time decay and eight seeds is
:mod:`evaluation.sweep`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from detectors.defaults import (
    DEFAULT_CALIBRATION,
    DEFAULT_RCF,
    NAB_BEST,
    QUANTILE_CALIBRATION,
    TAIL_CALIBRATION,
)
from evaluation.postprocess import GaussianTail, ProductTail, TailScore
from evaluation.scorers import (
    ChangeFeatures,
    KrcfScorer,
    ProductScorer,
    RiverScorer,
    RollingZScore,
    RowScorer,
)

__all__ = ["BASELINE", "CONFIGS", "EvalConfig", "WINNING_DETECTOR"]


@dataclass(frozen=True, slots=True)
class EvalConfig:
    """A named configuration: how to build a cold row scorer, and what it is."""

    name: str
    build: Callable[[], RowScorer]
    description: str
    #: Optional product spec for ``evaluate --protocol``: forest seed -> ``(detector,
    #: calibration)`` for :func:`detectors.build_scorer` (see :mod:`evaluation.protocol`).
    spec: Callable[[int], tuple[Mapping[str, Any], Mapping[str, Any]]] | None = None


def _default_rcf() -> RowScorer:
    import detectors

    return ProductScorer(dict(detectors.DEFAULT_RCF), dict(detectors.DEFAULT_CALIBRATION))


def _default_hst() -> RowScorer:
    import detectors

    return ProductScorer(dict(detectors.DEFAULT_HST), dict(detectors.DEFAULT_CALIBRATION))


def _default_hst_tail() -> RowScorer:
    import detectors

    return ProductTail(detectors.DEFAULT_HST, TAIL_CALIBRATION)


def _river_hst() -> RowScorer:
    from river import anomaly, preprocessing

    return RiverScorer(preprocessing.MinMaxScaler() | anomaly.HalfSpaceTrees(seed=42))


def _krcf_bare() -> RowScorer:
    return KrcfScorer(n_trees=100, sample_size=256, shingle_size=1, seed=42)


def _zscore() -> RowScorer:
    # 5000 rows: the window that gives the reference figures (about 26/15/33)
    return RollingZScore(window=5000)


#: The best measured NAB configuration (:data:`detectors.NAB_BEST`): a forest of 100 trees x
#: 1024 points on the value with the tail calibration (empirical tail probability of the
#: stream's score history, new peaks only; flag ``-log10 p >= 3``, chosen a priori).
WINNING_DETECTOR = NAB_BEST

#: Tail-mode settings of every ``*-tail`` configuration (those of :data:`NAB_BEST`).
TAIL = {**TAIL_CALIBRATION["tail"], "threshold": TAIL_CALIBRATION["threshold"]}


def _product_tail(n_trees: int, sample_size: int, seed: int = 42) -> Callable[[], RowScorer]:
    spec = {"name": "rcf", "n_trees": n_trees, "sample_size": sample_size, "shingle_size": 1,
            "seed": seed}
    return lambda: ProductTail(spec, TAIL_CALIBRATION)


def _product_default() -> RowScorer:
    import detectors

    if "tail" in detectors.DEFAULT_CALIBRATION:
        return ProductTail(detectors.DEFAULT_RCF, detectors.DEFAULT_CALIBRATION)
    return ProductScorer(dict(detectors.DEFAULT_RCF), dict(detectors.DEFAULT_CALIBRATION))


def _rcf_1024() -> RowScorer:
    return ProductScorer(dict(NAB_BEST["detector"]), dict(QUANTILE_CALIBRATION))


def _rcf_large() -> RowScorer:
    spec = {**NAB_BEST["detector"], "sample_size": 256}
    return ProductScorer(spec, dict(QUANTILE_CALIBRATION))


def _krcf_tail() -> RowScorer:
    return TailScore(_krcf_bare(), **TAIL)


def _krcf_tail_only() -> RowScorer:
    return TailScore(_krcf_bare(), **{**TAIL, "suppress": 0, "margin": 0.0})


def _krcf_gauss() -> RowScorer:
    return GaussianTail(_krcf_bare())


def _krcf_changes_tail() -> RowScorer:
    return TailScore(KrcfScorer(features=ChangeFeatures(), seed=42), **TAIL)


def _zscore_tail() -> RowScorer:
    return TailScore(_zscore(), **TAIL)


_ALL = (
    EvalConfig("rcf-default", _default_rcf, "detectors.DEFAULT_RCF, raw score swept"),
    EvalConfig("hst-default", _default_hst, "product default HST (detectors.DEFAULT_HST)"),
    EvalConfig("hst-default-tail", _default_hst_tail, "DEFAULT_HST, tail calibration"),
    EvalConfig("river-hst", _river_hst, "River HalfSpaceTrees(seed=42) behind MinMaxScaler"),
    EvalConfig("krcf-bare", _krcf_bare, "krcf 100 trees, sample 256, shingle 1, raw score"),
    EvalConfig("zscore", _zscore, "rolling z-score over the last 5000 rows"),
    EvalConfig("default", _product_default, "detectors.DEFAULT_RCF + DEFAULT_CALIBRATION"),
    EvalConfig("winner", _product_tail(100, 1024), "NAB_BEST: rcf 100x1024, tail calibration"),
    EvalConfig("winner-seed7", _product_tail(100, 1024, 7), "NAB_BEST with forest seed 7"),
    EvalConfig("rcf-100x1024", _rcf_1024, "product RCF at 100 trees x 1024, raw score"),
    EvalConfig("rcf-100x256", _rcf_large, "product RCF at 100 trees x 256, raw score"),
    EvalConfig("krcf-tail", _krcf_tail, "krcf-bare -> TailScore"),
    EvalConfig("krcf-tail-only", _krcf_tail_only, "krcf-bare -> tail, no peak suppression"),
    EvalConfig("krcf-gauss", _krcf_gauss, "krcf-bare -> Gaussian tail (NAB likelihood idea)"),
    EvalConfig("krcf-changes-tail", _krcf_changes_tail, "krcf on value + changes -> TailScore"),
    EvalConfig("zscore-tail", _zscore_tail, "zscore -> TailScore"),
)

#: Candidate product defaults: rcf trees x sample with the tail calibration, forest seeds 42,
#: 7, 1 and 2 (names ``tail-TxS`` for seed 42, ``tail-TxS-sN`` otherwise).
_SHAPES = [(t, s) for t in (20, 25, 30, 40, 50) for s in (256, 512)] + [(30, 64), (30, 128)]
_CANDIDATES = tuple(
    EvalConfig(f"tail-{t}x{s}{'' if seed == 42 else f'-s{seed}'}", _product_tail(t, s, seed),
               f"rcf {t} trees x {s}, seed {seed}, tail calibration")
    for t, s in _SHAPES for seed in (42, 7, 1, 2)
)


def _idea(members: list[tuple[Mapping[str, Any], list[tuple[str, int]]]], seed: int,
          smooth: int = 1, history: int | None = None,
          calibration: Mapping[str, Any] = TAIL_CALIBRATION) -> Callable[[], RowScorer]:
    from evaluation.ideas import ForestTail

    cal = calibration if history is None else {
        **TAIL_CALIBRATION, "tail": {**TAIL_CALIBRATION["tail"], "history": history}}
    specs = [({**shape, "seed": seed + 100 * i}, inputs)
             for i, (shape, inputs) in enumerate(members)]
    return lambda: ForestTail(specs, smooth=smooth, calibration=cal)


_VALUE = [("value", 1)]
#: The forest shape of :data:`detectors.DEFAULT_RCF` (``idea-check`` reproduces ``default``).
_DEFAULT_SHAPE = {k: v for k, v in DEFAULT_RCF.items() if k in ("n_trees", "sample_size",
                                                                 "time_decay", "standardize")}
#: The default before 2026-11-22's sweep (``evaluation.sweep``); the ideas were measured on it.
_OLD = {"n_trees": 20, "sample_size": 512}
_HALF = {"n_trees": 10, "sample_size": 512}
#: Ideas measured against the then default, 20 x 512 (evaluation/README.md), each at forest
#: seeds 42, 7, 1, 2 (``-sN``); ``idea-check`` must reproduce ``default`` exactly.
_IDEAS = {
    "idea-check": ([(_DEFAULT_SHAPE, _VALUE)], {"calibration": DEFAULT_CALIBRATION}),
    "idea-smooth2": ([(_OLD, _VALUE)], {"smooth": 2}),
    "idea-smooth4": ([(_OLD, _VALUE)], {"smooth": 4}),
    "idea-hist5000": ([(_OLD, _VALUE)], {"history": 5000}),
    "idea-scales": ([(_HALF, _VALUE), (_HALF, [("mean", 8)])], {}),
    "idea-scales-std": ([(_HALF, _VALUE), (_HALF, [("std", 16)])], {}),
}
_IDEA_CONFIGS = tuple(
    EvalConfig(f"{name}{'' if seed == 42 else f'-s{seed}'}", _idea(members, seed, **kw),
               f"evaluation.ideas.ForestTail {members} {kw}, seed {seed}")
    for name, (members, kw) in _IDEAS.items() for seed in (42, 7, 1, 2)
)

def _issue10(detector: Mapping[str, Any], calibration: Mapping[str, Any]) -> Callable[[int], Any]:
    return lambda seed: ({**detector, "seed": seed}, calibration)


def _product_spec(spec: Callable[[int], Any]) -> Callable[[], RowScorer]:
    def build() -> RowScorer:
        detector, calibration = spec(42)
        return ProductTail(detector, calibration)
    return build


#: The default's parts before and after issue 10, one at a time, for ``evaluate --protocol
#: --configs ...`` (detectors/README.md, "Issue 10"): the former default (raw inputs,
#: empirical tail), the fitted tail alone, standardisation alone, and the default with the
#: early flag at level 4 (z about 100) instead of the threshold.
_RAW = {k: v for k, v in DEFAULT_RCF.items() if k not in ("standardize", "seed")}
_STD = {**_RAW, "standardize": True}
_NO_EARLY = {**DEFAULT_CALIBRATION["tail"], "early": False}
_ISSUE10 = {
    "former-default": (_RAW, TAIL_CALIBRATION, "15 x 1024 d3000 on raw values, empirical tail"),
    "pot-raw": (_RAW, {"tail": _NO_EARLY, "threshold": 3.0},
                "raw values, fitted (exponential) tail, no early flags"),
    "std-empirical": (_STD, TAIL_CALIBRATION, "standardised values, empirical tail"),
    "default-early4": (_STD, {"tail": {**DEFAULT_CALIBRATION["tail"], "early": 4.0},
                              "threshold": 3.0}, "the default, early flags at level 4"),
}
_ISSUE10_CONFIGS = tuple(
    EvalConfig(name, _product_spec(_issue10(det, cal)), text, spec=_issue10(det, cal))
    for name, (det, cal, text) in _ISSUE10.items()
)

#: Every named configuration, by name.
CONFIGS: dict[str, EvalConfig] = {c.name: c for c in _ALL + _CANDIDATES + _IDEA_CONFIGS
                                  + _ISSUE10_CONFIGS}

#: The configurations compared by default: the required comparison plus the winner.
BASELINE: tuple[str, ...] = (
    "rcf-default",
    "hst-default",
    "river-hst",
    "krcf-bare",
    "zscore",
    "default",
    "winner",
)
