"""The evaluate command end to end on a tiny NAB-layout folder (synthetic data)."""

from __future__ import annotations

import argparse
import json

import numpy as np

from evaluation import cli
from evaluation.corpus import load_corpus
from evaluation.runner import run_configs, score_series


def _folder(tmp_path, spikes=(("catA", 300), ("catB", 350))):
    rng = np.random.default_rng(7)
    windows, labels = {}, {}
    for folder, at in spikes:
        (tmp_path / "data" / folder).mkdir(parents=True)
        values = rng.normal(50.0, 2.0, 400)
        values[at] += 40.0
        stamps = [f"2020-01-01 {i // 60:02d}:{i % 60:02d}:00" for i in range(400)]
        name = f"{folder}/series.csv"
        text = "timestamp,value\n" + "".join(
            f"{t},{v}\n" for t, v in zip(stamps, values, strict=True)
        )
        (tmp_path / "data" / name).write_text(text)
        windows[name] = [[f"{stamps[at]}.000000", f"{stamps[at + 20]}.000000"]]
        labels[name] = [stamps[at + 10]]
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "combined_windows.json").write_text(json.dumps(windows))
    (tmp_path / "labels" / "combined_labels.json").write_text(json.dumps(labels))
    return tmp_path


def _args(root, **kw):
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    argv = ["evaluate", str(root), "--configs", "zscore", "krcf-bare", "--workers", "1"]
    for key, value in kw.items():
        argv += [f"--{key}", *([value] if isinstance(value, str) else value)]
    return parser.parse_args(argv)


def test_corpus_rows_and_windows(tmp_path):
    corpus = load_corpus(_folder(tmp_path))
    assert [s.name for s in corpus] == ["catA/series.csv", "catB/series.csv"]
    assert corpus[0].windows == ((300, 320),) and corpus[0].labels == (310,)
    assert corpus[0].probation == 60


def test_runs_are_deterministic_and_in_corpus_order(tmp_path):
    corpus = load_corpus(_folder(tmp_path))
    a = run_configs(["krcf-bare"], corpus, workers=2)["krcf-bare"]
    b = run_configs(["krcf-bare"], corpus, workers=1)["krcf-bare"]
    assert [r.file for r in a] == [s.name for s in corpus]
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x.scores, y.scores)


def test_default_flags_wait_for_calibration_warmup():
    values = np.r_[np.zeros(10), [100.0], np.random.default_rng(1).normal(0, 1, 100)]
    _, flags, _ = score_series("zscore", values)
    assert not flags[:50].any()


def test_evaluate_prints_perfect_score_for_clean_spikes(tmp_path, capsys):
    root = _folder(tmp_path)
    assert cli.run(_args(root)) == 0
    out = capsys.readouterr().out
    assert "2 files, 800 rows, 2 windows" in out
    zscore = next(line for line in out.splitlines() if line.startswith("zscore "))
    assert "100.0/100.0/100.0" in zscore
    assert "catA->catB" in out and "catB->catA" in out


def test_evaluate_files_filter_and_missing_match(tmp_path, capsys):
    root = _folder(tmp_path)
    assert cli.run(_args(root, files=["catB"])) == 0
    assert "1 files, 400 rows" in capsys.readouterr().out
    assert cli.run(_args(root, files=["nothing"])) == 2


def test_evaluate_scenario_labels(tmp_path, capsys):
    rows = [{"id": str(i), "score": 0.0, "label": 0} for i in range(30)]
    for i in (10, 11, 12):
        rows[i].update(score=4.0, label=1, event="spike")
    path = tmp_path / "scored.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert cli.run(_args(tmp_path, **{"scenario-labels": str(path), "threshold": "3"})) == 0
    out = capsys.readouterr().out
    assert "1 events" in out and "precision 1.000" in out and "recall 1.000" in out
