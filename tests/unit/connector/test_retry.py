"""The retry policy: same write again, source paused meanwhile, capped doubling waits."""

from __future__ import annotations

import pytest

from connector.errors import Backpressure, SinkError
from connector.records import SourceRecord
from connector.retry import Abandon, Retrier, backoff_delays

RECORDS = [SourceRecord("t", 0, 5, b"v")]


class _Calls:
    """Records what the retrier asks of its source (plain values, no broker behind it)."""

    def __init__(self, arrivals=()):
        self.log = []
        self.arrivals = list(arrivals)

    def pause(self):
        self.log.append("pause")

    def resume(self):
        self.log.append("resume")

    def idle(self, seconds, interrupt=None):
        self.log.append(("idle", seconds))
        return [self.arrivals.pop(0)] if self.arrivals else []


def _failing(times, exc):
    calls = {"n": 0}

    def write():
        calls["n"] += 1
        if calls["n"] <= times:
            raise exc
        return "done"

    return write, calls


def test_backoff_doubles_up_to_the_cap():
    assert backoff_delays(1.0, 5.0, 5) == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_retries_the_same_write_with_the_source_paused_once():
    late = SourceRecord("t", 1, 0, b"x")
    source = _Calls(arrivals=[late])
    counted = []
    retrier = Retrier(source, 0.01, 0.03, lambda: False, lambda: counted.append(1))
    write, calls = _failing(3, SinkError("connection refused"))
    assert retrier.call(write, "bulk", RECORDS) == "done"
    assert calls["n"] == 4 and retrier.retries == 3 and len(counted) == 3
    assert source.log == ["pause", ("idle", 0.01), ("idle", 0.02), ("idle", 0.03), "resume"]
    assert retrier.held == [late]  # arrived during the pause: kept, not dropped


def test_backpressure_waits_at_least_its_retry_after():
    source = _Calls()
    retrier = Retrier(source, 0.01, 1.0, lambda: False)
    write, _ = _failing(1, Backpressure(0.05))
    retrier.call(write, "bulk", RECORDS)
    assert ("idle", 0.05) in source.log


def test_a_first_failure_handed_in_is_waited_on_before_writing_again():
    source = _Calls()
    write, calls = _failing(0, SinkError("x"))
    Retrier(source, 0.01, 1.0, lambda: False).call(write, "bulk", RECORDS, SinkError("first"))
    assert calls["n"] == 1 and source.log[:2] == ["pause", ("idle", 0.01)]


def test_a_stop_during_an_outage_abandons_the_batch():
    source = _Calls()
    write, calls = _failing(10, SinkError("down"))
    with pytest.raises(Abandon):
        Retrier(source, 0.01, 1.0, lambda: True).call(write, "bulk", RECORDS)
    assert calls["n"] == 1 and "pause" not in source.log


def test_other_errors_are_not_retried():
    write, calls = _failing(1, ValueError("bug"))
    with pytest.raises(ValueError):
        Retrier(_Calls(), 0.01, 1.0, lambda: False).call(write, "bulk", RECORDS)
    assert calls["n"] == 1


def test_a_stop_during_a_backoff_ends_the_wait_at_once():
    import threading
    import time

    stop = threading.Event()

    class _Waits(_Calls):
        def idle(self, seconds, interrupt=None):
            self.log.append(("idle", seconds))
            threading.Timer(0.05, stop.set).start()  # SIGTERM arrives during the wait
            (interrupt or threading.Event()).wait(seconds)
            return []

    source = _Waits()
    write, calls = _failing(10, SinkError("down"))
    began = time.monotonic()
    with pytest.raises(Abandon):
        Retrier(source, 30.0, 30.0, stop.is_set, interrupt=stop).call(write, "bulk", RECORDS)
    assert time.monotonic() - began < 1.0  # not the 30 s backoff
    assert calls["n"] == 1 and source.log == ["pause", ("idle", 30.0), "resume"]
