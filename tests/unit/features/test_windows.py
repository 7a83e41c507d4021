from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connector.config import Aggregate, KeySpec, WindowSpec
from connector.errors import RecordRejected
from connector.features.windows import WindowAggregator
from connector.transform import Prepared

T0 = 1_800_000_000.0  # a multiple of 60 s: window starts line up with it


def spec(
    kind="tumbling",
    size=10.0,
    step=None,
    lateness=5.0,
    policy="drop",
    aggs=None,
    key=("toll",),
    **kw,
) -> WindowSpec:
    aggs = aggs or (Aggregate("count", "count"),)
    return WindowSpec(kind, size, step or size, lateness, policy, tuple(aggs), KeySpec(key), **kw)


def rec(t: float, key: str = "Exit79", **doc) -> Prepared:
    return Prepared({"toll": key, **doc}, datetime.fromtimestamp(T0 + t, tz=UTC), key, {})


def feed(agg, items, topic="t", partition=0):
    out = []
    for offset, r in items:
        out += agg.add(r, (topic, partition, offset))
    return out


def test_tumbling_windows_close_on_event_time_not_arrival():
    agg = WindowAggregator(spec())
    assert feed(agg, [(0, rec(1)), (1, rec(9.9)), (2, rec(3, "SH130"))]) == []
    # out of order inside the window is fine; nothing closes until event time reaches 10 s
    closed = feed(agg, [(3, rec(10.0))])
    assert [(w.key, w.features["count"]) for w in closed] == [("Exit79", 2.0), ("SH130", 1.0)]
    w = closed[0]
    assert w.start == datetime.fromtimestamp(T0, tz=UTC)
    assert w.end == datetime.fromtimestamp(T0 + 10, tz=UTC)
    assert w.document["toll"] == "Exit79" and w.document["count"] == 2.0
    assert w.document["window"]["end"] == "2027-01-15T08:00:10.000Z"
    assert w.positions == (("t", 0, 0), ("t", 0, 1))
    assert w.doc_id("tolls") == f"tolls+Exit79+{int(T0 * 1000)}"


def test_advance_closes_windows_without_new_records():
    agg = WindowAggregator(spec())
    feed(agg, [(0, rec(1))])
    assert agg.advance(T0 + 9.99) == []
    assert [w.features["count"] for w in agg.advance(datetime.fromtimestamp(T0 + 10, UTC))] == [1]
    assert agg.advance(T0 + 5) == []  # the watermark never goes back


def test_late_record_within_lateness_updates_the_same_window():
    agg = WindowAggregator(spec(lateness=5.0))
    first = feed(agg, [(0, rec(1)), (1, rec(12))])
    late = feed(agg, [(2, rec(2))])  # watermark 12 < end 10 + lateness 5
    assert [w.features["count"] for w in first] == [1.0]
    assert [(w.features["count"], w.revision) for w in late] == [(2.0, 1)]
    assert late[0].doc_id("p") == first[0].doc_id("p")


@pytest.mark.parametrize("policy", ["drop", "reject"])
def test_too_late_record_is_dropped_or_rejected(policy):
    agg = WindowAggregator(spec(lateness=5.0, policy=policy))
    feed(agg, [(0, rec(1)), (1, rec(15.5))])  # window [0,10) is gone at watermark 15
    if policy == "drop":
        assert feed(agg, [(2, rec(3))]) == []
        assert agg.dropped == 1
    else:
        with pytest.raises(RecordRejected, match="late record: event time .* lateness of 5s"):
            feed(agg, [(2, rec(3))])


def test_sliding_windows_hold_a_record_in_every_overlapping_window():
    agg = WindowAggregator(spec("sliding", size=60.0, step=30.0, lateness=0.0, key=("reviewer",)))
    r = Prepared({"reviewer": "ur1"}, datetime.fromtimestamp(T0 + 40, UTC), "ur1", {})
    feed(agg, [(0, r)])
    closed = agg.advance(T0 + 100)
    starts = [w.start.timestamp() - T0 for w in closed]
    assert starts == [0.0, 30.0]
    assert all(w.features["count"] == 1.0 for w in closed)


