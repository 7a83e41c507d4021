"""Fenced Kafka outputs on plain values: order, partition choice and skipping (no I/O)."""

from __future__ import annotations

from confluent_kafka import Producer

from connector.records import Document, SourceRecord, origin, rejection_of
from connector.sinks.fence import Fences
from connector.sinks.kafka import ErrorTopicSink, error_headers
from connector.sinks.kafka import _Message as Message


def _fenced(fence: dict) -> Fences:
    fences = Fences("t.errors", {"bootstrap.servers": "127.0.0.1:1"})
    fences.aligned = True
    fences._fence.update(fence)
    return fences


def test_outputs_at_or_below_the_fence_are_skipped_and_the_rest_queued():
    # no broker is contacted: add() only queues, and the producer connects lazily
    sink = ErrorTopicSink(Producer({"bootstrap.servers": "127.0.0.1:1"}), "t.errors",
                          fences=_fenced({("t", 0): (7, ""), ("t", 1): None}))
    window = Document("p+k+0", "", "{}", trigger=("t", 0, 7))
    queued = [
        sink.add(rejection_of(Document("t+0+5", "", "{}", SourceRecord("t", 0, 5, b"x")), "r")),
        sink.add(rejection_of(Document("t+0+7", "", "{}", SourceRecord("t", 0, 7, b"x")), "r")),
        sink.add(rejection_of(window, "too big", 400)),  # same record, after it: not yet there
        sink.add(rejection_of(Document("t+1+0", "", "{}", SourceRecord("t", 1, 0, b"x")), "r")),
        sink.add(rejection_of(Document("t+2+0", "", "{}", SourceRecord("t", 2, 0, b"x")), "r")),
    ]
    assert queued == [False, False, True, True, True]  # partition 2: fence unknown, produce
    assert (sink.skipped, len(sink)) == (2, 3)


def test_outputs_are_produced_in_source_order_and_to_their_source_partition():
    fences = _fenced({})
    late = Message(None, b"", None, ("t", 0, 9, None))
    window = Message(None, b"", None, ("t", 0, 4, "p+k+0"))
    first = Message(None, b"", None, ("t", 0, 4, None))
    other = Message(None, b"", None, ("t", 1, 1, None))
    loose = Message(None, b"", None, None)
    ordered = sorted([loose, late, window, other, first], key=Message.order)
    assert ordered == [first, window, late, other, loose]
    assert [fences.partition(m.origin) for m in ordered] == [0, 0, 0, 1, None]
    fences.aligned = False
    assert fences.partition(first.origin) is None and not fences.seen(first.origin)


def test_a_refused_window_is_dead_lettered_at_the_record_that_closed_it():
    doc = Document("tolls+Exit79+0", "", '{"count": 300}', trigger=("tolls", 2, 90))
    headers = dict(error_headers(rejection_of(doc, "out of range", 400)))
    assert headers["source.partition"] == b"2" and headers["source.offset"] == b"90"
    assert headers["window.id"] == b"tolls+Exit79+0" and origin(doc)[3] == "tolls+Exit79+0"
