"""Document building: the outlier.* fields, @timestamp and JSON text of a scored record."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from connector.records import SourceRecord
from connector.scoring import Scoring, dumps, iso_utc, outlier_fields, window_doc_id
from connector.transform import Prepared
from detectors.assessment import Assessment

FIELDS = {"score", "grade", "flag", "confidence", "warming_up", "key", "top_field", "direction",
          "explanation", "model"}


class _Recorded:
    """A scorer stand-in returning given assessments (plain values, no model)."""

    def __init__(self, assessments):
        self.assessments = assessments
        self.calls = []

    def process_many(self, xs, keys):
        self.calls.append((list(xs), list(keys)))
        return self.assessments[: len(xs)]


def test_outlier_fields_match_the_scenarios_table():
    a = Assessment(4.2, 0.99, True, 0.7, False, "p", "rcf@1", "response_time", "high",
                   {"response_time": {"attribution": 4.0, "direction": "high", "expected": 0.1}})
    fields = outlier_fields(a)
    assert set(fields) == FIELDS
    assert fields["flag"] is True and fields["top_field"] == "response_time"


def test_iso_utc_converts_offsets_and_naive_times():
    assert iso_utc(datetime(2026, 1, 2, 3, 4, 5, 678900, tzinfo=UTC)) == "2026-01-02T03:04:05.678Z"
    plus2 = timezone(timedelta(hours=2))
    assert iso_utc(datetime(2026, 1, 2, 5, 0, tzinfo=plus2)) == "2026-01-02T03:00:00.000Z"
    assert iso_utc(datetime(2026, 1, 2, 3, 0)) == "2026-01-02T03:00:00.000Z"


def test_dumps_replaces_non_finite_numbers():
    assert json.loads(dumps({"x": float("-inf"), "y": [1.0, float("nan")]})) == {
        "x": None, "y": [1.0, None]}


def test_documents_carry_ids_timestamp_and_outlier_object():
    ts = datetime(2024, 10, 10, 13, 12, 42, 225000, tzinfo=UTC)
    prepared = [Prepared({"log_identifier": f"LOG-{i}"}, ts, "p", {"f": float(i)})
                for i in range(3)]
    records = [SourceRecord("gameday", 1, 100 + i, b"raw") for i in range(3)]
    assessments = [Assessment(1.0, 0.1, False, 0.5, True, "p", "rcf@1"),
                   Assessment(9.0, 1.0, True, 0.9, False, "p", "rcf@1", "f", "high"),
                   Assessment(0.0, 0.0, False, 0.0, False, "p", "rcf@1", rejected="missing f")]
    scorer = _Recorded(assessments)
    docs, rejected = Scoring(scorer, "gameday").documents(prepared, records)
    assert scorer.calls == [([{"f": 0.0}, {"f": 1.0}, {"f": 2.0}], ["p", "p", "p"])]
    assert [d.doc_id for d in docs] == ["gameday+1+100", "gameday+1+101"]
    assert [d.flagged for d in docs] == [False, True]
    body = json.loads(docs[1].source)
    assert body["@timestamp"] == "2024-10-10T13:12:42.225Z"
    assert body["log_identifier"] == "LOG-1" and set(body["outlier"]) == FIELDS
    assert json.loads(docs[1].action) == {"create": {"_id": "gameday+1+101"}}
    assert [(r.record.offset, r.reason) for r in rejected] == [(102, "not scored: missing f")]


def test_window_doc_id_uses_epoch_millis_of_the_start():
    start = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)
    assert window_doc_id("tolls", "Exit79", start) == f"tolls+Exit79+{int(start.timestamp())}000"
    assert window_doc_id("tolls", None, 1.5) == "tolls++1500"
