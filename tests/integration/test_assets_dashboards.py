"""The aggregation behind every saved search and visualization, on the real OpenSearch.

Each scenario's index is filled with documents built from its generator (labelled records
become flagged documents) or, for windowed scenarios, with window documents computed here
from generator-like counts with known injected anomalies. Each visualization's aggs and KQL
query are turned into the request Dashboards would send (``_kit.vis_request``), run with
``_search``, and the answer is compared with the truth computed in Python from the same
documents: busiest station, most active plate, failing station, suspicious reviewers, the
broken pair. Dashboards itself cannot run here; the rendering is not tested.
"""

from __future__ import annotations

import importlib.util
import json
import math
import random
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest
from opensearchpy import helpers

from connector.testing import unique
from generators import flowlogs, gameday, reviews, sensors, tolls

_kit_path = Path(__file__).resolve().parents[1] / "assets" / "_kit.py"
_spec = importlib.util.spec_from_file_location("assets_kit", _kit_path)
kit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kit)

pytestmark = pytest.mark.integration
T0 = 1_795_000_000.0  # 2026-11-19, a fixed event-time origin


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def _flagged(score_hi: float = 3.0, **kw) -> dict:
    return kit.outlier(score_hi, flag=True, grade=0.97, **kw)


def gameday_docs() -> list[dict]:
    docs = []
    for rec in gameday.records(count=1500, anomaly_rate=0.02, seed=11, start=T0):
        log = json.loads(rec.value)["log_message"]
        out = (_flagged(key=log["path"], top_field="response_time", direction="high")
               if rec.label else kit.outlier(0.4, key=log["path"]))
        docs.append({**log, "@timestamp": _iso(log["timestamp"]), "outlier": out})
    return docs


FAILING, SURGING = "Exit29", "35South"


def tolls_docs() -> list[dict]:
    passes, counts = [], defaultdict(Counter)
    for rec in tolls.records(count=8000, rate=25.0, anomaly_rate=0.0, seed=5, start=T0):
        date, toll, user = rec.value.decode().split(",")
        passes.append({"date": date, "toll": toll, "user": user, "@timestamp": date})
        epoch = datetime.fromisoformat(date.replace("Z", "+00:00")).timestamp()
        counts[math.floor(epoch / 10) * 10][toll] += 1
    docs = []
    starts = sorted(counts)
    for i, start in enumerate(starts):
        for toll in tolls.STATIONS:
            count, out = counts[start][toll], kit.outlier(0.8, key=toll)
            if toll == FAILING and 10 <= i < 15:  # the sensor reports 20 % for 5 windows
                count = round(count * 0.2)
                out = _flagged(3.1, key=toll, top_field="count", direction="low")
            if toll == SURGING and i == 20:
                count *= 8
                out = _flagged(4.0, key=toll, top_field="count", direction="high")
            end = _iso(start + 10)
            docs.append({"toll": toll, "count": count, "plates": min(count, 10),
                         "window": kit.window(end, 10.0), "@timestamp": end, "outlier": out})
    return docs + passes


def reviews_docs() -> list[dict]:
    by_reviewer = defaultdict(list)
    for rec in reviews.records(count=800, rate=5.0, anomaly_rate=0.02, seed=3, start=T0):
        review = json.loads(rec.value)
        epoch = datetime.fromisoformat(review["event_time"].replace("Z", "+00:00")).timestamp()
        by_reviewer[review["reviewer"]].append((epoch, review["movie"], rec.label))
    docs = []
    for reviewer, items in by_reviewer.items():
        for step in {math.floor(e / 30) * 30 for e, _, _ in items}:
            for start in (step - 30, step):  # 1 min windows sliding by 30 s
                inside = [it for it in items if start <= it[0] < start + 60]
                if not inside:
                    continue
                labelled = any(label for _, _, label in inside)
                out = (_flagged(key=reviewer, top_field="count", direction="high")
                       if labelled and len(inside) >= 3 else kit.outlier(0.5, key=reviewer))
                end = _iso(start + 60)
                docs.append({"reviewer": reviewer, "count": len(inside),
                             "distinct_movies": len({m for _, m, _ in inside}),
                             "rating_spread": 0.0, "window": kit.window(end, 60.0),
                             "@timestamp": end, "outlier": out})
    return docs


def sensors_docs() -> list[dict]:
    docs = []
    for rec in sensors.records(count=1500, rate=5.0, anomaly_rate=0.01, seed=9, start=T0):
        reading = json.loads(rec.value)
        out = (_flagged(key=str(reading["sensor_id"]), top_field="temperature",
                        direction="high") if rec.label else
               kit.outlier(0.5, key=str(reading["sensor_id"])))
        docs.append({**reading, "@timestamp": reading["event_time"] + "Z", "outlier": out})
    return docs


BROKEN, REJECTING = ("checkout", "payments"), None


