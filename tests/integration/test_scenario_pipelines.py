"""Scenario pipelines end to end on the real servers: generator -> Kafka -> runner -> OpenSearch.

The expected documents are computed from the generated records themselves (counts per window,
reviewers with more than one review per window), so these tests check the shipped pipeline
configs through the real runtime, not a copy of its logic.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml
from opensearchpy import helpers

import generators.flowlogs
import generators.gameday
import generators.reviews
import generators.sensors
import generators.tolls
from connector.app import build_runner, patch_raw
from connector.config import parse_pipeline
from connector.testing import read_topic, unique
from generators.base import produce

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
START = 1_800_000_000.0  # fixed event time (a multiple of 60 s): windows are predictable


def _config(
    scenario, kafka_bootstrap, opensearch_url, topic, index, events_topic=None, window=None
):
    raw = yaml.safe_load((ROOT / "pipelines" / f"{scenario}.yaml").read_text())
    if window:  # overrides of the window block
        raw["window"] = {**raw["window"], **window}
    raw = patch_raw(
        raw,
        topic=topic,
        index=index,
        group_id=unique("g"),
        bootstrap=kafka_bootstrap,
        opensearch_url=opensearch_url,
    )
    if events_topic is not None:
        raw["output"]["events"]["topic"] = events_topic
    return parse_pipeline(raw, env={})


def _docs(client, index):
    client.indices.refresh(index=index)
    return {h["_id"]: h["_source"] for h in helpers.scan(client, index=index, size=1000)}


def test_sensors_every_reading_is_one_scored_document(
    kafka_bootstrap, opensearch_url, opensearch, topic_factory, index_name_factory
):
    topic, index = topic_factory(), index_name_factory("outliers-sensors")
    recs = list(generators.sensors.records(count=400, anomaly_rate=0.02, seed=4, start=START))
    produce(recs, bootstrap=kafka_bootstrap, topic=topic, pace=False)
    cfg = _config("sensors", kafka_bootstrap, opensearch_url, topic, index)

    stats = build_runner(cfg, poll_timeout=0.2).run(max_records=400, idle_timeout=30)

    assert (stats.records, stats.indexed) == (400, 400)
    docs = _docs(opensearch, index)
    assert len(docs) == 400
    for offset, rec in enumerate(recs):
        doc = docs[f"{topic}+0+{offset}"]
        assert doc["sensor_id"] == json.loads(rec.value)["sensor_id"]
        assert doc["outlier"]["key"] == rec.key.decode()
        assert isinstance(doc["outlier"]["score"], float)


def _expected_counts(recs, size):
    counts = Counter()
    for r in recs:
        station = r.value.decode().split(",")[1]
        counts[(station, math.floor(r.timestamp / size) * size)] += 1
    return counts


def test_tolls_windows_count_vehicles_per_station(
    kafka_bootstrap, opensearch_url, opensearch, topic_factory, index_name_factory
):
    topic, index = topic_factory(), index_name_factory("outliers-tolls")
    recs = list(generators.tolls.records(count=4000, anomaly_rate=0.0, seed=6, start=START))
    produce(recs, bootstrap=kafka_bootstrap, topic=topic, pace=False)
    cfg = _config("tolls", kafka_bootstrap, opensearch_url, topic, index)

    stats = build_runner(cfg, poll_timeout=0.2).run(max_records=4000, idle_timeout=30)

    assert stats.records == 4000
    expected = _expected_counts(recs, 10.0)
    watermark = recs[-1].timestamp
    closed = {k: v for k, v in expected.items() if k[1] + 10.0 <= watermark}
    assert len(closed) >= 30  # 40 s of traffic: 3 closed windows x 10 stations
    docs = _docs(opensearch, index)
    for (station, start), count in closed.items():
        doc = docs[f"tolls+{station}+{int(start * 1000)}"]
        assert doc["toll"] == station and doc["count"] == count
        assert doc["outlier"]["key"] == station
        assert doc["@timestamp"].startswith(doc["window"]["end"][:19])
    # open windows are not written yet (their records stay uncommitted)
    assert len(docs) == len(closed)


def test_reviews_rule_events_and_window_documents(
    kafka_bootstrap, opensearch_url, opensearch, topic_factory, index_name_factory
):
    topic, events = topic_factory(), topic_factory()
    index = index_name_factory("outliers-reviews")
    recs = list(generators.reviews.records(count=600, anomaly_rate=0.03, seed=8, start=START,
                                           kinds=["review_burst"]))
    assert any(r.label for r in recs)
    produce(recs, bootstrap=kafka_bootstrap, topic=topic, pace=False)
    cfg = _config("reviews", kafka_bootstrap, opensearch_url, topic, index, events_topic=events)

    stats = build_runner(cfg, poll_timeout=0.2).run(max_records=600, idle_timeout=30)
    assert stats.records == 600

    # the original rule, computed from the records: >1 review per reviewer per sliding minute
    per_window = defaultdict(int)
    for r in recs:
        body = json.loads(r.value)
        last = math.floor(r.timestamp / 30.0) * 30.0
        for start in (last - 30.0, last):
            per_window[(body["reviewer"], start)] += 1
    watermark = recs[-1].timestamp
    suspicious = {
        (who, start + 60.0): n
        for (who, start), n in per_window.items()
        if n > 1 and start + 60.0 <= watermark
    }
    assert suspicious
    got = read_topic(kafka_bootstrap, events, len(suspicious) + 1, timeout=10)
    bodies = [json.loads(m.value()) for m in got]
    from datetime import datetime

    seen = {
        (b["reviewer"], datetime.fromisoformat(b["event_time"]).timestamp()): b["movie_count"]
        for b in bodies
    }
    assert seen == suspicious
    assert set(bodies[0]) == {"reviewer", "movie_count", "event_time"}
    # every burst reviewer is among them
    bursters = {
        json.loads(r.value)["reviewer"] for r in recs if r.label and r.timestamp + 60 <= watermark
    }
    assert bursters <= {who for who, _ in suspicious}
    docs = _docs(opensearch, index)
    closed = {k for k in per_window if k[1] + 60.0 <= watermark}
    assert len(docs) == len(closed)


def test_flowlogs_a_pair_that_stops_talking_gets_zero_flow_windows(
    kafka_bootstrap, opensearch_url, opensearch, topic_factory, index_name_factory
):
    topic, index = topic_factory(), index_name_factory("outliers-flowlogs")
    # a stop starts within the first minute and lasts 3 minutes; about 200 s of traffic
    recs = list(
        generators.flowlogs.records(
            count=60_000, rate=300.0, anomaly_rate=0.01, seed=3, start=START,
            kinds=["pair_stop"], quiet_start=0.0,
        )
    )
    sent = [r for r in recs if r.send]
    stopped = {r.key.decode() for r in recs if not r.send}
    assert stopped
    produce(recs, bootstrap=kafka_bootstrap, topic=topic, pace=False)
    # the shipped pipeline gives silent windows to pairs that talked for 10 minutes; these
    # 200 s hold 3 windows, so every pair seen gets them here
    missing = yaml.safe_load((ROOT / "pipelines" / "flowlogs.yaml").read_text())["window"][
        "missing"]
    cfg = _config(
        "flowlogs", kafka_bootstrap, opensearch_url, topic, index,
        window={"missing": {**missing, "after": 1}},
    )

    stats = build_runner(cfg, poll_timeout=0.2).run(max_records=len(sent), idle_timeout=30)
    assert stats.records == len(sent)

    flows = Counter()
    first_seen: dict[str, float] = {}
    for r in sent:
        body = json.loads(r.value)
        pair, start = r.key.decode(), math.floor(body["end"] / 60) * 60.0
        flows[(pair, start)] += 1
        first_seen.setdefault(pair, start)
    watermark = max(json.loads(r.value)["end"] for r in sent)
    closed = sorted({s for _, s in flows if s + 60.0 <= watermark})
    expected = {
        (pair, s): flows.get((pair, s), 0)
        for pair, first in first_seen.items()
        for s in closed
        if first <= s
    }
    docs = _docs(opensearch, index)
    got = {
        (d["src_service"] + "->" + d["dst_service"], _epoch(d["window"]["start"])): d["flows"]
        for d in docs.values()
    }
    assert got == expected
    # the stopped pair was seen before it stopped, so its silent minutes are documents
    assert any(expected[(p, s)] == 0 for p in stopped for s in closed if (p, s) in expected)
    for doc in docs.values():
        assert doc["outlier"]["key"] == f"{doc['src_service']}->{doc['dst_service']}"


def test_gameday_generator_through_the_pipeline(
    kafka_bootstrap, opensearch_url, opensearch, topic_factory, index_name_factory
):
    topic, index = topic_factory(), index_name_factory("outliers-gameday")
    recs = list(generators.gameday.records(count=500, anomaly_rate=0.02, seed=12))
    produce(recs, bootstrap=kafka_bootstrap, topic=topic, pace=False)
    cfg = _config("gameday", kafka_bootstrap, opensearch_url, topic, index)

    stats = build_runner(cfg, poll_timeout=0.2).run(max_records=500, idle_timeout=30)

    assert (stats.records, stats.indexed, stats.dead_lettered) == (500, 500, 0)
    docs = _docs(opensearch, index)
    for offset, rec in enumerate(recs):
        doc = docs[f"{topic}+0+{offset}"]
        assert doc["log_identifier"] == rec.id and "label" not in doc
        assert doc["outlier"]["key"] == rec.key.decode()


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()
