"""The poll loop: consume a batch, prepare, score, bulk-write, dead-letter, commit.

One batch at a time, in this order, so a committed offset never passes a document that
OpenSearch did not acknowledge (at-least-once; deterministic ids make replays harmless):

1. ``source.consume()`` a batch (**blocks** up to the source's poll timeout when idle);
2. ``transform.prepare`` each record; a bad one becomes a dead letter, never an exception;
3. score the whole batch at once and build the documents (:mod:`connector.scoring`);
4. bulk-write them; on :class:`~connector.errors.SinkError` or ``Backpressure`` the source's
   partitions are paused and the *same* documents are retried with capped exponential
   backoff (the consumer keeps polling, so it stays in its group), then resumed;
5. add OpenSearch's per-document rejections to the dead letters; produce and flush them
   (and events for flagged outliers), with the same retry;
6. commit the batch's offsets.

Steps 4–6 of batch *N* overlap steps 1–3 of batch *N + 1*: one bulk request is in flight on
a writer thread while the next batch is scored, and *N* is committed (after its ack) before
*N + 1*'s bulk starts, so commits stay in order. With checkpoints batches do not overlap (a
snapshot never holds learning past the offsets committed with it). SIGINT/SIGTERM finish
the current batch, flush and commit, then :meth:`Runner.run` returns; a stop while a write
keeps failing interrupts the backoff at once and leaves that batch uncommitted (replayed by
the next run). The stats count what really happened either way: documents acknowledged and
dead letters delivered before the stop, and the records left uncommitted.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from connector.checkpoint import Checkpointer, by_partition
from connector.errors import RecordRejected
from connector.outputs import KafkaOutputs
from connector.ownership import Ownership, listen
from connector.records import (
    Document,
    Rejection,
    RunStats,
    SourceRecord,
    rejection_of,
    window_record,
)
from connector.retry import RETRYABLE, Abandon, Retrier
from connector.sources.kafka import cap_offsets, next_offsets

__all__ = ["Runner", "RunStats"]

logger = logging.getLogger(__name__)

_PREPARE_ERRORS = (RecordRejected, ValueError, TypeError, KeyError, AttributeError)


@dataclass(slots=True)
class _Batch:
    """A scored batch on its way: documents written (``future``), then dead letters, commit."""

    records: list[SourceRecord]
    docs: list[Document]
    rejections: list[Rejection]
    stamp: dict[tuple[str, int], int | None]  # partition epochs when consumed (Ownership)
    future: Future | None = field(default=None, repr=False)


class Runner:
    """Wires a source, a transform, scoring and sinks into the at-least-once loop.

    Parameters
    ----------
    source, transform, scoring, sink
        ``KafkaSource``/``FileSource``; ``prepare(bytes)`` raising ``RecordRejected``;
        :class:`~connector.scoring.Scoring`; :class:`~connector.sinks.opensearch.OpenSearchSink`.
    errors
        :class:`connector.sinks.kafka.ErrorTopicSink` (``None``: dead letters only logged).
    events
        Optional ``(EventSink, make_event(body) -> event | None)`` for flagged outliers.
    initial_backoff, max_backoff
        Seconds between retries of a failed write: doubling from the first, capped.
    """

    def __init__(
        self,
        source: Any,
        transform: Any,
        scoring: Any,
        sink: Any,
        errors: Any = None,
        events: tuple[Any, Callable[[dict], Any]] | None = None,
        *,
        initial_backoff: float = 0.5,
        max_backoff: float = 30.0,
        progress_every: float = 10.0,
        stop_grace: float = 10.0,
    ) -> None:
        self.source = source
        self.transform = transform
        self.scoring = scoring
        self.sink = sink
        self.outputs = KafkaOutputs(errors, events)
        self.progress_every = progress_every
        self.stop_grace = stop_grace
        self.stats = RunStats()
        self._stopping = False
        self._stop_event = threading.Event()  # ends a backoff or a producer flush at once
        self._retrier = Retrier(source, initial_backoff, max_backoff, lambda: self._stopping,
                                self._count_retry, self._stop_event)
        self.outputs.interrupt_on(self._stop_event)
        self._inflight: _Batch | None = None
        self._staged = 0  # records taken into batches (written or not)
        self._done = 0  # records of finished batches (committed, or left to a new owner)
        self.checkpointer: Checkpointer | None = None
        self.ownership = Ownership()
        listen(source, self.ownership, self.outputs, None)

    # -- lifecycle ---------------------------------------------------------------------------
    def stop(self, signum: int | None = None, _frame: Any = None) -> None:
        """Ask the loop to finish the current batch, commit it and return.

        A second signal interrupts at once (the unfinished batch stays uncommitted and is
        replayed by the next run).
        """
        if self._stopping and signum is not None:
            logger.warning("second signal: exiting without finishing the batch")
            raise KeyboardInterrupt
        if not self._stopping:
            logger.info("stop requested: finishing the current batch")
        self._stopping = True
        self._stop_event.set()

    def install_signal_handlers(self) -> None:
        """SIGINT and SIGTERM call :meth:`stop` (main thread only)."""
        signal.signal(signal.SIGINT, self.stop)
        signal.signal(signal.SIGTERM, self.stop)

    def run(
        self,
        *,
        max_records: int | None = None,
        idle_timeout: float | None = None,
        on_progress: Callable[[RunStats], None] | None = None,
    ) -> RunStats:
        """Loop until stopped, ``max_records`` processed, input exhausted or idle too long.

        ``idle_timeout`` counts from the last record or the last partition assignment of a
        Kafka source, whichever came later (waiting for the group does not count).
        """
        stats = self.stats
        stats.started = time.monotonic()
        last_record = last_progress = stats.started
        try:
            while not self._stopping:
                held, self._retrier.held = self._retrier.held, []
                records = held or self.source.consume()
                now = time.monotonic()
                if records:
                    if max_records is not None:
                        records = records[: max_records - self._staged]
                    batch = self._stage(records)  # overlaps the previous batch's bulk
                    self._finish()
                    self._submit(batch)
                    if self.checkpointer is not None:
                        self._finish()
                    last_record = now = time.monotonic()
                else:
                    self._finish()
                    if getattr(self.source, "exhausted", False):
                        self._drain()
                        break
                    # idle counts from the group's assignment, not the wait for the group
                    assigned_at = getattr(self.source, "assigned_at", last_record)
                    last_record = now if assigned_at is None else max(last_record, assigned_at)
                    if idle_timeout is not None and now - last_record >= idle_timeout:
                        logger.info("idle for %.1fs: stopping", idle_timeout)
                        break
                if now - last_progress >= self.progress_every:
                    last_progress = now
                    self._log_progress()
                    if on_progress is not None:
                        on_progress(stats)
                if max_records is not None and self._staged >= max_records:
                    break
            self._finish()
        except Abandon:
            stats.abandoned = True
        finally:
            self.source.close()
            self._count_outputs()
            stats.uncommitted = self._staged - self._done
        self._log_progress()
        return stats

    def _count_outputs(self) -> None:
        self.stats.dead_lettered = self.outputs.dead_lettered
        self.stats.events = self.outputs.emitted
        self.stats.truncated = self.outputs.truncated
        self.stats.undeliverable = self.outputs.undeliverable

    def _count_retry(self) -> None:
        self.stats.retries += 1

    # -- checkpoints (connector.checkpoint) ----------------------------------------------------
    def use_checkpoints(self, checkpointer: Checkpointer) -> None:
        """Keep model state per partition: restored on assign, snapshotted on commit/revoke."""
        self.checkpointer = checkpointer
        checkpointer.interrupt_on(self._stop_event)  # a stop ends a failing restore at once
        listen(self.source, self.ownership, self.outputs, checkpointer)

    def _partitions(self, records: list[SourceRecord]) -> Any:
        if self.checkpointer is None:
            return [(self.transform, self.scoring, records)]
        return by_partition(self.checkpointer, self.scoring, records)

    def _commit(self, offsets: dict[tuple[str, int], int]) -> None:
        if self.checkpointer is None:
            self.source.commit(offsets)
        else:  # sinks are flushed: snapshot the partitions that are due, then commit
            self.checkpointer.commit(lambda: None, self.source.commit, offsets)

    # -- one batch -----------------------------------------------------------------------------
    def _stage(self, records: list[SourceRecord]) -> _Batch:
        """Prepare and score a batch (CPU only: no I/O happens here)."""
        began = time.monotonic()
        if not self.stats.first_batch:
            self.stats.first_batch = began
        self._staged += len(records)
        self.stats.records += len(records)
        docs, rejections = [], []
        for transform, scoring, part in self._partitions(records):
            part_docs, part_rejections = self._score(transform, scoring, part)
            docs += part_docs
            rejections += part_rejections
        self.stats.stage_seconds += time.monotonic() - began
        stamp = self.ownership.stamp({(r.topic, r.partition) for r in records})
        return _Batch(records, docs, rejections, stamp)

    def _submit(self, batch: _Batch) -> None:
        """Start the batch's bulk request on a writer thread (one in flight at most)."""
        self.sink.add(batch.docs)
        batch.future = _in_thread(self.sink.flush)
        self._inflight = batch

    def _result(self, future: Future) -> Any:
        """The bulk's outcome; after a stop, ``stop_grace`` s at most (then :class:`Abandon`:
        a request that hangs, OpenSearch not answering, does not hold the stop for the
        client's whole timeout)."""
        stopped_at = None
        while True:
            try:
                return future.result(timeout=0.2)
            except FutureTimeout:
                if not self._stop_event.is_set():
                    continue
                stopped_at = stopped_at or time.monotonic()
                if time.monotonic() - stopped_at >= self.stop_grace:
                    logger.warning("stop requested: the bulk request got no answer within "
                                   "%.0fs, batch left uncommitted", self.stop_grace)
                    raise Abandon() from None

    def _finish(self) -> None:
        """Wait for the in-flight bulk (retrying it if it failed), dead-letter, emit, commit."""
        batch, self._inflight = self._inflight, None
        if batch is None:
            return
        records, docs, rejections = batch.records, batch.docs, batch.rejections
        began = time.monotonic()
        try:
            outcome = self._result(batch.future)
        except RETRYABLE as exc:  # the sink kept the documents: write them again
            outcome = self._retrier.call(self.sink.flush, "opensearch bulk", records, exc)
        self.stats.wait_seconds += time.monotonic() - began
        self.stats.indexed += outcome.indexed  # acknowledged: counted even if a stop follows
        self.stats.duplicates += outcome.duplicates
        self.stats.flagged += sum(1 for d in docs if d.flagged)
        for doc, status, reason in outcome.rejected:
            rejections.append(rejection_of(doc, reason, status))
        stale = self.ownership.stale(batch.stamp)
        if stale:  # revoked meanwhile: their new incarnation replays them (connector.ownership)
            logger.warning("partitions revoked during the batch: outputs and commit left to "
                           "their new owner partitions=%s", sorted(stale))
            rejections = [r for r in rejections
                          if (r.record.topic, r.record.partition) not in stale]
        self.outputs.dead_letter(rejections, records, self._retrier.call)
        self.outputs.emit_events(docs, records, self._retrier.call, stale)
        offsets = next_offsets(r.position for r in records if (r.topic, r.partition) not in stale)
        if self.checkpointer is None:  # else window state is in the partitions' snapshots
            offsets = cap_offsets(offsets, self.scoring.hold())
        self._commit(offsets)
        stats = self.stats
        stats.batches += 1
        self._done += len(records)
        self._count_outputs()
        stats.last_batch = time.monotonic()

    def _score(
        self, transform: Any, scoring: Any, records: list[SourceRecord]
    ) -> tuple[list[Document], list[Rejection]]:
        prepared, kept, rejections = [], [], []
        prepare = transform.prepare
        for rec in records:
            try:
                if rec.value is None:
                    raise RecordRejected("empty value (tombstone)")
                p = prepare(rec.value)
            except _PREPARE_ERRORS as exc:
                reason = exc.reason if isinstance(exc, RecordRejected) else repr(exc)
                rejections.append(Rejection(rec, reason))
            else:
                prepared.append(p)
                kept.append(rec)
        docs, unscored = scoring.documents(prepared, kept)
        return docs, rejections + unscored

    def _drain(self) -> None:
        """End of a finite input: write what the scoring still holds (open windows)."""
        docs = self.scoring.drain()
        if docs:
            self.sink.add(docs)
            outcome = self._retrier.call(self.sink.flush, "opensearch bulk",
                                         [window_record(docs[0])])
            self.stats.indexed += outcome.indexed
            self.stats.flagged += sum(1 for d in docs if d.flagged)

    def _log_progress(self) -> None:
        s = self.stats
        logger.info(
            "progress records=%d indexed=%d duplicates=%d dead_lettered=%d truncated=%d "
            "undeliverable=%d flagged=%d rate=%.0f/s retries=%d", s.records, s.indexed,
            s.duplicates, s.dead_lettered, s.truncated, s.undeliverable, s.flagged, s.rate(),
            s.retries,
        )


def _in_thread(call: Callable[[], Any]) -> Future:
    """Run ``call`` on a daemon thread: a request still hanging when the process exits after
    a stop does not keep it alive (a pool's threads are joined at exit)."""
    future: Future = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(call())
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting runner
            future.set_exception(exc)

    threading.Thread(target=run, name="bulk", daemon=True).start()
    return future