def flowlogs_docs() -> list[dict]:
    rng = random.Random(4)
    pairs = list(flowlogs.PAIRS)
    broken = BROKEN if BROKEN in flowlogs.PAIRS else pairs[0]
    rejecting = pairs[1] if pairs[0] != broken else pairs[2]
    docs = []
    for minute in range(12):
        end = _iso(T0 + 60 * (minute + 1))
        for src, dst in pairs:
            flows, rejects = rng.randint(40, 60), rng.randint(0, 2)
            out = kit.outlier(0.6, key=f"{src}->{dst}")
            if (src, dst) == broken and 5 <= minute < 8:
                flows, rejects = 0, 0
                out = _flagged(key=f"{src}->{dst}", top_field="flows", direction="low")
            if (src, dst) == rejecting and minute == 9:
                rejects = 20 * (rejects + 1)
                out = _flagged(key=f"{src}->{dst}", top_field="rejects", direction="high")
            docs.append({"src_service": src, "dst_service": dst, "flows": flows,
                         "bytes": flows * 900, "rejects": rejects, "pair_age": 3600.0,
                         "window": kit.window(end, 60.0), "@timestamp": end, "outlier": out})
    return docs


BUILDERS = {"gameday": gameday_docs, "tolls": tolls_docs, "reviews": reviews_docs,
            "sensors": sensors_docs, "flowlogs": flowlogs_docs}


def _matches(doc: dict, query: str) -> bool:
    """Python evaluation of the KQL subset, for the truth side."""
    def get(field):
        node = doc
        for part in field.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return node
    ops = {":": lambda a, b: a == b, ">=": lambda a, b: a is not None and a >= b,
           "<=": lambda a, b: a is not None and a <= b, ">": lambda a, b: a is not None and a > b,
           "<": lambda a, b: a is not None and a < b}
    clauses = kit.kuery_clauses(query)
    return not clauses or any(all(ops[op](get(f), v) for f, op, v in conj) for conj in clauses)


def _get(doc: dict, field: str):
    node = doc
    for part in field.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def python_rows(vis_state: dict, docs: list[dict], interval_s: int = 60) -> dict[tuple, dict]:
    """The same aggregation computed in Python: bucket-key tuple -> {metric id: value}."""
    buckets = sorted((a for a in vis_state["aggs"] if a["schema"] in kit.BUCKET_SCHEMAS),
                     key=lambda a: kit.BUCKET_SCHEMAS.index(a["schema"]))
    metrics = [a for a in vis_state["aggs"] if a["schema"] == "metric"]
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for doc in docs:
        key = []
        for agg in buckets:
            value = _get(doc, agg["params"]["field"])
            if value is None:
                break
            if agg["type"] == "terms":
                key.append(str(value).lower() if isinstance(value, bool) else str(value))
            elif agg["type"] == "date_histogram":
                key.append(int(math.floor(_epoch(value) / interval_s) * interval_s * 1000))
            else:
                step = agg["params"]["interval"]
                key.append(math.floor(value / step) * step)
        else:
            groups[tuple(key)].append(doc)
    out = {}
    for key, members in groups.items():
        row = {}
        for m in metrics:
            values = [v for v in (_get(d, m["params"].get("field", "")) for d in members)
                      if v is not None]
            row[m["id"]] = {"count": len(members), "sum": sum(values),
                            "max": max(values, default=None), "min": min(values, default=None),
                            "avg": sum(values) / len(values) if values else None}[m["type"]]
        out[key] = row
    return out


def _named_truth(scenario: str, slug: str, docs: list[dict]):
    """The exercise's question and its known answer: (bucket agg id, set of right answers)."""
    if scenario == "tolls" and slug == "busiest-station":
        sums = Counter()
        for d in docs:
            if "count" in d:
                sums[d["toll"]] += d["count"]
        return "2", {k for k, v in sums.items() if v == max(sums.values())}
    if scenario == "tolls" and slug == "most-active-plate":
        plates = Counter(d["user"] for d in docs if "user" in d)
        return "2", {k for k, v in plates.items() if v == max(plates.values())}
    if scenario == "tolls" and slug == "low-traffic-station":
        return "2", {FAILING}
    return None


def _bucket_ids(vis_state: dict) -> list[str]:
    return [a["id"] for a in sorted((a for a in vis_state["aggs"]
                                     if a["schema"] in kit.BUCKET_SCHEMAS),
                                    key=lambda a: kit.BUCKET_SCHEMAS.index(a["schema"]))]


@pytest.fixture(scope="module")
def filled(opensearch):
    """scenario -> (index, docs): every scenario's index, filled once for the module."""
    made, out = [], {}

    for scenario, build in BUILDERS.items():
        index = unique(f"assets-vis-{scenario}")
        made += kit.put_scoped_templates(opensearch, scenario, index)
        docs = build()
        actions = ({"_index": index, "_id": str(i), "_source": d} for i, d in enumerate(docs))
        ok, errors = helpers.bulk(opensearch, actions, raise_on_error=False, refresh=True)
        assert not errors, errors[:3]
        out[scenario] = (index, docs)
    yield out
    for index, _ in out.values():
        opensearch.indices.delete(index=index, ignore_unavailable=True)
    kit.delete_scoped_templates(opensearch, made)


def _objects(kind: str):
    for scenario in kit.SCENARIOS:
        for obj in kit.load_ndjson(kit.ROOT / "dashboards" / f"{scenario}.ndjson"):
            if obj["type"] == kind:
                yield pytest.param(scenario, obj, id=obj["id"])


