from __future__ import annotations

import math
import random

import pytest

import detectors
from detectors import DEFAULT_HST, DEFAULT_RCF, build_scorer, restore_scorer


def _stream(n, seed=0, keys=("a",)):
    rng = random.Random(seed)
    for i in range(n):
        yield {"x": rng.gauss(10, 1), "y": rng.gauss(-5, 2), "z": rng.uniform(0, 1)}, keys[
            i % len(keys)
        ]


@pytest.mark.parametrize("spec", [DEFAULT_RCF, DEFAULT_HST], ids=["rcf", "hst"])
def test_process_one_fills_every_field(spec):
    scorer = build_scorer(spec, {"quantile": 0.99, "warmup": 20}, features=["x", "y", "z"])
    out = [scorer.process_one(x) for x, _ in _stream(400)]
    assert out[0].warming_up and not out[0].flag
    last = out[-1]
    assert not last.warming_up
    assert 0.0 <= last.grade <= 1.0 and 0.0 < last.confidence <= 1.0
    assert last.model.startswith(spec["name"] + "@")
    assert all(math.isfinite(a.score) for a in out)


def test_rcf_flags_an_outlier_with_explanation():
    scorer = build_scorer(DEFAULT_RCF, {"threshold": 2.5, "warmup": 20}, features=["x", "y", "z"])
    for x, _ in _stream(600):
        scorer.process_one(x)
    a = scorer.process_one({"x": 10.0, "y": -40.0, "z": 0.5})
    assert a.flag and a.score >= 2.5
    assert a.top_field == "y" and a.direction == "low"
    total = sum(e["attribution"] for e in a.explanation.values())
    assert total == pytest.approx(a.score, rel=1e-6)
    assert a.explanation["y"]["expected"] == pytest.approx(-5.0, abs=0.5)


def test_hst_flags_an_outlier_with_explanation():
    # HST is coarse in several dimensions (few cells per feature); one feature, as a count
    scorer = build_scorer(DEFAULT_HST, {"quantile": 0.99, "warmup": 20}, features=["count"])
    rng = random.Random(3)
    for _ in range(600):
        scorer.process_one({"count": rng.gauss(100, 5)})
    a = scorer.process_one({"count": 20.0})
    assert a.flag
    assert (a.top_field, a.direction) == ("count", "low")
    assert a.explanation["count"]["attribution"] == pytest.approx(a.score)


@pytest.mark.parametrize("spec", [DEFAULT_RCF, DEFAULT_HST], ids=["rcf", "hst"])
@pytest.mark.parametrize("keyed", [None, {"max_keys": 10}], ids=["single", "keyed"])
def test_restore_then_continue_equals_never_stopping(spec, keyed):
    data = list(_stream(700, keys=("a", "b", "c")))
    scorer = build_scorer(spec, {"threshold": 2.5, "warmup": 10}, keyed=keyed)
    for x, k in data[:400]:
        scorer.process_one(x, k)
    restored = restore_scorer(scorer.snapshot())
    for x, k in data[400:]:
        assert restored.process_one(x, k) == scorer.process_one(x, k)


def test_process_many_matches_process_one():
    data = list(_stream(300, keys=("a", "b")))
    one = build_scorer(DEFAULT_RCF, keyed={"max_keys": 5})
    many = build_scorer(DEFAULT_RCF, keyed={"max_keys": 5})
    expected = [one.process_one(x, k) for x, k in data]
    assert many.process_many([x for x, _ in data], [k for _, k in data]) == expected


def test_unknown_detector_name_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown detector 'iforest'"):
        build_scorer({"name": "iforest"})


def test_unknown_param_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown parameter"):
        build_scorer({"name": "hst", "sample_size": 3})


def test_public_names_exist():
    for name in detectors.__all__:
        assert hasattr(detectors, name)
