"""Checkpoints: flush sinks -> snapshot per-partition state -> commit offsets, and the way back.

Lifecycle (the runner calls one method per event):

- **assign** (:meth:`Checkpointer.assign`): for every newly assigned partition, read its
  state from the :class:`~connector.state_store.StateStore` and decide where to resume
  (:func:`plan_resume`). State *newer* than the committed offset wins: its documents were
  flushed before it was written, so we resume at the state's offset. State *older* than the
  committed offset is rolled forward by replaying the gap (records are re-scored, never
  re-written). No state: a fresh model, or with ``warm_start`` a model trained on the
  partition's history before the first live record.
- **commit** (:meth:`Checkpointer.commit`): always in this order: flush the sinks (raises on
  failure, and then nothing below happens), snapshot the partitions that are due, commit the
  offsets. Snapshots are bounded by :class:`SnapshotPolicy` (every N seconds or N records),
  so between two snapshots the committed offset runs ahead of the state; the replay on
  restore covers exactly that gap.
- **revoke** (:meth:`Checkpointer.revoke`): the same order, with a snapshot forced for the
  revoked partitions, then their in-memory state is dropped; the next owner restores it.

State is one :class:`PartitionState` per assigned partition (a scorer and, for windowed
pipelines, a window aggregator): keys map to partitions, so per-key order and per-key models
follow the partition. The blob is versioned (:func:`encode_state`).
"""

from __future__ import annotations

import json
import logging
import struct
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from connector.state_store import StateStore

__all__ = [
    "Checkpointer",
    "PartitionState",
    "Resume",
    "SnapshotPolicy",
    "StateFactory",
    "decode_state",
    "encode_state",
    "plan_resume",
]

logger = logging.getLogger(__name__)

TP = tuple[str, int]
_MAGIC = b"OCS"
_FORMAT = 1
_HEAD = struct.Struct(">3sBI")  # magic, format version, header length
FORMAT_NAME = f"ocs/{_FORMAT}"


def encode_state(offset: int, parts: Mapping[str, bytes]) -> bytes:
    """One versioned blob: a small JSON header (offset, part sizes) then the parts' bytes.

    Examples
    --------
    >>> blob = encode_state(42, {"scorer": b"abc", "windows": b""})
    >>> blob[:3], decode_state(blob)
    (b'OCS', (42, {'scorer': b'abc', 'windows': b''}))
    """
    header = json.dumps(
        {"offset": offset, "parts": [[name, len(data)] for name, data in parts.items()]}
    ).encode()
    return b"".join([_HEAD.pack(_MAGIC, _FORMAT, len(header)), header, *parts.values()])


