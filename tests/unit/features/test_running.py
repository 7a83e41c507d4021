"""Per-key running features (connector/features/running.py) through FeatureExtractor and the
shipped gameday and sensors pipelines: one test per behaviour of issue 18 (items 1 and 7)."""

from __future__ import annotations

import doctest
import json
import math
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

import connector.features.running as running
from connector.config import FeatureSpec, load_pipeline
from connector.errors import ConfigError
from connector.features.extract import FeatureExtractor
from connector.features.spec import parse_feature
from connector.transform import build_transform

PIPELINES = Path(__file__).resolve().parents[3] / "pipelines"
T0 = 1_800_000_000.0


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, tz=UTC)


def test_doctests():
    assert doctest.testmod(running, optionflags=doctest.ELLIPSIS).failed == 0


# --- gameday: level spellings, unseen levels ------------------------------------------------


def gameday_line(level: str, t: float, path: str = "search", rt: float = 0.4) -> bytes:
    return json.dumps({"start": "LOG_START", "stop": "LOG_END", "log_message": {
        "log_identifier": "LOG-1", "timestamp": T0 + t, "log_level": level, "ip_address": "1.2.3.4",
        "user_id": "u", "method": "GET", "path": path, "status_code": 500, "response_time": rt,
        "message": "m"}}).encode()


def test_warn_spelled_differently_is_the_same_level():
    aliases = {"WARNING": ["WARN", "warn"], "ERROR": ["err", "SEVERE"], "CRITICAL": ["FATAL"]}
    cats = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
    spec = FeatureSpec("lvl", "categorical", "level", categories=cats,
                       aliases=tuple((k, tuple(v)) for k, v in aliases.items()))
    ex = FeatureExtractor([spec])
    assert {ex.extract({"level": s})["lvl"] for s in ("WARNING", "WARN", "warn", "Warn")} == {2.0}
    # without aliases WARN was "one above CRITICAL"
    plain = FeatureExtractor([FeatureSpec("lvl", "categorical", "level", categories=cats)])
    assert plain.extract({"level": "WARN"})["lvl"] == 5.0
    # the shipped pipeline counts every library's spelling of an error in the burst feature
    t = build_transform(load_pipeline(PIPELINES / "gameday.yaml", env={}))
    counts = [t.prepare(gameday_line(s, i * 0.1)).features["errors_10s"]
              for i, s in enumerate(("ERROR", "err", "SEVERE", "error", "FATAL", "panic", "crit"))]
    assert counts == [2.0 * n for n in range(1, 8)]  # scale 2
    assert t.prepare(gameday_line("WARN", 1.0)).features["errors_10s"] == 14.0  # not an error


def test_unseen_level_is_novel_not_above_critical():
    t = build_transform(load_pipeline(PIPELINES / "gameday.yaml", env={}))
    rng = random.Random(1)
    normal = ["INFO", "info", "DEBUG", "WARN", "warning", "ERROR", "notice"]
    for i in range(3000):
        t.prepare(gameday_line(rng.choice(normal), i * 0.05))
    novelty = {lvl: t.prepare(gameday_line(lvl, 200.0)).features["level_novelty"]
               for lvl in ("info", "Warning", "ERROR", "AUDIT3")}
    # familiar levels in any spelling are not news; a level nobody logs with is, at full weight
    assert novelty["info"] == novelty["Warning"] == novelty["ERROR"] == 0.0
    assert novelty["AUDIT3"] == pytest.approx(3.0)  # 1.0 x scale 3
    assert "level" not in t.extractor.names  # no ordinal: an unknown value is not "above"


# --- sensors: own units, dropouts, device faults, service dips ------------------------------


def sensor_reading(sensor: int, temp: float, t: float, status: str = "OK") -> bytes:
    return json.dumps({"sensor_id": sensor, "current_temperature": round(temp, 2),
                       "status": status,
                       "event_time": at(t).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]}).encode()


@pytest.fixture
def sensors_transform():
    return build_transform(load_pipeline(PIPELINES / "sensors.yaml", env={}))


def feed(t, sensors_noise: dict[int, tuple[float, float]], minutes: float, rng, start=0.0):
    """Normal readings every 30 s for each sensor: {id: (level, noise sd)}; returns features."""
    out = {}
    steps = int(minutes * 2)
    for i in range(steps):
        for s, (level, sd) in sensors_noise.items():
            reading = sensor_reading(s, level + rng.gauss(0, sd), start + 30 * i + s * 0.1)
            out[s] = t.prepare(reading)
    return start + 30 * steps


