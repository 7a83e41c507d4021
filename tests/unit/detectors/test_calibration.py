from __future__ import annotations

import random

import pytest
from river import preprocessing

from detectors import CalibratedFilter, RandomCutForest, ScoreCalibrator, build_scorer


def test_warming_up_never_flags_and_says_so():
    cal = ScoreCalibrator(threshold=2.5, warmup=5)
    for _ in range(4):
        assert cal.assess(100.0) == (cal.grade(100.0), False, 0.0, True)
        cal.update(1.0)
    cal.update(1.0)
    grade, flag, confidence, warming = cal.assess(100.0)
    assert (flag, warming) == (True, False) and grade == 1.0 and confidence > 0


def test_threshold_flags_at_and_above():
    cal = ScoreCalibrator(threshold=2.5, warmup=0)
    assert cal.assess(2.5)[1] and not cal.assess(2.49)[1]


def test_quantile_flags_the_top_of_the_history():
    cal = ScoreCalibrator(quantile=0.9, warmup=0, window=100)
    for s in range(100):
        cal.update(float(s))
    assert cal.grade(50.0) == 0.5
    assert cal.assess(95.0)[1] and not cal.assess(85.0)[1]


def test_default_rule_is_quantile_099():
    assert ScoreCalibrator().quantile == 0.99


def test_history_is_bounded_by_window():
    cal = ScoreCalibrator(window=10, warmup=0)
    for s in range(1000):
        cal.update(float(s))
    assert len(cal._sorted) == 10 and cal.grade(995.0) == 0.5
    assert cal.assess(0.0)[2] == 1.0  # confidence: window full


@pytest.mark.parametrize("bad", [{"quantile": 1.5}, {"window": 0}, {"warmup": -1}])
def test_invalid_calibration(bad):
    with pytest.raises(ValueError):
        ScoreCalibrator(**bad)


def test_grades_are_comparable_across_detectors_and_scales():
    rng = random.Random(1)
    data = [{"v": rng.gauss(0, 1)} for _ in range(1500)]
    medians = {}
    for name in ("rcf", "hst"):
        scorer = build_scorer({"name": name, "seed": 1}, {"quantile": 0.99, "warmup": 10})
        out = [scorer.process_one(x) for x in data]
        grades = sorted(a.grade for a in out[-500:])
        medians[name] = grades[250]
        assert all(0.0 <= a.grade <= 1.0 for a in out)
    assert medians["rcf"] == pytest.approx(0.5, abs=0.2)
    assert medians["hst"] == pytest.approx(0.5, abs=0.2)


def test_filter_after_preprocessing_with_pipe():
    model = preprocessing.StandardScaler() | CalibratedFilter(
        RandomCutForest(seed=3), threshold=2.5, warmup=20
    )
    rng = random.Random(3)
    for _ in range(500):
        model.learn_one({"a": rng.gauss(0, 10), "b": rng.gauss(5, 1)})
    flt = model["CalibratedFilter"]
    assert flt.classify(model.score_one({"a": 0.0, "b": 30.0}))
    assert not flt.classify(model.score_one({"a": 0.0, "b": 5.0}))


def test_detector_not_ready_means_warming_up():
    flt = CalibratedFilter(RandomCutForest(output_after=50, seed=1), threshold=0.0, warmup=0)
    assert flt.assess_score(5.0) == (0.0, False, 0.0, True)
    assert not flt.classify(5.0)


def test_protect_does_not_learn_flagged_records():
    def run(protect):
        flt = CalibratedFilter(RandomCutForest(seed=4), threshold=2.0, warmup=5,
                               protect_anomaly_detector=protect)
        rng = random.Random(4)
        for _ in range(300):
            flt.learn_one({"a": rng.gauss(0, 1)})
        for _ in range(30):
            flt.learn_one({"a": 40.0})
        return flt.score_one({"a": 40.0})

    assert run(protect=True) > run(protect=False)
