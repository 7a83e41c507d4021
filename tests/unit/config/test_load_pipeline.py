from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from connector.config import ConfigError, Settings, load_pipeline, parse_pipeline

ROOT = Path(__file__).resolve().parents[3]
GAMEDAY = ROOT / "pipelines" / "gameday.yaml"


def raw_gameday() -> dict:
    return yaml.safe_load(GAMEDAY.read_text())


def test_gameday_loads_into_frozen_config():
    cfg = load_pipeline(GAMEDAY, env={})
    assert cfg.name == "gameday"
    assert cfg.source.kind == "kafka"
    assert cfg.source.topics == ("gameday",)
    assert cfg.source.group_id == "outlier-gameday"
    assert cfg.source.kafka["bootstrap.servers"] == "127.0.0.1:9092"
    assert cfg.output.index == "outliers-gameday"
    assert cfg.output.errors_topic == "gameday.errors"
    assert cfg.window is None
    assert cfg.features_names == [
        "response_z",
        "response_creep",
        "errors_10s",
        "level_novelty",
    ]
    with pytest.raises(AttributeError):
        cfg.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.source.kafka["bootstrap.servers"] = "x"


def test_absent_detector_and_calibration_get_the_product_defaults_single_or_keyed():
    import detectors

    raw = raw_gameday()
    del raw["detector"], raw["calibration"]
    single = parse_pipeline(copy.deepcopy(raw), env={})
    assert single.detector == dict(detectors.DEFAULT_RCF)
    assert single.calibration["tail"] == dict(detectors.DEFAULT_CALIBRATION["tail"])
    raw["keyed"] = {"max_keys": 100}
    keyed = parse_pipeline(raw, env={})
    assert keyed.detector == dict(detectors.DEFAULT_KEYED_RCF)
    assert keyed.calibration == dict(detectors.DEFAULT_KEYED_CALIBRATION)


def test_env_interpolation_and_default():
    cfg = load_pipeline(GAMEDAY, env={"OUTLIER_KAFKA_BOOTSTRAP": "k1:19092"})
    assert cfg.source.kafka["bootstrap.servers"] == "k1:19092"
    assert cfg.output.opensearch["hosts"] == ["http://127.0.0.1:9200"]


def test_missing_env_without_default_names_the_path():
    raw = raw_gameday()
    raw["source"]["kafka"]["sasl.password"] = "${KAFKA_SECRET}"
    with pytest.raises(ConfigError) as err:
        parse_pipeline(raw, env={})
    assert err.value.path == "gameday.source.kafka.sasl.password"
    assert "KAFKA_SECRET" in err.value.rule


def test_secrets_are_masked_in_repr_but_passed_verbatim():
    raw = raw_gameday()
    raw["source"]["kafka"]["sasl.password"] = "${KAFKA_SECRET}"
    raw["output"]["opensearch"]["http_auth"] = ["admin", "${OS_PASSWORD}"]
    cfg = parse_pipeline(raw, env={"KAFKA_SECRET": "hunter2", "OS_PASSWORD": "s3cr3t"})
    assert cfg.source.kafka["sasl.password"] == "hunter2"
    assert cfg.output.opensearch["http_auth"] == ["admin", "s3cr3t"]
    text = repr(cfg)
    assert "hunter2" not in text and "s3cr3t" not in text
    assert "***" in text


def test_whole_value_reference_keeps_number_type():
    raw = raw_gameday()
    raw["detector"]["n_trees"] = "${TREES}"
    assert parse_pipeline(raw, env={"TREES": "7"}).detector["n_trees"] == 7


@pytest.mark.parametrize(
    ("mutate", "path", "rule"),
    [
        (
            lambda r: r["detector"].update(shingle_size=0),
            "gameday.detector.shingle_size",
            "must be ≥ 1",
        ),
        (
            lambda r: r["detector"].update(time_decay=-1),
            "gameday.detector.time_decay",
            "must be > 0",
        ),
        (lambda r: r["source"].update(kind="rabbit"), "gameday.source.kind", "must be one of"),
        (lambda r: r.pop("decode"), "gameday", "'decode' is a required property"),
        (
            lambda r: r["features"][0].update(kind="weird"),
            "gameday.features[0].kind",
            "must be one of",
        ),
        (
            lambda r: r["features"].append({"name": "lvl", "kind": "categorical"}),
            "gameday.features[4].categories",
            "is required",
        ),
        (
            lambda r: r["calibration"].update(quantile=1.5),
            "gameday.calibration.quantile",
            "must be < 1",
        ),
        (
            lambda r: r["calibration"].update(relearn_after=30),
            "gameday.calibration.relearn_after",
            "only with protect: true",
        ),
        (lambda r: r.update(extra=1), "gameday", "Additional properties"),
        (lambda r: r["source"].pop("topics"), "gameday.source.topics", "is required"),
        (lambda r: r["features"].append(dict(r["features"][0])), "gameday.features", "unique"),
    ],
)
def test_errors_name_the_yaml_path_and_the_rule(mutate, path, rule):
    raw = copy.deepcopy(raw_gameday())
    mutate(raw)
    with pytest.raises(ConfigError) as err:
        parse_pipeline(raw, env={})
    assert err.value.path == path
    assert rule in err.value.rule
    assert str(err.value).startswith(f"{path}: ")


def test_file_source_needs_a_path():
    raw = raw_gameday()
    raw["source"] = {"kind": "file"}
    with pytest.raises(ConfigError, match=r"gameday\.source\.path"):
        parse_pipeline(raw, env={})
    raw["source"] = {"kind": "file", "path": "-"}
    raw["output"].pop("errors_topic")
    cfg = parse_pipeline(raw, env={})
    assert cfg.source.path == "-" and cfg.output.errors_topic is None


def test_bad_yaml_is_a_config_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_pipeline(bad)


def test_yaml_syntax_errors_name_the_file_and_line(tmp_path, caplog):
    from connector.app import load_config
    from connector.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsource:\n  kind: kafka\n  topics: [a, b\noutput: {}\n")
    for load in (load_pipeline, load_config):  # validate's path and run's path
        with pytest.raises(ConfigError) as caught:
            load(bad)
        assert caught.value.path == f"{bad}:5:7", caught.value
        assert "<unicode string>" not in str(caught.value)
    with caplog.at_level("ERROR"):
        assert main(["run", str(bad), "--max-records", "1"]) == 2
    assert f"{bad}:5:7" in caplog.text


def test_settings_repr_masks_only_secret_keys():
    s = Settings({"security.protocol": "SASL_SSL", "ssl.key.password": "pw"})
    assert repr(s) == "Settings({'security.protocol': 'SASL_SSL', 'ssl.key.password': '***'})"
    assert dict(s) == {"security.protocol": "SASL_SSL", "ssl.key.password": "pw"}
