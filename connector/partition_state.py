"""Per-partition checkpoint state: what is kept for one partition, when it is snapshotted,
and where to resume after a restore (:func:`plan_resume`). Used by :mod:`connector.checkpoint`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connector.state_format import decode_state, encode_state

__all__ = ["PartitionState", "Resume", "SnapshotPolicy", "StateFactory", "plan_resume"]


@dataclass(frozen=True, slots=True)
class SnapshotPolicy:
    """When a partition's state is snapshotted: after ``every_seconds`` or ``every_records``.

    Examples
    --------
    >>> p = SnapshotPolicy(every_seconds=10, every_records=1000)
    >>> p.due(elapsed=3.0, records=10), p.due(elapsed=11.0, records=1), p.due(3.0, 1000)
    (False, True, True)
    >>> p.due(elapsed=99.0, records=0)
    False
    """

    every_seconds: float = 10.0
    every_records: int = 100_000

    def due(self, elapsed: float, records: int) -> bool:
        return records > 0 and (elapsed >= self.every_seconds or records >= self.every_records)


@dataclass(frozen=True, slots=True)
class Resume:
    """Where a partition resumes: ``start`` (``None`` = the consumer's reset policy), and the
    ``[replay_from, replay_to)`` range to re-score first (empty when equal)."""

    start: int | None
    replay_from: int = 0
    replay_to: int = 0


def plan_resume(
    stored: int | None,
    committed: int | None,
    *,
    warm_start: bool = False,
    low: int = 0,
    high: int = 0,
) -> Resume:
    """Decide where a newly assigned partition resumes, from its state and committed offsets.

    Parameters
    ----------
    stored
        Next offset the stored state has not seen, or ``None`` (no state).
    committed
        The group's committed offset, or ``None`` (none yet).
    warm_start
        With no state and no committed offset, train on history ``[low, high)`` and go live
        at ``high`` (without it, start where ``auto.offset.reset`` says, with a fresh model).
    low, high
        The partition's watermarks.

    No state but a committed offset means the state was lost before its first snapshot (or
    checkpoints were just turned on): it is rebuilt from the start of the retained log.

    Examples
    --------
    >>> plan_resume(500, 400)            # state ahead of the commit: its docs were flushed
    Resume(start=500, replay_from=0, replay_to=0)
    >>> plan_resume(300, 400)            # state behind: replay the gap, then go live
    Resume(start=400, replay_from=300, replay_to=400)
    >>> plan_resume(None, 400, low=10)   # state never stored: rebuild from the log's start
    Resume(start=400, replay_from=10, replay_to=400)
    >>> plan_resume(None, None)
    Resume(start=None, replay_from=0, replay_to=0)
    >>> plan_resume(None, None, warm_start=True, low=10, high=900)
    Resume(start=900, replay_from=10, replay_to=900)
    """
    if stored is not None:
        if committed is None or stored >= committed:
            return Resume(stored)
        return Resume(committed, stored, committed)
    if committed is not None:
        return Resume(committed, min(low, committed), committed)
    if warm_start:
        return Resume(high, min(low, high), high)
    return Resume(None)


@dataclass(frozen=True, slots=True)
class StateFactory:
    """How to build a fresh partition state, and how to restore one from snapshot parts.

    ``new_transform`` builds the record preparation (its stateful features, such as running
    means per key, are part of the state); ``new_windows``/``restore_windows`` are set for
    windowed pipelines only.
    """

    new_scorer: Callable[[], Any]
    restore_scorer: Callable[[bytes], Any]
    new_transform: Callable[[], Any] | None = None
    new_windows: Callable[[], Any] | None = None
    restore_windows: Callable[[bytes], Any] | None = None

    def fresh(self) -> PartitionState:
        transform = self.new_transform() if self.new_transform is not None else None
        windows = self.new_windows() if self.new_windows is not None else None
        return PartitionState(self.new_scorer(), transform, windows)

    def restore(self, blob: bytes) -> PartitionState:
        offset, parts = decode_state(blob)
        st = self.fresh()
        st.scorer = self.restore_scorer(parts["scorer"])
        if st.transform is not None and parts.get("transform"):
            st.transform.restore(json.loads(parts["transform"]))
        if self.restore_windows is not None and parts.get("windows"):
            st.windows = self.restore_windows(parts["windows"])
        st.offset = st.stored_offset = offset
        return st


@dataclass(slots=True)
class PartitionState:
    """The model state of one partition: ``offset`` is the next offset not folded into it.

    ``pending`` is set while a scored batch is not yet committed: such a state is ahead of
    its offset and must not be snapshotted (an abandoned batch would be learned twice).
    """

    scorer: Any
    transform: Any = None
    windows: Any = None
    offset: int | None = None
    stored_offset: int | None = None
    records: int = 0  # folded in since the last snapshot
    since: float = field(default_factory=time.monotonic)
    pending: bool = False

    def advance(self, next_offset: int) -> None:
        """Note that records up to ``next_offset - 1`` are folded into the state."""
        if self.offset is None or next_offset > self.offset:
            self.records += next_offset - self.offset if self.offset is not None else 1
            self.offset = next_offset
        self.pending = False

    def snapshot(self) -> bytes:
        parts = {"scorer": self.scorer.snapshot()}
        if self.transform is not None:
            parts["transform"] = json.dumps(self.transform.snapshot()).encode()
        if self.windows is not None:
            parts["windows"] = self.windows.snapshot()
        return encode_state(self.offset if self.offset is not None else 0, parts)
