"""The windowed verdict on plain values: what each kind of damage looks like in the table."""

from __future__ import annotations

from faults.inputs import InputRecord, tolls_input
from faults.verify_windows import verify_windows, window_counts

EXPECTED = {(0, 0): ("a", "good"), (0, 1): ("b", "malformed"), (0, 2): ("c", "good")}
COUNTS = {"w1": 2, "w2": 0}
REF = {"w1": (2, 0.5), "w2": (0, 1.0)}
REF_ERRORS = [(0, 1, None), (0, 2, "w3")]  # a malformed record, a refused window


def test_a_run_like_the_reference_is_ok():
    v = verify_windows(EXPECTED, COUNTS, dict(REF), list(REF_ERRORS), REF, REF_ERRORS)
    assert v.ok and v.bad_in == 2 and v.continuity == 1.0


def test_a_window_folded_twice_is_miscounted_and_a_repeat_letter_is_repeated():
    docs = {"w1": (3, 0.5), "w2": (0, 1.0)}
    v = verify_windows(EXPECTED, COUNTS, docs, [*REF_ERRORS, (0, 2, "w3")], REF, REF_ERRORS)
    assert (v.miscounted, v.repeated, v.missing_errors) == (1, 1, 0)
    assert not v.ok


def test_missing_extra_and_refused_windows_are_lost_duplicated_and_missing_errors():
    docs = {"w2": (0, 1.0), "w3": (200, 0.1)}  # w1 lost; w3 was refused by the reference
    v = verify_windows(EXPECTED, COUNTS, docs, [(0, 1, None)], REF, REF_ERRORS)
    assert (v.lost, v.duplicated, v.missing_errors) == (1, 1, 1)
    assert not v.ok


def test_counts_follow_event_time_windows_of_the_generated_input():
    recs = list(tolls_input(5000, seed=2))
    counts = window_counts(recs, "tolls", 10.0)
    good = [r for r in recs if r.fate == "good"]
    assert sum(counts.values()) == len(good)
    assert all(k.startswith("tolls+") and k.endswith("0000") for k in counts)
    assert window_counts([InputRecord(b"A", b"", "x", "malformed", 1.0)], "p", 10.0) == {}
