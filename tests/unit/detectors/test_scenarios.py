"""Scenario-shaped checks of the scoring API (plain values, no servers)."""

from __future__ import annotations

import random

import pytest

from detectors import (
    DEFAULT_HST,
    DEFAULT_KEYED,
    DEFAULT_KEYED_RCF,
    KINESIS_RCF,
    RandomCutForest,
    build_detector,
    build_scorer,
)
from detectors.hst import UnitScaler

STATIONS = ("183A", "SH130", "TX45", "TX290", "Exit79")


def _tolls_scorer(spec):
    return build_scorer(spec, {"threshold": 2.5, "warmup": 20}, keyed=dict(DEFAULT_KEYED),
                        features=["count"])


def _warm(scorer, seed=1, windows=200):
    rng = random.Random(seed)
    for _ in range(windows):
        for station in STATIONS:
            scorer.process_one({"count": rng.gauss(100, 4)}, key=station)


@pytest.mark.parametrize(("factor", "direction"), [(0.2, "low"), (3.0, "high")],
                         ids=["sensor-fails", "surge"])
def test_tolls_drop_and_surge_are_different_alerts(factor, direction):
    scorer = _tolls_scorer(DEFAULT_KEYED_RCF)
    _warm(scorer)
    a = scorer.process_one({"count": 100 * factor}, key="TX45")
    assert a.flag and a.key == "TX45" and (a.top_field, a.direction) == ("count", direction)
    assert a.explanation["count"]["expected"] == pytest.approx(100, abs=3)
    others = [scorer.process_one({"count": 100.0}, key=s) for s in STATIONS if s != "TX45"]
    assert not any(o.flag for o in others)


def test_kinesis_preset_scores_counts_per_station():
    scorer = _tolls_scorer(KINESIS_RCF)
    _warm(scorer)
    a = scorer.process_one({"count": 5.0}, key="Exit79")
    assert a.flag and a.direction == "low" and a.score >= 2.5


def test_kinesis_shingled_attribution_adds_up_to_the_score():
    rcf = RandomCutForest(n_trees=1, sample_size=10, time_decay=10, shingle_size=2, seed=3)
    rng = random.Random(3)
    for _ in range(200):
        rcf.learn_one({"count": rng.gauss(100, 4), "plates": rng.gauss(10, 1)})
    x = {"count": 300.0, "plates": 10.0}
    total = sum(h + lo for h, lo in rcf.attribution_one(x).values())
    assert total == pytest.approx(rcf.score_one(x), rel=1e-6)  # krcf sums in float32


def test_gameday_info_line_with_slow_response_is_explained_by_response_time():
    scorer = build_scorer({"name": "rcf", "seed": 5}, {"threshold": 2.5, "warmup": 20},
                          features=["level", "response_time", "status"])
    rng = random.Random(5)
    for _ in range(2000):
        scorer.process_one({"level": float(rng.choice([0, 1, 1, 1])),
                            "response_time": abs(rng.gauss(0.15, 0.05)), "status": 200.0})
    a = scorer.process_one({"level": 1.0, "response_time": 9.0, "status": 200.0})
    assert a.flag and (a.top_field, a.direction) == ("response_time", "high")


def test_unit_scaler_centres_and_clips():
    sc = UnitScaler(span=8.0)
    rng = random.Random(0)
    for _ in range(5000):
        sc.learn_one({"v": rng.gauss(50, 10)})
    assert sc.transform_one({"v": 50.0})["v"] == pytest.approx(0.5, abs=0.01)
    assert sc.transform_one({"v": 90.0})["v"] == pytest.approx(1.0, abs=0.01)
    assert sc.transform_one({"v": 10_000.0}) == {"v": 1.0}
    assert sc.transform_one({"v": -10_000.0}) == {"v": 0.0}
    assert sc.transform_one({"new": 3.0}) == {"new": 0.5}


def test_hst_explanation_skips_fields_within_one_spread():
    scorer = build_scorer({"name": "hst", "seed": 2}, {"quantile": 0.99, "warmup": 20},
                          features=["a", "b"])
    rng = random.Random(2)
    for _ in range(1500):
        scorer.process_one({"a": rng.gauss(0, 1), "b": rng.gauss(0, 1)})
    unit = scorer._single
    assert unit.feature_spreads["a"] == pytest.approx(1.0, abs=0.15)
    a = scorer.process_one({"a": 0.3, "b": 9.0})
    assert a.flag and a.explanation["a"]["attribution"] == 0.0
    assert a.explanation["b"]["attribution"] == pytest.approx(a.score)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_default_hst_grades_outliers_by_distance_beyond_a_few_sigma(seed):
    # span 8 mapped every value past ~4 sigma to the same edge cell: 5 and 40 sigma tied,
    # and on NAB no threshold beat never firing; the default span keeps them apart
    det = build_detector(DEFAULT_HST, ["v"])
    rng = random.Random(seed)
    for _ in range(1000):
        det.learn_one({"v": rng.gauss(50, 10)})
    near, far = (det.score_one({"v": 50.0 + k * 10}) for k in (5, 40))
    assert far > near