def test_noisy_and_quiet_sensors_are_judged_in_their_own_units(sensors_transform):
    t, rng = sensors_transform, random.Random(2)
    end = feed(t, {0: (50.0, 0.3), 1: (80.0, 2.5)}, 120, rng)
    quiet = t.prepare(sensor_reading(0, 52.0, end)).features["temp_z"]
    noisy = t.prepare(sensor_reading(1, 82.0, end + 0.1)).features["temp_z"]
    assert quiet > 5.0 and abs(noisy) < 2.0  # the same +2 °C
    # the raw-unit feature this replaced saw the noisy sensor's 2 °C as the larger deviation
    raw = FeatureExtractor([FeatureSpec("dev", "derived", "v", derive="key_deviation", alpha=0.1)])
    for _ in range(200):
        raw.extract({"v": 50.0 + rng.gauss(0, 0.3)}, "0")
        raw.extract({"v": 80.0 + rng.gauss(0, 2.5)}, "1")
    assert abs(raw.extract({"v": 52.0}, "0")["dev"]) < 3.0  # not beyond noisy's usual range


def test_dropout_is_visible_on_the_reading_back(sensors_transform):
    t, rng = sensors_transform, random.Random(3)
    end = feed(t, {5: (60.0, 0.5)}, 60, rng)
    usual = t.prepare(sensor_reading(5, 60.0, end)).features["gap"]
    back = t.prepare(sensor_reading(5, 60.0, end + 10 * 60)).features["gap"]
    assert abs(usual) < 0.2
    assert back == pytest.approx(2.0 * math.log(20.0), rel=0.05)  # log ratio x 2


def test_correlated_fault_on_two_sensors_of_one_device(sensors_transform):
    t, rng = sensors_transform, random.Random(4)
    # unit-01 is sensors 0..3 (pipelines/sensors.yaml groups); 1.2 sd each, the same way
    profile = {s: (40.0 + 10 * s, 1.0) for s in range(4)}
    end = feed(t, profile, 180, rng)
    alone = dict(profile)
    alone[0] = (40.0 + 1.2, 1.0)
    end = feed(t, alone, 10, rng, start=end)
    one = t.prepare(sensor_reading(2, 60.0, end)).features["device_shift"]
    end = feed(t, profile, 60, rng, start=end + 30)
    both = dict(profile)
    both[0], both[1] = (40.0 + 1.2, 1.0), (50.0 + 1.2, 1.0)
    end = feed(t, both, 10, rng, start=end)
    two = t.prepare(sensor_reading(2, 60.0, end)).features["device_shift"]
    assert two > 2.5 and two > 3 * abs(one)  # scale 4: a common shift of about 0.8 of 1.2


def test_service_dip_reported_warn_is_not_a_deviation(sensors_transform):
    t, rng = sensors_transform, random.Random(5)
    end = feed(t, {7: (95.0, 0.4)}, 120, rng)
    names = ("temp_z", "temp_shift", "temp_noise", "device_shift")
    dip = [t.prepare(sensor_reading(7, 22.0 + 73.0 * 0.9 ** i, end + 30 * i, "WARN")).features
           for i in range(40)]
    assert all(f["temp_z"] == 0.0 and f["temp_shift"] == 0.0 for f in dip)
    assert all(f["temp_noise"] == 2.0 for f in dip)  # energy 1 (neutral) x scale 2
    after = t.prepare(sensor_reading(7, 95.0, end + 30 * 40)).features
    assert {n: abs(after[n]) < 3.0 for n in names} == dict.fromkeys(names, True)
    # without the hold, the same dip is 100+ of the sensor's standard deviations
    bare = FeatureExtractor([FeatureSpec("z", "derived", "v", derive="key_zscore", alpha=0.05)])
    for _ in range(200):
        bare.extract({"v": 95.0 + rng.gauss(0, 0.4)}, "7")
    assert bare.extract({"v": 40.0}, "7")["z"] < -50


# --- config and state ------------------------------------------------------------------------


def test_config_rules_and_snapshot_roundtrip():
    with pytest.raises(ConfigError, match=r"f\.groups: is required for group_zmean"):
        parse_feature({"name": "g", "kind": "derived", "derive": "group_zmean"}, "f")
    with pytest.raises(ConfigError, match=r"f\.hold: only with derive"):
        parse_feature({"name": "g", "kind": "derived", "derive": "key_gap",
                       "hold": {"field": "s", "value": "WARN"}}, "f")
    with pytest.raises(ConfigError, match="already a spelling of WARNING"):
        parse_feature({"name": "c", "kind": "categorical", "categories": ["A"],
                       "aliases": {"WARNING": ["WARN"], "ERROR": ["warn"]}}, "f")
    cfg = load_pipeline(PIPELINES / "sensors.yaml", env={})
    a, b = build_transform(cfg), build_transform(cfg)
    rng = random.Random(6)
    feed(a, {0: (50.0, 0.3), 1: (51.0, 0.3), 9: (70.0, 1.0)}, 30, rng)
    b.restore(json.loads(json.dumps(a.snapshot())))
    probe = sensor_reading(1, 53.0, 5000.0)
    assert a.prepare(probe).features == b.prepare(probe).features
