"""Evaluation of outlier detectors on labelled streams: NAB scoring and event metrics.

NAB data and labels (``../shared/data/nab``) are Copyright 2014-2024 Numenta Inc., MIT
licence; see ``LICENSE.NAB.txt`` beside them. The scoring code here is our own, written from
NAB's published rules.
"""

from __future__ import annotations

from evaluation.corpus import LabelledSeries, load_corpus
from evaluation.nab import PROFILES, Profile, ProfileResult, ScoredRows

__all__ = ["PROFILES", "LabelledSeries", "Profile", "ProfileResult", "ScoredRows", "load_corpus"]
