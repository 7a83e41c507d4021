"""Named detector configurations compared by ``outlier-connector evaluate``.

One configuration serves every file (no per-file settings). Each name maps to a factory
building a fresh row scorer for one file (NAB runs every file from a cold model). The
*default decision* of a configuration is the product's default calibration
(``detectors.DEFAULT_CALIBRATION``: flag the top 1 % of the model's recent 1000 scores,
after 50 scores), never a threshold tuned on labels; the product configurations use their
own ``Assessment.flag``, the baselines get the same rule applied to their raw score.

:data:`WINNING_DETECTOR` is the configuration this evaluation recommends as the product
default (see the module's report in the evaluation README section of the team report).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

from evaluation.scorers import (
    ChangeFeatures,
    GaussianTail,
    KrcfScorer,
    MaxOf,
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
    return RollingZScore(window=1000)


#: Recommended product default (filled in from measurements; see ``_winning``).
WINNING_DETECTOR = MappingProxyType(
    {"name": "rcf", "n_trees": 30, "sample_size": 64, "shingle_size": 1, "seed": 42}
)


def _rcf_tail() -> RowScorer:
    import detectors

    return GaussianTail(
        ProductScorer(dict(detectors.DEFAULT_RCF), dict(detectors.DEFAULT_CALIBRATION))
    )


def _rcf_changes() -> RowScorer:
    import detectors

    return ProductScorer(
        dict(detectors.DEFAULT_RCF), dict(detectors.DEFAULT_CALIBRATION), ChangeFeatures()
    )


def _rcf_changes_tail() -> RowScorer:
    return GaussianTail(_rcf_changes())


def _krcf_tail() -> RowScorer:
    return GaussianTail(_krcf_bare())


def _ensemble_tail() -> RowScorer:
    return MaxOf([GaussianTail(_rcf_changes()), GaussianTail(_zscore())])


_ALL = (
    EvalConfig("rcf-default", _default_rcf, "product default RCF (detectors.DEFAULT_RCF)"),
    EvalConfig("hst-default", _default_hst, "product default HST (detectors.DEFAULT_HST)"),
    EvalConfig("river-hst", _river_hst, "River HalfSpaceTrees() behind MinMaxScaler"),
    EvalConfig("krcf-bare", _krcf_bare, "krcf 100 trees, sample 256, shingle 1, raw score"),
    EvalConfig("zscore", _zscore, "rolling z-score over 1000 rows"),
    EvalConfig("rcf-tail", _rcf_tail, "default RCF, score -> Gaussian tail of recent scores"),
    EvalConfig("rcf-changes", _rcf_changes, "default RCF on value + changes (1, 8, 64)"),
    EvalConfig("rcf-changes-tail", _rcf_changes_tail, "rcf-changes -> Gaussian tail"),
    EvalConfig("krcf-tail", _krcf_tail, "krcf-bare -> Gaussian tail"),
    EvalConfig("ensemble-tail", _ensemble_tail, "max of tails of rcf-changes and zscore"),
)

#: Every named configuration, by name.
CONFIGS: dict[str, EvalConfig] = {c.name: c for c in _ALL}

#: The configurations compared by default (the required table).
BASELINE: tuple[str, ...] = ("rcf-default", "hst-default", "river-hst", "krcf-bare", "zscore")
