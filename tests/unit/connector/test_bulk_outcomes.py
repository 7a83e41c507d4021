"""Pure parts of the OpenSearch and Kafka sinks: ids, action lines, outcome classification."""

from __future__ import annotations

import json

import pytest

from connector.records import Rejection, SourceRecord, action_line, record_doc_id
from connector.sinks.kafka import error_headers, producer_settings
from connector.sinks.opensearch import classify_status, error_reason


def test_record_id_is_topic_partition_offset():
    assert record_doc_id("gameday", 0, 0) == "gameday+0+0"
    assert record_doc_id("a.b-c", 12, 987654321) == "a.b-c+12+987654321"


def test_action_line_is_valid_json_with_create_and_id():
    line = action_line(record_doc_id("gameday", 3, 5))
    assert json.loads(line) == {"create": {"_id": "gameday+3+5"}}
    assert json.loads(action_line("x", "index")) == {"index": {"_id": "x"}}


@pytest.mark.parametrize(
    ("status", "kind"),
    [(200, "ok"), (201, "ok"), (409, "duplicate"), (429, "retry"), (500, "retry"),
     (503, "retry"), (400, "rejected"), (404, "rejected"), (413, "rejected"), ("N/A", "retry")],
)
def test_classify_status(status, kind):
    assert classify_status(status) == kind


def test_error_reason_includes_cause():
    reason = error_reason({"type": "mapper_parsing_exception", "reason": "failed to parse field",
                           "caused_by": {"type": "illegal_argument_exception", "reason": "x"}})
    assert reason.startswith("mapper_parsing_exception: failed to parse field")
    assert "illegal_argument_exception: x" in reason


def test_error_headers_name_the_source_position():
    rec = SourceRecord("gameday", 2, 41, b"{not json", b"k")
    headers = dict(error_headers(Rejection(rec, "bad JSON")))
    assert headers == {"error.reason": b"bad JSON", "source.topic": b"gameday",
                       "source.partition": b"2", "source.offset": b"41"}
    assert dict(error_headers(Rejection(rec, "mapping", 400)))["error.status"] == b"400"


def test_producer_settings_keep_connection_drop_consumer_keys():
    settings = producer_settings({
        "bootstrap.servers": "b:1", "group.id": "g", "enable.auto.commit": False,
        "sasl.username": "u", "max.poll.interval.ms": 1000, "fetch.min.bytes": 1,
    })
    assert settings["bootstrap.servers"] == "b:1" and settings["sasl.username"] == "u"
    assert not {"group.id", "enable.auto.commit", "max.poll.interval.ms", "fetch.min.bytes"} & set(
        settings)


@pytest.mark.parametrize(
    ("status", "error_type", "kind"),
    [(403, "cluster_block_exception", "retry"), (404, "index_not_found_exception", "retry"),
     (400, "index_closed_exception", "retry"), (400, "mapper_parsing_exception", "rejected"),
     (400, "illegal_argument_exception", "rejected"), (401, "security_exception", "retry")],
)
def test_errors_about_the_index_are_retried_not_dead_lettered(status, error_type, kind):
    assert classify_status(status, {"type": error_type, "reason": "r"}) == kind
