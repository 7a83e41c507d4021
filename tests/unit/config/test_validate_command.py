from __future__ import annotations

import json
from pathlib import Path

from connector.cli import main

ROOT = Path(__file__).resolve().parents[3]


def test_validate_every_shipped_pipeline(capsys):
    paths = sorted(str(p) for p in (ROOT / "pipelines").glob("*.yaml"))
    assert main(["validate", *paths]) == 0
    out = capsys.readouterr().out
    assert out.count(": ok (") == len(paths)


def test_validate_reports_path_and_rule(tmp_path, capsys):
    bad = tmp_path / "tolls.yaml"
    text = (ROOT / "pipelines" / "tolls.yaml").read_text()
    bad.write_text(text.replace("size: 10s", "size: ten seconds"))
    assert main(["validate", str(bad)]) == 1
    assert "INVALID tolls.window.size:" in capsys.readouterr().out


def test_validate_sample_lines(tmp_path, capsys):
    sample = tmp_path / "sample.txt"
    sample.write_text("2026-11-22T10:00:00.123Z,Exit79,T4OFLD\nnot,a,date\n")
    assert main(["validate", str(ROOT / "pipelines" / "tolls.yaml"), "--sample", str(sample)]) == 1
    out = capsys.readouterr().out
    assert "line 2: rejected: bad timestamp in 'date'" in out
    assert "1 prepared, 1 rejected" in out


def test_validate_prints_the_schema(capsys):
    assert main(["validate", "--schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "Outlier Connector pipeline"
