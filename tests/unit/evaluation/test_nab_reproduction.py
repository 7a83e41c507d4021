"""Our scorer reproduces NAB's published figures from NAB's own detector outputs.

Reads the NAB subset in ``../shared/data/nab`` (MIT, Copyright 2014-2024 Numenta Inc.).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.corpus import load_corpus, published_scores
from evaluation.nab import PROFILES, ScoredRows

NAB = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "nab"

pytestmark = pytest.mark.skipif(not NAB.is_dir(), reason=f"NAB data not found at {NAB}")

# README of the data: NAB's thresholds applied to NAB's outputs over these 24 files.
PUBLISHED = {
    "randomCutForest": (51.9, 33.7, 58.2),
    "numenta": (66.5, 59.4, 70.8),
}
ORDER = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(NAB)


def _rows(corpus, detector):
    return ScoredRows((published_scores(NAB, detector, s), s.windows, s.probation) for s in corpus)


def test_corpus_shape(corpus):
    assert len(corpus) == 24
    assert sum(len(s.windows) for s in corpus) == 49
    assert sum(len(s.values) for s in corpus) == 137301


@pytest.mark.parametrize("detector", sorted(PUBLISHED))
def test_published_figures_with_nab_thresholds(corpus, detector):
    thresholds = json.loads((NAB / "results" / "thresholds.json").read_text())[detector]
    rows = _rows(corpus, detector)
    for name, expected in zip(ORDER, PUBLISHED[detector], strict=True):
        got = rows.at_threshold(thresholds[name]["threshold"], PROFILES[name])
        assert got.score == pytest.approx(expected, abs=0.1), name


@pytest.mark.parametrize("detector", sorted(PUBLISHED))
def test_exhaustive_threshold_matches_or_beats_nab(corpus, detector):
    thresholds = json.loads((NAB / "results" / "thresholds.json").read_text())[detector]
    rows = _rows(corpus, detector)
    for name in ORDER:
        fixed = rows.at_threshold(thresholds[name]["threshold"], PROFILES[name])
        best = rows.best(PROFILES[name])
        assert best.raw >= fixed.raw - 1e-9


def test_htm_per_profile_threshold_figures(corpus):
    rows = _rows(corpus, "numenta")
    got = [rows.best(PROFILES[name]).score for name in ORDER]
    assert got == pytest.approx([66.5, 60.1, 71.6], abs=0.1)
