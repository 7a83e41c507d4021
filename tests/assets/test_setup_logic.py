"""The pure parts of connector.assets and the setup command, on the shipped files."""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

from connector.assets import (
    Change,
    channel_body,
    content_hash,
    diff_paths,
    ism_body,
    load_assets,
    monitor_body,
    monitor_change,
    with_stored_ids,
)
from connector.commands import setup

_spec = importlib.util.spec_from_file_location("assets_kit", Path(__file__).with_name("_kit.py"))
kit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kit)


def test_load_assets_keeps_only_the_chosen_scenarios():
    assets = load_assets(kit.ROOT, ["tolls"])
    assert list(assets.index_templates) == ["tolls"]
    assert list(assets.monitors) == ["outliers-tolls-window-score"]
    assert list(assets.dashboards) == ["tolls"]
    assert list(assets.component_templates) == ["outlier-fields"]
    everything = load_assets(kit.ROOT)
    assert sorted(everything.index_templates) == sorted(kit.SCENARIOS)


def test_ism_body_sets_the_retention_and_drops_meta():
    doc = load_assets(kit.ROOT).ism_policies["outliers-retention"]
    body = ism_body(doc, "7d")
    assert set(body) == {"policy"}
    assert "${RETENTION}" not in json.dumps(body) and '"7d"' in json.dumps(body)


def test_channel_body_sets_the_url_without_touching_the_file():
    doc = load_assets(kit.ROOT).channel
    body = channel_body(doc, "http://receiver:8080/hook")
    assert body["config"]["webhook"]["url"] == "http://receiver:8080/hook"
    assert "_meta" not in body and doc["config"]["webhook"]["url"] == "${WEBHOOK_URL}"


def test_monitor_without_a_channel_keeps_its_triggers_but_no_actions():
    monitor = load_assets(kit.ROOT).monitors["outliers-tolls-window-score"]
    bare = monitor_body(monitor, with_actions=False)
    assert [next(iter(t.values()))["actions"] for t in bare["triggers"]] == [[], []]
    assert all(next(iter(t.values()))["actions"] for t in monitor["triggers"]), "no mutation"
    sent = monitor_body(monitor, with_actions=True)
    assert {k: v for k, v in sent.items() if k != "ui_metadata"} == monitor
    assert set(sent["ui_metadata"]) == {"outlier_connector"}


def test_monitor_content_hash_tracks_the_body_and_the_link_address():
    monitor = load_assets(kit.ROOT).monitors["outliers-tolls-window-score"]
    one = monitor_body(monitor, with_actions=True)
    assert monitor_change(one, None) == ("create", "")
    assert monitor_change(monitor_body(monitor, True), one) == ("unchanged", "")
    linked = monitor_body(monitor, True, link_url="https://dash.example:5601/")
    assert "https://dash.example:5601/app/" not in json.dumps(monitor), "no mutation"
    params = [a["message_template"]["params"] for t in linked["triggers"]
              for a in t["bucket_level_trigger"]["actions"]]
    assert {p["dashboards_url"] for p in params} == {"https://dash.example:5601"}
    action, detail = monitor_change(linked, one)
    assert action == "update" and detail.startswith("content hash ")
    bare = monitor_body(monitor, with_actions=False)
    assert monitor_change(bare, one)[0] == "update", "dropping the actions is a change"
    assert monitor_change(one, {**one, "ui_metadata": {}})[0] == "update", "no stored hash"


def test_an_update_keeps_the_stored_trigger_and_action_ids():
    monitor = monitor_body(load_assets(kit.ROOT).monitors["outliers-tolls-window-score"], True)
    stored = json.loads(json.dumps(monitor))
    for n, trig in enumerate(stored["triggers"]):
        body = trig["bucket_level_trigger"]
        body["id"] = f"server-trigger-{n}"
        for action in body["actions"]:
            action["id"] = f"server-action-{n}"
    sent = with_stored_ids(monitor, stored)
    bodies = [t["bucket_level_trigger"] for t in sent["triggers"]]
    ids = [(b["id"], [a["id"] for a in b["actions"]]) for b in bodies]
    assert ids == [("server-trigger-0", ["server-action-0"]),
                   ("server-trigger-1", ["server-action-1"])]
    assert sent["ui_metadata"] == monitor["ui_metadata"], "the shipped body's hash is kept"
    assert content_hash(sent) != content_hash(monitor), "the ids are part of what is sent"


def test_diff_ignores_server_added_fields_but_sees_changed_and_missing_ones():
    desired = {"name": "m", "triggers": [{"t": {"name": "a", "actions": [{"name": "p"}]}}],
               "settings": {"index": {"number_of_shards": 1}}}
    server = {"name": "m", "id": "x1", "last_update_time": 5, "schema_version": 8,
              "triggers": [{"t": {"id": "t1", "name": "a",
                                  "actions": [{"id": "a1", "name": "p"}]}}],
              "settings": {"index": {"number_of_shards": "1", "uuid": "u"}}}
    assert diff_paths(desired, server) == []
    server["triggers"][0]["t"]["name"] = "b"
    del server["settings"]["index"]["number_of_shards"]
    assert diff_paths(desired, server) == ["triggers[0].t.name",
                                           "settings.index.number_of_shards"]


def test_change_lines_are_readable():
    assert str(Change("monitor", "m", "skip", "no alerting")) == "skip      monitor m: no alerting"
    assert str(Change("index-template", "t", "unchanged")) == "unchanged index-template t"


def test_setup_parser_defaults_and_options():
    parser = argparse.ArgumentParser()
    setup.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["setup", "--dry-run", "--scenario", "tolls", "--tenant", "global",
                              "--url", "https://search:9200", "--user", "u", "--insecure"])
    assert args.dry_run and args.scenarios == ["tolls"] and args.tenant == "global"
    assert args.retention == "30d" and args.func is setup.run
    client = setup.client_from_args(args)
    conn = client.transport.connection_pool.connections[0]
    assert conn.host == "https://search:9200" and conn.use_ssl
    linked = parser.parse_args(["setup", "--page-link-url", "https://dash.example"])
    assert linked.page_link_url == "https://dash.example"


def test_saved_object_upload_is_a_well_formed_multipart_file_field():
    from email.parser import BytesParser
    from email.policy import HTTP

    path = kit.ROOT / "dashboards" / "tolls.ndjson"
    body, boundary = setup._multipart(path)
    head = f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    parts = list(message.iter_parts())
    assert len(parts) == 1
    part = parts[0]
    assert part.get_param("name", header="content-disposition") == "file"
    assert part.get_filename() == "tolls.ndjson", "Dashboards rejects files not ending .ndjson"
    assert part.get_payload(decode=True) == path.read_bytes()


def test_dry_run_import_lists_each_bundle_without_a_request():
    args = argparse.Namespace(dashboards_url="http://127.0.0.1:9", dry_run=True, tenant=None,
                              user=None, password=None, ca_certs=None, insecure=False)
    files = load_assets(kit.ROOT).dashboards
    lines = setup.import_saved_objects(args, files)
    counts = {p.stem: len(kit.load_ndjson(p)) for p in files.values()}
    assert lines == [f"import    saved-objects {s}.ndjson: {n} objects (overwrite)"
                     for s, n in counts.items()]
