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

A stop (``interrupt`` set, e.g. by SIGTERM through the runner) ends a restore that keeps
failing at once: the wait between attempts is the event's, and :meth:`Checkpointer.assign`
raises :class:`~connector.retry.Abandon` (the runner's clean-stop path) instead of waiting
out ``restore_timeout``.

State is one :class:`PartitionState` per assigned partition (a scorer and, for windowed
pipelines, a window aggregator): keys map to partitions, so per-key order and per-key models
follow the partition. The blob is versioned (:func:`connector.state_format.encode_state`).
The per-partition state lives in :mod:`connector.partition_state`, the gap replay in
:mod:`connector.replay`; both are re-exported here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from connector.partition_state import (
    PartitionState,
    Resume,
    SnapshotPolicy,
    StateFactory,
    plan_resume,
)
from connector.records import SourceRecord
from connector.replay import Replay, kafka_replay, point_scoring, read_range
from connector.retry import Abandon
from connector.state_store import FORMAT_NAME, StateStore, StateStoreError

__all__ = [
    "Checkpointer",
    "PartitionState",
    "Resume",
    "SnapshotPolicy",
    "StateFactory",
    "kafka_replay",
    "by_partition",
    "plan_resume",
    "read_range",
]

logger = logging.getLogger(__name__)

TP = tuple[str, int]


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


#: ``replay(topic, partition, start, end, state) -> records``: re-score ``[start, end)``
#: into ``state`` without writing any document.


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
    replay
        Re-scores a gap of a partition into its state (:func:`kafka_replay`); without it,
        gaps are skipped (the state then lags, and scores differ from an uninterrupted run).
    warm_start
        Train a partition with no state on its history before going live.
    grouped
        ``True`` with a consumer group: only assigned partitions keep state (records of a
        partition revoked meanwhile are scored by a throwaway state that is never stored).
        ``False`` for a file source: states are made on first use.
    restore_timeout
        Seconds :meth:`assign` keeps retrying an unreachable state store before raising.
    interrupt
        Set on a stop request (the runner's stop event, see :meth:`interrupt_on`): a restore
        retry in progress ends at once with :class:`~connector.retry.Abandon`.

    Examples
    --------
    A stop during a failing restore ends it at once, not after ``restore_timeout``:

    >>> import threading, time
    >>> class Refusing:  # a state store that answers with an error every time
    ...     def get(self, topic, partition):
    ...         raise StateStoreError("state index refused")
    >>> stop = threading.Event()
    >>> cp = Checkpointer(Refusing(), factory=None, restore_timeout=120.0, interrupt=stop)
    >>> _ = threading.Timer(0.2, stop.set).start()
    >>> began = time.monotonic()
    >>> try:
    ...     cp.assign([("t", 0)], {})
    ... except Abandon:
    ...     print("abandoned", time.monotonic() - began < 2.0)
    abandoned True
    """

    def __init__(
        self,
        store: StateStore,
        factory: StateFactory,
        policy: SnapshotPolicy | None = None,
        *,
        replay: Replay | None = None,
        warm_start: bool = False,
        grouped: bool = True,
        restore_timeout: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
        interrupt: threading.Event | None = None,
    ) -> None:
        self.store = store
        self.factory = factory
        self.policy = policy or SnapshotPolicy()
        self.replay = replay
        self.warm_start = warm_start
        self.grouped = grouped
        self.restore_timeout = restore_timeout
        self.clock = clock
        self.interrupt = interrupt if interrupt is not None else threading.Event()
        self.states: dict[TP, PartitionState] = {}
        self.stats = CheckpointStats()
        self._scored: dict[TP, PartitionState] = {}  # the states that scored the open batch
        self._assigned = False  # a first assignment is a start, the next ones rebalances

    def state(self, topic: str, partition: int) -> PartitionState:
        """The state of a partition (see ``grouped`` for partitions that are not assigned)."""
        st = self.states.get((topic, partition))
        if st is None:
            st = self.factory.fresh()
            if not self.grouped:
                self.states[(topic, partition)] = st
        return st

    def interrupt_on(self, event: threading.Event) -> None:
        """Use ``event`` (the runner's stop event) to end a failing restore at once."""
        self.interrupt = event

    def _get(self, tp: TP) -> Any:
        """The stored state of ``tp``, retried while the store fails (up to
        ``restore_timeout``); :class:`~connector.retry.Abandon` once ``interrupt`` is set."""
        delay, deadline = 0.5, self.clock() + self.restore_timeout
        while True:
            try:
                return self._get_once(tp)
            except StateStoreError as exc:
                if self.interrupt.is_set():
                    self._abandon(tp, exc)
                if self.clock() + delay > deadline:
                    raise
                logger.warning("state restore failed topic=%s partition=%s retry_in=%.1fs "
                               "error=%s", tp[0], tp[1], delay, exc)
                if self.interrupt.wait(delay):
                    self._abandon(tp, exc)
                delay = min(delay * 2, 10.0)

    def _get_once(self, tp: TP) -> Any:
        """One ``store.get`` that a stop cuts short: a server that accepts and never answers
        holds a request for the client's whole timeout (30 s), so the request runs in a
        daemon thread and the caller waits on it or on ``interrupt``, whichever comes first
        (an abandoned request ends with the process)."""
        done = threading.Event()
        outcome: list[Any] = []

        def request() -> None:
            try:
                outcome.append((True, self.store.get(*tp)))
            except BaseException as exc:  # handed to the caller below
                outcome.append((False, exc))
            finally:
                done.set()

        threading.Thread(target=request, name="state-restore", daemon=True).start()
        while not done.wait(0.05):
            if self.interrupt.is_set():
                raise StateStoreError(f"state restore of {tp[0]}[{tp[1]}] cut short by a stop "
                                      f"(the state store had not answered)")
        ok, value = outcome[0]
        if ok:
            return value
        raise value

    def _abandon(self, tp: TP, exc: Exception) -> None:
        logger.warning("stop requested during a failing state restore topic=%s partition=%s: "
                       "partition not started, nothing consumed or committed error=%s",
                       tp[0], tp[1], exc)
        raise Abandon() from exc

    def assign(
        self,
        partitions: Iterable[TP],
        committed: Mapping[TP, int | None],
        watermarks: Callable[[str, int], tuple[int, int]] | None = None,
    ) -> dict[TP, int | None]:
        """Restore state for new partitions, replay gaps; returns where each one resumes.

        **Blocks** on the state store (retried up to ``restore_timeout``) and on the replay
        (bounded by the snapshot policy; by the history's length with ``warm_start``).
        """
        starts: dict[TP, int | None] = {}
        event = "rebalance" if self._assigned else "start"
        self._assigned = True
        for tp in partitions:
            began = self.clock()
            stored = self._get(tp)
            st = self.factory.restore(stored.blob) if stored else self.factory.fresh()
            low = high = 0
            if stored is None and watermarks is not None and (
                    self.warm_start or committed.get(tp) is not None):
                low, high = watermarks(*tp)
            plan = plan_resume(stored.offset if stored else None, committed.get(tp),
                               warm_start=self.warm_start, low=low, high=high)
            restored = self.clock()
            if plan.replay_to > plan.replay_from and self.replay is not None:
                self.stats.replayed += self.replay(*tp, plan.replay_from, plan.replay_to, st)
                st.offset = plan.replay_to
                self.stats.replay_seconds += self.clock() - restored
            st.since, st.records = self.clock(), 0
            self.states[tp] = st
            self.stats.restores += 1
            self.stats.restore_seconds += restored - began
            starts[tp] = plan.start
            logger.info(
                "partition assigned event=%s topic=%s partition=%s state_offset=%s committed=%s "
                "start=%s replayed=%s restore_s=%.3f total_s=%.3f", event, tp[0], tp[1],
                stored.offset if stored else None, committed.get(tp), plan.start,
                plan.replay_to - plan.replay_from, restored - began, self.clock() - began,
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
        """Flush sinks, snapshot due (or ``force``\\ d) partitions, then commit ``offsets``.

        ``offsets`` (next offset per partition) are also what the states now cover: every
        record below them was scored (or rejected) before this call.
        """
        flush()
        scored, self._scored = self._scored, {}
        for tp, offset in offsets.items():
            st = self.states.get(tp)
            # A rebalance during the batch (while a write was retried) may have replaced the
            # state that scored it: the new one resumes at its own offset and relearns.
            if st is not None and (tp not in scored or scored[tp] is st):
                st.advance(offset)
        self.snapshot(force=force)
        commit_offsets(offsets)

    def snapshot(self, *, force: Iterable[TP] = ()) -> int:
        """Store the state of every partition that is due (or forced); returns how many."""
        forced, now, done = set(force), self.clock(), 0
        for tp, st in self.states.items():
            if st.offset is None or st.offset == st.stored_offset or st.pending:
                continue
            # never stored: snapshot at the first commit, so a crash rarely replays from zero
            due = st.stored_offset is None or self.policy.due(now - st.since, st.records)
            if tp not in forced and not due:
                continue
            began = self.clock()
            blob = st.snapshot()
            try:
                self.store.put(tp[0], tp[1], st.offset, blob, FORMAT_NAME)
            except StateStoreError as exc:
                # Safe to go on: the stored state only lags, and the next restore replays
                # the gap. The offsets are still committed (their documents are written).
                logger.warning("state snapshot failed topic=%s partition=%s offset=%s "
                               "error=%s", tp[0], tp[1], st.offset, exc)
                continue
            self.stats.snapshots += 1
            self.stats.snapshot_bytes += len(blob)
            self.stats.snapshot_seconds += self.clock() - began
            st.stored_offset, st.records, st.since = st.offset, 0, self.clock()
            done += 1
        return done

    def revoke(self, partitions: Iterable[TP]) -> None:
        """Snapshot revoked partitions (forced) and forget them.

        The runner commits every batch after flushing it, so by the time a rebalance runs
        (inside the consumer's poll) everything scored is flushed and committed.
        """
        revoked = [tp for tp in partitions if tp in self.states]
        try:
            self.snapshot(force=revoked)
        finally:
            for tp in revoked:
                self.states.pop(tp, None)

    def lose(self, partitions: Iterable[TP]) -> None:
        """Forget partitions taken away without a revoke (session lost): no snapshot."""
        for tp in partitions:
            self.states.pop(tp, None)


def by_partition(
    checkpointer: Checkpointer, scoring: Any, records: list[SourceRecord]
) -> Iterator[tuple[Any, Any, list[SourceRecord]]]:
    """Split a batch by partition: ``(transform, scoring, records)`` per partition, in order.

    ``scoring`` (a :class:`connector.scoring.Scoring`) is pointed at the partition's scorer
    for the time its slice is processed, so consume each item before asking for the next.
    The partition's state is marked ``pending`` until :meth:`Checkpointer.commit` covers it.
    """
    groups: dict[TP, list[SourceRecord]] = defaultdict(list)
    for rec in records:
        groups[(rec.topic, rec.partition)].append(rec)
    for tp, part in groups.items():
        st = checkpointer.state(*tp)
        st.pending = True
        checkpointer._scored[tp] = st
        point_scoring(scoring, st)
        yield st.transform, scoring, part