@pytest.mark.parametrize("scenario,obj", list(_objects("visualization")))
def test_visualization_aggregation_gives_the_known_answer(opensearch, filled, scenario, obj):
    index, docs = filled[scenario]
    vis_state = json.loads(obj["attributes"]["visState"])
    query = kit.search_source(obj)["query"]["query"]
    response = opensearch.search(index=index, body=kit.vis_request(vis_state, query))
    rows = kit.vis_rows(vis_state, response)
    selected = [d for d in docs if _matches(d, query)]
    truth = python_rows(vis_state, selected)
    assert rows, f"{obj['id']}: no rows from {len(selected)} matching documents"
    ids = _bucket_ids(vis_state)
    for row in rows:
        key = tuple(row[i] for i in ids)
        assert key in truth, f"{obj['id']}: bucket {key} not in the truth"
        for mid, want in truth[key].items():
            assert row[mid] == pytest.approx(want, rel=1e-4), f"{obj['id']} {key} metric {mid}"
    if len(ids) == 1 and vis_state["type"] == "table":  # a ranking: the first row is the top
        order_id = next(a["params"]["orderBy"] for a in vis_state["aggs"] if a["id"] == ids[0])
        best = max(v[order_id] for v in truth.values())
        assert rows[0][order_id] == pytest.approx(best, rel=1e-4), f"{obj['id']}: not ranked"
    named = _named_truth(scenario, obj["id"].split("-vis-")[1], docs)
    if named is not None:
        agg_id, answers = named
        assert rows[0][agg_id] in answers, f"{obj['id']}: answered {rows[0][agg_id]}"


def test_the_exercises_questions_are_answered(opensearch, filled):
    """Suspicious reviewers, the broken pair, the marked toll windows: exactly the injected."""
    index, docs = filled["reviews"]
    vis = {o["id"]: o for o in kit.load_ndjson(kit.ROOT / "dashboards" / "reviews.ndjson")}
    obj = vis["outliers-reviews-vis-suspicious-reviewers"]
    state = json.loads(obj["attributes"]["visState"])
    rows = kit.vis_rows(state, opensearch.search(index=index, body=kit.vis_request(
        state, kit.search_source(obj)["query"]["query"])))
    burst = {d["reviewer"] for d in docs if d["outlier"]["flag"]}
    assert burst and {r["2"] for r in rows} == burst
    index, docs = filled["flowlogs"]
    vis = {o["id"]: o for o in kit.load_ndjson(kit.ROOT / "dashboards" / "flowlogs.ndjson")}
    obj = vis["outliers-flowlogs-vis-changed-pairs"]
    state = json.loads(obj["attributes"]["visState"])
    rows = kit.vis_rows(state, opensearch.search(index=index, body=kit.vis_request(
        state, kit.search_source(obj)["query"]["query"])))
    by_pair = {(r["2"], r["3"]): r for r in rows}
    stopped = {(d["src_service"], d["dst_service"]) for d in docs
               if d["outlier"]["flag"] and d["flows"] == 0}
    assert len(stopped) == 1 and stopped <= set(by_pair)
    assert by_pair[next(iter(stopped))]["5"] == 0, "the stopped pair's min flows is 0"
    assert len(by_pair) == 2, f"only the injected pairs changed: {sorted(by_pair)}"
    index, docs = filled["tolls"]
    vis = {o["id"]: o for o in kit.load_ndjson(kit.ROOT / "dashboards" / "tolls.ndjson")}
    state = json.loads(vis["outliers-tolls-vis-anomalous-windows"]["attributes"]["visState"])
    rows = kit.vis_rows(state, opensearch.search(index=index, body=kit.vis_request(state, "")))
    marked = {r["4"] for r in rows if r["3"] == "true"}
    assert marked == {FAILING, SURGING}, f"windows marked anomalous: {marked}"
    assert {r["4"] for r in rows} == set(tolls.STATIONS), "every station's counts are shown"


@pytest.mark.parametrize("scenario,obj", list(_objects("search")))
def test_saved_search_lists_the_matching_documents_newest_first(opensearch, filled, scenario,
                                                                obj):
    index, docs = filled[scenario]
    query = kit.search_source(obj)["query"]["query"]
    sort = [{field: {"order": order}} for field, order in obj["attributes"]["sort"]]
    body = {"query": kit.kuery_to_dsl(query), "sort": sort, "size": 10,
            "track_total_hits": True, "_source": obj["attributes"]["columns"]}
    res = opensearch.search(index=index, body=body)
    selected = [d for d in docs if _matches(d, query)]
    assert res["hits"]["total"]["value"] == len(selected) > 0
    newest = max(_epoch(d["@timestamp"]) for d in selected)
    times = [h["sort"][0] for h in res["hits"]["hits"]]
    assert times[0] == int(newest * 1000) and times == sorted(times, reverse=True)
    first = res["hits"]["hits"][0]["_source"]
    assert _get(first, "outlier.top_field"), f"{obj['id']}: newest hit has no explaining field"