def test_aggregates_over_fields_and_features():
    aggs = (
        Aggregate("n", "count"),
        Aggregate("movies", "distinct_count", "movie"),
        Aggregate("spread", "std", "rating"),
        Aggregate("low", "min", "rating"),
        Aggregate("rej", "sum", "rejected"),
    )
    agg = WindowAggregator(spec(aggs=aggs), features=["spread", "n"])
    for i, (movie, rating) in enumerate([("A", 2), ("B", 4), ("A", 6)]):
        p = Prepared(
            {"toll": "k", "movie": movie, "rating": rating},
            datetime.fromtimestamp(T0 + i, UTC),
            "k",
            {"rejected": float(i == 1)},
        )
        agg.add(p, ("t", 0, i))
    (w,) = agg.advance(T0 + 10)
    assert list(w.features) == ["spread", "n"]
    assert w.features["spread"] == pytest.approx(1.63299, rel=1e-4)
    assert w.document["movies"] == 2.0 and w.document["low"] == 2.0 and w.document["rej"] == 1.0


def test_open_positions_hold_back_commits_until_windows_are_forgotten():
    agg = WindowAggregator(spec(lateness=5.0))
    feed(agg, [(5, rec(1)), (6, rec(2, "SH130"))], partition=0)
    feed(agg, [(40, rec(3))], partition=1)
    assert agg.open_positions() == {("t", 0): 5, ("t", 1): 40}
    feed(agg, [(7, rec(12))], partition=0)  # closes [0,10) but it is kept for lateness
    assert agg.open_positions()[("t", 0)] == 5
    feed(agg, [(8, rec(16))], partition=0)  # watermark 16 ≥ 10 + 5: forgotten
    assert agg.open_positions() == {("t", 0): 7}


def test_replayed_offsets_are_not_counted_twice():
    agg = WindowAggregator(spec())
    feed(agg, [(0, rec(1)), (1, rec(2))])
    assert feed(agg, [(1, rec(2))]) == []  # redelivered after a restart
    (w,) = agg.advance(T0 + 10)
    assert w.features["count"] == 2.0


def test_snapshot_restore_resumes_identically():
    s = spec(
        lateness=5.0,
        aggs=(Aggregate("count", "count"), Aggregate("users", "distinct_count", "user")),
    )
    a = WindowAggregator(s)
    feed(a, [(0, rec(1, user="u1")), (1, rec(2, user="u2")), (2, rec(11, user="u1"))])
    b = WindowAggregator.restore(a.snapshot())
    assert b.spec == s and b.open_positions() == a.open_positions()
    more = [(3, rec(3, user="u3")), (2, rec(11, user="u1")), (4, rec(25, user="u9"))]
    got_a = [(w.key, w.start, w.features, w.revision) for w in feed(a, more)]
    got_b = [(w.key, w.start, w.features, w.revision) for w in feed(b, more)]
    assert got_a == got_b and got_a[0][2] == {"count": 3.0, "users": 3.0}


def test_emit_empty_reports_a_key_that_goes_silent():
    agg = WindowAggregator(spec(lateness=0.0, emit_empty=True, empty_ttl=3))
    feed(agg, [(0, rec(1, "A")), (1, rec(2, "B"))])
    seen = []
    for i, t in enumerate((11, 21, 31, 41, 51, 61, 71)):  # only B keeps talking
        seen += [
            (w.key, int(w.start.timestamp() - T0), w.features["count"])
            for w in feed(agg, [(2 + i, rec(t, "B"))])
        ]
    a_windows = [(s, c) for k, s, c in seen if k == "A"]
    assert a_windows[0] == (0, 1.0)
    assert a_windows[1:] == [(10, 0.0), (20, 0.0), (30, 0.0)]  # then A is forgotten (ttl 3)
    assert [c for k, _, c in seen if k == "B"] == [1.0] * 7


def test_unknown_feature_name_is_an_error():
    with pytest.raises(ValueError, match="not produced by the window: nope"):
        WindowAggregator(spec(), features=["nope"])


