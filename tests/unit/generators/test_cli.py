from __future__ import annotations

import json

import generators.gameday as gameday
from connector.cli import main


def test_generate_to_stdout_with_labels_file(tmp_path, capsys):
    labels = tmp_path / "gameday.labels.jsonl"
    rc = main(
        [
            "generate",
            "gameday",
            "--count",
            "400",
            "--seed",
            "3",
            "--anomaly-rate",
            "0.05",
            "--strength",
            "subtle",
            "--stdout",
            "--labels-file",
            str(labels),
        ]
    )
    assert rc == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 400
    ids = {json.loads(line)["log_message"]["log_identifier"] for line in lines}
    rows = [json.loads(x) for x in labels.read_text().splitlines()]
    assert rows and {r["kind"] for r in rows} <= set(gameday.KINDS)
    assert {r["id"] for r in rows} <= ids
    assert set(rows[0]) == {"id", "kind", "event", "timestamp", "key"}


def test_generate_rejects_bad_arguments(capsys):
    assert main(["generate", "sensors", "--count", "5", "--stdout", "--kinds", "nope"]) == 2
    assert "unknown anomaly kind(s) nope" in capsys.readouterr().err
    assert main(["generate", "tolls", "--count", "5", "--stdout", "--rate", "0"]) == 2
