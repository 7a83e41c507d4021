"""Document building: the outlier.* fields, @timestamp and JSON text of a scored record."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from connector.records import SourceRecord
from connector.scoring import Scoring, WindowedScoring, dumps, iso_utc, outlier_fields
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


def test_windowed_scoring_emits_closed_windows_and_holds_their_offsets():
    from connector.config import Aggregate, KeySpec, WindowSpec
    from connector.features.windows import WindowAggregator
    from detectors import build_scorer

    spec = WindowSpec("tumbling", 10.0, 10.0, 5.0, "drop", (Aggregate("count", "count"),),
                      KeySpec(("toll",)))
    scorer = build_scorer({"name": "hst", "seed": 1}, {"threshold": 0.9}, features=["count"])
    scoring = WindowedScoring(scorer, "tolls", WindowAggregator(spec))

    def batch(times, first_offset):
        prepared = [Prepared({"toll": "Exit79"}, datetime.fromtimestamp(t, tz=UTC), "Exit79", {})
                    for t in times]
        records = [SourceRecord("tolls", 0, first_offset + i, b"") for i in range(len(times))]
        return scoring.documents(prepared, records)

    docs, rejected = batch([100.0, 101.0, 103.0], 0)
    assert docs == [] and rejected == [] and scoring.hold() == {("tolls", 0): 0}
    docs, _ = batch([111.0], 3)  # closes [100, 110)
    assert [d.doc_id for d in docs] == ["tolls+Exit79+100000"]
    assert docs[0].trigger == ("tolls", 0, 3)  # the record that closed it: outputs' order
    assert json.loads(docs[0].action) == {"index": {"_id": "tolls+Exit79+100000"}}
    body = json.loads(docs[0].source)
    assert body["@timestamp"] == "1970-01-01T00:01:50.000Z" and body["count"] == 3
    assert body["outlier"]["key"] == "Exit79"
    drained = scoring.drain()
    assert [d.doc_id for d in drained] == ["tolls+Exit79+110000"]


def test_a_late_update_rescores_its_window_without_learning_it_again():
    from connector.config import Aggregate, KeySpec, WindowSpec
    from connector.features.windows import WindowAggregator
    from detectors import build_scorer

    spec = WindowSpec("tumbling", 10.0, 10.0, 30.0, "drop", (Aggregate("count", "count"),),
                      KeySpec(("toll",)))
    scorer = build_scorer({"name": "rcf", "n_trees": 5, "sample_size": 32, "seed": 1},
                          {"threshold": 2.5, "warmup": 20}, features=["count"])
    scoring = WindowedScoring(scorer, "tolls", WindowAggregator(spec))
    offsets = iter(range(10_000))

    def batch(times):
        prepared = [Prepared({"toll": "Exit79"}, datetime.fromtimestamp(t, tz=UTC), "Exit79", {})
                    for t in times]
        records = [SourceRecord("tolls", 0, next(offsets), b"") for _ in times]
        return scoring.documents(prepared, records)[0]

    for w in range(60):  # 60 closed windows of 3 records: the model is past its warm-up
        batch([w * 10.0 + 1, w * 10.0 + 2, w * 10.0 + 3])
    learned = scorer.snapshot()
    docs = batch([585.0])  # late for [580, 590) (watermark 593, lateness 30): a revision
    assert [d.doc_id for d in docs] == ["tolls+Exit79+580000"]
    assert json.loads(docs[0].source)["count"] == 4
    assert json.loads(docs[0].source)["outlier"]["warming_up"] is False
    assert scorer.snapshot() == learned  # neither the forest nor the score history moved
    docs = batch([601.0])  # a new window's first emission is learned as before
    assert [d.doc_id for d in docs] == ["tolls+Exit79+590000"]
    assert scorer.snapshot() != learned


def test_iso_utc_matches_isoformat_across_seconds_and_days():
    base = datetime(2026, 12, 31, 23, 59, 58, 999000, tzinfo=UTC)
    for step in range(0, 5000, 137):  # crosses seconds, midnight and the year
        ts = base + timedelta(milliseconds=step)
        assert iso_utc(ts) == ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")
