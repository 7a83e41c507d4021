"""Each monitor's run on the real OpenSearch, its pages built by the Alerting plugin's own code.

The local OpenSearch has no Alerting plugin, so a bucket-level run is assembled from real
parts, step by step as the plugin does it:

1. render the monitor's search input with mustache (``_render/template``, ``period_end``);
2. run it with ``_search`` on an index filled through the scenario's templates;
3. evaluate each trigger's condition per bucket of its ``parent_bucket_path`` with painless
   (``_scripts/painless/_execute``, the ``buckets_path`` values as params; a missing value
   skips the bucket, as ``gap_policy: skip`` does);
4. hand the monitor, the search response and the fired buckets to the Alerting harness
   (``tests/alerting_harness``): common-utils' own Monitor parser and Alert objects, their
   ``asTemplateArg()``, the per-alert context of BucketLevelMonitorRunner, and the real
   mustache engine render every page for NEW, DEDUPED and COMPLETED alerts, and flag any
   variable a template reads that the plugin does not pass;
5. POST each page to a real ``http.server`` on 127.0.0.1.

Not proven here: the plugin's scheduler, alert storage, throttling, and its BucketSelectorExt
(step 3 evaluates the same condition with the same painless engine instead).

``OUTLIER_WRITE_ALERT_EXAMPLES=1`` rewrites the example pages in ``opensearch/README.md``
from this test's output; without it the test checks that README still shows them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
import threading
import urllib.request
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opensearchpy import helpers

from connector.assets import load_assets, monitor_body
from connector.testing import unique


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


TESTS = Path(__file__).resolve().parents[1]
kit = _load("assets_kit", TESTS / "assets" / "_kit.py")
harness_module = _load("alerting_harness", TESTS / "alerting_harness" / "harness.py")

pytestmark = pytest.mark.integration

# a fixed period end, so the pages (times, scores) are the same on every run
PERIOD_END_MS = int(datetime(2026, 11, 22, 10, 5, tzinfo=UTC).timestamp() * 1000)
README = kit.ROOT / "opensearch" / "README.md"
EXAMPLES_BEGIN = ("<!-- alert examples: begin "
                  "(written by tests/integration/test_assets_monitors.py) -->")
EXAMPLES_END = "<!-- alert examples: end -->"

# the keys whose documents carry the injected anomaly, per trigger
EXPECTED = {
    "gameday": {"outliers-gameday-flagged": {"INFO", "ERROR"}},
    "tolls": {"outliers-tolls-drop": {"Exit79"}, "outliers-tolls-surge": {"35South"}},
    "reviews": {"outliers-reviews-grade": {"ur-spam"}},
    "sensors": {"outliers-sensors-grade": {"42"}},
    "flowlogs": {"outliers-flowlogs-grade": {"checkout->payments"}},
}
# per scenario, the alert whose NEW and DEDUPED pages are checked word for word, and text
# they must carry: the key, the value, the score and the threshold (the link: every page).
# Scores print as the float field stores them (3.6 -> 3.5999999046325684).
PAGE_TEXT = {
    "gameday": ("outliers-gameday-flagged", ["INFO"], [
        "log_level=INFO flagged=2 (threshold 5) max_grade=0.97", "(threshold 0.95)",
        "score=3.59", "max_response_time=9.0"]),
    "tolls": ("outliers-tolls-drop", ["Exit79"], [
        "toll=Exit79 drop count=2.0 expected=11.5 score=3.09", "threshold=2.5"]),
    "reviews": ("outliers-reviews-grade", ["ur-spam"], [
        "reviewer=ur-spam", "grade=0.97", "(threshold 0.9)", "score=3.59", "count=6.0"]),
    "sensors": ("outliers-sensors-grade", ["42"], [
        "sensor_id=42", "grade=0.97", "(threshold 0.9)", "score=3.59",
        "current_temperature=141.0"]),
    "flowlogs": ("outliers-flowlogs-grade", ["checkout->payments"], [
        "pair=checkout->payments src_service=checkout dst_service=payments", "grade=0.97",
        "(threshold 0.9)", "score=3.59", "flows=0.0"]),
}


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def _doc(scenario: str, when: float, out: dict, **fields) -> dict:
    base = kit.sample_documents()[scenario]
    doc = {**base, **fields, "@timestamp": _iso(when), "outlier": out}
    if scenario == "flowlogs":  # the pipeline's key: src_service->dst_service
        doc["outlier"] = {**out, "key": f"{doc['src_service']}->{doc['dst_service']}"}
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


@pytest.fixture(scope="module")
def harness():
    return harness_module.build()


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


def search(client, monitor: dict, index: str, period_end_ms: int) -> dict:
    """The monitor's search input, rendered as the plugin renders it, run on ``index``."""
    source = json.dumps(monitor["inputs"][0]["search"]["query"])
    rendered = client.transport.perform_request(
        "POST", "/_render/template", body={"source": source, "params": {
            "period_end": period_end_ms, "period_start": period_end_ms - 60_000}})
    return client.search(index=index, body=rendered["template_output"])