def test_the_end_of_the_input_is_never_an_outage():
    # issue 18 behaviour 4: at a drain (event time stops for everyone) only the open windows
    # are emitted; before, every key got empty_ttl zero windows, flagged as drops
    agg = WindowAggregator(spec(lateness=0.0, emit_empty=True, empty_ttl=2))
    feed(agg, [(0, rec(1, "A")), (1, rec(25, "A"))])
    drained = agg.advance(float("inf"))
    assert [(int(w.start.timestamp() - T0), w.features["count"]) for w in drained] == [(20, 1.0)]
    assert agg.advance(float("inf")) == [] and agg.open_positions() == {}
    # a key arriving after everything was forgotten starts a fresh silent-window grid
    later = WindowAggregator(spec(lateness=0.0, emit_empty=True, empty_ttl=1))
    feed(later, [(0, rec(1, "A"))])
    later.advance(T0 + 1000)
    got = feed(later, [(1, rec(5000, "B")), (2, rec(5015, "B"))]) + later.advance(T0 + 5030)
    assert [(w.key, int(w.start.timestamp() - T0), w.features["count"]) for w in got] == [
        ("B", 5000, 1.0),
        ("B", 5010, 1.0),
        ("B", 5020, 0.0),
    ]  # nothing for the silent gap


def test_a_silent_key_stays_visible_and_says_so_until_it_returns():
    agg = WindowAggregator(spec(lateness=0.0, emit_empty=True, empty_ttl=100))
    docs = {}
    for i, t in enumerate(range(0, 200, 5)):  # B every 5 s; A at 0-30 s and 120-150 s only
        recs = [rec(t, "B")] + ([rec(t + 1, "A")] if t < 30 or 120 <= t < 150 else [])
        for j, r in enumerate(recs):
            for w in agg.add(r, ("t", 0, 2 * i + j)):
                docs[(w.key, int(w.start.timestamp() - T0))] = w.document
    a = [(s, d["count"], d["silent"], d.get("silent_s")) for (k, s), d in sorted(docs.items())
         if k == "A"]
    assert a[:3] == [(0, 2.0, False, None), (10, 2.0, False, None), (20, 2.0, False, None)]
    assert a[3:9] == [(s, 0.0, True, s - 20.0) for s in range(30, 120, 10)][:6]
    assert [x[2] for x in a[3:12]] == [True] * 9 and a[12] == (120, 2.0, False, None)
    assert all(d["silent"] is False for (k, _), d in docs.items() if k == "B")


@pytest.mark.parametrize(("fill", "value", "expected"), [
    ("zero", None, [3.0, 0.0, 0.0]), ("previous", None, [3.0, 3.0, 3.0]),
    ("value", 7.0, [3.0, 7.0, 7.0]),
])
def test_missing_policy_fills_a_silent_keys_windows(fill, value, expected):
    from connector.features.spec import parse_window

    raw = {"kind": "tumbling", "size": "10s", "aggregates": [{"name": "count", "op": "count"}],
           "missing": {"fill": fill, "stop_after": "1m", **({"value": value} if value else {})}}
    ws = parse_window(raw, KeySpec(("toll",)), "window")
    assert (ws.emit_empty, ws.empty_ttl, ws.fill) == (True, 6, fill)
    agg = WindowAggregator(ws)
    items = [(i, rec(t, k)) for i, (t, k) in enumerate(
        [(1, "A"), (2, "A"), (3, "A"), (5, "B"), (15, "B"), (25, "B"), (35, "B")])]
    got = [w.features["count"] for w in feed(agg, items) if w.key == "A"]
    assert got == expected


def test_missing_policy_is_checked_at_the_edge():
    from connector.errors import ConfigError
    from connector.features.spec import parse_window

    def parse(**window):
        raw = {"kind": "tumbling", "size": "10s",
               "aggregates": [{"name": "count", "op": "count"}], **window}
        return parse_window(raw, KeySpec(("toll",)), "tolls.window")

    with pytest.raises(ConfigError, match=r"tolls\.window\.missing\.fill: must be one of"):
        parse(missing={"fill": "mean"})
    with pytest.raises(ConfigError, match=r"missing\.value: is required with fill: value"):
        parse(missing={"fill": "value"})
    with pytest.raises(ConfigError, match=r"tolls\.window\.emit_empty: give either missing"):
        parse(missing={}, emit_empty=True)
    with pytest.raises(ConfigError, match=r"missing\.stop_after: must be at least one"):
        parse(missing={"stop_after": "5s"})
    alias = parse(emit_empty=True, empty_ttl=30, empty_after=10)  # flowlogs' options still work
    assert (alias.emit_empty, alias.empty_ttl, alias.empty_after, alias.fill) == (
        True, 30, 10, "zero")


