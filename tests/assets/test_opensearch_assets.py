"""Offline checks of opensearch/: templates, ISM policy, channel and monitors."""

from __future__ import annotations

import fnmatch
import importlib.util
import json
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("assets_kit", Path(__file__).with_name("_kit.py"))
kit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kit)

OS = kit.ROOT / "opensearch"
ALL_JSON = sorted(OS.rglob("*.json"))

# SCENARIOS.md "Fields the connector adds to every document"
OUTLIER_FIELDS = {
    "@timestamp": "date", "outlier.score": "float", "outlier.grade": "float",
    "outlier.flag": "boolean", "outlier.confidence": "float", "outlier.warming_up": "boolean",
    "outlier.key": "keyword", "outlier.top_field": "keyword", "outlier.direction": "keyword",
    "outlier.explanation": "object", "outlier.model": "keyword",
}
# the key fields monitors group on must be flat keywords
KEY_FIELDS = {"gameday": ["path", "log_level"], "tolls": ["toll", "user"],
              "reviews": ["reviewer"], "sensors": ["sensor_id"],
              "flowlogs": ["src_service", "dst_service"]}
TOP_LEVEL = {
    "component-templates": {"_meta", "template", "version"},
    "index-templates": {"_meta", "index_patterns", "priority", "composed_of", "template",
                        "version", "data_stream"},
    "ism-policies": {"_meta", "policy"},
    "monitors": {"_meta", "monitor"},
    "channels": {"_meta", "config_id", "config"},
}
MONITOR_KEYS = {"type", "monitor_type", "name", "enabled", "schedule", "inputs", "triggers"}


def _rel(path: Path) -> str:
    return str(path.relative_to(kit.ROOT))


@pytest.mark.parametrize("path", ALL_JSON, ids=_rel)
def test_every_asset_parses_with_known_keys_and_a_version(path):
    doc = kit.load_json(path)
    allowed = TOP_LEVEL[path.parent.name]
    assert set(doc) <= allowed, f"{_rel(path)}: unknown top-level keys {set(doc) - allowed}"
    assert isinstance(doc["_meta"]["version"], int), f"{_rel(path)}: _meta.version must be an int"


def test_outlier_fields_component_maps_the_scenario_table():
    comp = kit.load_json(OS / "component-templates" / "outlier-fields.json")
    types = kit.field_types(comp["template"]["mappings"]["properties"])
    wrong = {f: types.get(f) for f, t in OUTLIER_FIELDS.items() if types.get(f) != t}
    assert not wrong, f"outlier-fields.json: fields with the wrong type {wrong}"


def test_explanation_cannot_explode_the_mapping():
    comp = kit.load_json(OS / "component-templates" / "outlier-fields.json")
    outlier = comp["template"]["mappings"]["properties"]["outlier"]
    assert outlier["dynamic"] is False, "outlier.*: unknown fields must not be mapped"
    mapped = {next(iter(t.values()))["path_match"]: next(iter(t.values()))["mapping"]["type"]
              for t in comp["template"]["mappings"]["dynamic_templates"]}
    for leaf, want in (("attribution", "float"), ("expected", "float"), ("direction", "keyword")):
        assert mapped.get(f"outlier.explanation.*.{leaf}") == want, f"explanation {leaf}"


@pytest.mark.parametrize("scenario", kit.SCENARIOS)
def test_index_template_composes_outlier_fields_and_keys_are_keywords(scenario):
    path = OS / "index-templates" / f"{scenario}.json"
    template = kit.load_json(path)
    assert template["index_patterns"] == [f"outliers-{scenario}*"], _rel(path)
    assert template["composed_of"] == ["outlier-fields"], _rel(path)
    assert template["_meta"]["scenario"] == scenario, _rel(path)
    types = kit.composed_mapping(scenario)
    for field, want in OUTLIER_FIELDS.items():
        assert types.get(field) == want, f"{_rel(path)}: {field} composes to {types.get(field)}"
    for key in KEY_FIELDS[scenario]:
        assert types.get(key) == "keyword", f"{_rel(path)}: key field {key} must be keyword"


def test_index_template_patterns_do_not_overlap():
    patterns = {s: f"outliers-{s}*" for s in kit.SCENARIOS}
    for a, pa in patterns.items():
        for b in patterns:
            if a != b:
                assert not fnmatch.fnmatch(f"outliers-{b}", pa), f"{pa} also matches {b}"


def test_ism_policy_deletes_after_a_settable_retention_and_targets_outliers():
    doc = kit.load_json(OS / "ism-policies" / "outliers-retention.json")
    policy = doc["policy"]
    states = {s["name"]: s for s in policy["states"]}
    assert policy["default_state"] in states
    assert {"delete": {}} in states["delete"]["actions"]
    ages = [t["conditions"]["min_index_age"] for s in states.values() for t in s["transitions"]]
    assert ages == ["${RETENTION}"], "the delete transition's age is the retention placeholder"
    assert policy["ism_template"][0]["index_patterns"] == ["outliers-*"]
    assert all(t["state_name"] in states for s in states.values() for t in s["transitions"])