def fired_buckets(client, monitor: dict, response: dict) -> dict[str, list[int]]:
    """Trigger name -> indices of the buckets of its parent agg whose condition holds."""
    fired: dict[str, list[int]] = {}
    for wrapped in monitor["triggers"]:
        trig = wrapped["bucket_level_trigger"]
        cond = trig["condition"]
        buckets = response["aggregations"][cond["parent_bucket_path"]]["buckets"]
        fired[trig["name"]] = []
        for i, bucket in enumerate(buckets):
            params = {v: _bucket_value(bucket, p) for v, p in cond["buckets_path"].items()}
            if any(v is None for v in params.values()):
                continue  # gap_policy skip
            if _painless(client, cond["script"]["source"], params):
                fired[trig["name"]].append(i)
    return fired


def _monitor(scenario: str) -> dict:
    """The monitor as setup sends it (with actions: a channel exists)."""
    (monitor,) = [m for n, m in load_assets(kit.ROOT, [scenario]).monitors.items()]
    return monitor_body(monitor, with_actions=True)


@pytest.fixture(scope="module")
def rendered(opensearch, harness):
    """Per scenario: pages of one run on anomalous data (COMPLETED: the next run, on normal
    data only), the search responses and the fired buckets. One harness run for all."""
    made, indices, runs, out = [], [], [], {}

    def make(scenario: str, docs: list[dict]) -> str:
        index = unique(f"assets-mon-{scenario}")
        indices.append(index)
        made.extend(kit.put_scoped_templates(opensearch, scenario, index))
        actions = ({"_index": index, "_source": d} for d in docs)
        _, errors = helpers.bulk(opensearch, actions, raise_on_error=False, refresh=True)
        assert not errors, errors[:3]
        return index

    try:
        now = PERIOD_END_MS / 1000
        for scenario in kit.SCENARIOS:
            monitor = _monitor(scenario)
            busy = make(scenario, anomalous_docs(scenario, now))
            quiet = make(scenario, normal_docs(scenario, now))
            response = search(opensearch, monitor, busy, PERIOD_END_MS)
            later = search(opensearch, monitor, quiet, PERIOD_END_MS + 60_000)
            quiet_now = search(opensearch, monitor, quiet, PERIOD_END_MS)
            fired = fired_buckets(opensearch, monitor, response)
            out[scenario] = {"monitor": monitor, "response": response, "fired": fired,
                             "quiet": quiet_now,
                             "quiet_fired": fired_buckets(opensearch, monitor, quiet_now)}
            runs.append({"monitor": json.dumps(monitor),
                         "period_start_ms": PERIOD_END_MS - 60_000,
                         "period_end_ms": PERIOD_END_MS, "results": response,
                         "later_results": later, "fired": fired})
        pages = harness.run({"runs": runs})["pages"]
        for result in out.values():
            result["pages"] = [p for p in pages if p["monitor"] == result["monitor"]["name"]]
        yield out
    finally:
        for index in indices:
            opensearch.indices.delete(index=index, ignore_unavailable=True)
        kit.delete_scoped_templates(opensearch, made)


