from __future__ import annotations

import math
import random

import pytest

from detectors import DEFAULT_KEYED_RCF, KeyedModels, RandomCutForest, build_scorer


def test_lru_eviction_by_count_and_counters():
    pool = KeyedModels(RandomCutForest(seed=1), max_keys=3)
    for key in ["a", "b", "c", "a", "d", "e"]:
        pool.get(key).learn_one({"v": 1.0})
    assert list(pool) == ["a", "d", "e"]  # b then c were least recently used
    c = pool.counters()
    assert (c["keys"], c["created"], c["evictions"]) == (3, 5, 2)
    assert c["bytes"] == 3 * c["bytes_per_model"] > 0


def test_eviction_by_bytes():
    pool = KeyedModels(RandomCutForest(seed=1), max_keys=None, max_bytes=1, measure_every=1)
    for key in "abcd":
        pool.get(key).learn_one({"v": 1.0})
    assert len(pool) == 1 and pool.evictions == 3  # the key in use is never evicted


def test_models_are_clones_of_the_prototype_and_independent():
    proto = RandomCutForest(n_trees=12, sample_size=32, seed=9)
    pool = KeyedModels(proto)
    rng = random.Random(9)
    for _ in range(300):
        pool.get("quiet").learn_one({"v": rng.gauss(0, 1)})
        pool.get("loud").learn_one({"v": rng.gauss(1000, 1)})
    a, b = pool.get("quiet"), pool.get("loud")
    assert a is not b and a.n_trees == b.n_trees == 12
    assert a.score_one({"v": 1000.0}) > 2.5 > a.score_one({"v": 0.0})
    assert proto._forest is None  # the prototype never learns


def test_bytes_per_model_is_measured_after_models_grow():
    pool = KeyedModels(RandomCutForest(**{k: v for k, v in DEFAULT_KEYED_RCF.items()
                                          if k != "name"}), measure_every=100)
    rng = random.Random(0)
    first = None
    for i in range(1000):
        pool.get(i % 2).learn_one({"a": rng.random(), "b": rng.random(), "c": rng.random()})
        first = first or pool.bytes_per_model
    assert pool.bytes_per_model > first


def test_evicted_key_comes_back_warming_up():
    scorer = build_scorer({"name": "rcf", "seed": 2}, {"threshold": 2.5, "warmup": 10},
                          keyed={"max_keys": 1})
    rng = random.Random(2)
    for _ in range(200):
        scorer.process_one({"v": rng.gauss(0, 1)}, key="a")
    assert not scorer.process_one({"v": 0.0}, key="a").warming_up
    scorer.process_one({"v": 0.0}, key="b")
    assert scorer.counters()["evictions"] == 1
    assert scorer.process_one({"v": 0.0}, key="a").warming_up


def test_scorer_keyed_counters():
    scorer = build_scorer({"name": "hst", "seed": 1}, keyed={"max_keys": 2, "max_bytes": 10**9})
    for key in "abcab":
        scorer.process_one({"v": 1.0}, key=key)
    assert scorer.counters()["keys"] == 2 and scorer.counters()["evictions"] == 3


# -- missing-feature policy ------------------------------------------------------------------
@pytest.mark.parametrize("name", ["rcf", "hst"])
@pytest.mark.parametrize("bad", [None, "oops", math.nan, math.inf, "absent"])
def test_impute_policy_scores_with_the_running_mean(name, bad):
    scorer = build_scorer({"name": name, "seed": 1}, features=["a", "b"], missing="impute")
    twin = build_scorer({"name": name, "seed": 1}, features=["a", "b"], missing="impute")
    rng = random.Random(1)
    for _ in range(400):
        x = {"a": rng.gauss(0, 1), "b": rng.gauss(5, 1)}
        scorer.process_one(x)
        twin.process_one(x)
    x = {"a": 0.2} if bad == "absent" else {"a": 0.2, "b": bad}
    got = scorer.process_one(x)
    mean_b = twin._single.feature_means["b"]
    assert got.rejected is None
    assert got == twin.process_one({"a": 0.2, "b": mean_b})


@pytest.mark.parametrize("name", ["rcf", "hst"])
def test_reject_policy_gives_a_reason_and_does_not_learn(name):
    scorer = build_scorer({"name": name, "seed": 1}, features=["a", "b"], missing="reject")
    twin = build_scorer({"name": name, "seed": 1}, features=["a", "b"], missing="reject")
    rng = random.Random(1)
    data = [{"a": rng.gauss(0, 1), "b": rng.gauss(5, 1)} for _ in range(400)]
    for x in data[:300]:
        scorer.process_one(x)
        twin.process_one(x)
    rejected = scorer.process_one({"a": 1.0, "b": "n/a"})
    assert rejected.rejected == "missing or non-numeric feature 'b'"
    assert not rejected.flag and rejected.score == 0.0
    for x in data[300:]:
        assert scorer.process_one(x) == twin.process_one(x)


def test_missing_policy_from_detector_spec_and_validation():
    assert build_scorer({"name": "rcf", "missing": "reject"}).missing == "reject"
    with pytest.raises(ValueError, match="missing"):
        build_scorer({"name": "rcf"}, missing="drop")


def test_never_an_exception_from_odd_records():
    scorer = build_scorer({"name": "rcf", "seed": 1}, features=["a", "b"])
    for x in [{}, {"a": None}, {"a": [1]}, {"a": "1e3", "b": True}, {"zzz": 1.0},
              {"a": 10**400, "b": 1.0}, {"a": 1e308, "b": 1e308}]:
        scorer.process_one(x)
