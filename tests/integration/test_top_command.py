"""``outlier-connector top`` on the real OpenSearch: known keys and flags, ranked and counted.

A copy of the tolls pipeline points at a unique index that carries the shipped tolls mapping
(``outlier.key`` a keyword); documents with known keys, flags, grades and times are indexed,
the command runs as a user runs it, and its ranking and counts are compared with the truth.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from opensearchpy import helpers

from connector.app import patch_raw
from connector.config import read_yaml
from connector.testing import unique

_kit_path = Path(__file__).resolve().parents[1] / "assets" / "_kit.py"
_spec = importlib.util.spec_from_file_location("assets_kit", _kit_path)
kit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kit)

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.now(UTC)


def _doc(key: str, minutes_ago: float, *, flag: bool, grade: float, score: float,
         top_field: str = "count") -> dict:
    at = (NOW - timedelta(minutes=minutes_ago)).isoformat(timespec="milliseconds")
    return {"toll": key, "count": 3.0, "@timestamp": at.replace("+00:00", "Z"),
            "outlier": kit.outlier(score, flag=flag, key=key, grade=grade,
                                   top_field=top_field, direction="low")}


def documents() -> list[dict]:
    """Known truth, last hour: A 5 flags (max grade 0.88); B and C 3 flags each (C's max
    grade 0.99 ranks it above B's 0.95, against the keys' alphabetical order); D never
    flagged but of high grade; E flagged 10 times, but 2 hours ago."""
    docs = [_doc("A", 5 + i, flag=True, grade=0.80 + 0.02 * i, score=2.6 + 0.1 * i,
                 top_field="plates" if i == 4 else "count") for i in range(5)]
    docs += [_doc("A", 30 + i, flag=False, grade=0.2, score=0.5) for i in range(7)]
    docs += [_doc("B", 3 + i, flag=True, grade=(0.95, 0.7, 0.6)[i], score=4.0 - i)
             for i in range(3)]
    docs += [_doc("C", 1 + i, flag=True, grade=(0.99, 0.9, 0.8)[i], score=3.0,
                  top_field="plates") for i in range(3)]
    docs += [_doc("D", 10 + i, flag=False, grade=0.98, score=2.4) for i in range(4)]
    docs += [_doc("E", 120 + i, flag=True, grade=1.0, score=5.0) for i in range(10)]
    return docs


@pytest.fixture(scope="module")
def pipeline(opensearch, opensearch_url, tmp_path_factory):
    """A tolls pipeline copy whose output index holds :func:`documents`; deleted after."""
    index = unique("top-cmd")
    made = kit.put_scoped_templates(opensearch, "tolls", index)
    try:
        actions = ({"_index": index, "_id": str(i), "_source": d}
                   for i, d in enumerate(documents()))
        _, errors = helpers.bulk(opensearch, actions, raise_on_error=False, refresh=True)
        assert not errors, errors[:3]
        raw = patch_raw(read_yaml(ROOT / "pipelines" / "tolls.yaml"), index=index,
                        opensearch_url=opensearch_url)
        path = tmp_path_factory.mktemp("top") / "tolls-copy.yaml"
        path.write_text(yaml.safe_dump(raw))
        yield path
    finally:
        opensearch.indices.delete(index=index, ignore_unavailable=True)
        kit.delete_scoped_templates(opensearch, made)


def _top(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "connector", "top", *args], cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
        timeout=120, check=False)


def test_keys_ranked_by_flags_then_max_grade_over_the_last_hour(pipeline):
    proc = _top(str(pipeline), "--since", "1h", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert (out["since"], out["documents"], out["flagged"]) == ("1h", 22, 11)
    rows = out["keys"]
    assert [r["key"] for r in rows] == ["A", "C", "B"], "D never flagged, E too old"
    assert [r["flags"] for r in rows] == [5, 3, 3]
    assert [r["documents"] for r in rows] == [12, 3, 3]
    assert [r["max_grade"] for r in rows] == pytest.approx([0.88, 0.99, 0.95])
    assert [r["max_score"] for r in rows] == pytest.approx([3.0, 3.0, 4.0])
    assert [r["top_field"] for r in rows] == ["count", "plates", "count"]
    newest_a = datetime.fromisoformat(rows[0]["last_flagged"].replace("Z", "+00:00"))
    assert abs((newest_a - (NOW - timedelta(minutes=5))).total_seconds()) < 0.01


def test_a_longer_period_and_a_limit(pipeline):
    proc = _top(str(pipeline), "--since", "3h", "--limit", "2", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads(proc.stdout)["keys"]
    assert [(r["key"], r["flags"]) for r in rows] == [("E", 10), ("A", 5)]


def test_the_table_lists_the_ranking(pipeline):
    proc = _top(str(pipeline), "--since", "1h")
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert "11 flagged of 22 documents" in lines[0]
    assert lines[1].split()[:4] == ["rank", "key", "flags", "documents"]
    assert [line.split()[:3] for line in lines[2:]] == [["1", "A", "5"], ["2", "C", "3"],
                                                         ["3", "B", "3"]]


def test_an_empty_period_and_bad_input_are_reported(pipeline):
    proc = _top(str(pipeline), "--since", "30s")
    assert proc.returncode == 0 and "no key was flagged" in proc.stdout, proc.stderr[-2000:]
    proc = _top(str(pipeline), "--since", "1hour")
    assert proc.returncode == 2 and "'1hour' is not a period" in proc.stderr
    proc = _top(str(pipeline), "--index", unique("top-missing"))
    assert proc.returncode == 1 and "does not exist" in proc.stderr


@pytest.mark.parametrize("scenario", kit.SCENARIOS)
def test_each_bundles_top_keys_table_agrees_with_the_command(opensearch, pipeline, scenario):
    """The dashboards' "top keys" table over the same documents gives the command's counts."""
    objects = {o["id"]: o for o in kit.load_ndjson(kit.ROOT / "dashboards" / f"{scenario}.ndjson")}
    vis = objects[f"outliers-{scenario}-vis-top-keys"]
    search = objects[f"outliers-{scenario}-search-top-keys"]
    assert "outlier.key" in search["attributes"]["columns"]
    dash = next(o for o in objects.values() if o["type"] == "dashboard")
    assert {vis["id"], search["id"]} <= {r["id"] for r in dash["references"]}
    state = json.loads(vis["attributes"]["visState"])
    index = yaml.safe_load(pipeline.read_text())["output"]["index"]
    rows = kit.vis_rows(state, opensearch.search(index=index, body=kit.vis_request(
        state, kit.search_source(vis)["query"]["query"])))
    proc = _top(str(pipeline), "--since", "3h", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    want = {r["key"]: (r["flags"], r["max_grade"], r["max_score"])
            for r in json.loads(proc.stdout)["keys"]}
    got = {r["2"]: (r["1"], r["3"], r["4"]) for r in rows}
    assert got.keys() == want.keys() == {"A", "B", "C", "E"}
    for key, (flags, grade, score) in want.items():
        assert got[key] == (flags, pytest.approx(grade), pytest.approx(score)), key
    assert [r["2"] for r in rows[:2]] == ["E", "A"]