def test_channel_url_is_configuration():
    doc = kit.load_json(OS / "channels" / "webhook.json")
    assert doc["config"]["config_type"] == "webhook"
    assert doc["config"]["webhook"]["url"] == "${WEBHOOK_URL}"


def _monitors():
    return [(p, kit.load_json(p)["monitor"]) for p in sorted((OS / "monitors").glob("*.json"))]


@pytest.mark.parametrize("path,monitor", _monitors(), ids=lambda v: getattr(v, "stem", ""))
def test_monitor_shape_indices_and_fields(path, monitor):
    scenario = path.stem
    assert set(monitor) <= MONITOR_KEYS, f"{_rel(path)}: unknown keys {set(monitor) - MONITOR_KEYS}"
    assert monitor["name"].startswith(f"outliers-{scenario}-"), f"{_rel(path)}: monitor name"
    assert monitor["monitor_type"] == "bucket_level_monitor"
    search = monitor["inputs"][0]["search"]
    templates = [kit.load_json(p)["index_patterns"] for p in (OS / "index-templates").glob("*")]
    for index in search["indices"]:
        probe = index.rstrip("*") + "-x"
        assert any(fnmatch.fnmatch(probe, pat) for pats in templates for pat in pats), \
            f"{_rel(path)}: index {index} matches no index template"
    types = kit.composed_mapping(scenario)
    missing = sorted(f for f in kit.monitor_fields(search["query"]) if f not in types)
    assert not missing, f"{_rel(path)}: fields not in the {scenario} mapping: {missing}"
    aggs = search["query"]["aggregations"]
    for wrapped in monitor["triggers"]:
        parent = wrapped["bucket_level_trigger"]["condition"]["parent_bucket_path"]
        # a terms agg, not composite: the plugin pages through a composite agg and runs the
        # actions with its last page, which is empty (pages would list no values)
        assert "terms" in aggs.get(parent, {}), \
            f"{_rel(path)}: parent_bucket_path {parent} names no top-level terms agg"


@pytest.mark.parametrize("path,monitor", _monitors(), ids=lambda v: getattr(v, "stem", ""))
def test_monitor_triggers_are_throttled_and_their_messages_say_enough(path, monitor):
    """Per-alert pages read what the plugin passes: ``bucket_keys`` of the alert, and values
    from ``ctx.results`` (the search response), whose terms agg keeps only the buckets that
    page (a ``pages_only`` bucket_selector with the trigger's own condition)."""
    aggs = monitor["inputs"][0]["search"]["query"]["aggregations"]
    for wrapped in monitor["triggers"]:
        trig = wrapped["bucket_level_trigger"]
        cond = trig["condition"]
        parent = aggs[cond["parent_bucket_path"]]
        assert trig["id"] == trig["name"], "stable trigger ids: an update keeps active alerts"
        selector = parent["aggregations"]["pages_only"]["bucket_selector"]
        assert selector["buckets_path"] == cond["buckets_path"]
        assert selector["script"] == cond["script"]["source"]
        for var, bpath in cond["buckets_path"].items():
            head = bpath.split(">")[0]
            assert bpath == "_count" or head in parent["aggregations"], \
                f"{_rel(path)}: buckets_path {var}={bpath} names no sub-aggregation"
            assert f"params.{var}" in cond["script"]["source"]
        assert trig["actions"], f"{_rel(path)}: trigger {trig['name']} has no action"
        for action in trig["actions"]:
            assert action["id"] == f"{trig['name']}-{action['name']}"
            assert action["destination_id"] == "outliers-webhook"
            assert action["throttle_enabled"] and action["throttle"]["value"] > 0
            scope = action["action_execution_policy"]["action_execution_scope"]["per_alert"]
            assert scope["actionable_alerts"] == ["NEW", "DEDUPED", "COMPLETED"]
            message = action["message_template"]["source"]
            loop = f"{{{{#ctx.results.0.aggregations.{cond['parent_bucket_path']}.buckets}}}}"
            for word in ("{{bucket_keys}}", loop, "score=", "threshold", "query (KQL",
                         "link: {{dashboards_url}}/app/discover#/view/", "{{#ctx.newAlerts}}",
                         "{{#ctx.dedupedAlerts}}", "{{#ctx.completedAlerts}}"):
                assert word in message, f"{_rel(path)}: message lacks {word!r}"
            assert "agg_alert_content" not in message, "asTemplateArg() does not pass it"
            assert action["message_template"]["params"]["dashboards_url"].startswith("http")


def test_tolls_pages_drop_and_surge_separately_at_2_5():
    monitor = kit.load_json(OS / "monitors" / "tolls.json")["monitor"]
    triggers = {t["bucket_level_trigger"]["name"]: t["bucket_level_trigger"]
                for t in monitor["triggers"]}
    assert set(triggers) == {"outliers-tolls-drop", "outliers-tolls-surge"}
    for trig in triggers.values():
        assert trig["condition"]["script"]["source"].endswith(">= 2.5")
    assert "drop" in json.dumps(triggers["outliers-tolls-drop"]["actions"])
    assert "surge" in json.dumps(triggers["outliers-tolls-surge"]["actions"])
