from __future__ import annotations

import doctest
import json
import statistics
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
    recs = list(reviews.records(count=8000, anomaly_rate=0.01, seed=2, start=START,
                                strength=strength, kinds=["review_burst"]))
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


def test_reviews_normal_traffic_looks_like_production():
    recs = list(reviews.records(count=30_000, anomaly_rate=0.0, seed=1, start=START))
    times: dict[str, list[float]] = defaultdict(list)
    for r in recs:
        times[r.key.decode()].append(r.timestamp)
    assert len(times) > 2000  # 3,000 reviewers, most of them seen in a few hours
    per = sorted(len(v) for v in times.values())
    assert per[-1] > 10 * statistics.median(per)  # heavy-tailed: a few very active ones
    pairs = sum(b - a < 60.0 for v in times.values() for a, b in zip(v, v[1:], strict=False))
    triples = sum(c - a < 60.0 for v in times.values() for a, c in zip(v, v[2:], strict=False))
    assert pairs > 50 and triples == 0  # binges: two reviews in a minute happen, three never
    hours = Counter(int((r.timestamp - START) // 3600) for r in recs)
    assert hours[3] > 1.3 * hours[0]  # 08:00 UTC is the daily low; the rate ramps up


@pytest.mark.parametrize("strength", ["default", "subtle"])
def test_reviews_brigades_and_drips(strength):
    recs = list(reviews.records(count=40_000, anomaly_rate=0.004, seed=3, start=START,
                                strength=strength, kinds=["brigade", "drip"]))
    episodes = defaultdict(list)
    for r in recs:
        if r.label:
            episodes[(r.label, r.event)].append(json.loads(r.value))
    kinds = Counter(k for k, _ in episodes)
    assert kinds["brigade"] >= 3 and kinds["drip"] >= 3
    lo, hi = reviews.SIZES[strength]["brigade"]
    gap_lo, gap_hi = reviews.SIZES[strength]["drip_gap"]
    for (kind, _), bodies in episodes.items():
        times = sorted(datetime.fromisoformat(b["event_time"]).timestamp() for b in bodies)
        if kind == "brigade":  # several reviewers, one movie, one rating, within a minute
            assert lo <= len({b["reviewer"] for b in bodies}) == len(bodies) <= hi
            assert len({b["movie"] for b in bodies}) == 1
            assert len({b["rating"] for b in bodies}) == 1
            assert times[-1] - times[0] < 60.0
        else:  # one reviewer, a review every gap_lo-gap_hi s for 8 minutes
            assert len({b["reviewer"] for b in bodies}) == 1
            gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
            assert gap_lo - 0.01 <= min(gaps) and max(gaps) <= gap_hi + 0.01
            assert 480.0 - gap_hi <= times[-1] - times[0] <= 480.0


# sensors: tests/unit/generators/test_sensors.py


def test_flowlogs_graph_and_format():
    assert len(flowlogs.PAIRS) == 75  # 72 talking all day, 3 hourly batch pairs
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
        assert body["start"] <= body["end"] and body["action"] in ("ACCEPT", "REJECT")
    rejects = sum(json.loads(r.value)["action"] == "REJECT" for r in recs) / len(recs)
    assert 0.02 <= rejects <= 0.06


def test_flowlogs_normal_traffic_looks_like_production():
    recs = list(flowlogs.records(count=400_000, anomaly_rate=0.0, seed=2, start=START))
    minutes: dict[str, Counter] = defaultdict(Counter)
    for r in recs:
        minutes[r.key.decode()][int((r.timestamp - START) // 60)] += 1
    span = int((recs[-1].timestamp - START) // 60)
    busy = {k: sum(c.values()) / span for k, c in minutes.items()}
    steady = [v for k, v in busy.items() if tuple(k.split("->")) in flowlogs.PAIRS]
    assert max(steady) > 50 * min(steady)  # heavy-tailed volumes
    batch = [k for k, p in flowlogs.PAIRS.items() if p.batch is not None]
    for src, dst in batch:  # an hourly batch pair: a few busy minutes an hour, then silence
        active = minutes[flowlogs.pair_key(src, dst)]
        assert 4 * (span // 60) <= len(active) <= 10 * (span // 60 + 1)
    top = max(busy, key=busy.get)
    counts = [minutes[top][m] for m in range(60, 120)]
    mean = statistics.mean(counts)
    assert statistics.variance(counts) > 3 * mean  # over-dispersed, not Poisson
    new = [k for k in minutes if tuple(k.split("->")) not in flowlogs.PAIRS]
    assert new  # benign new pairs appear (about one every two hours)


@pytest.mark.parametrize("strength", ["default", "subtle"])
@pytest.mark.parametrize("kind", flowlogs.KINDS)
def test_flowlogs_anomalies(strength, kind):
    size = flowlogs.SIZES[strength]
    recs = list(flowlogs.records(count=150_000, anomaly_rate=0.0002, seed=8, start=START,
                                 strength=strength, kinds=[kind]))
    episodes = defaultdict(list)
    for r in recs:
        if r.label:
            assert r.label == kind
            episodes[r.event].append(r)
    assert len(episodes) >= 2
    span = {"long_silence": size["silence_s"], "new_pair": flowlogs.EXFIL}.get(
        kind, flowlogs.EPISODE)
    for rs in episodes.values():
        assert len({r.key for r in rs}) == 1
        assert max(r.timestamp for r in rs) - min(r.timestamp for r in rs) <= span
        sent = [json.loads(r.value) for r in rs if r.send]
        if kind == "new_pair":
            src, dst = rs[0].key.decode().split("->")
            assert (src, dst) not in flowlogs.PAIRS and sent[0]["dst_port"] == 4444
        if kind == "port_scan" and rs[0].timestamp + span < recs[-1].timestamp:  # complete
            # probes: tiny, to ever other ports, almost all rejected
            probes = [b for b in sent if b["bytes"] <= 80]
            assert len(probes) == pytest.approx(3 * size["scan_per_min"], rel=0.1)
            assert len({b["dst_port"] for b in probes}) > 0.9 * len(probes)
            assert sum(b["action"] == "REJECT" for b in probes) > 0.8 * len(probes)
    keep = {"pair_stop": size["stop_keep"], "long_silence": 0.0}.get(kind, 1.0)
    labelled = [r for rs in episodes.values() for r in rs]
    assert sum(r.send for r in labelled) / len(labelled) == pytest.approx(keep, abs=0.1)
    if kind == "bytes_jump":
        key = next(iter(episodes.values()))[0].key
        usual = statistics.median(json.loads(r.value)["bytes"] for r in recs
                                  if r.key == key and not r.label)
        odd = statistics.median(json.loads(r.value)["bytes"] for r in episodes[min(episodes)])
        assert odd / usual == pytest.approx(size["bytes_factor"], rel=0.4)
    # removed flows are labelled but never sent
    assert all(r.label in ("pair_stop", "long_silence") for r in recs if not r.send)
