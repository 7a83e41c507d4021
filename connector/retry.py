"""Retrying a failed write while the source is paused: capped exponential backoff.

When OpenSearch (or the Kafka producer) fails a whole write, the runner must neither drop
the batch nor commit it. :meth:`Retrier.call` repeats the same write, **blocking** the
caller: it pauses the source's partitions (nothing new is fetched), waits ``initial``,
``2 × initial``, … up to ``maximum`` seconds between attempts while the consumer keeps
polling (so it stays in its group), and resumes the partitions once the write succeeded.
Records the source hands over anyway during the pause (partitions assigned meanwhile) are
kept in :attr:`Retrier.held` for the runner to process next, never dropped.

A stop (``interrupt`` set, e.g. by SIGTERM) cuts a wait short at once: the source's
``idle(seconds, interrupt)`` returns when the event is set, and the call raises
:class:`Abandon` without waiting out the backoff.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from connector.errors import Backpressure, SinkError
from connector.records import SourceRecord

__all__ = ["Abandon", "Retrier", "backoff_delays"]

logger = logging.getLogger(__name__)

RETRYABLE = (SinkError, Backpressure)


class Abandon(Exception):
    """A stop was requested while a write kept failing: leave the batch uncommitted."""


def backoff_delays(initial: float, maximum: float, count: int) -> list[float]:
    """The first ``count`` waits between attempts.

    Examples
    --------
    >>> backoff_delays(0.5, 4.0, 6)
    [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    """
    delays, delay = [], initial
    for _ in range(count):
        delays.append(min(maximum, delay))
        delay = min(maximum, delay * 2)
    return delays


class Retrier:
    """Repeats a write until it succeeds, pausing ``source`` meanwhile.

    Parameters
    ----------
    source
        Has ``pause()``, ``resume()`` and ``idle(seconds, interrupt) -> records`` (returning
        early once ``interrupt`` is set).
    initial, maximum
        First wait and cap, in seconds.
    stopping
        Returns True once a stop was requested: the next failure raises :class:`Abandon`.
    on_retry
        Called before each wait (the runner counts retries in its stats).
    interrupt
        Set on a stop request: a wait in progress ends at once (then :class:`Abandon`).
    """

    def __init__(self, source: Any, initial: float, maximum: float,
                 stopping: Callable[[], bool], on_retry: Callable[[], None] | None = None,
                 interrupt: threading.Event | None = None) -> None:
        self.source = source
        self.initial = initial
        self.maximum = maximum
        self.stopping = stopping
        self.on_retry = on_retry
        self.interrupt = interrupt if interrupt is not None else threading.Event()
        self.retries = 0
        self.held: list[SourceRecord] = []

    def call(self, write: Callable[[], Any], what: str, records: list[SourceRecord],
             failed: Exception | None = None) -> Any:
        """``write()`` until it returns; ``failed``: the first attempt already raised that."""
        delay = self.initial
        paused = False
        tries = 0
        try:
            while True:
                if failed is None:
                    try:
                        result = write()
                    except RETRYABLE as exc:
                        failed = exc
                    else:
                        if tries:
                            logger.info("%s recovered after %d retries", what, tries)
                        return result
                first = records[0]
                logger.warning(
                    "%s failed topic=%s partition=%s offset=%s batch=%d retry_in=%.1fs error=%s",
                    what, first.topic, first.partition, first.offset, len(records), delay, failed,
                )
                if self.stopping():
                    logger.warning("stop requested during outage: batch left uncommitted")
                    raise Abandon() from failed
                if not paused:
                    self.source.pause()
                    paused = True
                self.retries += 1
                tries += 1
                if self.on_retry is not None:
                    self.on_retry()
                wait = min(self.maximum, max(delay, getattr(failed, "retry_after", 0.0)))
                self.held.extend(self.source.idle(wait, self.interrupt))
                if self.stopping():
                    logger.warning("stop requested during a backoff: batch left uncommitted")
                    raise Abandon() from failed
                delay = min(self.maximum, delay * 2)
                failed = None
        finally:
            if paused:
                self.source.resume()
