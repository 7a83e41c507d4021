from __future__ import annotations

import math
import random

import pytest
from river import preprocessing

from detectors import KINESIS_PRESET, RandomCutForest


def _normal(n, seed=0, dims=("a", "b", "c")):
    rng = random.Random(seed)
    return [{d: rng.gauss(0, 1) for d in dims} for _ in range(n)]


def test_score_before_any_learning_is_zero():
    assert RandomCutForest(seed=1).score_one({"a": 5.0}) == 0.0


def test_outlier_scores_high_on_the_rcf_scale():
    rcf = RandomCutForest(seed=1)
    for x in _normal(1000):
        rcf.learn_one(x)
    normal = rcf.score_one({"a": 0.1, "b": -0.2, "c": 0.0})
    odd = rcf.score_one({"a": 0.1, "b": 12.0, "c": 0.0})
    assert normal < 1.5 < 2.5 < odd


def test_not_ready_until_output_after():
    rcf = RandomCutForest(sample_size=32, output_after=20, seed=1)
    data = _normal(25)
    for x in data[:19]:
        rcf.learn_one(x)
    assert not rcf.is_ready and rcf.score_one({"a": 50.0, "b": 0.0, "c": 0.0}) == 0.0
    for x in data[19:]:
        rcf.learn_one(x)
    assert rcf.is_ready and rcf.score_one({"a": 50.0, "b": 0.0, "c": 0.0}) > 0.0


def test_kinesis_preset_with_sample_size_equal_to_time_decay():
    rcf = RandomCutForest(**KINESIS_PRESET, seed=3)
    assert (rcf.n_trees, rcf.sample_size, rcf.time_decay, rcf.shingle_size) == (1, 10, 10, 2)
    rng = random.Random(3)
    scores = []
    for _ in range(300):
        x = {"count": rng.gauss(100, 3)}
        scores.append(rcf.score_one(x))
        rcf.learn_one(x)
    assert rcf._forest.options()["lambda"] == pytest.approx(0.1)
    assert rcf._forest.dimensions() == 2  # shingle of 2 records x 1 feature
    assert all(math.isfinite(s) for s in scores)
    assert rcf.score_one({"count": 20.0}) > max(scores[-50:])


def test_feature_order_is_stable_whatever_the_dict_order():
    a, b = RandomCutForest(seed=4), RandomCutForest(seed=4)
    for x in _normal(300, seed=4):
        a.learn_one(x)
        b.learn_one(dict(reversed(list(x.items()))))
    q = {"c": 3.0, "a": -1.0, "b": 0.5}
    assert a.feature_order == ("a", "b", "c")
    assert a.score_one(q) == b.score_one(dict(reversed(list(q.items()))))


def test_explicit_feature_order_and_extra_fields_ignored():
    rcf = RandomCutForest(features=("b", "a"), seed=2)
    for x in _normal(200, seed=2):
        rcf.learn_one({**x, "extra": 99.0})
    assert rcf.feature_order == ("b", "a")
    assert rcf.score_one({"a": 0.0, "b": 0.0}) == rcf.score_one({"a": 0.0, "b": 0.0, "z": 1.0})


@pytest.mark.parametrize("bad", [None, "n/a", math.nan, math.inf, 10**400, [1.0]])
def test_missing_or_bad_value_is_imputed_with_the_running_mean(bad):
    rcf = RandomCutForest(seed=5)
    for x in _normal(500, seed=5):
        rcf.learn_one(x)
    mean_b = rcf.feature_means["b"]
    expected = rcf.score_one({"a": 0.3, "b": mean_b, "c": 0.1})
    assert rcf.score_one({"a": 0.3, "b": bad, "c": 0.1}) == expected
    assert rcf.score_one({"a": 0.3, "c": 0.1}) == expected
    rcf.learn_one({"a": 0.3, "b": bad, "c": 0.1})  # never raises


def test_empty_record_is_harmless():
    rcf = RandomCutForest(seed=1)
    rcf.learn_one({})
    assert rcf.score_one({}) == 0.0 and rcf.feature_order is None


def test_shorter_time_decay_forgets_an_old_level_faster():
    def after_shift(time_decay):
        rcf = RandomCutForest(n_trees=30, sample_size=64, time_decay=time_decay, seed=6)
        rng = random.Random(6)
        for _ in range(2000):
            rcf.learn_one({"v": rng.gauss(0, 1)})
        for _ in range(300):
            rcf.learn_one({"v": rng.gauss(50, 1)})
        return rcf.score_one({"v": 0.0})  # the old level, odd once forgotten

    assert after_shift(50) > after_shift(100_000)


def test_composes_with_river_preprocessing():
    model = preprocessing.StandardScaler() | RandomCutForest(seed=7)
    for x in _normal(400, seed=7):
        model.learn_one({k: 1000 * v for k, v in x.items()})
    assert model.score_one({"a": 0.0, "b": 0.0, "c": 20_000.0}) > 2.5


def test_invalid_params_are_rejected():
    with pytest.raises(ValueError):
        RandomCutForest(time_decay=0)
    with pytest.raises(ValueError):
        RandomCutForest(n_trees=0)
