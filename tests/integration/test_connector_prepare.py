"""``run`` prepares the servers before consuming: a missing index template of the pipeline's
scenario is applied, a missing error topic is created with the source's partition count."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from connector.cli import main
from connector.prepare import ensure_index_template, template_for
from connector.testing import GAMEDAY_PIPELINE, gameday_value, produce, unique

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_a_missing_index_template_is_applied_before_the_first_document(
    tmp_path, opensearch, index_name_factory
):
    # the shipped gameday template, renamed and re-patterned for this test's own index, so
    # the shared cluster's real templates are never touched
    index = index_name_factory("tplcheck")
    stem = unique("tpl").replace("-", "")
    shutil.copytree(ROOT / "opensearch", tmp_path / "opensearch")
    (tmp_path / "dashboards").mkdir()
    templates = tmp_path / "opensearch" / "index-templates"
    body = json.loads((templates / "gameday.json").read_text())
    body["index_patterns"] = [f"{index}*"]
    for path in templates.glob("*.json"):
        path.unlink()
    (templates / f"{stem}.json").write_text(json.dumps(body))
    name = f"outliers-{stem}"
    assert template_for(index, tmp_path) == stem
    try:
        assert ensure_index_template(opensearch, index, tmp_path) == "applied"
        assert ensure_index_template(opensearch, index, tmp_path) == "present"
        opensearch.index(index=index, body={"outlier": {"score": 1}, "log_level": "INFO"},
                         refresh=True)
        props = opensearch.indices.get_mapping(index=index)[index]["mappings"]["properties"]
        assert props["outlier"]["properties"]["score"]["type"] in ("float", "double")
        assert props["log_level"]["type"] == "keyword"  # not dynamic text
    finally:
        opensearch.indices.delete_index_template(name=name, ignore=[404])
    assert template_for("an-index-nobody-ships-a-template-for", tmp_path) is None


def test_run_creates_the_error_topic_with_the_source_partitions(
    kafka_bootstrap, kafka_admin, opensearch_url, topic_factory, index_name_factory, caplog
):
    topic, index = topic_factory(partitions=3), index_name_factory()
    produce(kafka_bootstrap, topic, [gameday_value(i) for i in range(30)] + [b"{bad"])
    with caplog.at_level("INFO"):
        code = main(["run", str(GAMEDAY_PIPELINE), "--topic", topic, "--index", index,
                     "--group-id", unique("g"), "--bootstrap", kafka_bootstrap,
                     "--opensearch-url", opensearch_url, "--max-records", "31", "--no-state"])
    assert code == 0
    meta = kafka_admin.list_topics(timeout=10).topics
    assert len(meta[f"{topic}.errors"].partitions) == 3
    assert f"output topic {topic}.errors created with 3 partitions" in caplog.text
    assert "partition(s), source needs" not in caplog.text  # the fence is on from the start
