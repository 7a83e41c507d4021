from __future__ import annotations

import math
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


def _reference_tail(raw, history, suppress, margin, min_history):
    """The tail rule written out naively (whole-list scans), to check the fast one."""
    past, levels, out = [], [], []
    for s in raw:
        n = len(past)
        level = 0.0
        if n >= min_history:
            level = -math.log10((sum(p >= s for p in past) + 1) / (n + 1))
        recent = levels[-suppress:] if suppress else []
        out.append(level if not recent or level > max(recent) + margin else 0.0)
        levels.append(level)
        past = (past + [s])[-history:]
    return out


def test_tail_levels_match_the_naive_rule():
    rng = random.Random(5)
    raw = [rng.expovariate(1.0) for _ in range(600)] + [9.0, 9.5, 0.1, 12.0]
    cal = ScoreCalibrator(
        threshold=2.0, tail={"history": 300, "suppress": 20, "margin": 0.05, "min_history": 30}
    )
    levels = []
    for s in raw:
        level = cal.level(s)
        grade, flag, _, warming = cal.assess(s)
        assert flag == (not warming and level >= 2.0)
        cal.update(s)
        assert cal.last_level == level
        levels.append(level)
    assert levels == pytest.approx(_reference_tail(raw, 300, 20, 0.05, 30))
    assert len(cal._sorted) == 300


def test_tail_grade_is_one_minus_tail_probability_and_warms_up():
    cal = ScoreCalibrator(threshold=2.0, tail={"min_history": 10, "suppress": 0})
    for i in range(9):
        assert cal.assess(100.0)[1:] == (False, 0.0, True)
        cal.update(float(i))
    cal.update(9.0)
    grade, flag, confidence, warming = cal.assess(100.0)  # 0 of 10 at or above: p = 1/11
    assert grade == pytest.approx(1 - 1 / 11) and not flag and not warming  # level 1.04 < 2
    assert confidence == pytest.approx(math.log10(11) / 2.0)
    assert cal.assess(4.5)[0] == pytest.approx(1 - 6 / 11)
    assert cal.assess(-1.0)[0] == 0.0


@pytest.mark.parametrize(
    "bad",
    [
        {"tail": {"histroy": 10}},
        {"tail": {}, "quantile": 0.9},
        {"tail": {}, "window": 10},
        {"tail": {}, "threshold": 0.0},
        {"tail": {"suppress": -1}},
    ],
)
def test_invalid_tail_calibration(bad):
    with pytest.raises(ValueError):
        ScoreCalibrator(**bad)


def test_tail_mode_through_the_scorer_flags_once_per_excursion():
    rng = random.Random(2)
    scorer = build_scorer(
        {"name": "rcf", "n_trees": 20, "sample_size": 64, "seed": 2},
        {"tail": {"history": 5000, "suppress": 50}, "threshold": 3.0},
    )
    data = [{"v": rng.gauss(0, 1)} for _ in range(2000)] + [{"v": 25.0}] * 5
    out = [scorer.process_one(x) for x in data]
    assert all(0.0 <= a.grade <= 1.0 for a in out)
    assert not any(a.flag for a in out[:999])  # a 1-in-1000 tail needs 999 scores
    assert [a.flag for a in out[-5:]] == [True, False, False, False, False]
    assert out[-5].top_field == "v" and out[-5].explanation is not None
    assert scorer.calibrator().last_level == 0.0


@pytest.mark.parametrize("tail", [None, {"history": 50, "min_history": 5}])
def test_full_history_stays_the_sorted_ring(tail):
    rng = random.Random(8)
    cal = ScoreCalibrator(threshold=2.0, tail=tail) if tail else ScoreCalibrator(window=50)
    pool = [round(rng.gauss(1, 0.3), 1) for _ in range(20)]  # many ties
    for i in range(600):
        score = rng.choice(pool) if i % 3 else rng.gauss(1, 0.3)
        if i % 2:
            cal.update(score)
        else:
            cal.observe(score)
        assert list(cal._sorted) == sorted(cal._ring)


def _protected(relearn_after):
    flt = CalibratedFilter(RandomCutForest(n_trees=10, seed=4), threshold=2.0, warmup=5,
                           protect_anomaly_detector=True, relearn_after=relearn_after)
    rng = random.Random(4)
    for _ in range(300):
        flt.learn_one({"a": rng.gauss(0, 1)})
    return flt, rng


def test_relearn_after_learns_a_flagged_run_longer_than_the_limit():
    flt, _ = _protected(relearn_after=5)
    learned = flt.anomaly_detector._n
    for _ in range(5):
        flt.learn_one({"a": 40.0})
    assert flt.anomaly_detector._n == learned  # held back: the run is not longer than 5
    flt.learn_one({"a": 40.0})
    assert flt.anomaly_detector._n == learned + 1


def test_an_unflagged_record_ends_the_protected_run():
    flt, _ = _protected(relearn_after=3)
    for _ in range(3):
        assert not flt.learns(True)
    assert flt.learns(False) and not flt.learns(True)  # the count starts again


def test_without_relearn_after_protection_never_ends():
    flt, _ = _protected(relearn_after=None)
    assert not any(flt.learns(True) for _ in range(1000))


def test_relearn_after_must_be_positive():
    with pytest.raises(ValueError, match="relearn_after"):
        CalibratedFilter(RandomCutForest(seed=1), threshold=2.5, relearn_after=0)


def test_scorer_hot_path_follows_relearn_after():
    # a bare RCF in the scorer's feature order takes the scorer's own fast path
    scorer = build_scorer({"name": "rcf", "n_trees": 10, "sample_size": 32, "seed": 3},
                          {"threshold": 2.5, "warmup": 5, "protect": True, "relearn_after": 2},
                          keyed={"max_keys": 10}, features=["count"])
    rng = random.Random(3)
    for _ in range(200):
        scorer.process_one({"count": float(rng.randint(90, 110))}, key="Exit79")
    unit = scorer._unit("Exit79")
    learned = unit.anomaly_detector._n
    flags = [scorer.process_one({"count": 500.0}, key="Exit79").flag for _ in range(3)]
    assert flags == [True, True, True]
    assert unit.anomaly_detector._n == learned + 1  # the third flagged window in a row


def test_relearn_after_needs_protect():
    with pytest.raises(ValueError, match="only with protect"):
        build_scorer({"name": "rcf"}, {"threshold": 2.5, "relearn_after": 3})


def test_a_restored_scorer_keeps_its_protected_run():
    from detectors import restore_scorer

    scorer = build_scorer({"name": "rcf", "n_trees": 10, "sample_size": 32, "seed": 3},
                          {"threshold": 2.5, "warmup": 5, "protect": True, "relearn_after": 3})
    for v in range(200):
        scorer.process_one({"count": float(100 + v % 7)})
    for _ in range(2):
        scorer.process_one({"count": 900.0})
    again = restore_scorer(scorer.snapshot())
    assert again._unit(None)._protected_run == scorer._unit(None)._protected_run == 2
