"""NAB scoring rules on tiny hand-computed cases, and the sweep against a brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation.corpus import probation_length, resolve_windows
from evaluation.nab import PROFILES, ScoredRows, row_weights, scaled_sigmoid

STANDARD = PROFILES["standard"]
LOW_FP = PROFILES["reward_low_FP_rate"]
LOW_FN = PROFILES["reward_low_FN_rate"]


def _c(x: float) -> float:
    return 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


def test_scaled_sigmoid_values():
    assert scaled_sigmoid(0.0) == 0.0
    assert scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert scaled_sigmoid(1.0) == pytest.approx(-0.98661, abs=1e-5)
    assert scaled_sigmoid(3.0) == pytest.approx(_c(3.0))
    assert scaled_sigmoid(3.0001) == -1.0


def test_probation_is_fifteen_percent_capped_at_750():
    assert probation_length(10) == 1
    assert probation_length(1000) == 150
    assert probation_length(5000) == 750
    assert probation_length(100_000) == 750


def test_window_edges_resolve_to_first_duplicate_row():
    stamps = ["t0", "t1", "t1", "t2", "t2", "t3"]
    assert resolve_windows(stamps, [["t1.000000", "t2.000000"]]) == ((1, 3),)


def test_first_row_of_window_earns_exactly_tp_and_last_row_little():
    _, weight = row_weights(10, [(3, 6)], 0)
    assert weight[3] == pytest.approx(1.0)
    # last row: C(-1/4) / C(-1)
    assert weight[6] == pytest.approx(_c(-0.25) / _c(-1.0))
    assert weight[6] > 0


def test_false_positive_penalty_after_window_uses_width_minus_one():
    window, weight = row_weights(12, [(2, 5)], 0)
    assert window[6] == -1
    assert weight[6] == pytest.approx(_c(1 / 3))
    assert weight[9] == pytest.approx(_c(4 / 3))
    # before the first window: a full penalty
    assert weight[0] == weight[1] == -1.0


def test_probation_rows_are_dropped():
    window, weight = row_weights(10, [(5, 7)], 3)
    assert len(window) == len(weight) == 7
    assert window.tolist() == [-1, -1, 0, 0, 0, -1, -1]


def test_hand_computed_file_all_profiles():
    # 20 rows, probation 3, one window on rows 8..11 (width 4).
    scores = np.zeros(20)
    scores[4] = 0.9  # FP before the window: -1 x FP weight
    scores[10] = 0.8  # hit at row 10: C(-2/4)/C(-1)
    scores[11] = 0.95  # later row in the same window: adds nothing
    scores[13] = 0.7  # FP 2 rows after the window: C(2/3)
    rows = ScoredRows([(scores, [(8, 11)], 3)])
    hit = _c(-0.5) / _c(-1.0)
    for profile in (STANDARD, LOW_FP, LOW_FN):
        got = rows.at_threshold(0.5, profile)
        expected = profile.tp * hit - profile.fp * 1.0 + profile.fp * _c(2 / 3)
        assert got.raw == pytest.approx(expected)
        null, perfect = -profile.fn, profile.tp
        assert got.score == pytest.approx(100 * (expected - null) / (perfect - null))


def test_missed_window_costs_fn_weight_and_null_scores_zero():
    scores = np.zeros(20)
    rows = ScoredRows([(scores, [(8, 11)], 3), (scores, [(2, 4), (12, 15)], 0)])
    assert rows.n_windows == 3
    for profile in (STANDARD, LOW_FN):
        got = rows.at_threshold(0.5, profile)
        assert got.raw == pytest.approx(-3 * profile.fn)
        assert got.score == pytest.approx(0.0)


def test_perfect_detector_scores_100():
    scores = np.zeros(30)
    scores[[8, 20]] = 1.0
    rows = ScoredRows([(scores, [(8, 11), (20, 25)], 3)])
    assert rows.at_threshold(1.0, LOW_FN).score == pytest.approx(100.0)
    assert rows.best(STANDARD).score == pytest.approx(100.0)


def test_consecutive_false_positives_each_count():
    scores = np.zeros(40)
    scores[30:35] = 1.0  # five rows, far after the window (> 3 widths) -> -1 each
    rows = ScoredRows([(scores, [(5, 7)], 0)])
    got = rows.at_threshold(1.0, LOW_FP)
    assert got.raw == pytest.approx(-1.0 - 5 * 0.22)


def test_detection_at_threshold_counts():
    scores = np.zeros(20)
    scores[9] = 0.5
    rows = ScoredRows([(scores, [(8, 11)], 0)])
    assert rows.at_threshold(0.5, STANDARD).raw > 0
    assert rows.at_threshold(0.5000001, STANDARD).raw == pytest.approx(-1.0)


def test_best_prefers_highest_threshold_on_ties():
    scores = np.zeros(20)
    scores[8] = 0.9
    scores[9] = 0.6  # same window, later: lowering to 0.6 changes nothing
    rows = ScoredRows([(scores, [(8, 11)], 0)])
    best = rows.best(STANDARD)
    assert best.threshold == 0.9
    assert best.raw == pytest.approx(1.0)


@st.composite
def _pools(draw):
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        n = draw(st.integers(5, 60))
        scores = np.array(
            draw(
                st.lists(
                    st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0]), min_size=n, max_size=n
                )
            )
        )
        cuts = sorted(set(draw(st.lists(st.integers(0, n - 1), max_size=6))))
        windows = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]
        parts.append((scores, windows, draw(st.integers(0, n // 4))))
    return parts


@settings(max_examples=200, deadline=None)
@given(parts=_pools(), name=st.sampled_from(sorted(PROFILES)))
def test_sweep_equals_scoring_at_every_threshold(parts, name):
    profile = PROFILES[name]
    rows = ScoredRows(parts)
    thresholds, raw = rows.sweep(profile)
    assert np.all(np.diff(thresholds[1:]) < 0)
    assert raw[0] == pytest.approx(-profile.fn * rows.n_windows)
    for threshold, value in zip(thresholds[1:], raw[1:], strict=True):
        assert value == pytest.approx(rows.at_threshold(threshold, profile).raw, abs=1e-9)
    distinct = set(rows.scores.tolist())
    assert set(thresholds[1:].tolist()) == distinct
