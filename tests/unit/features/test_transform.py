from __future__ import annotations

import json
from pathlib import Path

import pytest

from connector.config import load_pipeline
from connector.errors import RecordRejected
from connector.transform import build_transform

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def transform():
    return build_transform(load_pipeline(ROOT / "pipelines" / "gameday.yaml", env={}))


def message(**changes) -> bytes:
    log = {
        "log_identifier": "LOG-000001",
        "timestamp": 1728565962.2251318,
        "log_level": "DEBUG",
        "ip_address": "152.142.140.53",
        "user_id": "e6158ec1",
        "method": "DELETE",
        "path": "wp-content/list",
        "status_code": 502,
        "response_time": 0.146,
        "message": "Seat west value able major.",
    }
    log.update(changes)
    return json.dumps({"start": "LOG_START", "log_message": log, "stop": "LOG_END"}).encode()


def test_prepare_unwraps_and_featurizes(transform):
    p = transform.prepare(message())
    assert p.document["log_identifier"] == "LOG-000001"
    assert "log_message" not in p.document
    assert p.key == "wp-content/list"
    assert p.timestamp.timestamp() == pytest.approx(1728565962.2251318)
    assert list(p.features) == transform.cfg.features_names
    assert p.features["response_z"] == 0.0  # the first record of its path is its typical
    assert p.features["response_creep"] == 0.0
    assert p.features["errors_10s"] == 0.0
    assert p.features["level_novelty"] == pytest.approx(3.0)  # the first level seen: novel


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"not json", "bad JSON"),
        (b'{"log_message": {}}', "bad envelope: 'start'"),
        (b'{"start": "LOG_START", "stop": "LOG_END"}', "missing envelope: no 'log_message'"),
        (message(response_time="fast"), "wrong type: field 'response_time'"),
        (message(timestamp=None), "missing field 'timestamp'"),
        (message(path=None), "missing field 'path' (key)"),
    ],
)
def test_prepare_rejects_with_a_clear_reason(transform, value, reason):
    with pytest.raises(RecordRejected) as err:
        transform.prepare(value)
    assert reason in err.value.reason


def test_missing_numeric_field_rejected(transform):
    log = json.loads(message())
    del log["log_message"]["response_time"]
    with pytest.raises(RecordRejected, match="missing field 'response_time'"):
        transform.prepare(json.dumps(log).encode())
