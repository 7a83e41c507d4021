"""Event metrics for scored, labelled scenario streams (``evaluate --scenario-labels FILE``).

File format: JSON Lines, one object per scored record **in stream order**::

    {"id": "LOG-000123", "score": 3.1, "label": 1, "event": "burst-2", "flag": true,
     "strength": "default"}

- ``id`` (str): the record or window id (reported, not interpreted);
- ``score`` (float): the score the decision is taken on (``outlier.score`` or
  ``outlier.grade``);
- ``label`` (0/1): 1 when the generator injected an anomaly into this record;
- ``event`` (str, optional): the injected anomaly the record belongs to; records sharing it
  form one event (its span runs from its first to its last record). Without it, each run
  of consecutive ``label == 1`` records is one event;
- ``flag`` (bool, optional): the pipeline's own decision (``outlier.flag``), used when no
  ``--threshold`` is given;
- ``strength`` (str, optional): ``default`` or ``subtle``; recall is also reported per
  strength.

Alarms and events follow :mod:`evaluation.events` (a run of consecutive detecting records
is one alarm). Delay is in records from an event's first record. The best event F1 over
200 score quantiles is reported too, as a label-tuned upper bound.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from evaluation.events import EventCounts, event_counts

__all__ = ["evaluate_file", "load_scenario", "scenario_counts"]


def load_scenario(path: str | Path) -> list[dict]:
    """Read and check a scenario labels file (raises ``ValueError`` naming the line)."""
    rows = []
    with Path(path).open() as handle:
        for n, line in enumerate(handle, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if "score" not in row or "label" not in row:
                raise ValueError(f"{path}:{n}: needs 'score' and 'label'")
            rows.append(row)
    return rows


def _events(rows: list[dict]) -> list[tuple[int, int, str | None]]:
    """``(first, last, strength)`` per event, in order of first record."""
    if any("event" in r for r in rows):
        spans: dict[str, list[int]] = {}
        strength: dict[str, str | None] = {}
        for i, r in enumerate(rows):
            if r.get("label") and r.get("event") is not None:
                spans.setdefault(str(r["event"]), []).append(i)
                strength.setdefault(str(r["event"]), r.get("strength"))
        return sorted((min(v), max(v), strength[k]) for k, v in spans.items())
    events, start = [], None
    for i, r in enumerate([*rows, {"label": 0}]):
        if r.get("label") and start is None:
            start = i
        elif not r.get("label") and start is not None:
            events.append((start, i - 1, rows[start].get("strength")))
            start = None
    return events


def scenario_counts(rows: list[dict], detect: np.ndarray) -> tuple[EventCounts, dict]:
    """Event counts for one decision, and recall per strength.

    Examples
    --------
    >>> rows = [{"score": s, "label": l} for s, l in [(0, 0), (5, 1), (4, 1), (0, 0), (6, 0)]]
    >>> counts, _ = scenario_counts(rows, np.array([r["score"] > 3 for r in rows]))
    >>> counts.alarms, counts.true_alarms, counts.detected, counts.delays
    (2, 1, 1, (0,))
    """
    events = _events(rows)
    windows = [(a, b) for a, b, _ in events]
    counts = event_counts(detect, windows, 0, [a for a, _, _ in events])
    by_strength: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for a, b, strength in events:
        cell = by_strength[strength or "all"]
        cell[0] += 1
        cell[1] += int(detect[a : b + 1].any())
    return counts, {k: v[1] / v[0] for k, v in by_strength.items()}


def evaluate_file(path: str | Path, threshold: float | None = None) -> str:
    """Text report for a scenario labels file."""
    rows = load_scenario(path)
    scores = np.array([float(r["score"]) for r in rows])
    if threshold is not None:
        detect, rule = scores >= threshold, f"score >= {threshold}"
    elif any("flag" in r for r in rows):
        detect, rule = np.array([bool(r.get("flag")) for r in rows]), "the pipeline's flag"
    else:
        raise ValueError("give --threshold or a 'flag' field in the file")
    counts, recall = scenario_counts(rows, detect)
    best_f1, best_t = 0.0, float("nan")
    for t in np.unique(np.quantile(scores, np.linspace(0.0, 1.0, 200))):
        f1 = scenario_counts(rows, scores >= t)[0].f1
        if f1 > best_f1:
            best_f1, best_t = f1, float(t)
    per = ", ".join(f"{k} {v:.2f}" for k, v in sorted(recall.items()))
    return (
        f"{path}: {len(rows)} records, {counts.events} events; decision: {rule}\n"
        f"alarms {counts.alarms} (true {counts.true_alarms}), precision {counts.precision:.3f}, "
        f"recall {counts.recall:.3f}, F1 {counts.f1:.3f}, mean delay {counts.mean_delay:.1f} "
        f"records; recall by strength: {per}\n"
        f"best event F1 over score quantiles: {best_f1:.3f} at score >= {best_t:.6g}"
    )
