from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest

import generators.sensors as sensors

START = 1_800_000_000.0  # 08:00 UTC


def generate(**kw):
    kw.setdefault("start", START)
    return list(sensors.records(**kw))


def readings(recs):
    out = []
    for r in recs:
        body = json.loads(r.value)
        out.append((r, body))
    return out


def test_format_schedule_and_seed():
    recs = generate(count=3000, anomaly_rate=0.0, seed=1)
    assert recs == generate(count=3000, anomaly_rate=0.0, seed=1)
    assert recs != generate(count=3000, anomaly_rate=0.0, seed=2)
    times: dict[int, list[float]] = defaultdict(list)
    for r, body in readings(recs):
        assert list(body) == ["sensor_id", "current_temperature", "status", "event_time"]
        assert 10 <= body["current_temperature"] <= 150 and body["status"] in sensors.STATUS
        assert r.key == str(body["sensor_id"]).encode()
        parsed = datetime.fromisoformat(body["event_time"]).replace(tzinfo=UTC).timestamp()
        assert parsed == pytest.approx(r.timestamp, abs=0.001)
        times[body["sensor_id"]].append(r.timestamp)
    # every sensor reports on its own schedule, about every sensors / rate = 30 s
    assert len(times) == sensors.SENSORS
    gaps = [b - a for ts in times.values() for a, b in zip(ts, ts[1:], strict=False)]
    assert statistics.median(gaps) == pytest.approx(sensors.SENSORS / 5.0, abs=1.0)
    overall = (len(recs) - 1) / (recs[-1].timestamp - recs[0].timestamp)
    assert overall == pytest.approx(5.0, rel=0.05)


def test_sensors_differ_in_level_noise_and_devices_are_id_ranges():
    noise = [p.noise for p in sensors.PROFILES]
    assert min(noise) >= 0.3 and max(noise) <= 2.5 and max(noise) / min(noise) > 5
    levels = [p.level for p in sensors.PROFILES]
    assert min(levels) >= 20 and max(levels) <= 120
    ids = [i for _, first, last in sensors.DEVICES for i in range(first, last + 1)]
    assert ids == list(range(sensors.SENSORS))  # consecutive ranges covering every sensor once
    assert all(2 <= last - first + 1 <= 6 for _, first, last in sensors.DEVICES[:-1])
    for d, (_, first, last) in enumerate(sensors.DEVICES):
        assert {sensors.PROFILES[i].device for i in range(first, last + 1)} == {d}


def test_quiet_and_noisy_sensors_have_their_own_spread():
    recs = readings(generate(count=30_000, anomaly_rate=0.0, seed=2))
    values = defaultdict(list)
    for _, body in recs:
        if body["status"] == "OK":
            values[body["sensor_id"]].append(body["current_temperature"])
    for sensor in (min(range(151), key=lambda i: sensors.PROFILES[i].noise),
                   max(range(151), key=lambda i: sensors.PROFILES[i].noise)):
        diffs = [b - a for a, b in zip(values[sensor], values[sensor][1:], strict=False)]
        # successive differences: sqrt(2) x noise (the daily cycle moves little in 30 s)
        spread = statistics.pstdev(diffs) / 2**0.5
        assert spread == pytest.approx(sensors.PROFILES[sensor].noise, rel=0.3)


def test_daily_service_is_a_dip_reported_as_warn():
    # 20 sensors, each still every 30 s: 25 hours
    recs = readings(generate(count=60_000, rate=20 / 30.2, sensors=20, anomaly_rate=0.0, seed=3))
    warn_runs: dict[int, list] = defaultdict(list)
    for _, body in recs:
        if body["status"] == "WARN":
            warn_runs[body["sensor_id"]].append(body["current_temperature"])
    # every sensor is serviced once a day: a long WARN run that falls towards 22 °C
    serviced = [s for s, temps in warn_runs.items() if len(temps) > 30]
    assert len(serviced) == 20
    for s in serviced:
        level = sensors.PROFILES[s].level
        assert min(warn_runs[s]) < level - 0.6 * (level - sensors.AMBIENT)