def decode_state(blob: bytes) -> tuple[int, dict[str, bytes]]:
    """Inverse of :func:`encode_state`; raises ``ValueError`` on a blob it cannot read.

    Examples
    --------
    >>> decode_state(b"nope")
    Traceback (most recent call last):
    ...
    ValueError: not a state blob
    """
    if len(blob) < _HEAD.size:
        raise ValueError("not a state blob")
    magic, version, size = _HEAD.unpack_from(blob)
    if magic != _MAGIC:
        raise ValueError("not a state blob")
    if version != _FORMAT:
        raise ValueError(f"state format {version} is not supported (want {_FORMAT})")
    header = json.loads(blob[_HEAD.size : _HEAD.size + size])
    pos, parts = _HEAD.size + size, {}
    for name, length in header["parts"]:
        parts[name] = blob[pos : pos + length]
        pos += length
    if pos != len(blob):
        raise ValueError("state blob is truncated or padded")
    return int(header["offset"]), parts


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
        With no state, train on history ``[low, committed or high)`` before going live.
    low, high
        The partition's watermarks (used by ``warm_start`` only).

    Examples
    --------
    >>> plan_resume(500, 400)            # state ahead of the commit: its docs were flushed
    Resume(start=500, replay_from=0, replay_to=0)
    >>> plan_resume(300, 400)            # state behind: replay the gap, then go live
    Resume(start=400, replay_from=300, replay_to=400)
    >>> plan_resume(None, 400)
    Resume(start=400, replay_from=0, replay_to=0)
    >>> plan_resume(None, None, warm_start=True, low=10, high=900)
    Resume(start=900, replay_from=10, replay_to=900)
    >>> plan_resume(None, 400, warm_start=True, low=10, high=900)
    Resume(start=400, replay_from=10, replay_to=400)
    """
    if stored is not None:
        if committed is None or stored >= committed:
            return Resume(stored)
        return Resume(committed, stored, committed)
    if warm_start:
        end = committed if committed is not None else high
        return Resume(end, min(low, end), end)
    return Resume(committed)


@dataclass(frozen=True, slots=True)
class StateFactory:
    """How to build a fresh partition state, and how to restore one from snapshot parts."""

    new_scorer: Callable[[], Any]
    restore_scorer: Callable[[bytes], Any]
    new_windows: Callable[[], Any] | None = None
    restore_windows: Callable[[bytes], Any] | None = None

    def fresh(self) -> PartitionState:
        windows = self.new_windows() if self.new_windows is not None else None
        return PartitionState(self.new_scorer(), windows)

    def restore(self, blob: bytes) -> PartitionState:
        offset, parts = decode_state(blob)
        windows = None
        if self.restore_windows is not None and parts.get("windows"):
            windows = self.restore_windows(parts["windows"])
        elif self.new_windows is not None:
            windows = self.new_windows()
        return PartitionState(self.restore_scorer(parts["scorer"]), windows, offset, offset)


@dataclass(slots=True)
class PartitionState:
    """The model state of one partition: ``offset`` is the next offset not folded into it."""

    scorer: Any
    windows: Any = None
    offset: int | None = None
    stored_offset: int | None = None
    records: int = 0  # folded in since the last snapshot
    since: float = field(default_factory=time.monotonic)

    def advance(self, next_offset: int, records: int = 1) -> None:
        """Note that records up to ``next_offset - 1`` are folded into the state."""
        self.offset = next_offset
        self.records += records

    def snapshot(self) -> bytes:
        parts = {"scorer": self.scorer.snapshot()}
        if self.windows is not None:
            parts["windows"] = self.windows.snapshot()
        return encode_state(self.offset if self.offset is not None else 0, parts)


@dataclass(slots=True)
class CheckpointStats:
    """Figures for the bench and the logs (sums; divide by the counts)."""

    snapshots: int = 0
    snapshot_bytes: int = 0
    snapshot_seconds: float = 0.0
    restores: int = 0
    restore_seconds: float = 0.0
    replayed: int = 0
    replay_seconds: float = 0.0


#: ``replay(topic, partition, start, end, state)``: re-score records ``[start, end)`` into
#: ``state`` without writing any document (see :func:`connector.state_store` for why).
Replay = Callable[[str, int, int, int, PartitionState], int]


class Checkpointer:
    """Per-partition states, their snapshots and their restores (see the module docstring).

    Parameters
    ----------
    store
        Where snapshots go (:class:`~connector.state_store.StateStore`).
    factory
        Builds fresh states and restores stored ones.
    policy
        When a partition is snapshotted on :meth:`commit`.
    warm_start
        Train a partition with no state on its history before going live.
    """

    def __init__(
        self,
        store: StateStore,
        factory: StateFactory,
        policy: SnapshotPolicy | None = None,
        *,
        warm_start: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.factory = factory
        self.policy = policy or SnapshotPolicy()
        self.warm_start = warm_start
        self.clock = clock
        self.states: dict[TP, PartitionState] = {}
        self.stats = CheckpointStats()

    def state(self, topic: str, partition: int) -> PartitionState:
        """The state of an assigned partition (a fresh one if it was never assigned)."""
        tp = (topic, partition)
        st = self.states.get(tp)
        if st is None:
            st = self.states[tp] = self.factory.fresh()
        return st

    def assign(
        self,
        partitions: Iterable[TP],
        committed: Mapping[TP, int | None],
        replay: Replay,
        watermarks: Callable[[str, int], tuple[int, int]] | None = None,
    ) -> dict[TP, int | None]:
        """Restore state for new partitions, replay gaps; returns where each one resumes.

        **Blocks** on the state store and on the replay (bounded by the snapshot policy).
        """
        starts: dict[TP, int | None] = {}
        for tp in partitions:
            began = self.clock()
            stored = self.store.get(*tp)
            st = self.factory.restore(stored.blob) if stored else self.factory.fresh()
            low = high = 0
            if stored is None and self.warm_start and watermarks is not None:
                low, high = watermarks(*tp)
            plan = plan_resume(
                stored.offset if stored else None, committed.get(tp),
                warm_start=self.warm_start, low=low, high=high,
            )
            restored = self.clock()
            if plan.replay_to > plan.replay_from:
                n = replay(tp[0], tp[1], plan.replay_from, plan.replay_to, st)
                st.offset = plan.replay_to
                self.stats.replayed += n
                self.stats.replay_seconds += self.clock() - restored
            self.states[tp] = st
            st.since, st.records = self.clock(), 0
            self.stats.restores += 1
            self.stats.restore_seconds += restored - began
            starts[tp] = plan.start
            logger.info(
                "partition assigned topic=%s partition=%s state_offset=%s committed=%s start=%s "
                "replayed=%s restore_s=%.3f", tp[0], tp[1], stored.offset if stored else None,
                committed.get(tp), plan.start, plan.replay_to - plan.replay_from,
                restored - began,
            )
        return starts

    def commit(
        self,
        flush: Callable[[], Any],
        commit_offsets: Callable[[Mapping[TP, int]], Any],
        offsets: Mapping[TP, int],
        *,
        force: Iterable[TP] = (),
    ) -> None:
        """Flush sinks, snapshot due (or ``force``\\ d) partitions, then commit ``offsets``."""
        flush()
        self.snapshot(force=force)
        commit_offsets(offsets)

    def snapshot(self, *, force: Iterable[TP] = ()) -> int:
        """Store the state of every partition that is due (or forced); returns how many."""
        forced, now, done = set(force), self.clock(), 0
        for tp, st in self.states.items():
            if st.offset is None or st.offset == st.stored_offset:
                continue
            if tp not in forced and not self.policy.due(now - st.since, st.records):
                continue
            began = self.clock()
            blob = st.snapshot()
            self.store.put(tp[0], tp[1], st.offset, blob, FORMAT_NAME)
            self.stats.snapshots += 1
            self.stats.snapshot_bytes += len(blob)
            self.stats.snapshot_seconds += self.clock() - began
            st.stored_offset, st.records, st.since = st.offset, 0, self.clock()
            done += 1
        return done

    def revoke(
        self,
        partitions: Iterable[TP],
        flush: Callable[[], Any],
        commit_offsets: Callable[[Mapping[TP, int]], Any],
        offsets: Mapping[TP, int],
    ) -> None:
        """Checkpoint revoked partitions (forced snapshot) and forget them."""
        revoked = list(partitions)
        self.commit(flush, commit_offsets, offsets, force=revoked)
        for tp in revoked:
            self.states.pop(tp, None)
