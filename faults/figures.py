"""Checkpoint figures of a suite run: snapshot sizes and times from the workers' clean-exit
summaries, restore and resume times per partition assignment from every incarnation's log."""

from __future__ import annotations

import re
import statistics
from pathlib import Path
from typing import Any

__all__ = ["assignment_figures", "checkpoint_figures"]


def checkpoint_figures(summaries: list[dict]) -> dict[str, Any]:
    """Snapshot and restore figures summed over the workers' clean-exit summaries.

    Examples
    --------
    >>> s = {"checkpoint": {"snapshots": 4, "snapshot_bytes": 400, "snapshot_seconds": 0.2,
    ...      "restores": 2, "restore_seconds": 0.1, "replayed": 10, "replay_seconds": 0.5}}
    >>> checkpoint_figures([s, s])["snapshot_ms_avg"]
    50.0
    """
    total: dict[str, float] = {}
    for summary in summaries:
        for key, value in summary.get("checkpoint", {}).items():
            total[key] = total.get(key, 0) + value
    snaps, restores = total.get("snapshots", 0), total.get("restores", 0)
    return {
        "clean_exits": len(summaries), **total,
        "snapshot_bytes_avg": total.get("snapshot_bytes", 0) / snaps if snaps else None,
        "snapshot_ms_avg": 1000 * total.get("snapshot_seconds", 0) / snaps if snaps else None,
        "restore_ms_avg": 1000 * total.get("restore_seconds", 0) / restores if restores else None,
    }


_ASSIGNED = re.compile(r"partition assigned event=(\w+) .*replayed=(\d+) "
                       r"restore_s=([\d.]+) total_s=([\d.]+)")


def assignment_figures(logs: list[Path]) -> dict[str, Any]:
    """Restore times per partition assignment, from every incarnation's log (killed ones too).

    ``restore`` is reading and decoding the state; ``resume`` adds the replay of the gap.
    Figures are split by event: ``start`` (a process's first assignment) and ``rebalance``.

    Examples
    --------
    >>> import tempfile
    >>> log = Path(tempfile.mkdtemp()) / "a-1.log"
    >>> _ = log.write_text("partition assigned event=start topic=t partition=0 state_offset=5 "
    ...     "committed=9 start=9 replayed=4 restore_s=0.010 total_s=0.030\\n")
    >>> figures = assignment_figures([log])
    >>> figures["start"]["restore_ms_max"], figures["start"]["resume_ms_max"], figures["rebalance"]
    (10.0, 30.0, {'assignments': 0})
    """
    rows: dict[str, list[tuple[int, float, float]]] = {"start": [], "rebalance": []}
    for path in logs:
        for m in _ASSIGNED.finditer(path.read_text(errors="replace")):
            rows.setdefault(m[1], []).append((int(m[2]), float(m[3]), float(m[4])))
    out: dict[str, Any] = {}
    for event, found in rows.items():
        if not found:
            out[event] = {"assignments": 0}
            continue
        restore = [1000 * r[1] for r in found]
        resume = [1000 * r[2] for r in found]
        out[event] = {
            "assignments": len(found),
            "restore_ms_median": round(statistics.median(restore), 1),
            "restore_ms_max": round(max(restore), 1),
            "resume_ms_median": round(statistics.median(resume), 1),
            "resume_ms_max": round(max(resume), 1),
            "replayed_max": max(r[0] for r in found),
        }
    return out
