"""``outlier-connector top PIPELINE.yaml --since 1h``: the most anomalous keys of a period.

Reads the pipeline's outlier index (``output.index``) with the client ``run`` builds from
its ``output.opensearch`` block, and ranks the values of ``outlier.key`` over the documents
with ``@timestamp >= now-<since>`` by flag count, then by max grade (OpenSearch anomaly
detection's "top anomalies" question). Keys without a flag in the period are left out.
Each row has the key, flags, documents, max grade and max score (over all the key's
documents in the period), the last flagged time and the field most often named as the
cause of its flags (``outlier.top_field``). Every scenario's Dashboards bundle has the same
ranking as a table ("Top keys by flags"), there without the max-grade tie-break.
``--json`` prints one JSON object instead of the table.

Exit codes: 0 answered (also when no key was flagged), 1 OpenSearch failed or the index is
missing, 2 a config error or a bad argument (``--since 90x`` says what is accepted).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from connector.errors import ConfigError

__all__ = ["format_table", "parse_since", "register", "top", "top_request", "top_rows"]

logger = logging.getLogger(__name__)

SINCE_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week"}
_SINCE = re.compile(r"^([1-9][0-9]{0,5})([smhdw])$")
MAX_LIMIT = 1000


def parse_since(text: str) -> str:
    """Check a ``--since`` period and return it as OpenSearch date math (``now-<since>``).

    A whole positive number followed by one unit: ``s``, ``m``, ``h``, ``d`` or ``w``.

    Examples
    --------
    >>> parse_since("1h"), parse_since("15m"), parse_since(" 7d ")
    ('now-1h', 'now-15m', 'now-7d')
    >>> try:
    ...     parse_since("90x")
    ... except argparse.ArgumentTypeError as exc:
    ...     print(exc)
    '90x' is not a period: use a whole number and one of s, m, h, d, w (e.g. 30m, 1h, 7d)
    """
    text = str(text).strip()
    if _SINCE.match(text) is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a period: use a whole number and one of "
            f"{', '.join(SINCE_UNITS)} (e.g. 30m, 1h, 7d)")
    return f"now-{text}"


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"{text!r}: must be a whole number from 1 to {MAX_LIMIT}")
    return value


def top_request(since: str, limit: int) -> dict[str, Any]:
    """The search body: terms on ``outlier.key`` ranked by flags, then max grade.

    ``since`` is date math from :func:`parse_since`. The index templates give outlier indices
    one shard, so the terms ranking is exact there.

    Examples
    --------
    >>> body = top_request("now-1h", 5)
    >>> body["query"]["bool"]["filter"][0]
    {'range': {'@timestamp': {'gte': 'now-1h'}}}
    >>> body["aggs"]["keys"]["terms"]["order"]
    [{'flagged': 'desc'}, {'max_grade': 'desc'}, {'_key': 'asc'}]
    """
    flagged_only = {"term": {"outlier.flag": True}}
    return {
        "size": 0,
        "track_total_hits": True,
        "query": {"bool": {"filter": [{"range": {"@timestamp": {"gte": since}}},
                                      {"exists": {"field": "outlier.key"}}]}},
        "aggs": {
            "flagged_total": {"filter": flagged_only},
            "keys": {
                "terms": {"field": "outlier.key", "size": limit,
                          "shard_size": max(limit * 10, 100),
                          "order": [{"flagged": "desc"}, {"max_grade": "desc"},
                                    {"_key": "asc"}]},
                "aggs": {
                    "flagged": {
                        "filter": flagged_only,
                        "aggs": {
                            "last": {"max": {"field": "@timestamp"}},
                            "top_field": {"terms": {"field": "outlier.top_field", "size": 1}},
                        },
                    },
                    "max_grade": {"max": {"field": "outlier.grade"}},
                    "max_score": {"max": {"field": "outlier.score"}},
                    "only_flagged": {"bucket_selector": {
                        "buckets_path": {"flags": "flagged._count"},
                        "script": "params.flags > 0"}},
                },
            },
        },
    }


def top_rows(response: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows of a :func:`top_request` answer, in its order (rank 1 first).

    Examples
    --------
    >>> bucket = {"key": "Exit29", "doc_count": 40, "max_grade": {"value": 0.97},
    ...           "max_score": {"value": 3.1}, "flagged": {"doc_count": 5,
    ...           "last": {"value": 0, "value_as_string": "2026-11-19T10:02:00.000Z"},
    ...           "top_field": {"buckets": [{"key": "count", "doc_count": 5}]}}}
    >>> top_rows({"aggregations": {"keys": {"buckets": [bucket]}}})[0]["flags"]
    5
    """
    rows = []
    for rank, bucket in enumerate(response["aggregations"]["keys"]["buckets"], 1):
        flagged = bucket["flagged"]
        fields = flagged["top_field"]["buckets"]
        rows.append({
            "rank": rank,
            "key": bucket["key"],
            "flags": flagged["doc_count"],
            "documents": bucket["doc_count"],
            "max_grade": bucket["max_grade"]["value"],
            "max_score": bucket["max_score"]["value"],
            "last_flagged": flagged["last"].get("value_as_string"),
            "top_field": fields[0]["key"] if fields else None,
        })
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


