"""Helpers shared by the asset tests (offline) and the asset integration tests (real server).

Reads the shipped files, composes a scenario's mapping from ``outlier-fields`` and its index
template, lists the fields a saved object or monitor uses, and turns a visualization's aggs
and its KQL query into the OpenSearch request Dashboards would send (the subset we ship:
count/sum/avg/min/max metrics, terms/date_histogram/histogram buckets, ``a:b and c >= 1``).

Tests load it by path (``tests`` is not an importable package here): see ``kit`` in them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ("gameday", "tolls", "reviews", "sensors", "flowlogs")
BUCKET_SCHEMAS = ("split", "bucket", "segment", "group")


def load_json(path: Path) -> Any:
    return json.loads(path.read_text())


def load_ndjson(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def field_types(properties: dict, prefix: str = "") -> dict[str, str]:
    """Flatten mapping ``properties`` to ``{dotted path: type}`` (objects have type object).

    >>> field_types({"a": {"type": "keyword"}, "o": {"properties": {"b": {"type": "float"}}}})
    {'a': 'keyword', 'o': 'object', 'o.b': 'float'}
    """
    out: dict[str, str] = {}
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        out[path] = spec.get("type", "object")
        if "properties" in spec:
            out.update(field_types(spec["properties"], f"{path}."))
        for sub, sub_spec in spec.get("fields", {}).items():
            out[f"{path}.{sub}"] = sub_spec["type"]
    return out


def composed_mapping(scenario: str) -> dict[str, str]:
    """Field types of ``outliers-<scenario>`` after composing ``outlier-fields``."""
    osd = ROOT / "opensearch"
    template = load_json(osd / "index-templates" / f"{scenario}.json")
    types: dict[str, str] = {}
    for component in template["composed_of"]:
        comp = load_json(osd / "component-templates" / f"{component}.json")
        types.update(field_types(comp["template"]["mappings"].get("properties", {})))
    types.update(field_types(template["template"]["mappings"].get("properties", {})))
    return types


_CLAUSE = re.compile(r"^\s*(?P<field>[\w.@]+)\s*(?P<op>:|>=|<=|>|<)\s*(?P<value>.+?)\s*$")


def _value(text: str) -> Any:
    text = text.strip()
    if text.startswith('"') and text.endswith('"'):
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        return text


def kuery_clauses(query: str) -> list[list[tuple[str, str, Any]]]:
    """``a:1 and b >= 2 or c:x`` -> OR of AND-lists of ``(field, op, value)``.

    >>> kuery_clauses('outlier.flag:true and outlier.direction:low')
    [[('outlier.flag', ':', True), ('outlier.direction', ':', 'low')]]
    >>> kuery_clauses('outlier.score >= 2.5 or outlier.flag:true')
    [[('outlier.score', '>=', 2.5)], [('outlier.flag', ':', True)]]
    >>> kuery_clauses('')
    []
    """
    out = []
    for alternative in re.split(r"\s+or\s+", query.strip()) if query.strip() else []:
        conj = []
        for part in re.split(r"\s+and\s+", alternative):
            match = _CLAUSE.match(part)
            if match is None:
                raise ValueError(f"KQL outside the shipped subset: {part!r}")
            conj.append((match["field"], match["op"], _value(match["value"])))
        out.append(conj)
    return out


def kuery_to_dsl(query: str) -> dict:
    """The query DSL equivalent of a KQL string from :func:`kuery_clauses`' subset."""
    ops = {">=": "gte", "<=": "lte", ">": "gt", "<": "lt"}
    alternatives = []
    for conj in kuery_clauses(query):
        filters = [{"term": {f: v}} if op == ":" else {"range": {f: {ops[op]: v}}}
                   for f, op, v in conj]
        alternatives.append({"bool": {"filter": filters}})
    if not alternatives:
        return {"match_all": {}}
    return {"bool": {"should": alternatives, "minimum_should_match": 1}}


def search_source(obj: dict) -> dict:
    return json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])


