"""Poison messages too large for the error topic never block their partition (real broker).

A 2 MB malformed record is over the producer's ``message.max.bytes`` (librdkafka's 1 MB
default); a 200 KB one is over the error topic's ``max.message.bytes`` (64 KB here, the
broker refuses it). Both are dead-lettered truncated, with headers saying what was cut.
With an error topic too small for even the truncated stand-in, the record is counted as
undeliverable and the partition's other records are still indexed and committed.
"""

from __future__ import annotations

import hashlib
import threading

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import NewTopic

from connector.sinks.oversize import PREVIEW_BYTES
from connector.testing import (
    committed_offsets,
    doc_offsets,
    gameday_runner,
    gameday_value,
    read_topic,
    unique,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def topics(kafka_admin):
    """``make(errors_limit) -> source topic`` (3 MB records allowed; ``<topic>.errors``
    created with ``max.message.bytes = errors_limit``); both deleted afterwards."""
    made: list[str] = []

    def make(errors_limit: int) -> str:
        topic = unique("test-oversize")
        new = [NewTopic(topic, 1, 1, config={"max.message.bytes": "3000000"}),
               NewTopic(f"{topic}.errors", 1, 1,
                        config={"max.message.bytes": str(errors_limit)})]
        for future in kafka_admin.create_topics(new).values():
            future.result(30)
        made.extend(t.topic for t in new)
        return topic

    yield make
    for future in kafka_admin.delete_topics(made, operation_timeout=30).values():
        future.result(60)


def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "message.max.bytes": 3_000_000})
    failed: list[str] = []
    for value in values:
        producer.produce(topic, value, on_delivery=lambda e, _m: e and failed.append(str(e)))
        producer.poll(0)
    assert producer.flush(60) == 0 and not failed, failed


def _run(bootstrap, opensearch_url, topic, index, count):
    """Run until ``count`` records; fail (instead of hanging) if the partition is stuck."""
    group = unique("g")
    runner = gameday_runner(bootstrap, opensearch_url, topic, index, group, batch_size=100,
                            max_backoff=1.0)
    worker = threading.Thread(target=runner.run, kwargs={"max_records": count}, daemon=True)
    worker.start()
    worker.join(120)
    stuck = worker.is_alive()
    if stuck:
        runner.stop()
        worker.join(30)
    assert not stuck, f"partition blocked: {runner.stats}"
    return runner, group


def test_oversized_dead_letters_are_sent_truncated_and_never_block(
    kafka_bootstrap, opensearch_url, opensearch, topics, index_name_factory
):
    topic, index = topics(64 * 1024), index_name_factory()
    huge = b"{" + b"x" * (2 * 1024 * 1024)  # malformed JSON, 2 MB
    big = b"[" + b"y" * (200 * 1024)  # malformed JSON, 200 KB: over the topic's 64 KB
    values = ([gameday_value(i) for i in range(100)] + [huge]
              + [gameday_value(i) for i in range(100, 200)] + [big]
              + [gameday_value(i) for i in range(200, 300)])
    _produce(kafka_bootstrap, topic, values)

    runner, group = _run(kafka_bootstrap, opensearch_url, topic, index, len(values))
    stats = runner.stats
    assert (stats.records, stats.indexed, stats.dead_lettered) == (302, 300, 2), stats
    assert (stats.truncated, stats.undeliverable, stats.uncommitted) == (2, 0, 0), stats
    assert committed_offsets(kafka_bootstrap, group, topic) == {0: len(values)}
    assert len(doc_offsets(opensearch, index)) == 300

    letters = sorted(read_topic(kafka_bootstrap, f"{topic}.errors", 3, timeout=20),
                     key=lambda m: m.offset())
    assert len(letters) == 2
    for letter, original, offset in zip(letters, (huge, big), (100, 201), strict=True):
        headers = dict(letter.headers())
        assert letter.value() == original[:PREVIEW_BYTES]
        assert headers["error.truncated"] == b"true"
        assert headers["original.size"] == str(len(original)).encode()
        assert headers["original.sha256"] == hashlib.sha256(original).hexdigest().encode()
        assert headers["source.topic"] == topic.encode()
        assert headers["source.partition"] == b"0"
        assert headers["source.offset"] == str(offset).encode()
        assert headers["error.reason"]


def test_a_record_that_cannot_be_dead_lettered_is_counted_and_does_not_block(
    kafka_bootstrap, opensearch_url, opensearch, topics, index_name_factory
):
    # 600 bytes: a small dead letter fits, a truncated 1 KB preview with its headers does not
    topic, index = topics(600), index_name_factory()
    values = ([gameday_value(i) for i in range(50)] + [b"{" + b"z" * 300_000, b"{short"]
              + [gameday_value(i) for i in range(50, 100)])
    _produce(kafka_bootstrap, topic, values)
    runner, group = _run(kafka_bootstrap, opensearch_url, topic, index, len(values))
    stats = runner.stats
    assert (stats.records, stats.indexed, stats.dead_lettered) == (102, 100, 1), stats
    assert (stats.undeliverable, stats.uncommitted) == (1, 0), stats
    assert committed_offsets(kafka_bootstrap, group, topic) == {0: len(values)}
    letters = read_topic(kafka_bootstrap, f"{topic}.errors", 2, timeout=15)
    assert [m.value() for m in letters] == [b"{short"]
    assert len(doc_offsets(opensearch, index)) == 100
