"""Fenced outputs on the real broker: a replayed batch dead-letters and emits nothing twice.

A first runner processes part of the input and "dies" before committing (its commit is
wrapped into a no-op, the SIGKILL window between producing outputs and committing offsets);
a second runner in the same group replays everything from the start. Each bad record must be
in the error topic exactly once, in the partition of its source partition, and each event
once. With too few error-topic partitions the fence is off (and says so).
"""

from __future__ import annotations

import json

import pytest
import yaml
from confluent_kafka.admin import NewTopic

from connector.app import build_runner, patch_raw
from connector.config import parse_pipeline
from connector.testing import GAMEDAY_PIPELINE, gameday_value, produce, read_topic, unique

pytestmark = pytest.mark.integration

PARTITIONS = 3
PER_PARTITION = 120


def _bad(p: int, i: int) -> bool:
    return i % 17 == p + 3


def _value(p: int, i: int) -> bytes:
    if _bad(p, i):
        return b"not json " + f"{p}-{i}".encode()
    level = "ERROR" if i % 10 == 3 else "INFO"
    return gameday_value(p * 1000 + i, log_level=level)


def _create(kafka_admin, topics: dict[str, int]) -> None:
    futures = kafka_admin.create_topics([NewTopic(t, n, 1) for t, n in topics.items()])
    for future in futures.values():
        future.result(30)


def _runner(cfg, crash_before_commit: bool = False):
    runner = build_runner(cfg, batch_size=25, poll_timeout=0.2)
    if crash_before_commit:
        runner.source.commit = lambda offsets: None  # outputs produced, offsets never committed
    return runner


def _config(kafka_bootstrap, opensearch_url, topic, index, events_topic):
    raw = patch_raw(yaml.safe_load(GAMEDAY_PIPELINE.read_text()), topic=topic, index=index,
                    group_id=unique("g"), bootstrap=kafka_bootstrap,
                    opensearch_url=opensearch_url)
    raw["output"]["events"] = {"topic": events_topic, "when": "log_level == ERROR",
                               "template": {"id": "{log_identifier}"}}
    return parse_pipeline(raw, env={})


def _setup(kafka_bootstrap, kafka_admin, topic_factory, error_partitions):
    topic = topic_factory(partitions=PARTITIONS)
    _create(kafka_admin, {f"{topic}.errors": error_partitions, f"{topic}.events": PARTITIONS})
    for p in range(PARTITIONS):
        produce(kafka_bootstrap, topic, [_value(p, i) for i in range(PER_PARTITION)], partition=p)
    return topic


def test_replayed_records_are_dead_lettered_and_evented_once(
    kafka_bootstrap, opensearch_url, kafka_admin, topic_factory, index_name_factory
):
    topic = _setup(kafka_bootstrap, kafka_admin, topic_factory, PARTITIONS)
    cfg = _config(kafka_bootstrap, opensearch_url, topic, index_name_factory(), f"{topic}.events")
    total = PARTITIONS * PER_PARTITION

    first = _runner(cfg, crash_before_commit=True)
    assert first.run(max_records=total // 2, idle_timeout=60).records == total // 2
    second = _runner(cfg)
    stats = second.run(max_records=total, idle_timeout=60)

    assert stats.records == total
    bad = {(p, i) for p in range(PARTITIONS) for i in range(PER_PARTITION) if _bad(p, i)}
    letters = read_topic(kafka_bootstrap, f"{topic}.errors", len(bad) + 5, timeout=15)
    where = [(int(dict(m.headers())["source.partition"]), int(dict(m.headers())["source.offset"]),
              m.partition()) for m in letters]
    assert sorted((p, o) for p, o, _ in where) == sorted(bad)  # each once, none missing
    assert all(p == out for p, _, out in where)  # in the partition of its source partition
    assert second.outputs.errors.skipped > 0  # the replay met dead letters already produced

    errors = sum(1 for p in range(PARTITIONS) for i in range(PER_PARTITION)
                 if not _bad(p, i) and i % 10 == 3)
    events = read_topic(kafka_bootstrap, f"{topic}.events", errors + 5, timeout=15)
    ids = [json.loads(m.value())["id"] for m in events]
    assert len(ids) == len(set(ids)) == errors


def test_too_few_error_partitions_turn_the_fence_off_and_lose_nothing(
    kafka_bootstrap, opensearch_url, kafka_admin, topic_factory, index_name_factory
):
    topic = _setup(kafka_bootstrap, kafka_admin, topic_factory, 1)
    cfg = _config(kafka_bootstrap, opensearch_url, topic, index_name_factory(), f"{topic}.events")
    total = PARTITIONS * PER_PARTITION

    runner = _runner(cfg)
    assert runner.run(max_records=total, idle_timeout=60).records == total

    assert runner.outputs.errors.fences.aligned is False
    bad = {(p, i) for p in range(PARTITIONS) for i in range(PER_PARTITION) if _bad(p, i)}
    letters = read_topic(kafka_bootstrap, f"{topic}.errors", len(bad) + 5, timeout=15)
    assert sorted((int(dict(m.headers())["source.partition"]),
                   int(dict(m.headers())["source.offset"])) for m in letters) == sorted(bad)
