"""Offline checks of dashboards/*.ndjson: shape, ids, references and fields."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("assets_kit", Path(__file__).with_name("_kit.py"))
kit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kit)

BUNDLES = sorted((kit.ROOT / "dashboards").glob("*.ndjson"))
KINDS = {"index-pattern": "index-pattern", "search": "search", "visualization": "vis",
         "dashboard": "dashboard"}
# the newest migration each type had in Kibana 7.10, which OpenSearch Dashboards forked
KNOWN_MIGRATION = {"index-pattern": "7.6.0", "search": "7.9.3", "visualization": "7.10.0",
                   "dashboard": "7.9.3"}
OBJECT_KEYS = {"type", "id", "attributes", "references", "migrationVersion"}
IDX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


@pytest.fixture(params=BUNDLES, ids=lambda p: p.name)
def bundle(request):
    return request.param, kit.load_ndjson(request.param)


def test_one_bundle_per_scenario():
    assert sorted(p.stem for p in BUNDLES) == sorted(kit.SCENARIOS)


def test_objects_have_stable_readable_ids_titles_and_no_export_summary(bundle):
    path, objects = bundle
    scenario = path.stem
    for obj in objects:
        assert set(obj) <= OBJECT_KEYS, f"{path.name}: {obj.get('id')} has keys {set(obj)}"
        kind = KINDS[obj["type"]]
        assert obj["id"].startswith(f"outliers-{scenario}-{kind}"), f"{path.name}: {obj['id']}"
        if obj["type"] != "index-pattern":
            assert obj["attributes"]["title"].startswith(f"[Outliers: {scenario}] ")
    ids = [o["id"] for o in objects]
    assert len(ids) == len(set(ids)), f"{path.name}: duplicate ids"
    assert {o["type"] for o in objects} == set(KINDS), f"{path.name}: a kind is missing"


def test_migration_versions_are_not_newer_than_dashboards_knows(bundle):
    path, objects = bundle
    for obj in objects:
        for typ, version in obj.get("migrationVersion", {}).items():
            assert _version(version) <= _version(KNOWN_MIGRATION[typ]), f"{path.name}: {obj['id']}"


def test_json_attributes_are_strings_and_references_resolve_inside_the_bundle(bundle):
    path, objects = bundle
    by_id = {(o["type"], o["id"]) for o in objects}
    for obj in objects:
        names = {r["name"] for r in obj["references"]}
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in by_id, f"{path.name}: {obj['id']} -> {ref}"
        attrs = obj["attributes"]
        if obj["type"] in ("search", "visualization"):
            source = kit.search_source(obj)
            assert source["indexRefName"] == IDX_REF and IDX_REF in names, f"{obj['id']}"
        if obj["type"] == "visualization":
            assert isinstance(attrs["visState"], str)
            assert json.loads(attrs["visState"])["title"] == attrs["title"]
        if obj["type"] == "dashboard":
            panels = json.loads(attrs["panelsJSON"])
            assert [p["panelRefName"] for p in panels] == [f"panel_{i}" for i in range(len(panels))]
            assert {p["panelRefName"] for p in panels} == names
        if obj["type"] == "index-pattern":
            assert attrs["title"] == f"outliers-{path.stem}*"
            assert attrs["timeFieldName"] == "@timestamp"


def test_dashboard_shows_every_search_and_visualization(bundle):
    path, objects = bundle
    dash = next(o for o in objects if o["type"] == "dashboard")
    shown = {r["id"] for r in dash["references"]}
    wanted = {o["id"] for o in objects if o["type"] in ("search", "visualization")}
    assert shown == wanted, f"{path.name}: not on the dashboard: {wanted - shown}"


def test_every_field_used_exists_in_the_scenario_mapping(bundle):
    path, objects = bundle
    types = kit.composed_mapping(path.stem)
    for obj in objects:
        missing = sorted(f for f in kit.saved_object_fields(obj) if f not in types)
        assert not missing, f"{path.name}: {obj['id']} uses unmapped fields {missing}"
        if obj["type"] == "visualization":
            for agg in json.loads(obj["attributes"]["visState"])["aggs"]:
                if agg["type"] == "terms":
                    assert types[agg["params"]["field"]] in ("keyword", "boolean", "ip"), \
                        f"{obj['id']}: terms on a non-keyword field {agg['params']['field']}"


def test_saved_search_lists_flagged_outliers_newest_first_with_explaining_fields(bundle):
    path, objects = bundle
    search = next(o for o in objects if o["type"] == "search")
    assert search["attributes"]["sort"] == [["@timestamp", "desc"]]
    assert "outlier.flag:true" in kit.search_source(search)["query"]["query"]
    assert {"outlier.score", "outlier.top_field", "outlier.direction"} <= set(
        search["attributes"]["columns"])
