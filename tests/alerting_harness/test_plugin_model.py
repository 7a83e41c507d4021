"""The shipped monitors and channel through the Alerting and Notifications plugins' own code.

``org.opensearch:common-utils`` holds the models both plugins parse REST bodies with and
store (Monitor, BucketLevelTrigger, Action, NotificationConfig), so a file it rejects is a
file the plugin would answer 400 to, and its ``toXContent`` is what the plugin stores and
serves back to the next ``setup``. Needs the provisioned OpenSearch distribution and Maven
Central (the first run), no running server.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from connector.assets import (
    channel_body,
    diff_paths,
    load_assets,
    monitor_body,
    monitor_change,
    with_stored_ids,
)

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration  # provisioning: the distribution's jars, Maven Central


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


harness_module = _load("alerting_harness", Path(__file__).with_name("harness.py"))


@pytest.fixture(scope="module")
def harness():
    return harness_module.build()


@pytest.fixture(scope="module")
def assets():
    return load_assets(ROOT)


@pytest.fixture(scope="module")
def parsed(harness, assets):
    """Every shipped monitor as setup sends it (with and without actions), and the channel."""
    monitors = {}
    for name, monitor in assets.monitors.items():
        monitors[name] = json.dumps(monitor_body(monitor, with_actions=True))
        monitors[f"{name} (no channel)"] = json.dumps(monitor_body(monitor, with_actions=False))
    channel = channel_body(assets.channel, "http://receiver.example:8080/hook")
    return harness.run({"monitors": monitors, "channels": {"webhook": json.dumps(channel)}})


def test_every_shipped_monitor_and_the_channel_parse_with_the_plugins_own_parsers(
        parsed, assets):
    assert len(parsed["monitors"]) == 2 * len(assets.monitors) == 10
    rejected = {n: r["error"] for n, r in parsed["monitors"].items() if not r["ok"]}
    assert not rejected, rejected
    channel = parsed["channels"]["webhook"]
    assert channel["ok"], channel
    config = channel["stored"]["config"]
    assert channel["stored"]["config_id"] == "outliers-webhook"
    assert config["config_type"] == "webhook"
    assert config["webhook"]["url"] == "http://receiver.example:8080/hook"
    # what GET .../configs/<id> serves (config_id + the config as the plugin writes it):
    # setup's desired-subset comparison sees no change, so a second setup leaves it alone
    sent = channel_body(assets.channel, "http://receiver.example:8080/hook")
    assert diff_paths(sent, channel["stored"]) == []


def test_files_the_plugin_would_reject_fail(harness, assets):
    """The check can fail: broken bodies come back rejected, with the parser's reason."""
    tolls = monitor_body(assets.monitors["outliers-tolls-window-score"], with_actions=True)
    wrong_trigger = json.loads(json.dumps(tolls))
    wrong_trigger["triggers"][0] = {"query_level_trigger": {
        "name": "q", "severity": "1", "condition": {"script": {"source": "true"}},
        "actions": []}}
    bad_unit = json.loads(json.dumps(tolls))
    bad_unit["schedule"]["period"]["unit"] = "FORTNIGHTS"
    bad_agg = json.loads(json.dumps(tolls))
    bad_agg["inputs"][0]["search"]["query"]["aggregations"]["drop_agg"]["terms"][
        "feild"] = "toll"
    no_url = channel_body(assets.channel, "${WEBHOOK_URL}")  # the file as shipped
    out = harness.run({
        "monitors": {"wrong trigger": json.dumps(wrong_trigger),
                     "bad unit": json.dumps(bad_unit), "bad agg": json.dumps(bad_agg)},
        "channels": {"no url": json.dumps(no_url)}})
    for name, result in [*out["monitors"].items(), *out["channels"].items()]:
        assert not result["ok"] and result["error"], name
    assert "Incompatible trigger" in out["monitors"]["wrong trigger"]["error"]
    assert "FORTNIGHTS" in out["monitors"]["bad unit"]["error"]


