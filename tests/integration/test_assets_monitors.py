"""Monitor dry-run on the real painless and mustache engines.

The local OpenSearch has no Alerting or Notifications plugin, so this proves what can be
proven on the real server, step by step as Alerting does it for a bucket-level monitor:

1. render the monitor's search input with mustache (``_render/template``, ``period_end``);
2. run it with ``_search`` against an index filled through the scenario's templates;
3. evaluate each trigger's condition per composite bucket with painless
   (``_scripts/painless/_execute``, the ``buckets_path`` values as params; a missing value
   skips the bucket, as the default ``gap_policy: skip`` does);
4. render each action's message with mustache, with the alert context Alerting builds
   (``ctx.newAlerts[].bucket_keys`` and ``agg_alert_content.bucket``);
5. POST it to a real ``http.server`` on 127.0.0.1 and check the key and the score.

It does not prove the Alerting scheduler, alert state, deduplication or throttling.
"""

from __future__ import annotations

import importlib.util
import json
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opensearchpy import helpers

_kit_path = Path(__file__).resolve().parents[1] / "assets" / "_kit.py"
_spec = importlib.util.spec_from_file_location("assets_kit", _kit_path)
kit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kit)

pytestmark = pytest.mark.integration

# the keys whose documents carry the injected anomaly, per trigger
EXPECTED = {
    "gameday": {"outliers-gameday-flagged": {"INFO", "ERROR"}},
    "tolls": {"outliers-tolls-drop": {"Exit79"}, "outliers-tolls-surge": {"35South"}},
    "reviews": {"outliers-reviews-grade": {"ur-spam"}},
    "sensors": {"outliers-sensors-grade": {"42"}},
    "flowlogs": {"outliers-flowlogs-grade": {"checkout,payments"}},
}


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def _doc(scenario: str, when: float, out: dict, **fields) -> dict:
    base = kit.sample_documents()[scenario]
    doc = {**base, **fields, "@timestamp": _iso(when), "outlier": out}
    if "window" in base:
        doc["window"] = kit.window(_iso(when), base["window"]["size_s"])
    return doc


def normal_docs(scenario: str, now: float) -> list[dict]:
    """Normal traffic: unflagged, a few weak flags below every threshold, and one strong
    anomaly that is too old for the monitor's look-back window."""
    quiet = kit.outlier(0.7)
    weak = kit.outlier(1.5, flag=True, grade=0.6, top_field="x", direction="high")
    strong = kit.outlier(4.0, flag=True, grade=0.99, top_field="x", direction="low")
    keys = {"gameday": ("log_level", ["INFO", "DEBUG", "ERROR"]),
            "tolls": ("toll", ["Exit79", "35South", "TX45"]),
            "reviews": ("reviewer", ["ur1", "ur2", "ur-spam"]),
            "sensors": ("sensor_id", [1, 2, 42]),
            "flowlogs": ("src_service", ["checkout", "cart", "search"])}[scenario]
    field, values = keys
    docs = [_doc(scenario, now - 20 - i, quiet, **{field: values[i % 3]}) for i in range(30)]
    if scenario != "tolls":  # tolls flags only at 2.5, which always pages
        docs += [_doc(scenario, now - 40, weak, **{field: values[0]})]
    docs += [_doc(scenario, now - 7200, strong, **{field: values[2]})]
    return docs


def anomalous_docs(scenario: str, now: float) -> list[dict]:
    """Normal traffic plus the injected anomalies ``EXPECTED`` names."""
    docs = normal_docs(scenario, now)
    hit = kit.outlier(3.6, flag=True, grade=0.97, top_field="x", direction="high")
    if scenario == "gameday":
        docs.append(_doc(scenario, now - 30, hit, log_level="INFO", response_time=9.0))
        burst = kit.outlier(1.9, flag=True, grade=0.7, top_field="errors_10s", direction="high")
        docs += [_doc(scenario, now - 30 - i, burst, log_level="ERROR") for i in range(5)]
    elif scenario == "tolls":
        drop = kit.outlier(3.1, flag=True, grade=0.9, top_field="count", direction="low",
                           explanation={"count": {"attribution": 3.1, "direction": "low",
                                                  "expected": 11.5}})
        docs.append(_doc(scenario, now - 30, drop, toll="Exit79", count=2.0))
        surge = {**drop, "score": 4.2, "direction": "high"}
        docs.append(_doc(scenario, now - 30, surge, toll="35South", count=40.0))
    elif scenario == "reviews":
        docs.append(_doc(scenario, now - 30, hit, reviewer="ur-spam", count=6.0))
    elif scenario == "sensors":
        docs.append(_doc(scenario, now - 30, hit, sensor_id=42, current_temperature=141.0))
    else:
        docs.append(_doc(scenario, now - 30, hit, src_service="checkout",
                         dst_service="payments", flows=0.0))
    return docs


class Receiver(BaseHTTPRequestHandler):
    bodies: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers["Content-Length"])
        type(self).bodies.append(self.rfile.read(length).decode())
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver():
    Receiver.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", Receiver.bodies
    server.shutdown()
    server.server_close()


def _render(client, source: str, params: dict) -> dict:
    out = client.transport.perform_request(
        "POST", "/_render/template", body={"source": source, "params": params})
    return out["template_output"]


def _painless(client, source: str, params: dict) -> bool:
    out = client.transport.perform_request(
        "POST", "/_scripts/painless/_execute",
        body={"script": {"source": source, "lang": "painless", "params": params}})
    return out["result"] == "true"


