"""Events: documents matching ``output.events.when`` are produced, rendered, to their topic."""

from __future__ import annotations

import json

import pytest
import yaml

from connector.app import build_runner, patch_raw
from connector.config import parse_pipeline
from connector.testing import GAMEDAY_PIPELINE, gameday_value, produce, read_topic, unique

pytestmark = pytest.mark.integration


def test_matching_documents_become_events(
    kafka_bootstrap, opensearch_url, topic_factory, index_name_factory
):
    topic, events_topic, index = topic_factory(), topic_factory(), index_name_factory()
    raw = patch_raw(yaml.safe_load(GAMEDAY_PIPELINE.read_text()), topic=topic, index=index,
                    group_id=unique("g"), bootstrap=kafka_bootstrap,
                    opensearch_url=opensearch_url)
    raw["output"]["events"] = {
        "topic": events_topic, "when": "log_level == ERROR",
        "template": {"id": "{log_identifier}", "path": "{path}", "score": "{outlier.score}",
                     "text": "{log_level} on {path}"},
    }
    cfg = parse_pipeline(raw, env={})
    values = [gameday_value(i, log_level="ERROR" if i % 10 == 3 else "INFO") for i in range(100)]
    produce(kafka_bootstrap, topic, values)

    stats = build_runner(cfg, batch_size=40).run(max_records=100, idle_timeout=60)

    assert (stats.indexed, stats.events) == (100, 10)
    events = [json.loads(m.value()) for m in read_topic(kafka_bootstrap, events_topic, 11, 10)]
    assert sorted(e["id"] for e in events) == [f"LOG-{i:06d}" for i in range(3, 100, 10)]
    assert all(isinstance(e["score"], float) for e in events)
    assert all(e["text"] == f"ERROR on {e['path']}" for e in events)
