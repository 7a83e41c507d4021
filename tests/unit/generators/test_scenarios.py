from __future__ import annotations

import doctest
import json
from collections import Counter, defaultdict
from datetime import datetime

import pytest

import generators.flowlogs as flowlogs
import generators.reviews as reviews
import generators.sensors as sensors
import generators.tolls as tolls

START = 1_800_000_000.0  # a multiple of 60 s


@pytest.mark.parametrize("module", [tolls, reviews, sensors, flowlogs])
def test_doctests_and_reproducible(module):
    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0
    a = list(module.records(count=500, seed=3, start=START, anomaly_rate=0.01))
    assert a == list(module.records(count=500, seed=3, start=START, anomaly_rate=0.01))
    assert a != list(module.records(count=500, seed=4, start=START, anomaly_rate=0.01))
    for r in a:
        if r.label is None:
            assert r.headers == []
        else:
            assert dict(r.headers)["label"] == r.label.encode()
            assert r.label.encode() not in r.value


def test_tolls_csv_format_and_station_weights():
    recs = list(
        tolls.records(count=50_000, anomaly_rate=0.0, seed=1, start=START, traffic="even")
    )
    for r in recs[:200]:
        date, toll, user = r.value.decode().split(",")
        assert datetime.fromisoformat(date).timestamp() == pytest.approx(r.timestamp, abs=1e-3)
        assert toll in tolls.STATIONS and user in tolls.PLATES and r.key == toll.encode()
    share = Counter(r.value.decode().split(",")[1] for r in recs)
    # relative weights 0.1 x 8, 0.09, 0.01 sum to 0.9
    assert share["35South"] / len(recs) == pytest.approx(0.01 / 0.9, abs=0.003)
    assert share["35North"] / len(recs) == pytest.approx(0.09 / 0.9, abs=0.006)
    assert share["Exit79"] / len(recs) == pytest.approx(0.1 / 0.9, abs=0.006)
    assert recs[-1].timestamp == pytest.approx(START + 49_999 / 100.0)


