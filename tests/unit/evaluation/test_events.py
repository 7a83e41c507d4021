"""Event-level precision, recall, F1 and delay on hand-made cases."""

from __future__ import annotations

import math

import numpy as np

from evaluation.events import EventCounts, event_counts


def _detect(n, rows):
    d = np.zeros(n, dtype=bool)
    d[list(rows)] = True
    return d


def test_runs_of_detections_are_single_alarms():
    c = event_counts(_detect(30, [2, 3, 4, 10, 20, 21]), [(9, 12)])
    assert (c.alarms, c.true_alarms) == (3, 1)
    assert (c.events, c.detected) == (1, 1)
    assert c.precision == 1 / 3
    assert c.recall == 1.0
    assert c.f1 == 2 * (1 / 3) / (1 + 1 / 3)


def test_run_crossing_a_window_edge_is_cut_into_false_and_true_alarms():
    c = event_counts(_detect(20, [5, 6, 7]), [(7, 10)])
    assert (c.alarms, c.true_alarms) == (2, 1)
    assert c.delays == (0,)  # first detection in the window is its first row


def test_delay_from_labelled_point_can_be_negative():
    c = event_counts(_detect(40, [12, 25]), [(10, 20)], labels=[15])
    assert c.delays == (-3,)
    c = event_counts(_detect(40, [18]), [(10, 20)], labels=[15])
    assert c.delays == (3,)


def test_probation_rows_are_ignored():
    c = event_counts(_detect(30, [0, 1, 2, 15]), [(14, 16)], probation=5)
    assert c.alarms == 1
    assert c.precision == 1.0


def test_no_alarm_and_no_event_give_nan_not_errors():
    c = event_counts(np.zeros(10, dtype=bool), [])
    assert math.isnan(c.precision) and math.isnan(c.recall) and math.isnan(c.mean_delay)
    assert c.f1 == 0.0


def test_missed_event_lowers_recall_and_counts_add_up():
    a = event_counts(_detect(30, [5]), [(4, 6), (20, 25)])
    b = event_counts(_detect(30, [21, 22]), [(20, 25)], labels=[22])
    total = a + b
    assert total == EventCounts(alarms=2, true_alarms=2, events=3, detected=2, delays=(1, -1))
    assert total.recall == 2 / 3
    assert total.mean_delay == 0.0


def test_flagging_everything_has_poor_precision():
    c = event_counts(np.ones(40, dtype=bool), [(5, 8), (20, 25)])
    assert (c.alarms, c.true_alarms, c.detected) == (5, 2, 2)
    assert c.precision == 0.4


def test_adjacent_windows_give_separate_alarms():
    c = event_counts(_detect(20, range(3, 10)), [(3, 5), (6, 9)])
    assert (c.alarms, c.true_alarms) == (2, 2)
