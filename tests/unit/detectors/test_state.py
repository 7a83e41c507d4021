from __future__ import annotations

import random

import pytest

from detectors import (
    FORMAT_VERSION,
    KeyedModels,
    RandomCutForest,
    ScoreCalibrator,
    StateFormatError,
    build_filter,
    build_scorer,
    restore_scorer,
    state,
)
from detectors.hst import make_hst


def _data(n, seed=0):
    rng = random.Random(seed)
    return [{"a": rng.gauss(0, 1), "b": rng.gauss(10, 3)} for _ in range(n)]


@pytest.mark.parametrize(
    "make",
    [
        lambda: RandomCutForest(seed=1),
        lambda: RandomCutForest(n_trees=1, sample_size=10, time_decay=10, shingle_size=2, seed=1),
        lambda: make_hst(seed=1),
        lambda: build_filter({"name": "rcf", "seed": 1}, {"quantile": 0.95, "warmup": 5}),
        lambda: build_filter({"name": "hst", "seed": 1}, {"threshold": 0.9, "warmup": 5}),
        lambda: build_filter(
            {"name": "rcf", "seed": 1},
            {"tail": {"history": 300, "suppress": 20, "min_history": 20}, "threshold": 2.0},
        ),
    ],
    ids=["rcf", "rcf-kinesis-shingled", "hst", "filter-rcf", "filter-hst", "filter-rcf-tail"],
)
def test_detector_restore_then_continue_is_exact(make):
    data = _data(900)
    model = make()
    for x in data[:500]:
        model.learn_one(x)
    restored = state.loads(state.dumps(model))
    for x in data[500:]:
        assert restored.score_one(x) == model.score_one(x)
        restored.learn_one(x)
        model.learn_one(x)


def test_calibrator_roundtrip():
    cal = ScoreCalibrator(quantile=0.9, warmup=3, window=50)
    for s in range(80):
        cal.update(s / 10)
    again = state.loads(state.dumps(cal, compress=False))
    assert again.assess(7.5) == cal.assess(7.5) and again.n_seen == 80


def test_tail_calibrator_roundtrip_continues_exactly():
    rng = random.Random(4)
    cal = ScoreCalibrator(threshold=2.0, tail={"history": 200, "suppress": 30, "min_history": 10})
    raw = [rng.expovariate(1.0) for _ in range(700)]
    for s in raw[:400]:
        cal.update(s)
    again = state.loads(state.dumps(cal, compress=False))
    for s in raw[400:] + [20.0, 20.0, 0.5]:
        assert again.assess(s) == cal.assess(s) and again.level(s) == cal.level(s)
        again.update(s)
        cal.update(s)
        assert again.last_level == cal.last_level
    assert cal.last_level == 0.0 and again.n_seen == cal.n_seen == 703


def test_keyed_pool_roundtrip_keeps_lru_order_and_counters():
    pool = KeyedModels(RandomCutForest(seed=1), max_keys=3)
    for i, x in enumerate(_data(300)):
        pool.get("abcd"[i % 4]).learn_one(x)
    again = state.loads(state.dumps(pool))
    assert list(again) == list(pool) and again.counters() == pool.counters()
    for x in _data(50, seed=5):
        assert again.get("d").score_one(x) == pool.get("d").score_one(x)


@pytest.mark.parametrize("calibration", [
    {"quantile": 0.98, "warmup": 20},
    {"tail": {"history": 400, "suppress": 20, "min_history": 20}, "threshold": 2.0},
], ids=["quantile", "tail"])
@pytest.mark.parametrize(
    "spec",
    [{"name": "rcf", "seed": 1},
     # River builds all HST trees on a model's first learn (~0.1 s at height 8): keep them small
     {"name": "hst", "n_trees": 3, "height": 4, "window_size": 50, "seed": 1}],
    ids=["rcf", "hst"],
)
def test_keyed_scorer_restore_then_continue_is_exact(spec, calibration):
    data = _data(1500, seed=3)
    keys = [("x", "y", "z", "x", "y", "x", "x")[i % 7] for i in range(len(data))]
    scorer = build_scorer(spec, calibration, keyed={"max_keys": 2})  # evictions happen too
    for x, k in zip(data[:1000], keys[:1000], strict=True):
        scorer.process_one(x, k)
    restored = restore_scorer(scorer.snapshot())
    for x, k in zip(data[1000:], keys[1000:], strict=True):
        assert restored.process_one(x, k) == scorer.process_one(x, k)
    assert restored.counters() == scorer.counters()


def test_newer_format_version_fails_clearly():
    blob = bytearray(state.dumps({"a": 1}))
    blob[5:7] = (FORMAT_VERSION + 1).to_bytes(2, "big")
    with pytest.raises(StateFormatError, match="newer than this build supports"):
        state.loads(bytes(blob))


def test_older_unsupported_format_version_fails_clearly():
    blob = bytearray(state.dumps({"a": 1}))
    blob[5:7] = (0).to_bytes(2, "big")
    with pytest.raises(StateFormatError, match="too old for this build"):
        state.loads(bytes(blob))


def test_older_supported_version_is_migrated(monkeypatch):
    blob = state.dumps({"a": 1})
    monkeypatch.setattr(state, "FORMAT_VERSION", 2)
    monkeypatch.setitem(state._MIGRATIONS, 1, lambda obj: {**obj, "migrated": True})
    assert state.loads(blob) == {"a": 1, "migrated": True}


@pytest.mark.parametrize(
    ("blob", "message"),
    [(b"{}", "too short"), (b"PK\x03\x04 not ours", "not a detector snapshot"),
     (b"OCDET\x00\x01\x07payload", "unknown snapshot codec")],
)
def test_foreign_bytes_fail_clearly(blob, message):
    with pytest.raises(StateFormatError, match=message):
        state.loads(blob)


def test_restore_scorer_rejects_other_objects():
    with pytest.raises(StateFormatError, match="not a Scorer"):
        restore_scorer(state.dumps(RandomCutForest()))


def test_state_pickled_before_the_compact_history_still_loads():
    from collections import deque

    cal = ScoreCalibrator(quantile=0.9, warmup=0, window=5)
    for s in (3.0, 1.0, 2.0):
        cal.update(s)
    old = dict(cal.__dict__)
    for name in ("_ring", "_pos", "_sorted"):
        del old[name]
    old["_recent"] = deque([3.0, 1.0, 2.0])
    again = ScoreCalibrator.__new__(ScoreCalibrator)
    again.__setstate__(old)
    assert again.grade(2.5) == cal.grade(2.5) == 2 / 3
    again.update(9.0)
    assert again.grade(10.0) == 1.0


def test_restored_pool_thaws_models_lazily_and_rewrites_untouched_bytes():
    pool = KeyedModels(RandomCutForest(seed=1), max_keys=10)
    for i, x in enumerate(_data(400)):
        pool.get("abcd"[i % 4]).learn_one(x)
    again = state.loads(state.dumps(pool))
    assert all(type(m) is bytes for m in again._models.values())
    assert list(again) == list(pool) == ["a", "b", "c", "d"]
    x = {"a": 0.5, "b": 30.0}
    assert again.peek("b").score_one(x) == pool.get("b").score_one(x)
    assert type(again._models["b"]) is not bytes and type(again._models["c"]) is bytes
    assert list(again) == ["a", "b", "c", "d"]  # peek keeps the LRU order
    frozen_c = again._models["c"]
    assert dict(again.__getstate__()["_models"])["c"] is frozen_c  # no re-pickling