def test_key_ratio_compares_a_window_with_the_keys_usual_value():
    import math

    aggs = (
        Aggregate("count", "count"),
        Aggregate("vs_usual", "key_ratio", "count"),
        Aggregate("age", "key_age"),
    )
    agg = WindowAggregator(spec(lateness=0.0, aggs=aggs, emit_empty=True))
    offset, got = 0, []
    for window, n in enumerate([10, 10, 2, 0, 10]):
        for j in range(n):
            got += agg.add(rec(window * 10 + j * 0.5), ("t", 0, offset))
            offset += 1
    got += agg.advance(T0 + 50)
    ratios = [round(w.features["vs_usual"], 6) for w in got]
    usual = [10.0, 10.0, 10.0, 9.2, 8.28]  # moves 10 % toward each window
    values = [10, 10, 2, 0, 10]
    assert ratios == [
        round(math.log((v + 1) / (u + 1)), 6) for v, u in zip(values, usual, strict=True)
    ]
    assert [w.features["age"] for w in got] == [0.0, 1.0, 2.0, 3.0, 4.0]
    restored = WindowAggregator.restore(agg.snapshot())
    assert restored._keys["Exit79"].usual == agg._keys["Exit79"].usual


@pytest.mark.parametrize("op", ["key_ratio", "key_surprise", "key_scaled_surprise",
                                "key_evidence"])
def test_comparing_ops_must_name_an_earlier_aggregate(op):
    from connector.errors import ConfigError
    from connector.features.spec import parse_window

    raw = {"kind": "tumbling", "size": "1m", "aggregates": [
        {"name": "flows", "op": "count"}, {"name": "x", "op": op, "field": "nothing"}]}
    with pytest.raises(ConfigError, match=r"flowlogs\.window\.aggregates\[1\]\.field: must name"):
        parse_window(raw, KeySpec(("pair",)), "flowlogs.window")


def test_aggregate_scale_changes_the_model_input_not_the_document():
    aggs = (Aggregate("count", "count", scale=0.5), Aggregate("n", "count"))
    agg = WindowAggregator(spec(aggs=aggs))
    feed(agg, [(0, rec(1)), (1, rec(2))])
    (w,) = agg.advance(T0 + 10)
    assert w.features == {"count": 1.0, "n": 2.0}
    assert w.document["count"] == 2.0


def test_empty_after_spares_a_key_seen_only_briefly():
    agg = WindowAggregator(spec(lateness=0.0, emit_empty=True, empty_ttl=3, empty_after=2))
    feed(agg, [(0, rec(1, "A")), (1, rec(2, "B")), (2, rec(11, "B"))])
    got = []
    for i, t in enumerate((21, 31, 41)):  # A talked in one window, B in two; then only C talks
        got += feed(agg, [(3 + i, rec(t, "C"))])
    silent = [(w.key, int(w.start.timestamp() - T0)) for w in got if w.features["count"] == 0]
    assert ("B", 20) in silent and not [k for k, _ in silent if k == "A"]


def test_key_novelty_marks_keys_that_appear_after_the_first_windows_only():
    from connector.features.keys import NEW_WINDOWS

    aggs = (Aggregate("count", "count"), Aggregate("new", "key_novelty"))
    agg = WindowAggregator(spec(lateness=0.0, aggs=aggs))
    items = [(0, rec(1, "A"))] + [(i, rec(10 * i + 1, "A")) for i in range(1, NEW_WINDOWS + 2)]
    late = 10 * (NEW_WINDOWS + 1) + 2
    got = feed(agg, [*items, (99, rec(late, "B")), (100, rec(late + 10, "B"))])
    got += agg.advance(T0 + late + 20)
    assert {w.features["new"] for w in got if w.key == "A"} == {0.0}  # there from the start
    assert [w.features["new"] for w in got if w.key == "B"] == [1.0, 1.0 - 1 / NEW_WINDOWS]
    restored = WindowAggregator.restore(agg.snapshot())
    assert restored._origin == agg._origin == T0


def test_aggregate_clip_bounds_the_model_input_not_the_document():
    aggs = (Aggregate("count", "count", scale=2.0, clip=1.0),)
    agg = WindowAggregator(spec(aggs=aggs))
    feed(agg, [(0, rec(1)), (1, rec(2)), (2, rec(3))])
    (w,) = agg.advance(T0 + 10)
    assert w.features == {"count": 2.0} and w.document["count"] == 3.0  # clipped, then scaled


