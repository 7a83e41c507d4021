"""Scenario label files: format checks and event metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest

from evaluation.scenario import evaluate_file, load_scenario, scenario_counts


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_events_by_id_and_recall_per_strength(tmp_path):
    rows = [{"id": str(i), "score": 0.0, "label": 0} for i in range(20)]
    for i in (3, 4, 6):  # one event with a gap inside
        rows[i].update(label=1, event="e1", strength="default", score=5.0)
    for i in (12, 13):
        rows[i].update(label=1, event="e2", strength="subtle", score=0.5)
    rows[17]["score"] = 4.0  # false alarm
    counts, recall = scenario_counts(rows, np.array([r["score"] >= 1 for r in rows]))
    assert (counts.events, counts.detected) == (2, 1)
    assert (counts.alarms, counts.true_alarms) == (3, 2)
    assert recall == {"default": 1.0, "subtle": 0.0}
    path = _write(tmp_path / "s.jsonl", rows)
    text = evaluate_file(path, threshold=1.0)
    assert "2 events" in text and "recall 0.500" in text
    assert "best event F1 over score quantiles: 0.857" in text


def test_runs_of_labels_are_events_without_event_ids(tmp_path):
    rows = [
        {"score": s, "label": lab, "flag": s > 2}
        for s, lab in [(0, 0), (3, 1), (3, 1), (0, 0), (0, 1), (0, 0)]
    ]
    path = _write(tmp_path / "s.jsonl", rows)
    text = evaluate_file(path)
    assert "2 events" in text and "the pipeline's flag" in text and "recall 0.500" in text


def test_bad_lines_are_named(tmp_path):
    path = _write(tmp_path / "s.jsonl", [{"score": 1.0, "label": 0}, {"id": "x"}])
    with pytest.raises(ValueError, match=r"s.jsonl:2"):
        load_scenario(path)
    ok = _write(tmp_path / "t.jsonl", [{"score": 1.0, "label": 0}])
    with pytest.raises(ValueError, match="--threshold"):
        evaluate_file(ok)
