"""A batch's Kafka outputs, after OpenSearch acknowledged its documents: dead letters, then
events for flagged documents, each flushed (with the runner's retry) before the commit.

Both sinks may be fenced (:mod:`connector.sinks.fence`): on every partition assignment
:meth:`KafkaOutputs.assigned` lets them learn what their topics already hold, so the outputs
of records replayed after a crash or a rebalance are not produced twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from typing import Any

from connector.records import Document, Rejection, SourceRecord, origin

__all__ = ["KafkaOutputs"]

logger = logging.getLogger(__name__)

#: ``retry(write, what, records) -> result``: the runner's retry of a failing write.
Retry = Callable[[Callable[[], Any], str, list[SourceRecord]], Any]


class KafkaOutputs:
    """The error topic and the events topic of one runner.

    Parameters
    ----------
    errors
        :class:`~connector.sinks.kafka.ErrorTopicSink`, or ``None`` (dead letters only logged).
    events
        ``(EventSink, make_event(body) -> event | None)``, or ``None``.

    Examples
    --------
    >>> out = KafkaOutputs(None, None)
    >>> out.fenced, out.emit_events([], [], None)
    ([], 0)
    """

    def __init__(self, errors: Any = None,
                 events: tuple[Any, Callable[[dict], Any]] | None = None) -> None:
        self.errors = errors
        self.events = events
        #: dead letters delivered (or already in the topic, or only logged without one) and
        #: events delivered, counted as they happen: a stop mid-flush keeps what was done
        self.dead_lettered = 0
        self.emitted = 0

    @property
    def undeliverable(self) -> int:
        """Outputs too large for their topic even truncated (logged and dropped)."""
        return sum(getattr(s, "undeliverable", 0) for s in self._sinks())

    @property
    def truncated(self) -> int:
        """Outputs sent cut to their first bytes (too large for their topic)."""
        return sum(getattr(s, "truncated", 0) for s in self._sinks())

    def _sinks(self) -> list[Any]:
        sinks = (self.errors, self.events[0] if self.events else None)
        return [s for s in sinks if s is not None]

    def interrupt_on(self, stop: threading.Event) -> None:
        """A flush in progress stops waiting for the broker once ``stop`` is set."""
        for sink in self._sinks():
            if hasattr(sink, "interrupt"):
                sink.interrupt = stop

    @property
    def fenced(self) -> list[Any]:
        """The sinks that skip outputs their topic already holds."""
        sinks = (self.errors, self.events[0] if self.events else None)
        return [s for s in sinks if getattr(s, "fences", None) is not None]

    def assigned(self, partitions: list[tuple[str, int]]) -> None:
        """Source partitions were assigned: fenced sinks read what they already hold."""
        for sink in self.fenced:
            sink.assigned(partitions)

    def dead_letter(self, rejections: list[Rejection], records: list[SourceRecord],
                    retry: Retry) -> None:
        """Log and produce every rejection (**blocks** until delivered)."""
        errors = self.errors
        before = _done(errors)
        for rej in rejections:
            rec = rej.record
            logger.warning(
                "dead letter topic=%s partition=%s offset=%s status=%s reason=%s",
                rec.topic, rec.partition, rec.offset, rej.status, rej.reason[:300],
            )
            if self.errors is not None:
                self.errors.add(rej)
        if errors is None or before is None:  # only logged, or a sink that does not count
            if errors is not None and len(errors):
                retry(errors.flush, "error topic produce", records)
            self.dead_lettered += len(rejections)
            return
        try:
            if len(errors):
                retry(errors.flush, "error topic produce", records)
        finally:
            self.dead_lettered += _done(errors) - before

    def emit_events(self, docs: list[Document], records: list[SourceRecord],
                    retry: Retry, skip: Collection[tuple[str, int]] = ()) -> int:
        """Produce an event per matching document (**blocks**); returns how many.

        Documents from the ``skip`` partitions (revoked during the batch) emit nothing.
        """
        if self.events is None:
            return 0
        sink, make_event = self.events
        for doc in docs:
            where = origin(doc)
            if skip and where is not None and (where[0], where[1]) in skip:
                continue
            event = make_event(doc.body) if doc.body is not None else None
            if event is not None:
                sink.add(event, key=doc.body["outlier"]["key"], origin=where)
        before = getattr(sink, "acknowledged", 0)
        try:
            return retry(sink.flush, "events produce", records) if len(sink) else 0
        finally:
            self.emitted += getattr(sink, "acknowledged", 0) - before


def _done(sink: Any) -> int | None:
    """Outputs a sink delivered or found already in its topic (``None``: it does not count)."""
    if sink is None or not hasattr(sink, "acknowledged"):
        return None
    return sink.acknowledged + sink.skipped
