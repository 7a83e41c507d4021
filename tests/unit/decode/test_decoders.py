from __future__ import annotations

import pytest

from connector.config import Column
from connector.decode import decode_csv, decode_json, parse_timestamp, unwrap
from connector.errors import RecordRejected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "empty message"),
        (b"", "empty message"),
        (b"\xff\xfe", "not UTF-8"),
        (b'{"a": ', "bad JSON: Expecting value at line 1 column 7"),
        (b'"just a string"', "expected an object at the top level, got string"),
        (b"null", "got null"),
    ],
)
def test_json_rejections_say_what_and_where(value, reason):
    with pytest.raises(RecordRejected) as err:
        decode_json(value)
    assert reason in err.value.reason


def test_envelope_markers_and_field():
    env = {"start": "LOG_START", "log_message": {"x": 1}, "stop": "LOG_END"}
    markers = [("start", "LOG_START"), ("stop", "LOG_END")]
    assert unwrap(env, "log_message", markers) == {"x": 1}
    with pytest.raises(RecordRejected, match="'stop' is 'NOPE'"):
        unwrap({**env, "stop": "NOPE"}, "log_message", markers)
    with pytest.raises(RecordRejected, match="must be an object, got str"):
        unwrap({"log_message": "x"}, "log_message")


def test_csv_typed_columns_and_quoting():
    cols = [Column("name"), Column("n", "int"), Column("x", "float"), Column("ok", "bool")]
    assert decode_csv(b'"a,b",3,2.5,true\r\n', cols) == {
        "name": "a,b",
        "n": 3,
        "x": 2.5,
        "ok": True,
    }
    with pytest.raises(RecordRejected, match=r"column 'ok' \(4\): expected bool"):
        decode_csv(b"a,3,2.5,maybe", cols)
    assert decode_csv("a;1;2;no", cols, delimiter=";")["ok"] is False


@pytest.mark.parametrize(
    ("value", "fmt", "iso"),
    [
        (1728565962.5, "epoch_s", "2024-10-10T13:12:42.500000+00:00"),
        ("1728565962", "auto", "2024-10-10T13:12:42+00:00"),
        (1728565962500, "epoch_ms", "2024-10-10T13:12:42.500000+00:00"),
        (1728565962500, "auto", "2024-10-10T13:12:42.500000+00:00"),
        ("2026-11-22T10:00:00.123", "iso8601", "2026-11-22T10:00:00.123000+00:00"),
        ("2026-11-22T12:00:00+02:00", "auto", "2026-11-22T10:00:00+00:00"),
    ],
)
def test_timestamps(value, fmt, iso):
    assert parse_timestamp(value, fmt).isoformat() == iso


@pytest.mark.parametrize("value", [None, True, "soon", float("nan"), [1]])
def test_bad_timestamps_rejected(value):
    with pytest.raises(RecordRejected, match="'ts'"):
        parse_timestamp(value, "auto", "ts")