@pytest.mark.parametrize(
    ("strength", "spike", "drift"), [("default", 40.0, 1.0), ("subtle", 15.0, 0.3)]
)
def test_spike_drift_stuck_sizes(strength, spike, drift):
    recs = readings(generate(count=60_000, anomaly_rate=0.003, seed=3, strength=strength,
                             kinds=["spike", "drift", "stuck"]))
    history = defaultdict(list)
    for r, body in recs:
        history[body["sensor_id"]].append((r.label, body))
    kinds = Counter()
    for rows in history.values():
        for i, (label, body) in enumerate(rows):
            if label == "spike" and 0 < i < len(rows) - 1 and body["current_temperature"] < 150:
                noise = sensors.PROFILES[body["sensor_id"]].noise
                around = (rows[i - 1][1]["current_temperature"]
                          + rows[i + 1][1]["current_temperature"]) / 2
                assert body["current_temperature"] - around == pytest.approx(
                    spike, abs=5 * noise + 0.5)
                kinds["spike"] += 1
    by_event = defaultdict(list)
    for r, body in recs:
        if r.label:
            by_event[(r.label, r.event)].append(body)
    for (kind, _), bodies in by_event.items():
        if kind == "stuck" and len(bodies) == 30:
            assert len({b["current_temperature"] for b in bodies}) == 1
            assert {b["status"] for b in bodies} == {"OK"}
            kinds["stuck"] += 1
        if kind == "drift" and len(bodies) == 20:
            noise = sensors.PROFILES[bodies[0]["sensor_id"]].noise
            rise = bodies[-1]["current_temperature"] - bodies[0]["current_temperature"]
            assert rise == pytest.approx(19 * drift, abs=6 * noise + 1.0)
            kinds["drift"] += 1
    assert min(kinds.values()) > 0 and len(kinds) == 3


@pytest.mark.parametrize("strength", ["default", "subtle"])
def test_new_kinds_shapes(strength):
    size = sensors.SIZES[strength]
    recs = generate(count=60_000, rate=40 / 30.2, sensors=40, anomaly_rate=0.002, seed=4,
                    strength=strength, kinds=["slow_drift", "dropout", "noisy", "device_fault"])
    events = defaultdict(list)
    for r in recs:
        if r.label:
            events[(r.label, r.event)].append(r)
    seen = Counter(kind for kind, _ in events)
    assert set(seen) == {"slow_drift", "dropout", "noisy", "device_fault"}
    assert sum(r.send for r in recs) == 60_000 and recs[0].timestamp == START
    for (kind, _), rs in events.items():
        keys = {r.key for r in rs}
        if kind == "dropout":
            # silent readings are not sent; the first one back is, and it ends the episode
            assert len(keys) == 1 and all(not r.send for r in rs[:-1])
            if rs[-1].send:
                silent = rs[-1].timestamp - rs[0].timestamp
                lo, hi = size["dropout"]
                assert lo * 60 - 40 <= silent <= hi * 60 + 40
        elif kind == "device_fault":
            assert len(keys) == 2 and all(r.send for r in rs)
            devices = {sensors.PROFILES[int(k)].device for k in keys}
            assert len(devices) == 1  # two sensors of one device
        elif kind == "slow_drift":
            assert len(keys) == 1
            span = (rs[-1].timestamp - rs[0].timestamp) / 60
            if len(rs) >= 80:
                assert 38 <= span <= 62
        else:
            assert len(keys) == 1 and len(rs) <= sensors.LENGTH["noisy"]


def test_episodes_avoid_services_and_bad_arguments():
    with pytest.raises(ValueError, match="sensors"):
        next(sensors.records(count=1, sensors=1))
    with pytest.raises(ValueError, match="unknown anomaly kind"):
        next(sensors.records(count=1, kinds=["melt"]))
    recs = readings(generate(count=100_000, anomaly_rate=0.002, seed=5))
    labelled_warn = [b for r, b in recs if r.label and b["status"] == "WARN"]
    everything = [r for r, _ in recs if r.label]
    assert len(labelled_warn) < 0.02 * len(everything)  # only the random 0.5 % WARN