def counts_per_window(recs, label=None):
    out = defaultdict(Counter)
    for r in recs:
        if label is None or r.label == label:
            out[int((r.timestamp - START) // 10)][r.key.decode()] += 1
    return out


@pytest.mark.parametrize(("strength", "reported"), [("default", 0.2), ("subtle", 0.6)])
def test_tolls_sensor_failure_reports_a_fraction_for_five_windows(strength, reported):
    recs = list(
        tolls.records(
            count=60_000,
            anomaly_rate=0.001,
            seed=5,
            start=START,
            strength=strength,
            kinds=["sensor_failure"],
            traffic="even",
        )
    )
    failures = defaultdict(list)
    for r in recs:
        if r.label == "sensor_failure":
            failures[r.event].append(r)
    assert failures
    for event_recs in failures.values():
        windows = {int((r.timestamp - START) // 10) for r in event_recs}
        assert len(windows) <= 5 and len({r.key for r in event_recs}) == 1
    got = sum(len(v) for v in failures.values())
    expected = sum(len({int((r.timestamp - START) // 10) for r in v}) for v in failures.values())
    # ~100/s * 10 s * 0.1/0.9 = ~111 vehicles per station-window, times `reported`
    assert got / expected == pytest.approx(111 * reported, rel=0.15)


@pytest.mark.parametrize(("strength", "south"), [("default", 0.1 / 0.37), ("subtle", None)])
def test_tolls_diversion_shifts_traffic_to_35south(strength, south):
    recs = list(
        tolls.records(
            count=60_000,
            anomaly_rate=0.001,
            seed=5,
            start=START,
            strength=strength,
            kinds=["diversion"],
            traffic="even",
        )
    )
    diverted = [r for r in recs if r.label == "diversion"]
    assert diverted
    share = Counter(r.key.decode() for r in diverted)["35South"] / len(diverted)
    # diverted weights sum to 0.37; subtle is half-way from 0.01/0.9 to 0.1/0.37
    expected = south if south is not None else (0.01 / 0.9 + 0.1 / 0.37) / 2
    assert share == pytest.approx(expected, abs=0.015)


@pytest.mark.parametrize(("strength", "n"), [("default", 6), ("subtle", 3)])
def test_reviews_burst_within_one_window(strength, n):
    recs = list(
        reviews.records(count=5000, anomaly_rate=0.01, seed=2, start=START, strength=strength)
    )
    bursts = defaultdict(list)
    for r in recs:
        body = json.loads(r.value)
        assert r.key.decode() == body["reviewer"]
        if r.label:
            bursts[r.event].append(body)
    complete = [b for b in bursts.values() if len(b) == n]
    assert len(complete) >= len(bursts) - 1 and complete
    for b in complete:
        times = [datetime.fromisoformat(x["event_time"]).timestamp() for x in b]
        assert max(times) - min(times) < 30.0  # always inside one 1-min window of the 30 s grid
        assert len({x["reviewer"] for x in b}) == 1 and len({x["movie"] for x in b}) == n
    # normal reviewers rarely post twice within a minute (the rule's false positives)
    last: dict[str, float] = {}
    repeats = 0
    for r in recs:
        if not r.label:
            who = r.key.decode()
            repeats += who in last and r.timestamp - last[who] < 60.0
            last[who] = r.timestamp
    assert repeats / len(recs) < 0.01


# sensors: tests/unit/generators/test_sensors.py


def test_flowlogs_graph_and_format():
    assert len(flowlogs.PAIRS) == 60
    assert len({s for pair in flowlogs.PAIRS for s in pair}) <= 20
    recs = list(flowlogs.records(count=3000, anomaly_rate=0.0, seed=1, start=START))
    for r in recs[:300]:
        body = json.loads(r.value)
        assert list(body) == [
            "start",
            "end",
            "src_service",
            "src_addr",
            "dst_service",
            "dst_addr",
            "dst_port",
            "protocol",
            "packets",
            "bytes",
            "action",
        ]
        assert (body["src_service"], body["dst_service"]) in flowlogs.PAIRS
        assert body["start"] <= body["end"] and body["action"] in ("ACCEPT", "REJECT")
    rejects = sum(json.loads(r.value)["action"] == "REJECT" for r in recs) / len(recs)
    assert rejects == pytest.approx(flowlogs.REJECT_P, abs=0.015)


@pytest.mark.parametrize(
    ("strength", "kind", "keep", "factor"),
    [
        ("default", "pair_stop", 0.0, 1),
        ("subtle", "pair_stop", 0.3, 1),
        ("default", "rejects_jump", 1.0, 10),
        ("subtle", "rejects_jump", 1.0, 3),
        ("default", "new_pair", 1.0, 1),
    ],
)
def test_flowlogs_anomalies(strength, kind, keep, factor):
    recs = list(
        flowlogs.records(
            count=40_000,
            rate=50.0,
            anomaly_rate=0.0005,
            seed=8,
            start=START,
            strength=strength,
            kinds=[kind],
        )
    )
    episodes = defaultdict(list)
    for r in recs:
        if r.label:
            assert r.label == kind
            episodes[r.event].append(r)
    assert len(episodes) >= 2
    for rs in episodes.values():
        assert len({r.key for r in rs}) == 1
        assert max(r.timestamp for r in rs) - min(r.timestamp for r in rs) <= 180.0
        assert sum(r.send for r in rs) / len(rs) == pytest.approx(keep, abs=0.1)
        if kind == "new_pair":
            src, dst = rs[0].key.decode().split("->")
            assert (src, dst) not in flowlogs.PAIRS
    if kind == "rejects_jump":
        labelled = [r for rs in episodes.values() for r in rs]
        rate = sum(json.loads(r.value)["action"] == "REJECT" for r in labelled) / len(labelled)
        assert rate == pytest.approx(flowlogs.REJECT_P * factor, abs=0.04)
    # removed flows are labelled but never sent
    assert all(r.label == "pair_stop" for r in recs if not r.send)
