"""Fuzz every decoder and each pipeline's whole record preparation.

The property: a decoder returns a value or raises ``RecordRejected`` with a non-empty reason;
nothing else escapes (the runner would treat anything else as a bug, not a bad record).
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.config import Column, load_pipeline
from connector.decode import decode_csv, decode_json, parse_timestamp, unwrap
from connector.errors import RecordRejected
from connector.transform import build_transform

ROOT = Path(__file__).resolve().parents[3]
PIPELINES = sorted((ROOT / "pipelines").glob("*.yaml"))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


@cache
def _transform(path: Path):
    return build_transform(load_pipeline(path, env={}))


def _rejected_or(fn, *args):
    try:
        return fn(*args)
    except RecordRejected as exc:
        assert exc.reason.strip(), "a rejection must carry a reason"
        return None


@given(st.binary(max_size=200))
def test_decode_json_bytes(value):
    out = _rejected_or(decode_json, value)
    assert out is None or isinstance(out, dict)


@given(json_values)
def test_decode_json_values(value):
    out = _rejected_or(decode_json, json.dumps(value).encode())
    assert (out is not None) == isinstance(value, dict)


@given(st.text(max_size=80), st.sampled_from(["str", "int", "float", "bool"]))
def test_decode_csv(text, kind):
    cols = [Column("a"), Column("b", kind), Column("c")]
    out = _rejected_or(decode_csv, text.encode("utf-8", "surrogatepass"), cols)
    assert out is None or list(out) == ["a", "b", "c"]


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=5))
def test_unwrap(obj):
    out = _rejected_or(unwrap, obj, "log_message", [("start", "LOG_START")])
    assert out is None or out is obj["log_message"]


@given(json_values | st.text(max_size=30), st.sampled_from(["auto", "epoch_s", "epoch_ms",
                                                            "iso8601"]))
def test_parse_timestamp(value, fmt):
    out = _rejected_or(parse_timestamp, value, fmt, "ts")
    assert out is None or (isinstance(out, datetime) and out.tzinfo is not None)


def _valid_gameday() -> dict:
    return {"start": "LOG_START", "log_message": {
        "log_identifier": "LOG-000001", "timestamp": 1728565962.2251318, "log_level": "INFO",
        "ip_address": "1.2.3.4", "user_id": "u", "method": "GET", "path": "wp-content/list",
        "status_code": 200, "response_time": 0.146, "message": "m"}, "stop": "LOG_END"}


@pytest.mark.parametrize("pipeline", PIPELINES, ids=lambda p: p.stem)
@given(value=st.binary(max_size=300))
def test_prepare_arbitrary_bytes(pipeline, value):
    _rejected_or(_transform(pipeline).prepare, value)


_GAMEDAY_FIELDS = sorted(_valid_gameday()["log_message"])


@given(st.sampled_from(_GAMEDAY_FIELDS), json_values | st.just(float("nan")), st.booleans())
def test_prepare_gameday_mutated_field(field, value, delete):
    transform = _transform(ROOT / "pipelines" / "gameday.yaml")
    record = _valid_gameday()
    if delete:
        del record["log_message"][field]
    else:
        record["log_message"][field] = value
    out = _rejected_or(transform.prepare, json.dumps(record).encode())
    if out is not None:
        assert all(isinstance(v, float) for v in out.features.values())
