"""Forest-shape sweep on NAB: NAB scores averaged over forest seeds, to choose a default.

One forest seed moves a shape's NAB score by about 3 points, more than most differences
between shapes; so a shape is judged by its mean over several seeds. Each (shape, seed,
file) raw score series is computed once with the product's :class:`detectors.RandomCutForest`
(score, then learn; rows before the forest is ready are not scored, as in the product) and
cached as ``.npy``; the product's tail calibration (:class:`detectors.ScoreCalibrator`,
:data:`detectors.DEFAULT_CALIBRATION` unless ``--tail`` overrides keys) turns it into the level
NAB's per-profile threshold search sweeps (and the product's own flag, level >= 3, is scored
as it is). At one seed this equals ``evaluate --configs
default`` for the default shape (``tests/unit/evaluation/test_sweep.py``). Besides the
tuned scores on all files, each shape gets the cross-folder check: thresholds tuned on
realAWSCloudwatch, scored on realKnownCause, and the reverse.

Shapes are ``TxS`` (trees x sample size, krcf's default time decay) or ``TxSdD`` (time decay
``D`` records); the forests standardise their input as :data:`detectors.DEFAULT_RCF` does
unless ``--raw-inputs``::

    python -m evaluation.sweep --shapes 20x512 15x1024d3000 --seeds 42 7 1 2 3 4 5 6
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from detectors import DEFAULT_CALIBRATION, DEFAULT_RCF, RandomCutForest, ScoreCalibrator
from detectors.models import rcf_shape
from evaluation.corpus import DEFAULT_NAB, DataMissing, LabelledSeries, load_corpus
from evaluation.nab import PROFILES
from evaluation.report import PROFILE_ORDER, pooled, transfer

__all__ = ["forest_spec", "raw_scores", "tail_levels", "main"]

_CACHE = Path.home() / ".cache" / "outlier-connector" / "nab-sweep"


def forest_spec(shape: str, seed: int, standardize: bool = False) -> dict[str, Any]:
    """The RandomCutForest parameters of a shape name (:func:`detectors.models.rcf_shape`).

    >>> forest_spec("15x1024d3000", 7)
    {'n_trees': 15, 'sample_size': 1024, 'seed': 7, 'time_decay': 3000}
    >>> forest_spec("20x512", 42, standardize=True)
    {'n_trees': 20, 'sample_size': 512, 'seed': 42, 'standardize': True}
    """
    spec = rcf_shape(shape, seed)
    del spec["name"]
    if standardize:
        spec["standardize"] = True
    return spec


def raw_scores(spec: Mapping[str, Any], values: np.ndarray) -> np.ndarray:
    """Raw score of every row (score, then learn); NaN while the forest is not ready.

    >>> s = raw_scores({"n_trees": 5, "sample_size": 16, "seed": 1}, np.arange(30.0))
    >>> bool(np.isnan(s[0])), bool(np.isnan(s[-1]))
    (True, False)
    """
    forest = RandomCutForest(shingle_size=1, **spec)
    out = np.full(len(values), np.nan)
    for i, value in enumerate(values.tolist()):
        x = {"value": value}
        if forest.is_ready:
            out[i] = forest.score_one(x)
        forest.learn_one(x)
    return out


def tail_levels(raw: np.ndarray,
                calibration: Mapping[str, Any] = DEFAULT_CALIBRATION) -> np.ndarray:
    """The calibrator's level of every row (``-log10 p`` at a new peak, else 0).

    >>> raw = np.r_[np.full(2, np.nan), np.tile([1.0, 2.0], 100), [9.0]]
    >>> from detectors import TAIL_CALIBRATION  # empirical tail: p >= 1 / (n + 1)
    >>> float(tail_levels(raw)[0]), round(float(tail_levels(raw, TAIL_CALIBRATION)[-1]), 2)
    (0.0, 2.3)
    >>> # fitted tail: every top score equal, 9 is beyond them; 200 scores are a young history,
    >>> # so the level is lowered by young * log10(1000 / 200) = 1.4 (detectors/README.md)
    >>> round(float(tail_levels(raw)[-1]), 1)
    10.6
    """
    calibrator = ScoreCalibrator(threshold=calibration["threshold"],
                                 tail=dict(calibration["tail"]))
    out = np.zeros(len(raw))
    for i, score in enumerate(raw.tolist()):
        if score == score:  # not ready: NaN, never recorded (as the product's calibrator)
            calibrator.observe(score)
            out[i] = calibrator.last_level
    return out


def _cached_raw(job: tuple[Path, str, int, LabelledSeries, bool]) -> Path:
    cache, shape, seed, series, standardize = job
    folder = shape + ("-std" if standardize else "")
    path = cache / folder / f"s{seed}" / (series.name.replace("/", "__") + ".npy")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, raw_scores(forest_spec(shape, seed, standardize), series.values))
    return path


def _seed_scores(job: tuple[list[Path], list[LabelledSeries], dict]) -> dict[str, list[float]]:
    paths, corpus, calibration = job
    levels = [tail_levels(np.load(p), calibration) for p in paths]
    rows = pooled(corpus, levels)
    out = {"tuned": [rows.best(PROFILES[name]).score for name in PROFILE_ORDER],
           "product": [rows.at_threshold(calibration["threshold"], PROFILES[name]).score
                       for name in PROFILE_ORDER]}
    folders = sorted({s.folder for s in corpus})
    if len(folders) == 2:
        for a, b in (folders, folders[::-1]):
            moved = transfer(corpus, levels, a, b)
            out[f"{a}->{b}"] = [moved[name].score for name in PROFILE_ORDER]
    return out


def sweep(
    shapes: Sequence[str], seeds: Sequence[int], corpus: list[LabelledSeries],
    calibration: Mapping[str, Any], cache: Path, workers: int = 2, standardize: bool = False,
) -> dict[str, list[dict[str, list[float]]]]:
    """Per shape, the scores of every seed (``tuned``, ``product`` and the cross-folder
    transfers)."""
    jobs = [(cache, shape, seed, s, standardize) for shape in shapes for seed in seeds
            for s in corpus]
    jobs.sort(key=lambda j: -len(j[3].values))
    with ProcessPoolExecutor(workers) as pool:
        paths = dict(zip([(j[1], j[2], j[3].name) for j in jobs], pool.map(_cached_raw, jobs),
                         strict=True))
        work = [([paths[(shape, seed, s.name)] for s in corpus], corpus, dict(calibration))
                for shape in shapes for seed in seeds]
        results = list(pool.map(_seed_scores, work))
    return {shape: results[i * len(seeds):(i + 1) * len(seeds)] for i, shape in enumerate(shapes)}


_LABELS = {"tuned": "tuned on all files",
           "product": "product threshold (level >= threshold), no tuning"}


def _line(label: str, per_seed: list[list[float]]) -> str:
    mean = np.mean(per_seed, axis=0)
    spread = [row[0] for row in per_seed]
    return (f"  {label:44s} {mean[0]:6.2f} / {mean[1]:6.2f} / {mean[2]:6.2f}   "
            f"std range {min(spread):.1f}-{max(spread):.1f}")


def main(argv: list[str] | None = None) -> int:
    """Print, per shape, mean NAB std / lowFP / lowFN over the seeds (tuned and transfer)."""
    p = argparse.ArgumentParser(prog="python -m evaluation.sweep", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shapes", nargs="+", required=True, metavar="TxS[dD]")
    p.add_argument("--seeds", nargs="+", type=int, default=[42, 7, 1, 2, 3, 4, 5, 6])
    p.add_argument("--tail", default="{}", help='JSON overriding tail keys, e.g. {"suppress": 500}')
    p.add_argument("--raw-inputs", action="store_true",
                   help="forests on the raw values (default: standardised as DEFAULT_RCF)")
    p.add_argument("--nab", default=str(DEFAULT_NAB), help="NAB-layout folder")
    p.add_argument("--cache", default=str(_CACHE), help="raw score cache (safe to delete)")
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args(argv)
    calibration = {"threshold": DEFAULT_CALIBRATION["threshold"],
                   "tail": {**DEFAULT_CALIBRATION["tail"], **json.loads(args.tail)}}
    try:
        corpus = load_corpus(args.nab)
    except DataMissing as exc:  # one line, no traceback (issue 11)
        print(f"python -m evaluation.sweep: {exc}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    standardize = bool(DEFAULT_RCF.get("standardize")) and not args.raw_inputs
    results = sweep(args.shapes, args.seeds, corpus, calibration, Path(args.cache), args.workers,
                    standardize)
    print(f"NAB sweep: {len(corpus)} files, seeds {args.seeds}, calibration {calibration}; "
          f"mean std / lowFP / lowFN (NAB data (c) Numenta, MIT licence)")
    for shape, per_seed in results.items():
        print(shape)
        for key in per_seed[0]:
            print(_line(_LABELS.get(key, key), [r[key] for r in per_seed]))
    print(f"wall time {time.perf_counter() - start:.1f} s, workers {args.workers}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
