"""Event recall, false-positive rate and delay on tiny hand-made scored streams."""

from __future__ import annotations

import math

from evaluation.scenario_metrics import Unit, figures
from evaluation.scenario_run import _window, _window_units


def test_an_event_counts_once_however_many_units_flag():
    units = [Unit(True, "e", "burst", i) for i in range(5)] + [Unit(False)] * 5
    f = figures(units)
    assert (f.overall.events, f.overall.detected, f.overall.delays) == (1, 1, [0])
    assert (f.normal, f.false_positives, f.fpr) == (5, 0, 0.0)


def test_delay_is_the_position_of_the_first_flag_and_max_is_kept():
    units = [
        Unit(False, 1, "drift", 0), Unit(False, 1, "drift", 1), Unit(True, 1, "drift", 2),
        Unit(True, 1, "drift", 3), Unit(True, 2, "drift", 0), Unit(False),
    ]
    f = figures(units)
    assert f.by_kind["drift"].delays == [2, 0]
    assert (f.overall.mean_delay, f.overall.max_delay) == (1.0, 2.0)


def test_false_positive_rate_counts_normal_units_after_warm_up_only():
    units = [Unit(False, warming_up=True)] * 10 + [Unit(True)] * 2 + [Unit(False)] * 198
    f = figures(units)
    assert (f.normal, f.false_positives, f.units) == (200, 2, 210)
    assert f.fpr == 0.01


def test_events_wholly_in_warm_up_are_left_out_and_counted():
    units = [Unit(False, 1, "spike", 0, True), Unit(False, 2, "spike", 0, True),
             Unit(False, 2, "spike", 1, False), Unit(False)]
    f = figures(units)
    assert (f.overall.events, f.overall.detected, f.warm_events) == (1, 0, 1)
    assert f.overall.recall == 0.0 and math.isnan(f.overall.mean_delay)


def test_no_events_gives_nan_recall_not_an_error():
    f = figures([Unit(False), Unit(True)])
    assert math.isnan(f.overall.recall) and f.fpr == 0.5


def test_windows_overlapping_an_event_span_on_its_key_belong_to_it():
    spans = {("a", 7): [25.0, 38.0, "drop"], ("b", 8): [100.0, 100.0, "new"]}
    ws = [("a", 10.0, True, False), ("a", 20.0, False, False), ("a", 30.0, True, False),
          ("a", 30.0, False, False),  # a late update of the same window: ignored
          ("b", 30.0, True, False), ("b", 100.0, False, False), ("a", 40.0, False, False)]
    units = _window_units(ws, spans, 10.0, 10.0)
    assert [(u.event, u.position, u.flag) for u in units] == [
        (None, 0, True), (7, 0, False), (7, 1, True), (None, 0, True), (8, 0, False),
        (None, 0, False),
    ]
    f = figures(units)
    assert (f.overall.events, f.overall.detected, f.overall.delays) == (2, 1, [1])
    assert (f.normal, f.false_positives) == (3, 2)  # a10, b30, a40


def test_sliding_windows_position_counts_steps_not_sizes():
    spans = {("r", 1): [95.0, 100.0, "review_burst"]}
    ws = [("r", 60.0, False, False), ("r", 90.0, True, False)]  # 1-minute windows every 30 s
    units = _window_units(ws, spans, 60.0, 30.0)
    assert [(u.event, u.position) for u in units] == [(1, 0), (1, 1)]


def test_window_document_ids_parse_to_key_and_start():
    out = {"flag": True, "warming_up": False}
    assert _window("flowlogs+checkout->payments+1800000060000", out) == (
        "checkout->payments", 1_800_000_060.0, True, False)


def test_a_record_scenario_runs_every_generated_record_through_its_pipeline():
    from evaluation.scenario_run import run_scenario

    f = run_scenario("gameday", "default", records=3000, seed=3, anomaly_rate=0.005)
    assert f.units == 3000  # one unit per record, none rejected
    assert f.overall.events > 0 and f.normal + f.overall.events < f.units


def test_a_windowed_scenario_scores_one_unit_per_station_window():
    from evaluation.scenario_run import RUNS, START, run_scenario
    from generators import tolls

    f = run_scenario("tolls", "default", records=20_000, seed=3, anomaly_rate=0.0)
    recs = list(tolls.records(count=20_000, anomaly_rate=0.0, seed=3,
                              start=START + RUNS["tolls"].start))
    last = int(recs[-1].timestamp // 10)
    first, open_at_end = {}, set()
    for r in recs:
        first.setdefault(r.key, int(r.timestamp // 10))
        if int(r.timestamp // 10) == last:
            open_at_end.add(r.key)
    # every station's window from its first vehicle on, silent ones included (missing:), the
    # still-open ones scored at the drain, and no silent window made once the input ended
    assert f.units == sum(last - w for w in first.values()) + len(open_at_end)
    assert f.overall.events == 0 and f.phases["end"] == (len(open_at_end), 0)
    assert "rush" not in f.phases  # 06:00 to 06:30: before the morning rush
