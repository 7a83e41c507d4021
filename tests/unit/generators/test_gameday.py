from __future__ import annotations

import doctest
import json
import statistics
from collections import Counter

import pytest

import generators.base
import generators.gameday as gameday
from generators.base import check_args

START = 1_800_000_000.0


def records(**kw):
    kw.setdefault("start", START)
    return list(gameday.records(**kw))


@pytest.mark.parametrize("module", [generators.base, gameday])
def test_doctests(module):
    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0


def test_exact_format_and_sequential_ids():
    recs = records(count=50, anomaly_rate=0.0)
    for i, rec in enumerate(recs):
        body = json.loads(rec.value)
        assert body["start"] == "LOG_START" and body["stop"] == "LOG_END"
        log = body["log_message"]
        assert list(log) == [
            "log_identifier",
            "timestamp",
            "log_level",
            "ip_address",
            "user_id",
            "method",
            "path",
            "status_code",
            "response_time",
            "message",
        ]
        assert log["log_identifier"] == f"LOG-{i:06d}" == rec.id
        assert isinstance(log["timestamp"], float) and isinstance(log["status_code"], int)
        assert rec.key == log["path"].encode()
        assert rec.label is None and rec.headers == []
        assert "label" not in rec.value.decode()


def test_event_time_anchored_and_advancing_at_rate():
    recs = records(count=100, rate=50.0, anomaly_rate=0.0)
    assert recs[0].timestamp == START
    assert recs[-1].timestamp == pytest.approx(START + 99 / 50.0)


def test_seed_reproducible_and_different_seeds_differ():
    assert records(count=200, seed=4) == records(count=200, seed=4)
    assert records(count=200, seed=4) != records(count=200, seed=5)


@pytest.mark.parametrize(
    ("strength", "factor", "burst", "info"), [("default", 10.0, 20, 9.0), ("subtle", 3.0, 5, 4.0)]
)
def test_anomaly_sizes_are_fixed(strength, factor, burst, info):
    recs = records(count=20_000, anomaly_rate=0.01, seed=2, strength=strength)
    logs = [(r, json.loads(r.value)["log_message"]) for r in recs]
    slow = [(r, lg) for r, lg in logs if r.label == "slow_response"]
    assert slow
    for _, lg in slow:
        assert lg["response_time"] == pytest.approx(gameday.PATHS[lg["path"]] * factor, abs=0.001)
    info_slow = [lg for r, lg in logs if r.label == "info_slow"]
    assert info_slow and all(
        lg["log_level"] == "INFO" and lg["response_time"] == info for lg in info_slow
    )
    bursts: dict[int, list] = {}
    for r, lg in logs:
        if r.label == "error_burst":
            bursts.setdefault(r.event, []).append((r.timestamp, lg["log_level"]))
    complete = [b for b in bursts.values() if len(b) == burst]
    assert len(complete) >= len(bursts) - 1  # only the last burst may be cut by count
    for b in complete:
        assert {lvl for _, lvl in b} <= {"ERROR", "CRITICAL"}
        assert max(t for t, _ in b) - min(t for t, _ in b) < 10.0
    # the normal median of a path is what the factor multiplies
    normal = [lg["response_time"] for r, lg in logs if r.label is None and lg["path"] == "search"]
    assert statistics.median(normal) == pytest.approx(gameday.PATHS["search"], rel=0.05)


def test_labels_travel_in_headers_only():
    recs = records(count=3000, anomaly_rate=0.02, seed=9)
    labelled = [r for r in recs if r.label]
    assert labelled
    kinds = Counter(r.label for r in labelled)
    assert set(kinds) == set(gameday.KINDS)
    for r in labelled:
        assert dict(r.headers)["label"] == r.label.encode()
        assert r.label.encode() not in r.value
        assert r.label_line()["id"] == r.id


def test_normal_error_rate_is_low():
    recs = records(count=5000, anomaly_rate=0.0, seed=1)
    levels = Counter(json.loads(r.value)["log_message"]["log_level"] for r in recs)
    assert levels["ERROR"] / len(recs) < 0.02 and levels["CRITICAL"] == 0


@pytest.mark.parametrize(
    ("args", "msg"),
    [
        ((10, -1.0, 0.1, "default"), "rate"),
        ((10, 1.0, 2.0, "default"), "anomaly_rate"),
        ((10, 1.0, 0.1, "loud"), "strength"),
        ((-1, 1.0, 0.1, "default"), "count"),
    ],
)
def test_bad_arguments(args, msg):
    with pytest.raises(ValueError, match=msg):
        check_args(*args)
