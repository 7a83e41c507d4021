"""Issue 10: inputs without units, a fitted score tail and early flags of obvious outliers."""

from __future__ import annotations

import math
import random

import pytest

import detectors
from detectors import (
    DEFAULT_CALIBRATION,
    DEFAULT_RCF,
    TAIL_CALIBRATION,
    RandomCutForest,
    ScoreCalibrator,
    build_scorer,
    restore_scorer,
)
from detectors.grading import exp_tail_level
from detectors.scaling import OnlineScaler


def _gameday(n: int, seed: int = 1) -> list[dict[str, float]]:
    rng = random.Random(seed)
    return [{"rt": rng.gauss(0.3, 0.05), "bytes": rng.gauss(5000.0, 500.0)} for _ in range(n)]


# -- standardisation ---------------------------------------------------------------------------
def test_scaler_holds_records_back_then_hands_them_over_in_one_frame():
    sc = OnlineScaler(warmup=10)
    rng = random.Random(0)
    points = [[rng.gauss(100, 5), rng.gauss(0.01, 0.001)] for _ in range(10)]
    handed = [sc.learn(p) for p in points]
    assert handed[:9] == [[]] * 9 and len(handed[9]) == 10
    assert handed[9] == [sc.transform(p) for p in points]  # the frame does not move after
    assert sc.learn([100.0, 0.01]) == [sc.transform([100.0, 0.01])]
    # both features end up on the same scale whatever their units
    spread = [max(abs(z[i]) for z in handed[9]) for i in range(2)]
    assert 0.5 < spread[0] / spread[1] < 2.0


def test_scaler_constant_feature_takes_a_scale_once_it_varies():
    sc = OnlineScaler(warmup=5)
    for _ in range(5):
        sc.learn([1.0, 7.0])
    assert sc.transform([1.0, 7.0]) == [0.0, 0.0]
    assert abs(sc.transform([1.0, 8.0])[1]) > 1e6  # never varied: any change is far out
    sc.learn([1.0, 8.0])
    assert 1.0 < sc.transform([1.0, 8.0])[1] < 10.0  # now it has a scale


@pytest.mark.parametrize("transform", [lambda v: 1000.0 * v, lambda v: v + 1e6],
                         ids=["x1000", "plus1e6"])
def test_standardised_forest_scores_do_not_depend_on_units(transform):
    rng = random.Random(3)
    values = [rng.gauss(10, 2) + (15.0 if i == 700 else 0.0) for i in range(800)]
    a = RandomCutForest(n_trees=10, sample_size=128, standardize=True, seed=5)
    b = RandomCutForest(n_trees=10, sample_size=128, standardize=True, seed=5)
    sa, sb = [], []
    for v in values:
        sa.append(a.score_one({"v": v}))
        sb.append(b.score_one({"v": transform(v)}))
        a.learn_one({"v": v})
        b.learn_one({"v": transform(v)})
    assert max(abs(x - y) for x, y in zip(sa, sb, strict=True)) < 0.05
    assert sa[700] == max(sa) and sb[700] == max(sb)


def test_multivariate_standardisation_finds_the_small_unit_feature():
    """A vibration of 0.03 g beside a voltage of 230 V: raw, the cuts follow the volts."""
    rng = random.Random(4)

    def record(odd: bool) -> dict[str, float]:
        return {"volt": rng.gauss(230.0, 2.0), "vib": rng.gauss(0.03, 0.002) + (0.03 if odd
                                                                               else 0.0)}
    rows = [record(i % 97 == 96 and i > 600) for i in range(1500)]
    scored = {}
    for standardize in (False, True):
        rcf = RandomCutForest(n_trees=20, sample_size=256, standardize=standardize, seed=2)
        out = []
        for x in rows:
            out.append(rcf.score_one(x))
            rcf.learn_one(x)
        odd = [s for i, s in enumerate(out) if i % 97 == 96 and i > 600]
        normal = sorted(s for i, s in enumerate(out) if i > 600 and i % 97 != 96)
        scored[standardize] = sum(s > normal[int(0.99 * len(normal))] for s in odd) / len(odd)
    assert scored[True] >= 0.8 > scored[False]


def test_explanation_expected_is_in_raw_units():
    scorer = build_scorer(DEFAULT_RCF, DEFAULT_CALIBRATION, features=["rt", "bytes"])
    rng = random.Random(9)
    for x in _gameday(1500, seed=2):
        scorer.process_one(x)
    a = scorer.process_one({"rt": 0.3, "bytes": 50_000.0 + rng.random()})
    assert a.flag and a.top_field == "bytes" and a.direction == "high"
    assert 4500.0 < a.explanation["bytes"]["expected"] < 5500.0


# -- fitted tail -------------------------------------------------------------------------------
def test_fitted_tail_reaches_the_threshold_on_a_short_history():
    rng = random.Random(0)
    empirical = ScoreCalibrator(threshold=3.0, tail={"min_history": 50})
    fitted = ScoreCalibrator(threshold=3.0, tail={"min_history": 50, "fit": "exp"})
    for _ in range(200):  # 200 scores: the empirical level cannot pass log10(201) = 2.3
        s = rng.gauss(1.0, 0.1)
        empirical.update(s)
        fitted.update(s)
    assert empirical.assess(9.0)[1] is False
    assert fitted.assess(9.0)[1] is True
    assert fitted.assess(1.1)[1] is False  # an ordinary score is not extrapolated
    assert fitted.assess(9.0)[2] < 1.0  # confidence: 200 scores are not 1000


