"""Every scenario generator against the real Kafka: records, keys, label headers, labels file."""

from __future__ import annotations

import importlib
import json
import time
from pathlib import Path

import pytest

from connector.config import load_pipeline
from connector.testing import read_topic
from connector.transform import build_transform
from generators.base import produce

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
# enough records for each scenario to contain a few labelled ones at these anomaly rates
CASES = {
    "gameday": (600, 0.02),
    "tolls": (3000, 0.002),
    "reviews": (400, 0.05),
    "sensors": (600, 0.02),
    "flowlogs": (6000, 0.0005),
}
# the flowlogs generator starts episodes only after a quiet half hour by default (a usual first)
OPTIONS = {"flowlogs": {"quiet_start": 0.0}}


@pytest.mark.parametrize("scenario", sorted(CASES))
def test_generator_sends_labelled_records_that_the_pipeline_accepts(
    scenario, kafka_bootstrap, topic_factory, tmp_path
):
    count, anomaly_rate = CASES[scenario]
    module = importlib.import_module(f"generators.{scenario}")
    before = time.time()
    generated = list(module.records(count=count, anomaly_rate=anomaly_rate, seed=21,
                                    **OPTIONS.get(scenario, {})))
    assert any(r.label for r in generated), "pick a rate that injects anomalies"
    topic, labels = topic_factory(), tmp_path / f"{scenario}.labels.jsonl"

    stats = produce(
        generated, bootstrap=kafka_bootstrap, topic=topic, pace=False, labels_file=labels
    )

    # records an anomaly removes (a toll sensor failing, a sensor dropping out) are labelled
    # but not sent; generators differ in whether ``count`` includes them
    sent = [r for r in generated if r.send]
    assert count in (len(generated), len(sent))
    assert stats.sent == len(sent) > 0 and stats.failed == 0
    got = read_topic(kafka_bootstrap, topic, len(sent), timeout=60)  # stats.sent: no extras
    assert len(got) == len(sent)
    transform = build_transform(load_pipeline(ROOT / "pipelines" / f"{scenario}.yaml", env={}))
    for rec, msg in zip(sent, got, strict=True):
        assert msg.value() == rec.value and msg.key() == rec.key
        headers = dict(msg.headers() or [])
        assert headers.get("label") == (rec.label.encode() if rec.label else None)
        # the broker keeps the event time as the message timestamp
        assert msg.timestamp()[1] == int(rec.timestamp * 1000)
        prepared = transform.prepare(msg.value())
        assert prepared.key == msg.key().decode()
    # event time is anchored to now and advances at the scenario's rate
    assert before - 1 <= generated[0].timestamp <= time.time()
    rows = [json.loads(line) for line in labels.read_text().splitlines()]
    assert [r["id"] for r in rows] == [r.id for r in generated if r.label]
    kinds = set(module.KINDS)
    if scenario == "tolls":  # the default stream is the realistic one, with kinds of its own
        kinds |= set(importlib.import_module("generators.tolls_traffic").KINDS)
    assert {r["kind"] for r in rows} <= kinds
