"""Every shipped pipeline loads, and its own generator's records prepare without rejection."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from connector.config import ConfigError, load_pipeline
from connector.features.windows import WindowAggregator
from connector.transform import build_transform, render_event

ROOT = Path(__file__).resolve().parents[3]
SCENARIOS = ("gameday", "tolls", "reviews", "sensors", "flowlogs")
# companion pipelines: another view of a scenario's topic (raw toll passes for the dashboard)
COMPANIONS = {"tolls-passes": "tolls", "reviews-movies": "reviews"}
START = 1_800_000_000.0
COUNTS = {"flowlogs": 40_000}  # ~2 minutes at 300/s: enough for 1-minute windows


def test_one_pipeline_per_scenario_and_nothing_else():
    shipped = sorted(p.stem for p in (ROOT / "pipelines").glob("*.yaml"))
    assert shipped == sorted((*SCENARIOS, *COMPANIONS))


@pytest.mark.parametrize(("pipeline", "scenario"), sorted(COMPANIONS.items()))
def test_companion_pipelines_read_their_scenario_cleanly(pipeline, scenario):
    cfg = load_pipeline(ROOT / "pipelines" / f"{pipeline}.yaml", env={})
    assert cfg.source.topics == (scenario,) and cfg.output.index == f"outliers-{pipeline}"
    transform = build_transform(cfg)
    gen = importlib.import_module(f"generators.{scenario}")
    for rec in gen.records(count=2000, seed=1, start=START):
        prepared = transform.prepare(rec.value)
        # a windowed view without record features (reviews-movies) needs its key
        assert prepared.features or (cfg.window is not None and prepared.key)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_generator_records_prepare_cleanly(scenario):
    cfg = load_pipeline(ROOT / "pipelines" / f"{scenario}.yaml", env={})
    assert cfg.name == scenario and cfg.output.index == f"outliers-{scenario}"
    assert cfg.source.topics == (scenario,)
    assert cfg.output.errors_topic == f"{scenario}.errors"
    gen = importlib.import_module(f"generators.{scenario}")
    transform = build_transform(cfg)
    agg = WindowAggregator(cfg.window) if cfg.window else None
    windows = []
    for offset, rec in enumerate(
        gen.records(count=COUNTS.get(scenario, 3000), seed=1, start=START)
    ):
        if not rec.send:
            continue
        p = transform.prepare(rec.value)
        assert p.key == rec.key.decode()  # Kafka key = the scenario's model key
        assert abs(p.timestamp.timestamp() - rec.timestamp) < 1.0
        assert list(p.features) == cfg.record_features_names
        if agg is not None:
            windows += agg.add(p, (scenario, 0, offset))
    if agg is None:
        return
    assert windows
    for w in windows:
        assert list(w.features) == cfg.features_names
        assert w.doc_id(cfg.name).startswith(f"{scenario}+{w.key}+")


def test_tolls_original_preset_via_environment():
    env = {
        "TOLLS_N_TREES": "1",
        "TOLLS_SAMPLE_SIZE": "10",
        "TOLLS_TIME_DECAY": "10",
        "TOLLS_SHINGLE_SIZE": "2",
    }
    det = load_pipeline(ROOT / "pipelines" / "tolls.yaml", env=env).detector
    assert (det["n_trees"], det["sample_size"], det["time_decay"], det["shingle_size"]) == (
        1,
        10,
        10,
        2,
    )
    with pytest.raises(ConfigError, match=r"tolls\.detector\.shingle_size: must be ≥ 1"):
        load_pipeline(ROOT / "pipelines" / "tolls.yaml", env={"TOLLS_SHINGLE_SIZE": "0"})


def test_reviews_rule_event_matches_the_original():
    cfg = load_pipeline(ROOT / "pipelines" / "reviews.yaml", env={})
    assert cfg.output.events.topic == "suspicious_activity"
    assert cfg.output.events.kafka == {}  # events share the source's connection settings
    doc = {
        "reviewer": "ur0000001",
        "count": 2.0,
        "window": {"start": "2027-01-15T08:00:00.000Z", "end": "2027-01-15T08:01:00.000Z"},
    }
    assert render_event(cfg.output.events, doc) == {
        "reviewer": "ur0000001",
        "movie_count": 2.0,
        "event_time": "2027-01-15T08:01:00.000Z",
    }
    assert render_event(cfg.output.events, {**doc, "count": 1.0}) is None


def test_unknown_detector_param_names_the_path():
    import yaml

    from connector.config import parse_pipeline

    raw = yaml.safe_load((ROOT / "pipelines" / "sensors.yaml").read_text())
    raw["detector"]["trees"] = 3
    with pytest.raises(ConfigError, match=r"sensors\.detector\.trees: unknown for rcf"):
        parse_pipeline(raw, env={})
