"""Named detector configurations compared by ``outlier-connector evaluate``.

One configuration serves every file (no per-file settings). Each name maps to a factory
building a fresh row scorer for one file (NAB runs every file from a cold model). The
*default decision* of a configuration is the product's default calibration
(``detectors.DEFAULT_CALIBRATION``: flag the top 1 % of the model's recent 1000 scores,
after 50 scores), never a threshold tuned on labels; the product configurations use their
own ``Assessment.flag``, the baselines get the same rule applied to their raw score.

:data:`WINNING_DETECTOR` is the configuration this evaluation recommends as the product
default (measured with ``evaluate --configs winner ...``; the lead wires it as the default).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

from evaluation.postprocess import GaussianTail, TailScore
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


def _default_rcf() -> RowScorer:
    import detectors

    return ProductScorer(dict(detectors.DEFAULT_RCF), dict(detectors.DEFAULT_CALIBRATION))


def _default_hst() -> RowScorer:
    import detectors

    return ProductScorer(dict(detectors.DEFAULT_HST), dict(detectors.DEFAULT_CALIBRATION))


def _river_hst() -> RowScorer:
    from river import anomaly, preprocessing

    return RiverScorer(preprocessing.MinMaxScaler() | anomaly.HalfSpaceTrees(seed=42))


def _krcf_bare() -> RowScorer:
    return KrcfScorer(n_trees=100, sample_size=256, shingle_size=1, seed=42)


def _zscore() -> RowScorer:
    # 5000 rows: the window that gives the reference figures (about 26/15/33)
    return RollingZScore(window=5000)


#: The recommended product default: a forest of 100 trees x 1024 points on the value, its raw
#: score turned into an empirical tail probability of the stream's score history and reported
#: at new peaks only (:class:`evaluation.postprocess.TailScore`). Default flag: ``tail >= 3``
#: (rarer than 1 in 1000 and a new peak; chosen a priori, not tuned on labels).
WINNING_DETECTOR = MappingProxyType(
    {
        "detector": MappingProxyType(
            {"name": "rcf", "n_trees": 100, "sample_size": 1024, "shingle_size": 1, "seed": 42}
        ),
        "tail": MappingProxyType(
            {
                "history": 20_000,
                "suppress": 200,
                "margin": 0.05,
                "min_history": 50,
                "threshold": 3.0,
            }
        ),
    }
)


def _winner() -> RowScorer:
    import detectors

    inner = ProductScorer(dict(WINNING_DETECTOR["detector"]), dict(detectors.DEFAULT_CALIBRATION))
    return TailScore(inner, **WINNING_DETECTOR["tail"])


def _winner_seed7() -> RowScorer:
    import detectors

    spec = {**WINNING_DETECTOR["detector"], "seed": 7}
    inner = ProductScorer(spec, dict(detectors.DEFAULT_CALIBRATION))
    return TailScore(inner, **WINNING_DETECTOR["tail"])


def _rcf_1024() -> RowScorer:
    import detectors

    return ProductScorer(dict(WINNING_DETECTOR["detector"]), dict(detectors.DEFAULT_CALIBRATION))


def _default_rcf_tail() -> RowScorer:
    return TailScore(_default_rcf(), **WINNING_DETECTOR["tail"])


def _rcf_large() -> RowScorer:
    import detectors

    spec = {**WINNING_DETECTOR["detector"], "sample_size": 256}
    return ProductScorer(spec, dict(detectors.DEFAULT_CALIBRATION))


def _krcf_tail() -> RowScorer:
    return TailScore(_krcf_bare(), **WINNING_DETECTOR["tail"])


def _krcf_tail_only() -> RowScorer:
    return TailScore(_krcf_bare(), **{**WINNING_DETECTOR["tail"], "suppress": 0, "margin": 0.0})


def _krcf_gauss() -> RowScorer:
    return GaussianTail(_krcf_bare())


def _krcf_changes_tail() -> RowScorer:
    return TailScore(KrcfScorer(features=ChangeFeatures(), seed=42), **WINNING_DETECTOR["tail"])


def _zscore_tail() -> RowScorer:
    return TailScore(_zscore(), **WINNING_DETECTOR["tail"])


_ALL = (
    EvalConfig("rcf-default", _default_rcf, "product default RCF (detectors.DEFAULT_RCF)"),
    EvalConfig("hst-default", _default_hst, "product default HST (detectors.DEFAULT_HST)"),
    EvalConfig("river-hst", _river_hst, "River HalfSpaceTrees(seed=42) behind MinMaxScaler"),
    EvalConfig("krcf-bare", _krcf_bare, "krcf 100 trees, sample 256, shingle 1, raw score"),
    EvalConfig("zscore", _zscore, "rolling z-score over the last 5000 rows"),
    EvalConfig("winner", _winner, "WINNING_DETECTOR: rcf 100x1024 -> TailScore"),
    EvalConfig("winner-seed7", _winner_seed7, "the winner with forest seed 7 (seed spread)"),
    EvalConfig("rcf-100x1024", _rcf_1024, "product RCF at 100 trees x 1024, raw score"),
    EvalConfig("rcf-100x256", _rcf_large, "product RCF at 100 trees x 256, raw score"),
    EvalConfig("rcf-default-tail", _default_rcf_tail, "rcf-default -> TailScore"),
    EvalConfig("krcf-tail", _krcf_tail, "krcf-bare -> TailScore"),
    EvalConfig("krcf-tail-only", _krcf_tail_only, "krcf-bare -> tail, no peak suppression"),
    EvalConfig("krcf-gauss", _krcf_gauss, "krcf-bare -> Gaussian tail (NAB likelihood idea)"),
    EvalConfig("krcf-changes-tail", _krcf_changes_tail, "krcf on value + changes -> TailScore"),
    EvalConfig("zscore-tail", _zscore_tail, "zscore -> TailScore"),
)

#: Every named configuration, by name.
CONFIGS: dict[str, EvalConfig] = {c.name: c for c in _ALL}

#: The configurations compared by default: the required comparison plus the winner.
BASELINE: tuple[str, ...] = (
    "rcf-default",
    "hst-default",
    "river-hst",
    "krcf-bare",
    "zscore",
    "winner",
)
