"""River-compatible outlier detectors, calibration, explanations and keyed pools (no I/O).

Score convention: every detector's ``score_one`` returns a float where **high means odd**
(RCF scale for ``rcf``: about 1 for normal records, 2.5+ for outliers; [0, 1] for ``hst``),
and scoring works before any learning (it returns 0.0). Calibration turns scores into a grade
in [0, 1] comparable across detectors and keys.

Public entry point for the connector: :func:`build_scorer`, then ``Scorer.process_one``,
``Scorer.snapshot`` and :func:`restore_scorer`.
"""

from __future__ import annotations

from .assessment import Assessment
from .calibration import TAIL_DEFAULTS, CalibratedFilter, ScoreCalibrator
from .defaults import (
    DEFAULT_CALIBRATION,
    DEFAULT_HST,
    DEFAULT_KEYED,
    DEFAULT_KEYED_CALIBRATION,
    DEFAULT_KEYED_RCF,
    DEFAULT_RCF,
    KINESIS_RCF,
    NAB_BEST,
    POT_CALIBRATION,
    QUANTILE_CALIBRATION,
    TAIL_CALIBRATION,
)
from .explain import explain_one, top_of
from .keyed import KeyedModels
from .models import DETECTORS, build_detector, build_filter, model_id
from .peaks import PeakFilter
from .rcf import KINESIS_PRESET, RandomCutForest
from .scorer import MISSING_POLICIES, Scorer, build_scorer, restore_scorer
from .state import FORMAT_VERSION, StateFormatError

__all__ = [
    "Assessment",
    "CalibratedFilter",
    "DEFAULT_CALIBRATION",
    "DEFAULT_HST",
    "DEFAULT_KEYED",
    "DEFAULT_KEYED_CALIBRATION",
    "DEFAULT_KEYED_RCF",
    "DEFAULT_RCF",
    "DETECTORS",
    "FORMAT_VERSION",
    "KINESIS_PRESET",
    "KINESIS_RCF",
    "KeyedModels",
    "MISSING_POLICIES",
    "NAB_BEST",
    "POT_CALIBRATION",
    "PeakFilter",
    "QUANTILE_CALIBRATION",
    "RandomCutForest",
    "ScoreCalibrator",
    "Scorer",
    "StateFormatError",
    "TAIL_CALIBRATION",
    "TAIL_DEFAULTS",
    "build_detector",
    "build_filter",
    "build_scorer",
    "explain_one",
    "model_id",
    "restore_scorer",
    "top_of",
]
