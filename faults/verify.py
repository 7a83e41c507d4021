"""The verdict: a faulted run's documents and error topic checked against the input.

Pure functions over plain values (the suite gathers them from Kafka and OpenSearch):

- **lost**: good input records with no document;
- **duplicated**: documents beyond one per input identity (``log_identifier``), plus any
  document of a record that should have been rejected;
- **error topic**: the positions dead-lettered, compared with the malformed and conflicting
  records (missing ones, unexpected ones, and repeats from replays are counted apart);
- **score continuity**: the share of documents whose score equals the uninterrupted
  reference run's score for the same record.

The windowed scenario's verdict (:mod:`faults.verify_windows`) fills the same table, per
window instead of per record, plus ``miscounted``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace

__all__ = ["Verdict", "format_table", "verify", "with_events"]

Pos = tuple[int, int]  # (partition, offset)


@dataclass(frozen=True, slots=True)
class Verdict:
    records_in: int
    bad_in: int
    documents: int
    error_records: int
    error_distinct: int
    lost: int
    duplicated: int
    missing_errors: int
    unexpected_errors: int
    compared: int
    same_score: int
    miscounted: int = 0  # windows: documents whose count differs from the input's
    events: int = 0  # events-topic records (one per flagged document, repeats included)
    events_repeated: int = 0  # events beyond one per document
    events_missing: int = 0  # documents with an event in the reference run, none here
    events_unexpected: int = 0  # events here, none in the reference run

    @property
    def repeated(self) -> int:
        """Error-topic records beyond one per bad record (repeats from replays)."""
        return self.error_records - self.error_distinct

    @property
    def continuity(self) -> float:
        return self.same_score / self.compared if self.compared else 0.0

    @property
    def ok(self) -> bool:
        return (self.lost == 0 and self.duplicated == 0 and self.missing_errors == 0
                and self.unexpected_errors == 0 and self.repeated == 0
                and self.miscounted == 0 and self.events_repeated == 0
                and self.continuity >= 0.99)


def verify(
    expected: Mapping[Pos, tuple[str, str]],
    documents: Mapping[Pos, tuple[str, float | None]],
    errors: Iterable[Pos],
    reference: Mapping[Pos, float | None],
    *,
    tolerance: float = 1e-9,
) -> Verdict:
    """Check a run against its input.

    Parameters
    ----------
    expected
        ``(partition, offset) -> (identity, fate)`` for every produced record (fate is
        ``good``, ``malformed`` or ``conflict``).
    documents
        ``(partition, offset) -> (identity, score)`` for every document in the index.
    errors
        The ``(partition, offset)`` of every error-topic record (repeats included).
    reference
        ``(partition, offset) -> score`` from the uninterrupted run.

    Examples
    --------
    >>> exp = {(0, 0): ("A", "good"), (0, 1): ("B", "malformed"), (1, 0): ("C", "good")}
    >>> v = verify(exp, {(0, 0): ("A", 1.5), (1, 0): ("C", 2.0)}, [(0, 1), (0, 1)],
    ...            {(0, 0): 1.5, (1, 0): 2.5})
    >>> v.lost, v.duplicated, v.error_records, v.error_distinct, v.same_score, v.compared
    (0, 0, 2, 1, 1, 2)
    >>> verify(exp, {(0, 0): ("A", 1.0), (0, 2): ("A", 1.0)}, [], {}).duplicated
    1
    """
    good = {pos for pos, (_, fate) in expected.items() if fate == "good"}
    bad = {pos for pos, (_, fate) in expected.items() if fate != "good"}
    per_ident = Counter(ident for ident, _ in documents.values())
    duplicated = sum(n - 1 for n in per_ident.values() if n > 1)
    duplicated += sum(1 for pos in documents if pos in bad)
    error_list = list(errors)
    error_set = set(error_list)
    same = compared = 0
    for pos, (_, score) in documents.items():
        if pos in reference:
            compared += 1
            same += _same(score, reference[pos], tolerance)
    return Verdict(
        records_in=len(expected), bad_in=len(bad), documents=len(documents),
        error_records=len(error_list), error_distinct=len(error_set),
        lost=len(good - documents.keys()), duplicated=duplicated,
        missing_errors=len(bad - error_set), unexpected_errors=len(error_set - bad),
        compared=compared, same_score=same,
    )


def with_events(verdict: Verdict, events: Iterable[tuple], reference: Iterable[tuple]
                ) -> Verdict:
    """``verdict`` plus the events check: each event once, the same events as the reference.

    Events are identified by their origin (``(partition, offset, window id)``). Missing and
    unexpected events are reported but only repeats fail the verdict: with a continuity
    below 100% a document may be flagged in one run and not in the other.

    Examples
    --------
    >>> v = Verdict(10, 1, 9, 1, 1, 0, 0, 0, 0, 9, 9)
    >>> w = with_events(v, [(0, 5, None), (0, 5, None), (1, 2, None)], [(0, 5, None), (0, 7, None)])
    >>> w.events, w.events_repeated, w.events_missing, w.events_unexpected, w.ok
    (3, 1, 1, 1, False)
    """
    found = list(events)
    distinct, want = set(found), set(reference)
    return replace(verdict, events=len(found), events_repeated=len(found) - len(distinct),
                   events_missing=len(want - distinct), events_unexpected=len(distinct - want))


def _same(a: float | None, b: float | None, tolerance: float) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance)


def format_table(rows: Mapping[str, Verdict]) -> str:
    """A plain-text table, one column per run.

    Examples
    --------
    >>> v = Verdict(10, 1, 9, 1, 1, 0, 0, 0, 0, 9, 9)
    >>> print(format_table({"ci": v}).splitlines()[0])
    metric                    ci
    """
    names = list(rows)
    lines = [f"{'metric':<18}" + "".join(f"{n:>12}" for n in names)]
    fields = [f for f in asdict(next(iter(rows.values())))]
    for f in [*fields, "repeated", "continuity", "ok"]:
        cells = []
        for n in names:
            value = getattr(rows[n], f)
            cells.append(f"{value:>12.4f}" if isinstance(value, float) else f"{value!s:>12}")
        lines.append(f"{f:<18}" + "".join(cells))
    return "\n".join(lines)
