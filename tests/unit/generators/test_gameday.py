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


def test_event_time_anchored_and_following_the_daily_load_curve():
    recs = records(count=4000, rate=50.0, anomaly_rate=0.0)
    assert recs[0].timestamp == START
    times = [r.timestamp for r in recs]
    assert times == sorted(times)
    # START is 08:00 UTC: load 1.65 (peak 1.75 at 10:00); gaps are random (exponential)
    observed = (len(recs) - 1) / (times[-1] - times[0])
    assert observed == pytest.approx(50.0 * gameday.load(START), rel=0.1)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert statistics.pstdev(gaps) > 0.5 * statistics.mean(gaps)
    assert gameday.load(START + 2 * 3600) == pytest.approx(1.75)
    assert gameday.load(START + 14 * 3600) == pytest.approx(0.25)


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
        CANON[lg["log_level"]] == "INFO" and lg["response_time"] == info for lg in info_slow
    )
    assert all(gameday.PATHS[lg["path"]] <= 0.45 for lg in info_slow)
    bursts: dict[int, list] = {}
    for r, lg in logs:
        if r.label == "error_burst":
            bursts.setdefault(r.event, []).append((r.timestamp, lg["log_level"]))
    complete = [b for b in bursts.values() if len(b) == burst]
    assert len(complete) >= len(bursts) - 1  # only the last burst may be cut by count
    for b in complete:
        assert {CANON[lvl] for _, lvl in b} <= {"ERROR", "CRITICAL"}
        assert max(t for t, _ in b) - min(t for t, _ in b) < 10.0
    # the normal median of a path is what the factor multiplies
    normal = [lg["response_time"] for r, lg in logs if r.label is None and lg["path"] == "search"]
    slower = 1 + 0.15 * (gameday.load(START) - 1)  # a little slower at peak load
    assert statistics.median(normal) == pytest.approx(gameday.PATHS["search"] * slower, rel=0.05)


CANON: dict[str, str] = {}  # spelling -> canonical level (JUL's SEVERE: ERROR, its first)
for _lib in gameday.LIBRARIES.values():
    for _level, _spellings in _lib.items():
        for _spelled in _spellings:
            CANON.setdefault(_spelled, _level)


def test_paths_differ_by_100x_and_services_spell_levels_their_own_way():
    medians = sorted(gameday.PATHS.values())
    assert medians[-1] / medians[0] >= 100
    recs = records(count=20_000, anomaly_rate=0.0, seed=3)
    levels = Counter(json.loads(r.value)["log_message"]["log_level"] for r in recs)
    for spelled in ("WARNING", "WARN", "warn", "warning", "TRACE", "FINE", "notice", "info"):
        assert levels[spelled] > 0, spelled
    assert set(levels) <= set(CANON)  # normal traffic: only library spellings


def test_normal_warning_bursts_and_isolated_errors():
    recs = records(count=40_000, anomaly_rate=0.0, seed=5)
    logs = [json.loads(r.value)["log_message"] for r in recs]
    errors = [lg for lg in logs if CANON[lg["log_level"]] == "ERROR"]
    assert 0 < len(errors) / len(logs) < 0.003
    # rate-limit bursts: many 429 warnings close together on one path
    limited = [lg["timestamp"] for lg in logs if lg["status_code"] == 429]
    busiest = max(sum(1 for t in limited if s <= t < s + 20) for s in limited)
    assert busiest >= 10


@pytest.mark.parametrize(("strength", "factor"), [("default", 4.0), ("subtle", 2.0)])
def test_latency_creep_grows_to_its_factor_over_ten_minutes(strength, factor):
    recs = records(
        count=60_000, anomaly_rate=0.0005, seed=4, strength=strength, kinds=["latency_creep"]
    )
    by_event: dict[int, list] = {}
    for r in recs:
        if r.label:
            by_event.setdefault(r.event, []).append(json.loads(r.value)["log_message"])
    assert by_event
    for logs in by_event.values():
        assert len({lg["path"] for lg in logs}) == 1
        span = logs[-1]["timestamp"] - logs[0]["timestamp"]
        if span < 590:
            continue  # cut by count
        assert span <= 600
        median = gameday.PATHS[logs[0]["path"]]
        last = logs[-1]["timestamp"]
        tail = [lg["response_time"] / median for lg in logs if lg["timestamp"] > last - 30]
        assert statistics.median(tail) == pytest.approx(factor * 1.1, rel=0.25)


def test_unknown_level_is_no_library_spelling():
    recs = records(count=20_000, anomaly_rate=0.002, seed=6, kinds=["unknown_level"])
    odd = [json.loads(r.value)["log_message"]["log_level"] for r in recs if r.label]
    assert odd and not set(odd) & set(CANON)


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
    canonical = Counter(CANON[lvl] for lvl in levels.elements())
    assert canonical["ERROR"] / len(recs) < 0.02 and canonical["CRITICAL"] == 0


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