def _bucket_value(bucket: dict, path: str):
    if path == "_count":
        return bucket["doc_count"]
    node = bucket
    for part in path.split(">"):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node.get("value") if isinstance(node, dict) else None


def dry_run(client, monitor: dict, index: str, period_end_ms: int, webhook: str,
            alerts_out: list | None = None) -> dict:
    """Run one monitor once; returns trigger name -> set of bucket keys it fired for.

    Every alert context built is appended to ``alerts_out`` when given.
    """
    search = monitor["inputs"][0]["search"]
    query = _render(client, json.dumps(search["query"]),
                    {"period_end": period_end_ms, "period_start": period_end_ms - 60_000})
    response = client.search(index=index, body=query)
    buckets = response["aggregations"]["composite_agg"]["buckets"]
    fired: dict[str, set[str]] = {}
    for wrapped in monitor["triggers"]:
        trig = wrapped["bucket_level_trigger"]
        cond = trig["condition"]
        alerts = []
        for bucket in buckets:
            params = {v: _bucket_value(bucket, p) for v, p in cond["buckets_path"].items()}
            if any(v is None for v in params.values()):
                continue  # gap_policy skip
            if _painless(client, cond["script"]["source"], params):
                keys = [str(v) for v in bucket["key"].values()]
                alerts.append({"bucket_keys": ",".join(keys), "agg_alert_content": {
                    "parent_bucket_path": "composite_agg", "bucket_keys": keys,
                    "bucket": bucket}})
        fired[trig["name"]] = {a["bucket_keys"] for a in alerts}
        if alerts_out is not None:
            alerts_out.extend((trig, a) for a in alerts)
        if not alerts:
            continue
        ctx = {"monitor": {"name": monitor["name"]},
               "trigger": {"name": trig["name"], "severity": trig["severity"]},
               "periodStart": _iso(period_end_ms / 1000 - 60), "periodEnd":
               _iso(period_end_ms / 1000), "newAlerts": alerts, "dedupedAlerts": [],
               "completedAlerts": []}
        for action in trig["actions"]:
            message = _render(client, json.dumps({"m": action["message_template"]["source"]}),
                              {"ctx": ctx})["m"]
            req = urllib.request.Request(webhook, data=message.encode(), method="POST",
                                         headers={"Content-Type": "text/plain; charset=utf-8"})
            with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - local receiver
                assert resp.status == 200
    return fired


@pytest.fixture
def scenario_index(opensearch):
    made, indices = [], []

    def make(scenario: str, docs: list[dict]) -> str:
        index = f"assets-mon-{scenario}-{uuid.uuid4().hex[:10]}"
        indices.append(index)
        made.extend(kit.put_scoped_templates(opensearch, scenario, index))
        actions = ({"_index": index, "_source": d} for d in docs)
        _, errors = helpers.bulk(opensearch, actions, raise_on_error=False, refresh=True)
        assert not errors, errors[:3]
        return index

    yield make
    for index in indices:
        opensearch.indices.delete(index=index, ignore_unavailable=True)
    kit.delete_scoped_templates(opensearch, made)


def _monitor(scenario: str) -> dict:
    return kit.load_json(kit.ROOT / "opensearch" / "monitors" / f"{scenario}.json")["monitor"]


@pytest.mark.parametrize("scenario", kit.SCENARIOS)
def test_monitor_fires_on_injected_anomalies_and_the_message_names_key_and_score(
    opensearch, scenario_index, receiver, scenario
):
    webhook, bodies = receiver
    now = time.time()
    index = scenario_index(scenario, anomalous_docs(scenario, now))
    alerts: list = []
    fired = dry_run(opensearch, _monitor(scenario), index, int(now * 1000), webhook, alerts)
    assert fired == EXPECTED[scenario]
    assert len(bodies) == sum(1 for keys in fired.values() if keys)
    text = "\n".join(bodies)
    assert all("threshold" in b and "see: index outliers-" in b for b in bodies), bodies
    for trig, alert in alerts:
        bucket = alert["agg_alert_content"]["bucket"]
        line = next((ln for ln in text.splitlines()
                     if all(f"={k}" in ln for k in bucket["key"].values())), None)
        assert line is not None, f"{trig['name']}: no line names {bucket['key']}: {text}"
        scores = [v["max_score"]["value"] for v in bucket.values()
                  if isinstance(v, dict) and "max_score" in v and v["max_score"]["value"]]
        scores.append(bucket.get("max_score", {}).get("value"))
        assert any(s is not None and f"score={s!r}" in line for s in scores), line


def test_tolls_drop_and_surge_messages_say_which(opensearch, scenario_index, receiver):
    webhook, bodies = receiver
    now = time.time()
    index = scenario_index("tolls", anomalous_docs("tolls", now))
    dry_run(opensearch, _monitor("tolls"), index, int(now * 1000), webhook)
    drop = next(b for b in bodies if "toll=Exit79" in b)
    surge = next(b for b in bodies if "toll=35South" in b)
    assert "drop count=2.0 score=3.09" in drop and "expected=11.5" in drop, drop
    assert "surge count=40.0 score=4.19" in surge, surge  # outlier.score is a float field


@pytest.mark.parametrize("scenario", kit.SCENARIOS)
def test_monitor_stays_quiet_on_normal_only_data(opensearch, scenario_index, receiver,
                                                 scenario):
    webhook, bodies = receiver
    now = time.time()
    index = scenario_index(scenario, normal_docs(scenario, now))
    fired = dry_run(opensearch, _monitor(scenario), index, int(now * 1000), webhook)
    assert all(not keys for keys in fired.values()), fired
    assert bodies == []