def saved_object_fields(obj: dict) -> set[str]:
    """Every field a search or visualization names: columns, sort, query, agg fields."""
    fields: set[str] = set()
    attrs = obj["attributes"]
    if obj["type"] in ("search", "visualization"):
        query = search_source(obj).get("query", {}).get("query", "")
        fields |= {f for conj in kuery_clauses(query) for f, _, _ in conj}
    if obj["type"] == "search":
        fields |= set(attrs["columns"]) | {s[0] for s in attrs["sort"]}
    if obj["type"] == "visualization":
        for agg in json.loads(attrs["visState"])["aggs"]:
            if "field" in agg["params"]:
                fields.add(agg["params"]["field"])
    return fields


def monitor_fields(node: Any) -> set[str]:
    """Fields a monitor's search input names (term, range, terms/metric aggs, sorts).

    >>> sorted(monitor_fields({"query": {"term": {"a": 1}}, "aggs": {"m": {"max": {"field": "b"}}},
    ...                        "sort": [{"c": {"order": "desc"}}]}))
    ['a', 'b', 'c']
    """
    fields: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("term", "range") and isinstance(value, dict):
                fields |= set(value)
            elif key == "field" and isinstance(value, str):
                fields.add(value)
            elif key == "sort" and isinstance(value, list):
                fields |= {next(iter(s)) for s in value if isinstance(s, dict)}
            elif key != "_source":
                fields |= monitor_fields(value)
    elif isinstance(node, list):
        for item in node:
            fields |= monitor_fields(item)
    return fields


def vis_request(vis_state: dict, query: str, interval: str = "1m") -> dict:
    """The search body behind a visualization: nested bucket aggs, metrics at the leaf."""
    metrics = [a for a in vis_state["aggs"] if a["schema"] == "metric" and a["type"] != "count"]
    buckets = sorted((a for a in vis_state["aggs"] if a["schema"] in BUCKET_SCHEMAS),
                     key=lambda a: BUCKET_SCHEMAS.index(a["schema"]))
    leaf = {m["id"]: {m["type"]: {"field": m["params"]["field"]}} for m in metrics}
    aggs = leaf
    for agg in reversed(buckets):
        p = agg["params"]
        order_id = p.get("orderBy", "1")
        counted = any(a["id"] == order_id and a["type"] == "count" for a in vis_state["aggs"])
        if agg["type"] == "terms":
            body = {"terms": {"field": p["field"], "size": p["size"],
                              "order": {"_count" if counted else order_id: p["order"]}}}
        elif agg["type"] == "date_histogram":
            body = {"date_histogram": {"field": p["field"], "fixed_interval": interval,
                                       "min_doc_count": 1}}
        elif agg["type"] == "histogram":
            body = {"histogram": {"field": p["field"], "interval": p["interval"]}}
        else:
            raise ValueError(f"bucket agg outside the shipped subset: {agg['type']}")
        sub = dict(aggs)
        if agg["type"] == "terms" and not counted:  # as Dashboards does: the ordering metric
            sub[order_id] = leaf[order_id]  # is computed at this level too
        if sub:
            body["aggs"] = sub
        aggs = {agg["id"]: body}
    return {"size": 0, "query": kuery_to_dsl(query), "aggs": aggs}


def vis_rows(vis_state: dict, response: dict) -> list[dict]:
    """Flatten a :func:`vis_request` response to rows ``{agg id: key or metric value}``."""
    buckets = sorted((a for a in vis_state["aggs"] if a["schema"] in BUCKET_SCHEMAS),
                     key=lambda a: BUCKET_SCHEMAS.index(a["schema"]))
    metrics = [a for a in vis_state["aggs"] if a["schema"] == "metric"]

    def walk(node: dict, depth: int, row: dict) -> list[dict]:
        if depth == len(buckets):
            out = dict(row)
            for m in metrics:
                out[m["id"]] = node["doc_count"] if m["type"] == "count" else node[m["id"]]["value"]
            return [out]
        rows = []
        for bucket in node[buckets[depth]["id"]]["buckets"]:
            key = bucket["key"]
            if buckets[depth]["type"] == "terms":
                key = bucket.get("key_as_string", key)
            rows += walk(bucket, depth + 1, {**row, buckets[depth]["id"]: key})
        return rows

    return walk({"doc_count": response["hits"]["total"]["value"], **response["aggregations"]},
                0, {})