def test_fitted_level_is_never_under_the_empirical_one():
    rng = random.Random(1)
    ordered = sorted(rng.expovariate(1.0) for _ in range(500))
    for score in (0.5, 2.0, ordered[-1], 10.0):
        pos = sum(v < score for v in ordered)
        empirical = -math.log10((500 - pos + 1) / 501)
        assert exp_tail_level(ordered, 500, pos, score, 0.9, 5) >= empirical - 1e-12
    # on exponential scores the extrapolation is about right: p(score > 10) ~ e^-10
    level = exp_tail_level(ordered, 500, 500, 10.0, 0.9, 5)
    assert 3.0 < level < 6.0


def test_bad_fit_settings_are_refused():
    with pytest.raises(ValueError, match="fit must be one of"):
        ScoreCalibrator(threshold=3.0, tail={"fit": "gpd"})
    with pytest.raises(ValueError, match="fit_quantile"):
        ScoreCalibrator(threshold=3.0, tail={"fit": "exp", "fit_quantile": 1.0})


# -- obvious outliers early --------------------------------------------------------------------
def test_a_value_far_outside_is_flagged_in_the_first_few_dozen_records():
    scorer = build_scorer(DEFAULT_RCF, DEFAULT_CALIBRATION, features=["rt", "bytes"])
    out = [scorer.process_one(x) for x in _gameday(40)]
    assert not any(a.flag for a in out) and all(a.warming_up for a in out)
    a = scorer.process_one({"rt": 30.0, "bytes": 5000.0})  # 100 times the others
    assert a.flag and a.warming_up and a.top_field == "rt" and a.direction == "high"
    assert 0.0 < a.confidence < 0.6  # 40 records stand behind it
    assert 0.25 < a.explanation["rt"]["expected"] < 0.35
    assert not scorer.process_one({"rt": 0.31, "bytes": 5000.0}).flag


def test_early_flags_are_off_with_the_former_calibration_and_before_twenty_records():
    scorer = build_scorer(DEFAULT_RCF, TAIL_CALIBRATION, features=["rt", "bytes"])
    for x in _gameday(40):
        scorer.process_one(x)
    assert not scorer.process_one({"rt": 30.0, "bytes": 5000.0}).flag
    scorer = build_scorer(DEFAULT_RCF, DEFAULT_CALIBRATION, features=["rt", "bytes"])
    for x in _gameday(detectors.scorer.EARLY_MIN_RECORDS - 2):
        scorer.process_one(x)
    assert not scorer.process_one({"rt": 30.0, "bytes": 5000.0}).flag


def test_general_and_fast_paths_agree_on_early_flags():
    fast = build_scorer(DEFAULT_RCF, DEFAULT_CALIBRATION, features=["rt", "bytes"])
    slow = build_scorer(DEFAULT_RCF, DEFAULT_CALIBRATION, features=["rt", "bytes"])
    rows = _gameday(60) + [{"rt": 30.0, "bytes": 5000.0}] + _gameday(20, seed=3)
    for x in rows:
        a = fast.process_one(x)
        b = slow.process_one({**x, "rt": str(x["rt"])})  # a string: the general path
        assert a == b


# -- state -------------------------------------------------------------------------------------
@pytest.mark.parametrize("cut", [10, 30, 64, 400])
def test_default_snapshot_continues_exactly_at_any_point(cut):
    rows = _gameday(700, seed=5)
    rows[500] = {"rt": 9.0, "bytes": 5000.0}
    scorer = build_scorer(DEFAULT_RCF, DEFAULT_CALIBRATION, features=["rt", "bytes"])
    for x in rows[:cut]:
        scorer.process_one(x)
    again = restore_scorer(scorer.snapshot())
    for x in rows[cut:]:
        assert again.process_one(x) == scorer.process_one(x)


def test_early_takes_a_level_of_its_own_and_refuses_nonsense():
    def flagged(early) -> bool:
        cal = {"tail": {**DEFAULT_CALIBRATION["tail"], "early": early}, "threshold": 3.0}
        scorer = build_scorer(DEFAULT_RCF, cal, features=["rt", "bytes"])
        for x in _gameday(40):
            scorer.process_one(x)
        return scorer.process_one({"rt": 3.0, "bytes": 5000.0}).flag  # ~50 sd out

    assert flagged(True) and flagged(3.0)
    assert not flagged(4.0)  # needs about 100 sd
    assert not flagged(False)
    with pytest.raises(ValueError, match="calibration.tail.early"):
        build_scorer(DEFAULT_RCF, {"tail": {"early": "yes"}, "threshold": 3.0})


def test_a_young_history_needs_a_rarer_score():
    rng = random.Random(2)
    plain = ScoreCalibrator(threshold=3.0, tail={"fit": "exp"})
    young = ScoreCalibrator(threshold=3.0, tail={"fit": "exp", "young": 2.0, "mature": 1000})
    for _ in range(100):
        s = rng.gauss(1.0, 0.1)
        plain.update(s)
        young.update(s)
    score = 1.5  # 5 sd: level 3.4 on the fitted tail; at n = 100 the young one needs 5
    assert plain.assess(score)[1] and not young.assess(score)[1]
    assert young.assess(5.0)[1]  # far out still flags
    with pytest.raises(ValueError, match="young must be >= 0"):
        ScoreCalibrator(threshold=3.0, tail={"young": -1.0})
