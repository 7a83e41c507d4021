"""The suite's scenarios: which pipeline runs, on what input, into which mapping, checked how.

- ``gameday`` (records): 1% malformed JSON, and 0.2% of records set ``user_id`` to an object
  where the index maps a keyword (OpenSearch refuses those documents: mapping conflicts).
  Verdict per record (:func:`faults.verify.verify`).
- ``tolls`` (windows): CSV toll passes counted per station in 10-second tumbling windows and
  scored by one Random Cut Forest per station; 1% malformed lines. Mapping conflicts are
  window-level: the index maps ``count`` as ``byte``, so a window of more than 127 vehicles
  (a surge, or a rare busy window) is refused with a 400 and dead-lettered as a window.
  Verdict per window (:func:`faults.verify_windows.verify_windows`), event time on the
  input's fast clock (:func:`faults.inputs.tolls_input`).

Both runs also send an event per flagged document (``outlier.flag == true``) to an events
topic; the faulted run's events are checked against the reference's (:func:`with_events`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from faults.collect import read_documents, read_origins, read_windows
from faults.inputs import CONFLICT_FIELD, InputRecord, gameday_input, tolls_input
from faults.verify import Verdict, verify, with_events
from faults.verify_windows import verify_windows, window_counts

__all__ = ["SCENARIOS", "Outputs", "Scenario"]


@dataclass(frozen=True, slots=True)
class Outputs:
    """Where the two runs wrote: the clients and names the verdict reads back."""

    client: Any
    bootstrap: str
    index: str
    ref_index: str
    errors: str
    ref_errors: str
    events: str
    ref_events: str


#: ``verdicts(records, expected, outputs) -> {"reference": Verdict, "faulted": Verdict}``
Verdicts = Callable[[list[InputRecord], dict, Outputs], dict[str, Verdict]]


@dataclass(frozen=True, slots=True)
class Scenario:
    """One scenario of the suite.

    Examples
    --------
    >>> sorted(SCENARIOS), SCENARIOS["tolls"].pipeline
    (['gameday', 'tolls'], 'tolls')
    >>> len(SCENARIOS["tolls"].make_input(200, 3, 0.01, 0.0))
    200
    """

    pipeline: str  # the stem under pipelines/
    make_input: Callable[[int, int, float, float], list[InputRecord]]  # count, seed, bad, conf
    properties: dict[str, Any]  # index mapping set before the run
    verdicts: Verdicts


def _gameday_verdicts(records: list[InputRecord], expected: dict, out: Outputs
                      ) -> dict[str, Verdict]:
    def positions(topic: str) -> list[tuple[int, int]]:
        return [(p, o) for p, o, _ in read_origins(out.bootstrap, topic)]

    ref_docs = read_documents(out.client, out.ref_index)
    ref_scores = {pos: score for pos, (_, score) in ref_docs.items()}
    return _events({
        "reference": verify(expected, ref_docs, positions(out.ref_errors), ref_scores),
        "faulted": verify(expected, read_documents(out.client, out.index),
                          positions(out.errors), ref_scores),
    }, out)


def _events(verdicts: dict[str, Verdict], out: Outputs) -> dict[str, Verdict]:
    """Both verdicts with their events topic checked against the reference's events."""
    ref = read_origins(out.bootstrap, out.ref_events)
    return {"reference": with_events(verdicts["reference"], ref, ref),
            "faulted": with_events(verdicts["faulted"], read_origins(out.bootstrap, out.events),
                                   ref)}


def _tolls_verdicts(records: list[InputRecord], expected: dict, out: Outputs
                    ) -> dict[str, Verdict]:
    counts = window_counts(records, "tolls", 10.0)
    ref_docs = read_windows(out.client, out.ref_index)
    ref_errors = read_origins(out.bootstrap, out.ref_errors)
    return _events({
        "reference": verify_windows(expected, counts, ref_docs, ref_errors, ref_docs,
                                    ref_errors),
        "faulted": verify_windows(expected, counts, read_windows(out.client, out.index),
                                  read_origins(out.bootstrap, out.errors), ref_docs, ref_errors),
    }, out)


SCENARIOS = {
    "gameday": Scenario(
        "gameday",
        lambda n, seed, bad, conflicts: list(gameday_input(n, seed=seed, malformed=bad,
                                                           conflicts=conflicts)),
        {CONFLICT_FIELD: {"type": "keyword"}},
        _gameday_verdicts,
    ),
    "tolls": Scenario(
        "tolls",
        lambda n, seed, bad, _conflicts: list(tolls_input(n, seed=seed, malformed=bad)),
        {"count": {"type": "byte"}, "toll": {"type": "keyword"}},
        _tolls_verdicts,
    ),
}