def outlier(score: float, *, flag: bool = False, key: str | None = None, grade: float = 0.1,
            top_field: str | None = None, direction: str | None = None,
            explanation: dict | None = None) -> dict:
    """An ``outlier`` object as the connector writes it (``connector.scoring.outlier_fields``)."""
    return {"score": score, "grade": grade, "flag": flag, "confidence": 0.9,
            "warming_up": False, "key": key, "top_field": top_field if flag else None,
            "direction": direction if flag else None, "explanation": explanation,
            "model": "rcf/1"}


def window(end_iso: str, size_s: float) -> dict:
    from datetime import datetime, timedelta

    end = datetime.fromisoformat(end_iso.replace("Z", "+00:00"))
    start = (end - timedelta(seconds=size_s)).isoformat().replace("+00:00", "Z")
    return {"start": start, "end": end_iso, "size_s": size_s}


def sample_documents() -> dict[str, dict]:
    """One document per scenario, shaped like the pipelines' output (pipelines/*.yaml)."""
    t = "2026-11-22T10:00:10.000Z"
    expl = {"count": {"attribution": 2.9, "direction": "low", "expected": 11.5}}
    return {
        "gameday": {"log_identifier": "LOG-000001", "timestamp": 1728565962.2251318,
                    "log_level": "INFO", "ip_address": "152.142.140.53",
                    "user_id": "e6158ec1-f8c5-4517-b4af-a3954637fcce", "method": "DELETE",
                    "path": "wp-content/list", "status_code": 502, "response_time": 9.0,
                    "message": "Seat west value able major.", "@timestamp": t,
                    "outlier": outlier(3.5, flag=True, key="wp-content/list", grade=0.97,
                                       top_field="response_time", direction="high",
                                       explanation={"response_time": {
                                           "attribution": 3.1, "direction": "high",
                                           "expected": 0.2}})},
        "tolls": {"toll": "Exit79", "window": window(t, 10.0), "count": 2.0, "plates": 2.0,
                  "@timestamp": t, "outlier": outlier(3.0, flag=True, key="Exit79", grade=0.9,
                                                      top_field="count", direction="low",
                                                      explanation=expl)},
        "reviews": {"reviewer": "ur0001", "window": window(t, 60.0), "count": 6.0,
                    "distinct_movies": 6.0, "rating_spread": 2.1, "mean_rating": 5.5,
                    "@timestamp": t, "outlier": outlier(2.0, key="ur0001")},
        "sensors": {"sensor_id": 42, "current_temperature": 141.5, "status": "OK",
                    "event_time": "2026-11-22T10:00:10.000", "@timestamp": t,
                    "outlier": outlier(2.8, flag=True, key="42", grade=0.95,
                                       top_field="temperature", direction="high")},
        "flowlogs": {"src_service": "checkout", "dst_service": "payments",
                     "window": window(t, 60.0), "flows": 0.0, "bytes": 0.0, "rejects": 0.0,
                     "pair_age": 3600.0, "@timestamp": t,
                     "outlier": outlier(2.2, flag=True, key="checkout->payments", grade=0.93,
                                        top_field="flows", direction="low")},
    }


def put_scoped_templates(client: Any, scenario: str, index: str) -> list[tuple[str, str]]:
    """PUT the scenario's templates under names and a pattern that match only ``index``.

    Returns ``(kind, name)`` pairs to delete afterwards. The shipped bodies are used as they
    are, except for the names, ``composed_of`` and ``index_patterns``.
    """
    osd = ROOT / "opensearch"
    comp_name = f"{index}-outlier-fields"
    comp = load_json(osd / "component-templates" / "outlier-fields.json")
    client.cluster.put_component_template(name=comp_name, body=comp)
    template = load_json(osd / "index-templates" / f"{scenario}.json")
    template.update(index_patterns=[index], composed_of=[comp_name], priority=1000)
    client.indices.put_index_template(name=f"{index}-template", body=template)
    return [("index_template", f"{index}-template"), ("component_template", comp_name)]


def delete_scoped_templates(client: Any, made: list[tuple[str, str]]) -> None:
    from opensearchpy import NotFoundError

    for kind, name in made:
        try:
            if kind == "index_template":
                client.indices.delete_index_template(name=name)
            else:
                client.cluster.delete_component_template(name=name)
        except NotFoundError:
            pass
