"""The sweep's offline path (cached raw forest scores, then the tail calibration) is the
product path: same levels as ``evaluate``'s ``default`` row by row."""

from __future__ import annotations

import json

import numpy as np

from detectors import DEFAULT_RCF
from evaluation.runner import score_series
from evaluation.sweep import forest_spec, main, raw_scores, tail_levels


def _series(n=1600, seed=5):
    rng = np.random.default_rng(seed)
    values = rng.normal(10.0, 1.0, n)
    values[n - 300] += 12.0
    return values


def _default_shape() -> str:
    return f"{DEFAULT_RCF['n_trees']}x{DEFAULT_RCF['sample_size']}d{DEFAULT_RCF['time_decay']}"


def test_offline_levels_equal_the_product_default_row_by_row():
    values = _series()
    product, flags, _ = score_series("default", values)
    spec = forest_spec(_default_shape(), DEFAULT_RCF["seed"], DEFAULT_RCF["standardize"])
    offline = tail_levels(raw_scores(spec, values))
    assert np.array_equal(product, offline)
    assert flags[1300] and offline[1300] >= 3.0


def test_the_command_prints_tuned_and_cross_folder_lines(tmp_path, capsys):
    root = tmp_path / "nab"
    for folder, seed in (("realAWSCloudwatch", 1), ("realKnownCause", 2)):
        (root / "data" / folder).mkdir(parents=True)
        values = _series(900, seed)
        rows = [f"2024-01-01 {i // 60:02d}:{i % 60:02d}:00,{v}" for i, v in enumerate(values)]
        (root / "data" / folder / "f.csv").write_text("timestamp,value\n" + "\n".join(rows))
    (root / "labels").mkdir()
    windows = {f"{f}/f.csv": [["2024-01-01 13:20:00", "2024-01-01 14:40:00"]]
               for f in ("realAWSCloudwatch", "realKnownCause")}
    (root / "labels" / "combined_windows.json").write_text(json.dumps(windows))
    assert main(["--shapes", "5x64d200", "--seeds", "1", "2", "--nab", str(root),
                 "--cache", str(tmp_path / "cache"), "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "5x64d200" in out and "tuned on all files" in out and "product threshold" in out
    assert "realAWSCloudwatch->realKnownCause" in out
    assert len(list((tmp_path / "cache" / "5x64d200-std").glob("s*/*.npy"))) == 4