COLUMNS = ("rank", "key", "flags", "documents", "max_grade", "max_score", "last_flagged",
           "top_field")


def format_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """A plain text table of :func:`top_rows`, one line per key under a header.

    Examples
    --------
    >>> print(format_table([{"rank": 1, "key": "a", "flags": 2, "documents": 9,
    ...     "max_grade": 0.9, "max_score": 3.0, "last_flagged": None, "top_field": "x"}]))
    rank  key  flags  documents  max_grade  max_score  last_flagged  top_field
    1     a    2      9          0.900      3.000      -             x
    """
    cells = [list(COLUMNS)] + [[_cell(row[c]) for c in COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
                     for line in cells)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``top`` command to the CLI."""
    p = subparsers.add_parser(
        "top", help="keys of a pipeline's outlier index ranked by flags and max grade",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("pipeline", help="pipeline YAML, e.g. pipelines/tolls.yaml")
    p.add_argument("--since", type=parse_since, default="1h",
                   help="period back from now: a whole number and s, m, h, d or w (default 1h)")
    p.add_argument("--limit", type=_limit, default=10, help="keys to show (default 10)")
    p.add_argument("--index", help="override the pipeline's output index")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=top)


def top(args: argparse.Namespace) -> int:
    """Run the ranking query and print it; returns the exit code."""
    from opensearchpy import NotFoundError, TransportError
    from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError

    from connector.app import load_config, opensearch_client

    try:
        cfg = load_config(args.pipeline, index=args.index)
        if not cfg.key.fields:
            raise ConfigError(f"{cfg.name}.key", "top ranks outlier.key: the pipeline has no "
                              "key.fields, so its documents have no key")
        client = opensearch_client(cfg)
    except (ConfigError, OSError) as exc:
        print(f"top: {args.pipeline}: {exc}", file=sys.stderr)
        return 2
    index = cfg.output.index
    try:
        response = client.search(index=index, body=top_request(args.since, args.limit))
    except NotFoundError:
        print(f"top: index {index!r} does not exist (has {cfg.name} written anything yet?)",
              file=sys.stderr)
        return 1
    except (TransportError, OpenSearchConnectionError) as exc:
        print(f"top: searching {index!r} failed: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    rows = top_rows(response)
    since = args.since.removeprefix("now-")
    if args.json:
        print(json.dumps({
            "pipeline": cfg.name, "index": index, "since": since,
            "documents": response["hits"]["total"]["value"],
            "flagged": response["aggregations"]["flagged_total"]["doc_count"],
            "keys": rows}, sort_keys=False))
        return 0
    print(f"{cfg.name}: {index}, last {since}: "
          f"{response['aggregations']['flagged_total']['doc_count']} flagged of "
          f"{response['hits']['total']['value']} documents")
    print(format_table(rows) if rows else "no key was flagged in this period")
    return 0
