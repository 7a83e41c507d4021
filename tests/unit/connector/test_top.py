"""The pure parts of ``outlier-connector top``: the period, the request, rows and the table."""

from __future__ import annotations

import argparse

import pytest

from connector.cli import build_parser
from connector.commands.top import format_table, parse_since, top_request, top_rows


@pytest.mark.parametrize("text,math", [("1h", "now-1h"), ("45s", "now-45s"), ("15m", "now-15m"),
                                       ("7d", "now-7d"), ("2w", "now-2w")])
def test_periods_become_date_math(text, math):
    assert parse_since(text) == math


@pytest.mark.parametrize("text", ["", "h", "0h", "-1h", "1.5h", "1x", "1H", "1 h", "1y",
                                  "now-1h", "1234567h"])
def test_bad_periods_say_what_is_accepted(text):
    with pytest.raises(argparse.ArgumentTypeError, match="is not a period: use a whole number"):
        parse_since(text)


def test_the_cli_rejects_a_bad_period_and_limit(capsys):
    parser = build_parser()
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["top", "p.yaml", "--since", "yesterday"])
    assert exc.value.code == 2
    assert "argument --since: 'yesterday' is not a period" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["top", "p.yaml", "--limit", "0"])
    assert "from 1 to 1000" in capsys.readouterr().err
    args = parser.parse_args(["top", "p.yaml"])
    assert (args.since, args.limit, args.json) == ("now-1h", 10, False)


def test_request_filters_the_period_and_ranks_flags_then_grade():
    body = top_request("now-2h", 7)
    assert {"range": {"@timestamp": {"gte": "now-2h"}}} in body["query"]["bool"]["filter"]
    terms = body["aggs"]["keys"]["terms"]
    assert (terms["field"], terms["size"]) == ("outlier.key", 7)
    assert terms["order"][:2] == [{"flagged": "desc"}, {"max_grade": "desc"}]
    sub = body["aggs"]["keys"]["aggs"]
    assert sub["flagged"]["filter"] == {"term": {"outlier.flag": True}}
    assert sub["only_flagged"]["bucket_selector"]["script"] == "params.flags > 0"


def _bucket(key, flags, docs, grade, field=None, last=None):
    return {"key": key, "doc_count": docs, "max_grade": {"value": grade},
            "max_score": {"value": grade * 4},
            "flagged": {"doc_count": flags,
                        "last": {"value": None} if last is None else
                        {"value": 1, "value_as_string": last},
                        "top_field": {"buckets": [{"key": field, "doc_count": flags}]
                                      if field else []}}}


def test_rows_keep_the_answer_order_and_missing_values():
    response = {"aggregations": {"keys": {"buckets": [
        _bucket("b", 4, 10, 0.5, "count", "2026-12-02T10:00:00.000Z"),
        _bucket("a", 1, 3, 0.9)]}}}
    rows = top_rows(response)
    assert [(r["rank"], r["key"], r["flags"], r["documents"]) for r in rows] == [
        (1, "b", 4, 10), (2, "a", 1, 3)]
    assert rows[0]["last_flagged"] == "2026-12-02T10:00:00.000Z"
    assert (rows[1]["last_flagged"], rows[1]["top_field"]) == (None, None)


def test_table_aligns_columns():
    rows = top_rows({"aggregations": {"keys": {"buckets": [
        _bucket("checkout->payments", 12, 40, 0.97, "flows", "2026-12-02T10:00:00.000Z"),
        _bucket("x", 1, 2, 0.5)]}}})
    lines = format_table(rows).splitlines()
    assert len(lines) == 3
    assert lines[1].split() == ["1", "checkout->payments", "12", "40", "0.970", "3.880",
                                "2026-12-02T10:00:00.000Z", "flows"]
    assert lines[2].split() == ["2", "x", "1", "2", "0.500", "2.000", "-", "-"]
    assert lines[0].index("flags") == lines[1].index("12")
