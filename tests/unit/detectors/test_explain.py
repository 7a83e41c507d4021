from __future__ import annotations

import functools
import random

import pytest

from detectors import RandomCutForest, build_scorer, explain_one, top_of
from detectors.hst import make_hst

FIELDS = ("rt", "level", "status")
CENTRE = {"rt": 0.15, "level": 1.0, "status": 200.0}
SPREAD = {"rt": 0.03, "level": 0.3, "status": 5.0}


@functools.cache  # explanations do not change the model
def _trained(name):
    model = (
        RandomCutForest(n_trees=30, sample_size=64, seed=11)
        if name == "rcf"
        else make_hst(n_trees=25, height=8, window_size=250, seed=11)
    )
    rng = random.Random(11)
    means = {f: 0.0 for f in FIELDS}
    n = 1500
    for _ in range(n):
        x = {f: rng.gauss(CENTRE[f], SPREAD[f]) for f in FIELDS}
        model.learn_one(x)
        for f in FIELDS:
            means[f] += x[f] / n
    return model, means


@pytest.mark.parametrize("name", ["rcf", "hst"])
@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("direction", ["high", "low"])
def test_perturbed_field_ranks_first_with_its_direction(name, field, direction):
    model, means = _trained(name)
    x = dict(CENTRE)
    x[field] += (8 if direction == "high" else -8) * SPREAD[field]
    explanation = explain_one(model, x, expected=means)
    assert top_of(explanation) == (field, direction)
    ranked = sorted(explanation, key=lambda f: -explanation[f]["attribution"])
    assert ranked[0] == field


@pytest.mark.parametrize("name", ["rcf", "hst"])
def test_attributions_sum_to_the_score_and_carry_expected_values(name):
    model, means = _trained(name)
    x = {"rt": 0.9, "level": 1.0, "status": 200.0}
    explanation = explain_one(model, x, expected=means)
    assert set(explanation) == set(FIELDS)
    total = sum(e["attribution"] for e in explanation.values())
    assert total == pytest.approx(model.score_one(x), rel=1e-9)
    assert all(e["attribution"] >= 0 for e in explanation.values())
    assert explanation["rt"]["expected"] == pytest.approx(means["rt"])


def test_rcf_explanation_through_a_preprocessing_pipeline():
    from river import preprocessing

    model = preprocessing.StandardScaler() | RandomCutForest(seed=2)
    rng = random.Random(2)
    for _ in range(800):
        model.learn_one({"a": rng.gauss(0, 1), "b": rng.gauss(0, 100)})
    assert top_of(explain_one(model, {"a": 0.0, "b": -900.0})) == ("b", "low")


def test_scorer_explains_only_flagged_records():
    scorer = build_scorer({"name": "rcf", "seed": 3}, {"threshold": 2.5, "warmup": 10})
    rng = random.Random(3)
    out = [scorer.process_one({"a": rng.gauss(0, 1), "b": rng.gauss(0, 1)}) for _ in range(500)]
    assert all((a.explanation is None) == (not a.flag) for a in out)
    assert all(a.top_field is None for a in out if not a.flag)
    flagged = scorer.process_one({"a": 0.0, "b": 15.0})
    assert flagged.flag and (flagged.top_field, flagged.direction) == ("b", "high")


def test_top_of_empty():
    assert top_of({}) == (None, None)