@pytest.mark.parametrize("scenario", kit.SCENARIOS)
def test_pages_name_key_value_score_threshold_and_link_for_new_deduped_completed(
        rendered, receiver, scenario):
    webhook, bodies = receiver
    run = rendered[scenario]
    pages, response, fired, monitor = run["pages"], run["response"], run["fired"], \
        run["monitor"]
    keys = {name: {response["aggregations"][
        t["bucket_level_trigger"]["condition"]["parent_bucket_path"]]["buckets"][i]["key"]
        for i in fired[name]}
        for t in monitor["triggers"] for name in [t["bucket_level_trigger"]["name"]]}
    assert keys == EXPECTED[scenario]
    # the pages_only selector leaves exactly the paging buckets in ctx.results
    for wrapped in monitor["triggers"]:
        trig = wrapped["bucket_level_trigger"]
        parent = response["aggregations"][trig["condition"]["parent_bucket_path"]]
        assert len(parent["buckets"]) == len(fired[trig["name"]])
    alerts = sum(len(v) for v in fired.values())
    assert len(pages) == 3 * alerts, [(p["trigger"], p["category"]) for p in pages]
    for page in pages:
        where = f"{page['trigger']} {page['category']} {page['bucket_keys']}"
        assert page["missing"] == [], f"{where}: reads what the plugin does not pass"
        assert page["nulls"] == [], f"{where}: prints empty values {page['nulls']}"
        key_text = f"={','.join(page['bucket_keys'])}"
        assert key_text in page["message"], f"{where}: {page['message']}"
        if page["category"] == "COMPLETED":
            assert "RESOLVED" in page["message"] and "- none" in page["message"], where
            continue
        head = "NEW:" if page["category"] == "NEW" else "STILL ACTIVE:"
        assert head in page["message"], where
        assert f"link: http://127.0.0.1:5601/app/discover#/view/outliers-{scenario}-" \
               "search-outliers?" in page["message"], where
        assert "query (KQL on outliers-" in page["message"], where
    trigger, key, expected_text = PAGE_TEXT[scenario]
    for category in ("NEW", "DEDUPED"):
        page = next(p for p in pages if p["trigger"] == trigger
                    and p["category"] == category and p["bucket_keys"] == key)
        for text in expected_text:
            assert text in page["message"], f"{category} lacks {text!r}:\n{page['message']}"
    for page in pages:  # the webhook channel POSTs the message as text/plain
        req = urllib.request.Request(webhook, data=page["message"].encode(), method="POST",
                                     headers={"Content-Type": "text/plain; charset=utf-8"})
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - local receiver
            assert resp.status == 200
    assert bodies == [p["message"] for p in pages]


def test_tolls_drop_and_surge_pages_say_which(rendered):
    pages = rendered["tolls"]["pages"]
    new = {p["trigger"]: p["message"] for p in pages if p["category"] == "NEW"}
    assert "traffic drop" in new["outliers-tolls-drop"]
    assert "toll=Exit79 drop count=2.0" in new["outliers-tolls-drop"]
    assert "35South" not in new["outliers-tolls-drop"], "the drop page lists drops only"
    assert "toll=35South surge count=40.0" in new["outliers-tolls-surge"]
    assert "score=4.19" in new["outliers-tolls-surge"]  # outlier.score is a float field
    assert "Exit79" not in new["outliers-tolls-surge"]


@pytest.mark.parametrize("scenario", kit.SCENARIOS)
def test_monitor_stays_quiet_on_normal_only_data(rendered, scenario):
    monitor, response = rendered[scenario]["monitor"], rendered[scenario]["quiet"]
    fired = rendered[scenario]["quiet_fired"]
    assert all(not indices for indices in fired.values()), fired
    for wrapped in monitor["triggers"]:
        parent = wrapped["bucket_level_trigger"]["condition"]["parent_bucket_path"]
        assert response["aggregations"][parent]["buckets"] == []


def _examples_block(pages_by_scenario: dict[str, list]) -> str:
    """A NEW page per scenario, then the DEDUPED and COMPLETED pages of the tolls drop."""
    shown = [(s, "NEW") for s in pages_by_scenario] + [("tolls", "DEDUPED"),
                                                       ("tolls", "COMPLETED")]
    parts = [EXAMPLES_BEGIN, ""]
    for scenario, category in shown:
        trigger, key, _ = PAGE_TEXT[scenario]
        page = next(p for p in pages_by_scenario[scenario] if p["trigger"] == trigger
                    and p["category"] == category and p["bucket_keys"] == key)
        parts += [f"**{scenario}**, `{trigger}`, {category} alert "
                  f"(subject: {page['subject']}):", "", "```text",
                  page["message"].rstrip("\n"), "```", ""]
    parts.append(EXAMPLES_END)
    return "\n".join(parts)


def test_readme_shows_the_pages_this_test_renders(rendered):
    pages = {s: rendered[s]["pages"] for s in kit.SCENARIOS}
    block = _examples_block(pages)
    text = README.read_text()
    pattern = re.compile(re.escape(EXAMPLES_BEGIN) + r".*?" + re.escape(EXAMPLES_END), re.S)
    if os.environ.get("OUTLIER_WRITE_ALERT_EXAMPLES") == "1":
        README.write_text(pattern.sub(lambda _: block, text))
        text = README.read_text()
    found = pattern.search(text)
    assert found, f"{README} lacks the alert examples block"
    assert found[0] == block, ("opensearch/README.md's example pages differ from what the "
                               "monitors render; rerun with OUTLIER_WRITE_ALERT_EXAMPLES=1")