def test_a_second_setup_against_the_stored_monitors_changes_nothing(parsed, assets):
    """What the plugin stores is in its own normal form; setup's comparison still sees
    no change, and an update would keep the stored trigger and action ids."""
    changed = []
    for name, monitor in assets.monitors.items():
        desired = monitor_body(monitor, with_actions=True)
        stored = parsed["monitors"][name]["stored"]["monitor"]  # what _search serves
        assert diff_paths(desired, stored), "the server's form differs (long-form term...)"
        action, detail = monitor_change(desired, stored)
        if action != "unchanged":
            changed.append((name, action, detail))
        sent = with_stored_ids(desired, stored)
        ids = [(t["bucket_level_trigger"]["id"],
                [a["id"] for a in t["bucket_level_trigger"]["actions"]])
               for t in sent["triggers"]]
        stored_ids = [(t["bucket_level_trigger"]["id"],
                       [a["id"] for a in t["bucket_level_trigger"]["actions"]])
                      for t in stored["triggers"]]
        assert ids == stored_ids, name
    assert changed == [], changed
    without = {n: monitor_change(monitor_body(m, with_actions=False),
                                 parsed["monitors"][n]["stored"]["monitor"])[0]
               for n, m in assets.monitors.items()}
    assert set(without.values()) == {"update"}, "removing the channel is a change"


def test_the_stored_monitor_keeps_the_shipped_trigger_and_action_ids(parsed, assets):
    for name, monitor in assets.monitors.items():
        stored = parsed["monitors"][name]["stored"]["monitor"]
        for shipped, kept in zip(monitor["triggers"], stored["triggers"], strict=True):
            ship, keep = shipped["bucket_level_trigger"], kept["bucket_level_trigger"]
            assert keep["id"] == ship["id"]
            assert [a["id"] for a in keep["actions"]] == [a["id"] for a in ship["actions"]]


def test_the_template_check_flags_a_variable_the_plugin_does_not_pass(harness, assets):
    """The former messages read agg_alert_content.bucket.*, which asTemplateArg() lacks."""
    monitor = monitor_body(assets.monitors["outliers-sensors-flagged"], with_actions=True)
    action = monitor["triggers"][0]["bucket_level_trigger"]["actions"][0]
    action["message_template"]["source"] = (
        "{{#ctx.newAlerts}}sensor={{agg_alert_content.bucket.key.sensor_id}} "
        "keys={{bucket_keys}}{{/ctx.newAlerts}}")
    response = {"aggregations": {"by_sensor_id": {"buckets": [
        {"key": "42", "doc_count": 1, "max_grade": {"value": 0.97}}]}}}
    out = harness.run({"runs": [{
        "monitor": json.dumps(monitor), "period_start_ms": 0, "period_end_ms": 60_000,
        "results": response, "later_results": response,
        "fired": {"outliers-sensors-grade": [0]}}]})
    new = next(p for p in out["pages"] if p["category"] == "NEW")
    assert new["missing"] == ["message: ctx.newAlerts[0]/agg_alert_content.bucket.key.sensor_id"]
    assert "sensor= keys=42" in new["message"], "mustache prints nothing for it"


def test_a_composite_parent_agg_leaves_the_pages_no_values(harness, assets):
    """The plugin pages a composite agg to its empty last page and runs the actions with
    that page's results: the same template on a composite agg lists nothing."""
    monitor = monitor_body(assets.monitors["outliers-sensors-flagged"], with_actions=True)
    query = monitor["inputs"][0]["search"]["query"]
    terms = query["aggregations"].pop("by_sensor_id")
    query["aggregations"]["by_sensor_id"] = {
        "composite": {"size": 100, "sources": [{"sensor_id": {"terms": {
            "field": terms["terms"]["field"]}}}]},
        "aggregations": terms["aggregations"]}
    bucket = {"key": {"sensor_id": "42"}, "doc_count": 1, "max_grade": {"value": 0.97},
              "max_score": {"value": 3.6}}
    response = {"aggregations": {"by_sensor_id": {"after_key": {"sensor_id": "42"},
                                                  "buckets": [bucket]}}}
    out = harness.run({"runs": [{
        "monitor": json.dumps(monitor), "period_start_ms": 0, "period_end_ms": 60_000,
        "results": response, "later_results": response,
        "fired": {"outliers-sensors-grade": [0]}}]})
    new = next(p for p in out["pages"] if p["category"] == "NEW")
    assert "NEW: sensor_id=42" in new["message"]
    assert "score=" not in new["message"] and "- none" in new["message"], new["message"]
