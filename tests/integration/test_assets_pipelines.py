"""The shipped templates hold what the real connector writes, for every scenario.

Each scenario's generator writes records to a file, ``outlier-connector run`` scores them
with the scenario's pipeline into a fresh ``outliers-<scenario>-<uuid>`` index (which the
scenario's index template, applied by ``outlier-connector setup``, matches), and then:
no document was dead-lettered, and every field OpenSearch mapped is one the template
declares (explanation leaves excepted: they are mapped by its dynamic templates), so no
field of the connector's documents falls through to dynamic mapping.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

_kit_path = Path(__file__).resolve().parents[1] / "assets" / "_kit.py"
_spec = importlib.util.spec_from_file_location("assets_kit", _kit_path)
kit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kit)

pytestmark = pytest.mark.integration
COUNT = {"gameday": 600, "tolls": 3000, "reviews": 600, "sensors": 600, "flowlogs": 6000}
# (scenario, pipeline): every scenario's own pipeline, plus the raw toll passes beside tolls
PIPELINES = [(s, s) for s in kit.SCENARIOS] + [("tolls", "tolls-passes")]


def _cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "connector", *args], capture_output=True,
                          text=True, timeout=300, cwd=kit.ROOT, **kw)


@pytest.fixture(scope="module")
def templates_applied(opensearch_url):
    out = _cli("setup", "--url", opensearch_url)
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize(("scenario", "pipeline"), PIPELINES)
def test_connector_documents_fit_the_template(opensearch, opensearch_url, kafka_bootstrap,
                                              index_name_factory, topic_factory,
                                              templates_applied, tmp_path, scenario, pipeline):
    records = tmp_path / f"{scenario}.txt"
    gen = _cli("generate", scenario, "--stdout", "--fast", "--seed", "3",
               "--count", str(COUNT[scenario]))
    assert gen.returncode == 0, gen.stderr
    records.write_text(gen.stdout)
    index = index_name_factory(f"outliers-{pipeline}")
    run = _cli("run", f"pipelines/{pipeline}.yaml", "--input", str(records), "--index", index,
               "--opensearch-url", opensearch_url, "--bootstrap", kafka_bootstrap,
               "--errors-topic", topic_factory(prefix="errors"),
               "--events-topic", topic_factory(prefix="events"),  # never the shipped topics
               "--idle-timeout", "5")
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["indexed"] > 0 and summary["dead_lettered"] == 0, summary
    mapping = opensearch.indices.get_mapping(index=index)[index]["mappings"]
    mapped = kit.field_types(mapping["properties"])
    declared = kit.composed_mapping(scenario)
    extra = sorted(f for f in mapped if f not in declared
                   and not f.startswith("outlier.explanation."))
    assert not extra, f"{scenario}: fields outside the template: {extra}"
    for field, typ in mapped.items():
        if field in declared:
            assert typ == declared[field], f"{scenario}.{field}: {typ} != {declared[field]}"