def test_a_snapshot_from_before_novelty_and_empty_after_still_restores():
    import json

    agg = WindowAggregator(spec(lateness=0.0, emit_empty=True))
    feed(agg, [(0, rec(1, "A")), (1, rec(12, "A"))])
    blob = json.loads(agg.snapshot())
    del blob["origin"]
    blob["keys"] = [k[:6] for k in blob["keys"]]  # key, first, last, fields, windows, usual
    for a in blob["spec"]["aggregates"]:
        del a["clip"]
    del blob["spec"]["empty_after"]
    old = WindowAggregator.restore(json.dumps(blob))
    assert old._origin == T0 and old._keys["A"].talked == old._keys["A"].windows == 1
    assert [w.features for w in old.advance(T0 + 30)] == [{"count": 1.0}, {"count": 0.0}]


def test_snapshot_restore_is_exact_with_evidence_and_a_missing_policy():
    aggs = (
        Aggregate("count", "count"),
        Aggregate("dev", "key_scaled_surprise", "count"),
        Aggregate("evidence", "key_evidence", "dev"),
    )
    ws = spec(lateness=5.0, aggs=aggs, emit_empty=True, empty_ttl=20, fill="previous")
    items = [(i, rec(t * 0.7, "A" if (t % 3 or 400 < t < 600) else "B"))
             for i, t in enumerate(range(1500))]

    def docs(windows):
        return [(w.key, w.start, w.revision, w.document) for w in windows]

    whole = WindowAggregator(ws)
    expected = docs(feed(whole, items))
    first = WindowAggregator(ws)
    got = docs(feed(first, items[:700]))
    resumed = WindowAggregator.restore(first.snapshot())
    got += docs(feed(resumed, items[650:]))  # a replay of what was folded in is skipped
    assert got == expected
    assert any(d["silent"] for *_, d in expected) and resumed.snapshot() == whole.snapshot()


def test_a_long_silence_is_scored_once_then_reported_and_its_return_is_judged_afresh():
    aggs = (
        Aggregate("count", "count"),
        Aggregate("surprise", "key_scaled_surprise", "count"),
        Aggregate("evidence", "key_evidence", "surprise"),
    )
    ws = spec(lateness=0.0, aggs=aggs, emit_empty=True, empty_ttl=500, silent_score_s=60.0)
    agg = WindowAggregator(ws)
    got, offset = [], 0
    for window in range(200):  # A: 20 vehicles per window, silent in windows 80-139
        for j in range(20 if not 80 <= window < 140 else 0):
            got += agg.add(rec(window * 10 + j * 0.4, "A"), ("t", 0, offset))
            offset += 1
        got += agg.add(rec(window * 10 + 9.9, "B"), ("t", 0, offset))  # B keeps time moving
        offset += 1
    a = {int(w.start.timestamp() - T0) // 10: w for w in got if w.key == "A"}
    scored = [a[i].features["evidence"] for i in range(80, 87)]
    assert scored[0] < -1.5 and scored[5] < -5.0  # the silence builds its evidence ...
    assert all(a[i].features == {"count": 0.0, "surprise": 0.0, "evidence": 0.0}
               for i in range(87, 140))  # ... then it is reported, no longer scored
    assert all(a[i].document["silent"] for i in range(80, 140))
    assert a[139].document["silent_s"] == 600.0
    back = [abs(a[i].features["evidence"]) for i in range(140, 150)]
    assert max(back) < 1.0  # its return is neither a surge nor the silence's evidence


def test_power_spreads_the_model_input_not_the_document():
    aggs = (Aggregate("count", "count", power=3.0),)
    agg = WindowAggregator(spec(aggs=aggs))
    out = feed(agg, [(0, rec(1)), (1, rec(2)), (2, rec(11))])
    assert out[0].features == {"count": 8.0} and out[0].document["count"] == 2.0


def test_a_window_cut_short_by_the_end_of_the_input_is_no_drop():
    aggs = (Aggregate("count", "count"), Aggregate("surprise", "key_scaled_surprise", "count"))
    agg = WindowAggregator(spec(lateness=0.0, aggs=aggs, emit_empty=True, empty_ttl=5))
    items = [(i, rec(i * 0.5)) for i in range(405)]  # 20 a window; the last one holds 5
    closed = feed(agg, items)
    drained = agg.advance(float("inf"))
    assert closed[-1].document.get("partial") is None
    assert [(w.features["count"], w.features["surprise"], w.document["partial"])
            for w in drained] == [(5.0, 0.0, True)]
