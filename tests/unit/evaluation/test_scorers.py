"""Row scorers on synthetic streams: score first, then learn; spikes score high."""

from __future__ import annotations

import numpy as np
import pytest

from detectors import ScoreCalibrator
from evaluation.postprocess import GaussianTail, MaxOf, ProductTail, TailScore
from evaluation.scorers import ChangeFeatures, KrcfScorer, RiverScorer, RollingZScore


def _stream(seed=0, n=600, spike_at=500, spike=15.0):
    values = np.random.default_rng(seed).normal(10.0, 1.0, n)
    values[spike_at] += spike
    return values


def test_change_features_track_ewma():
    f = ChangeFeatures(spans=(1, 3), keep_value=False)
    assert f.names == ["d1", "d3"]
    outs = [f.transform(v) for v in (0.0, 4.0, 4.0)]
    assert outs[1] == {"d1": 4.0, "d3": 4.0}
    # EWMA span 3 (alpha 0.5) after 0, 4 is 2.0; span 1 (alpha 1) follows the value
    assert outs[2] == {"d1": 0.0, "d3": 2.0}


def test_rolling_zscore_matches_numpy_window():
    values = _stream(n=80, spike_at=70)
    z = RollingZScore(window=20)
    got = [z.process(v) for v in values]
    for i in (30, 70, 79):
        past = values[i - 20 : i]
        assert got[i] == pytest.approx(abs(values[i] - past.mean()) / past.std())


@pytest.mark.parametrize(
    "scorer",
    [
        lambda: RollingZScore(window=200),
        lambda: KrcfScorer(n_trees=30, sample_size=64, seed=1),
        lambda: KrcfScorer(n_trees=30, sample_size=64, shingle_size=4, seed=1),
        lambda: KrcfScorer(n_trees=30, sample_size=64, features=ChangeFeatures(), seed=1),
        lambda: GaussianTail(KrcfScorer(n_trees=30, sample_size=64, seed=1), long=300),
        lambda: MaxOf([RollingZScore(200), RollingZScore(50)]),
    ],
)
def test_spike_is_the_top_score(scorer):
    values = _stream()
    s = scorer()
    scores = np.array([s.process(v) for v in values])
    assert int(np.argmax(scores[300:])) + 300 == 500


def test_river_scorer_scores_before_learning():
    from river import anomaly, preprocessing

    s = RiverScorer(preprocessing.MinMaxScaler() | anomaly.HalfSpaceTrees(seed=1))
    assert s.process(1.0) == 0.0  # HST scores 0 until its first window is full
    values = _stream(n=1000, spike_at=900, spike=30.0)
    scores = [s.process(v) for v in values]
    assert scores[900] > np.median(scores[600:])


def test_gaussian_tail_is_zero_until_history_and_monotone_in_z():
    class Fixed:
        def __init__(self, values):
            self.values = iter(values)

        def process(self, value):
            return next(self.values)

    raw = [1.0, 2.0] * 50 + [3.0, 10.0]
    tail = GaussianTail(Fixed(raw), long=100, short=1, min_history=100)
    out = [tail.process(0.0) for _ in raw]
    assert out[:100] == [0.0] * 100
    # mean 1.5, std 0.5: z = 3 -> -log10(Q(3)) ~ 2.87; z = 17 stays finite and larger
    assert out[100] == pytest.approx(2.8697, abs=1e-3)
    assert np.isfinite(out[101]) and out[101] > out[100]


class _Fixed:
    def __init__(self, values):
        self.values = iter(values)

    def process(self, value):
        return next(self.values)


def test_tail_score_is_rarity_of_raw_score_and_keeps_new_peaks_only():
    raw = [float(i % 4) for i in range(400)] + [10.0, 9.0, 10.5, 0.0]
    t = TailScore(_Fixed(raw), history=100, suppress=3, min_history=10, threshold=2.0)
    out = [t.decide(0.0) for _ in raw]
    # history is the last 100 raw scores: a 3 has 25 of 100 at or above it
    assert out[399][0] == pytest.approx(-np.log10(26 / 101))
    assert out[400] == (pytest.approx(-np.log10(1 / 101)), True)
    assert out[401] == (0.0, False)  # not a new peak within 3 rows
    # 10.5 is again above all of the last 100, so it only ties the peak of row 400
    assert out[402] == (0.0, False)


def test_tail_score_without_suppression_and_bounded_history():
    raw = list(np.linspace(0, 1, 300))
    t = TailScore(_Fixed(raw), history=50, suppress=0, min_history=10)
    out = [t.process(0.0) for _ in raw]
    assert out[:10] == [0.0] * 10
    assert all(v == pytest.approx(-np.log10(1 / 51)) for v in out[60:])
    assert len(t.calibrator._sorted) == 50


def test_tail_score_margin_stops_a_slow_climb_alarming_on_every_row():
    raw = [float(i % 4) for i in range(200)] + [10.0 + 0.01 * i for i in range(20)]
    plain = TailScore(_Fixed(raw), suppress=50, min_history=10)
    strict = TailScore(_Fixed(raw), suppress=50, margin=0.05, min_history=10)
    a = [plain.process(0.0) for _ in raw]
    b = [strict.process(0.0) for _ in raw]
    assert sum(v > 2 for v in a[200:]) == 20  # every row of the climb is a new maximum
    assert sum(v > 2 for v in b[200:]) == 1  # with a margin only its first row alarms


def test_product_tail_level_is_the_number_its_flag_thresholds():
    rng = np.random.default_rng(3)
    values = np.r_[rng.normal(0, 1, 1500), [15.0, 15.0], rng.normal(0, 1, 50)]
    pt = ProductTail(
        {"name": "rcf", "n_trees": 20, "sample_size": 64, "seed": 3},
        {"tail": {"history": 2000, "suppress": 30, "margin": 0.05}, "threshold": 3.0},
    )
    out = [pt.decide(v) for v in values.tolist()]
    assert all(flag == (level >= 3.0) for level, flag in out)
    assert out[1500][1] and not out[1501][1]  # one alarm per excursion
    assert all(level == 0.0 for level, _ in out[:16])  # detector not ready: nothing recorded


def test_tail_score_and_the_product_calibrator_are_one_implementation():
    raw = [float(i % 7) for i in range(300)] + [40.0, 1.0, 41.0]
    t = TailScore(_Fixed(raw), history=100, suppress=5, margin=0.05, min_history=10)
    cal = ScoreCalibrator(
        threshold=3.0, tail={"history": 100, "suppress": 5, "margin": 0.05, "min_history": 10}
    )
    for s in raw:
        cal.update(s)
        assert t.process(0.0) == cal.last_level
