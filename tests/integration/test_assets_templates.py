"""The shipped templates on the real OpenSearch: field types, and setup's idempotence."""

from __future__ import annotations

import copy
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from connector.assets import apply_assets, load_assets

_kit_path = Path(__file__).resolve().parents[1] / "assets" / "_kit.py"
_spec = importlib.util.spec_from_file_location("assets_kit", _kit_path)
kit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kit)

pytestmark = pytest.mark.integration


@pytest.fixture
def scoped(opensearch, index_name_factory):
    """``scoped(scenario) -> index`` with the scenario's templates matching only it."""
    made = []

    def make(scenario: str) -> str:
        index = index_name_factory(f"assets-{scenario}")
        made.extend(kit.put_scoped_templates(opensearch, scenario, index))
        return index

    yield make
    kit.delete_scoped_templates(opensearch, made)


def _mapped_types(opensearch, index: str) -> dict[str, str]:
    mapping = opensearch.indices.get_mapping(index=index)[index]["mappings"]
    return kit.field_types(mapping["properties"])


@pytest.mark.parametrize("scenario", kit.SCENARIOS)
def test_a_document_indexed_through_the_templates_gets_the_shipped_types(
    opensearch, scoped, scenario
):
    index = scoped(scenario)
    doc = kit.sample_documents()[scenario]
    doc = {**doc, "note_from_elsewhere": "free text", "outlier": {**doc["outlier"], "extra": 1}}
    opensearch.index(index=index, body=doc, id="1", params={"refresh": "true"})
    got = _mapped_types(opensearch, index)
    want = kit.composed_mapping(scenario)
    for field in kit.sample_documents()[scenario]:
        if field != "outlier":
            assert got[field] == want[field], f"{scenario}.{field}: {got[field]} != {want[field]}"
    for field in ("score", "grade", "flag", "confidence", "warming_up", "key", "top_field",
                  "direction", "model"):
        assert got[f"outlier.{field}"] == want[f"outlier.{field}"]
    assert "outlier.extra" not in got, "unknown outlier.* fields must stay unmapped"
    assert got["note_from_elsewhere"] == "keyword", "unknown strings map to keyword, not text"
    for name in doc["outlier"]["explanation"] or {}:
        assert got[f"outlier.explanation.{name}.attribution"] == "float"
        assert got[f"outlier.explanation.{name}.expected"] == "float"
        assert got[f"outlier.explanation.{name}.direction"] == "keyword"


def test_flagged_documents_are_found_by_the_fields_monitors_filter_on(opensearch, scoped):
    index = scoped("tolls")
    doc = kit.sample_documents()["tolls"]
    opensearch.index(index=index, body=doc, id="w1", params={"refresh": "true"})
    query = {"bool": {"filter": [{"term": {"outlier.flag": True}},
                                 {"term": {"outlier.direction": "low"}},
                                 {"range": {"outlier.score": {"gte": 2.5}}},
                                 {"term": {"toll": "Exit79"}}]}}
    hits = opensearch.search(index=index, body={"query": query})["hits"]["hits"]
    assert [h["_id"] for h in hits] == ["w1"]


def _renamed(assets, suffix: str):
    """The loaded assets under unique names and patterns, so the test owns what it changes."""
    out = copy.deepcopy(assets)
    comp = {f"outlier-fields-{suffix}": body for body in out.component_templates.values()}
    out.component_templates = comp
    templates = {}
    for stem, body in out.index_templates.items():
        body["composed_of"] = list(comp)
        body["index_patterns"] = [f"h6-{suffix}-{stem}*"]
        templates[f"{stem}-{suffix}"] = body
    out.index_templates = templates
    return out


def test_apply_is_idempotent_and_dry_run_reports_drift(opensearch, index_name_factory):
    suffix = index_name_factory("x").split("-", 1)[1]
    assets = _renamed(load_assets(kit.ROOT), suffix)
    try:
        first = apply_assets(opensearch, assets)
        assert {c.action for c in first if c.kind.endswith("template")} == {"create"}
        second = apply_assets(opensearch, assets)
        assert {c.action for c in second if c.kind.endswith("template")} == {"unchanged"}, \
            [str(c) for c in second]
        name = f"outliers-tolls-{suffix}"
        drifted = copy.deepcopy(assets.index_templates[f"tolls-{suffix}"])
        drifted["template"]["mappings"]["properties"]["toll"] = {"type": "text"}
        opensearch.indices.put_index_template(name=name, body=drifted)
        dry = {c.name: c for c in apply_assets(opensearch, assets, dry_run=True)}
        assert dry[name].action == "update" and "toll" in dry[name].detail
        still = opensearch.indices.get_index_template(name=name)["index_templates"][0]
        assert still["index_template"]["template"]["mappings"]["properties"]["toll"]["type"] \
            == "text", "a dry run must not write"
        fixed = {c.name: c.action for c in apply_assets(opensearch, assets)}
        assert fixed[name] == "update"
        assert {c.action for c in apply_assets(opensearch, assets)
                if c.kind.endswith("template")} == {"unchanged"}
    finally:
        for stem in assets.index_templates:
            opensearch.indices.delete_index_template(name=f"outliers-{stem}")
        for comp in assets.component_templates:
            opensearch.cluster.delete_component_template(name=comp)


def _setup(url: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "connector", "setup", "--url", url, *extra],
                          capture_output=True, text=True, timeout=120, cwd=kit.ROOT)


def test_setup_command_twice_changes_nothing_the_second_time(opensearch_url):
    first = _setup(opensearch_url)
    assert first.returncode == 0, first.stderr
    second = _setup(opensearch_url)
    assert second.returncode == 0, second.stderr
    lines = second.stdout.splitlines()
    assert not [ln for ln in lines if ln.startswith(("create", "update"))], second.stdout
    assert sum(ln.startswith("unchanged") for ln in lines) == 1 + len(kit.SCENARIOS)
    dry = _setup(opensearch_url, "--dry-run")
    assert "0 changed" in dry.stdout, dry.stdout


def test_setup_reports_absent_plugins_and_require_plugins_fails(opensearch, opensearch_url):
    components = {p["component"] for p in opensearch.cat.plugins(params={"format": "json"})}
    if "opensearch-alerting" in components:
        pytest.skip("this cluster has Alerting: the absent-plugin path cannot be shown here")
    out = _setup(opensearch_url, "--dry-run")
    assert out.returncode == 0
    skips = [ln for ln in out.stdout.splitlines() if ln.startswith("[dry-run] skip      monitor")]
    assert len(skips) == len(kit.SCENARIOS) and all("not installed" in s for s in skips)
    strict = _setup(opensearch_url, "--dry-run", "--require-plugins")
    assert strict.returncode == 1, strict.stdout + strict.stderr
