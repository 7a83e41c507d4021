"""The realistic toll traffic (generators.tolls_traffic): curve, bunching, volumes, episodes."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict

import pytest

from generators import tolls, tolls_traffic
from generators.base import DailyCurve

SIX = 1_800_000_000.0 - 7200  # 06:00 UTC


def per_window(recs, station):
    counts = Counter(int(r.timestamp // 10) for r in recs if r.key == station and r.send)
    first, last = min(counts), max(counts)
    return [counts.get(w, 0) for w in range(first, last + 1)]


def test_volumes_differ_25x_and_the_rush_hour_ramps_to_2_5x():
    recs = list(tolls.records(count=400_000, anomaly_rate=0.0, seed=1, start=SIX))
    busy, quiet = per_window(recs, b"183A"), per_window(recs, b"35South")
    # 06:00-06:30 at about 0.8-0.9 of daytime; 08:00-08:30 at 2.5
    early = statistics.mean(busy[:180])
    rush = statistics.mean(busy[720:900])
    assert 8 * 0.8 < early / 32 * 10 < 10 and rush == pytest.approx(80, rel=0.1)
    assert statistics.mean(busy) / statistics.mean(quiet) == pytest.approx(10, rel=0.15)
    assert max(busy[720:900]) / statistics.mean(quiet[:180]) > 25


def test_arrivals_are_bunched_not_poisson():
    recs = list(tolls.records(count=200_000, anomaly_rate=0.0, seed=2, start=SIX))
    counts = per_window(recs, b"183A")[:150]  # before the ramp
    assert statistics.variance(counts) / statistics.mean(counts) > 2.5


@pytest.mark.parametrize("strength", ["default", "subtle"])
def test_every_kind_is_injected_at_its_size(strength):
    size = tolls_traffic.SIZES[strength]
    recs = list(tolls.records(count=400_000, anomaly_rate=0.0002, seed=3, start=SIX,
                              strength=strength))
    by_event = defaultdict(list)
    for r in recs:
        if r.label:
            by_event[(r.label, r.event)].append(r)
    kinds = Counter(kind for kind, _ in by_event)
    assert set(kinds) == set(tolls_traffic.KINDS)
    for (kind, _), evrecs in by_event.items():
        span = max(r.timestamp for r in evrecs) - min(r.timestamp for r in evrecs)
        sent = sum(r.send for r in evrecs) / len(evrecs)
        stations = {r.key for r in evrecs}
        if kind == "long_silence":
            cut = max(r.timestamp for r in evrecs) > recs[-1].timestamp - 30  # input ended
            assert sent == 0 and len(stations) == 1 and (span > size[kind] - 60 or cut)
        elif kind in ("sensor_failure", "partial_drop"):
            assert len(stations) == 1 and span < tolls_traffic.SECONDS[kind]
            if len(evrecs) > 100:
                assert sent == pytest.approx(size[kind], abs=0.1)
        elif kind == "cloned_plate":
            assert len(evrecs) == size[kind] and len({r.value.split(b",")[2] for r in evrecs}) == 1
        else:
            assert len(stations) >= 5 and span < 50  # a station in an episode keeps its own


def test_curve_points_are_checked():
    with pytest.raises(ValueError, match="from hour 0 to 24"):
        DailyCurve(((0, 1.0), (12, 1.0)))
    with pytest.raises(ValueError, match="traffic must be realistic or even"):
        list(tolls.records(count=1, traffic="bumpy"))


def test_tolls_passes_keeps_every_plate_and_warms_up_at_a_plates_rate():
    # issue 18 behaviour 5: with a pool smaller than the plates, LRU eviction restarted active
    # plates, and a warm-up of 256 passes kept nearly every plate warming up
    from pathlib import Path

    from connector.config import load_pipeline

    cfg = load_pipeline(Path(__file__).resolve().parents[3] / "pipelines" / "tolls-passes.yaml")
    assert cfg.keyed["max_keys"] >= tolls_traffic.N_PLATES
    assert cfg.calibration["warmup"] <= 16
