"""The windowed verdict: a faulted run's window documents and error topic, checked against the
input and the uninterrupted reference run (pure functions over plain values).

A window document's ``_id`` is pipeline + key + window start, so a replayed window overwrites
itself: repeats cannot show as extra documents, they show as wrong contents. Hence:

- **lost**: windows the reference wrote that the run did not;
- **duplicated**: windows the run wrote that the reference did not (a spurious or refused
  window; with deterministic ids this is where a double emission would show);
- **miscounted**: windows whose ``count`` differs from the number of good input records in
  that key and window (records lost or folded in twice across a restart);
- **error topic**: every malformed record once (by source position) and every window the
  reference's index refused once (by ``window.id``); repeats counted apart;
- **score continuity**: the share of windows scored exactly as in the reference.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping

from faults.inputs import InputRecord
from faults.verify import Verdict, _same

__all__ = ["ErrorEntry", "verify_windows", "window_counts"]

Pos = tuple[int, int]
#: ``(source partition, source offset, window id or None)`` of one error-topic record
ErrorEntry = tuple[int, int, str | None]


def window_counts(records: Iterable[InputRecord], pipeline: str, size: float) -> Counter[str]:
    """Good records per window document id (``<pipeline>+<key>+<start ms>``), from the input.

    Examples
    --------
    >>> recs = [InputRecord(b"A", b"", "1", "good", 100.0),
    ...         InputRecord(b"A", b"", "2", "good", 109.9),
    ...         InputRecord(b"A", b"", "3", "malformed", 101.0),
    ...         InputRecord(b"B", b"", "4", "good", 110.0)]
    >>> dict(window_counts(recs, "tolls", 10.0))
    {'tolls+A+100000': 2, 'tolls+B+110000': 1}
    """
    counts: Counter[str] = Counter()
    for rec in records:
        if rec.fate != "good" or rec.event_time is None:
            continue
        start = math.floor(rec.event_time / size) * size
        key = rec.key.decode() if rec.key is not None else ""
        counts[f"{pipeline}+{key}+{round(start * 1000)}"] += 1
    return counts


def _identities(errors: Iterable[ErrorEntry]) -> list[tuple]:
    return [("window", w) if w else ("record", p, o) for p, o, w in errors]


def verify_windows(
    expected: Mapping[Pos, tuple[str, str]],
    counts: Mapping[str, int],
    documents: Mapping[str, tuple[float | None, float | None]],
    errors: Iterable[ErrorEntry],
    reference: Mapping[str, tuple[float | None, float | None]],
    reference_errors: Iterable[ErrorEntry],
    *,
    tolerance: float = 1e-9,
) -> Verdict:
    """Check a windowed run.

    Parameters
    ----------
    expected
        ``(partition, offset) -> (identity, fate)`` of every produced record.
    counts
        :func:`window_counts` of the input.
    documents, reference
        ``window id -> (count, score)`` of the run and of the reference.
    errors, reference_errors
        The :data:`ErrorEntry` of every error-topic record of each run (repeats included).

    Examples
    --------
    >>> exp = {(0, 0): ("a", "good"), (0, 1): ("b", "malformed"), (0, 2): ("c", "good")}
    >>> ref = {"w1": (2, 0.5), "w2": (0, 1.0)}
    >>> v = verify_windows(exp, {"w1": 2}, {"w1": (2, 0.5), "w2": (0, 1.5)},
    ...                    [(0, 1, None), (0, 2, "w3"), (0, 1, None)], ref, [(0, 2, "w3")])
    >>> v.lost, v.duplicated, v.miscounted, v.repeated, v.same_score, v.compared, v.bad_in
    (0, 0, 0, 1, 1, 2, 2)
    >>> verify_windows(exp, {"w1": 2}, {"w1": (3, 0.5)}, [], ref, []).lost
    1
    """
    bad = {("record", *pos) for pos, (_, fate) in expected.items() if fate != "good"}
    refused = {e for e in _identities(reference_errors) if e[0] == "window"}
    want = bad | refused
    found = _identities(errors)
    found_set = set(found)
    same = compared = 0
    for wid, (_, score) in documents.items():
        if wid in reference:
            compared += 1
            same += _same(score, reference[wid][1], tolerance)
    return Verdict(
        records_in=len(expected), bad_in=len(want), documents=len(documents),
        error_records=len(found), error_distinct=len(found_set),
        lost=len(reference.keys() - documents.keys()),
        duplicated=len(documents.keys() - reference.keys()),
        missing_errors=len(want - found_set), unexpected_errors=len(found_set - want),
        compared=compared, same_score=same,
        miscounted=sum(1 for wid, (n, _) in documents.items() if n != counts.get(wid, 0)),
    )
