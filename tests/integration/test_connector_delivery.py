"""Delivery on the real servers: documents, dead letters, commits, restart and replay."""

from __future__ import annotations

import json

import pytest

from connector.testing import (
    committed_offsets,
    doc_offsets,
    gameday_runner,
    gameday_value,
    produce,
    read_topic,
    unique,
)

pytestmark = pytest.mark.integration

# offset -> a value the gameday pipeline must reject
BAD = {
    3: b"not json at all",
    40: b'{"start": "LOG_START", "log_message": {}, "stop": "LOG_END"}',
    41: b'{"start": "WRONG", "log_message": {"timestamp": 1}, "stop": "LOG_END"}',
    97: gameday_value(97, timestamp="yesterday"),
    150: None,  # a tombstone
}


def _values(n: int, bad: dict[int, bytes | None]) -> list[bytes | None]:
    return [bad[i] if i in bad else gameday_value(i) for i in range(n)]


def _runner(kafka_bootstrap, opensearch_url, topic, index, group, **kwargs):
    return gameday_runner(kafka_bootstrap, opensearch_url, topic, index, group, **kwargs)


def test_every_record_is_one_document_or_one_dead_letter(
    kafka_bootstrap, opensearch_url, opensearch, topic_factory, index_name_factory
):
    topic, index, group = topic_factory(), index_name_factory(), unique("g")
    n = 200
    produce(kafka_bootstrap, topic, _values(n, BAD))
    runner = _runner(kafka_bootstrap, opensearch_url, topic, index, group, batch_size=64)
    stats = runner.run(max_records=n, idle_timeout=60)

    assert (stats.records, stats.indexed, stats.dead_lettered) == (n, n - len(BAD), len(BAD))
    assert doc_offsets(opensearch, index) == [i for i in range(n) if i not in BAD]
    hit = opensearch.get(index=index, id=f"{topic}+0+10")["_source"]
    assert isinstance(hit["outlier"]["score"], float)
    assert set(hit["outlier"]) >= {"score", "grade", "flag", "confidence", "warming_up", "model"}
    assert hit["@timestamp"].endswith("Z") and hit["log_identifier"] == "LOG-000010"

    letters = read_topic(kafka_bootstrap, f"{topic}.errors", len(BAD) + 1, timeout=10)
    assert len(letters) == len(BAD)
    for msg in letters:
        headers = {k: v.decode() for k, v in msg.headers()}
        offset = int(headers["source.offset"])
        assert headers["source.topic"] == topic and headers["source.partition"] == "0"
        assert offset in BAD and msg.value() == BAD[offset]
        assert headers["error.reason"]
    assert committed_offsets(kafka_bootstrap, group, topic) == {0: n}


def test_restart_resumes_without_duplicate_or_gap_and_replay_writes_nothing_twice(
    kafka_bootstrap, opensearch_url, opensearch, topic_factory, index_name_factory
):
    topic, index, group = topic_factory(), index_name_factory(), unique("g")
    produce(kafka_bootstrap, topic, _values(300, {}))
    first = _runner(kafka_bootstrap, opensearch_url, topic, index, group, batch_size=50)
    assert first.run(max_records=120).records == 120
    assert committed_offsets(kafka_bootstrap, group, topic) == {0: 120}
    assert doc_offsets(opensearch, index) == list(range(120))

    produce(kafka_bootstrap, topic, _values(400, {})[300:])
    second = _runner(kafka_bootstrap, opensearch_url, topic, index, group, batch_size=50)
    stats = second.run(max_records=280, idle_timeout=60)
    assert (stats.records, stats.indexed, stats.duplicates) == (280, 280, 0)
    assert doc_offsets(opensearch, index) == list(range(400))
    assert committed_offsets(kafka_bootstrap, group, topic) == {0: 400}

    # a new group replays the topic from the start: every create answers 409
    replay = _runner(kafka_bootstrap, opensearch_url, topic, index, f"{group}-replay")
    stats = replay.run(max_records=400, idle_timeout=60)
    assert (stats.records, stats.indexed, stats.duplicates) == (400, 0, 400)
    assert doc_offsets(opensearch, index) == list(range(400))


def test_mapping_conflict_lands_in_the_error_topic(
    kafka_bootstrap, opensearch_url, opensearch, topic_factory, index_name_factory
):
    topic, index, group = topic_factory(), index_name_factory(), unique("g")
    opensearch.indices.create(index=index, body={"mappings": {"properties": {
        "user_id": {"type": "long"}}}})
    values = [gameday_value(i, user_id=str(1000 + i)) for i in range(30)]
    values[17] = gameday_value(17, user_id="e6158ec1-f8c5-4517-b4af-a3954637fcce")
    produce(kafka_bootstrap, topic, values)
    runner = _runner(kafka_bootstrap, opensearch_url, topic, index, group)
    stats = runner.run(max_records=30, idle_timeout=60)

    assert (stats.indexed, stats.dead_lettered) == (29, 1)
    assert doc_offsets(opensearch, index) == [i for i in range(30) if i != 17]
    (letter,) = read_topic(kafka_bootstrap, f"{topic}.errors", 1, timeout=10)
    headers = {k: v.decode() for k, v in letter.headers()}
    assert headers["source.offset"] == "17" and headers["error.status"] == "400"
    assert "mapper_parsing_exception" in headers["error.reason"]
    assert json.loads(letter.value())["log_message"]["user_id"].startswith("e6158ec1")
    assert committed_offsets(kafka_bootstrap, group, topic) == {0: 30}
