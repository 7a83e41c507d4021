"""SKAB (Skoltech Anomaly Benchmark) experiments and the benchmark's pooled metrics.

Each SKAB file is one experiment on a water-pump test bed: eight sensors at 1 Hz, a
``;``-separated CSV with a ``datetime`` column, then ``anomaly`` (0/1 per row) and
``changepoint``. The benchmark's protocol: the first :data:`TRAIN_ROWS` rows of a file are its
training part, the rest its test part; confusion counts are added up over every file's test
rows, then ``F1 = TP / (TP + (FN + FP) / 2)``, ``FAR = FP / (FP + TN)``, ``MAR = FN / (FN +
TP)``. Over half the test rows are anomalous, so F1 alone rewards flagging everything: report
F1, FAR and MAR together, and the pooled ROC AUC of the score.

SKAB's data is GPL-3.0 (github.com/waico/SKAB; Katser and Kozitsin, 2020); this module only
reads it, it ships none of it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluation.corpus import DataMissing

__all__ = [
    "DEFAULT_SKAB",
    "SENSORS",
    "TRAIN_ROWS",
    "Experiment",
    "SkabScores",
    "best_f1_at_far",
    "load_experiments",
    "pooled_auc",
    "pooled_scores",
]

#: The SKAB files shared with this repository (``../shared/data/skab`` beside it).
DEFAULT_SKAB = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "skab"
#: Leading rows of each file that form its training part (not scored).
TRAIN_ROWS = 400
#: The eight sensor columns, in file order.
SENSORS = (
    "Accelerometer1RMS",
    "Accelerometer2RMS",
    "Current",
    "Pressure",
    "Temperature",
    "Thermocouple",
    "Voltage",
    "Volume Flow RateRMS",
)
_WHERE = "SKAB: github.com/waico/SKAB (GPL-3.0), its data/valve1 folder"


@dataclass(frozen=True, slots=True)
class Experiment:
    """One SKAB file: sensor values (rows x 8, float64) and the 0/1 anomaly label per row."""

    name: str
    values: np.ndarray
    anomaly: np.ndarray


def _read(path: Path) -> Experiment:
    with path.open(newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        header = next(reader)
        try:
            columns = [header.index(name) for name in SENSORS]
            label = header.index("anomaly")
        except ValueError:
            raise ValueError(f"{path}: expected columns {SENSORS} and 'anomaly', got {header}") \
                from None
        rows = [([float(row[c]) for c in columns], float(row[label])) for row in reader]
    values = np.asarray([r[0] for r in rows], dtype=np.float64).reshape(-1, len(SENSORS))
    anomaly = np.asarray([r[1] for r in rows]) > 0.5
    return Experiment(f"{path.parent.name}/{path.name}", values, anomaly)


def load_experiments(root: str | Path, folder: str = "valve1") -> list[Experiment]:
    """Read every ``<root>/<folder>/*.csv``, in numeric file order.

    Raises
    ------
    DataMissing
        When the folder or its CSV files are absent (the message says where to get SKAB).
    """
    where = Path(root) / folder
    paths = sorted(where.glob("*.csv"), key=lambda p: (len(p.stem), p.stem)) \
        if where.is_dir() else []
    if not paths:
        raise DataMissing(f"SKAB data missing: no {where}/*.csv; get {_WHERE}")
    return [_read(p) for p in paths]


@dataclass(frozen=True, slots=True)
class SkabScores:
    """Pooled F1, false-alarm rate and missed-alarm rate (rates in %), and the counts."""

    f1: float
    far: float
    mar: float
    tp: int
    fp: int
    fn: int
    tn: int


def pooled_scores(labels: list[np.ndarray], flags: list[np.ndarray],
                  skip: int = TRAIN_ROWS) -> SkabScores:
    """The benchmark's F1 / FAR / MAR, counts added up over the rows from ``skip`` on.

    Examples
    --------
    >>> labels = [np.array([0, 0, 0, 1, 1, 0], bool), np.array([0, 0, 1, 1], bool)]
    >>> flags = [np.array([1, 1, 0, 1, 0, 1], bool), np.array([1, 1, 1, 0], bool)]
    >>> s = pooled_scores(labels, flags, skip=2)
    >>> (s.tp, s.fp, s.fn, s.tn), round(s.f1, 3), round(s.far, 1), round(s.mar, 1)
    ((2, 1, 2, 1), 0.571, 50.0, 50.0)
    """
    tp = fp = fn = tn = 0
    for y, d in zip(labels, flags, strict=True):
        y, d = np.asarray(y, bool)[skip:], np.asarray(d, bool)[skip:]
        tp += int((y & d).sum())
        fp += int((~y & d).sum())
        fn += int((y & ~d).sum())
        tn += int((~y & ~d).sum())
    f1 = tp / (tp + (fn + fp) / 2) if tp + fn + fp else float("nan")
    far = 100.0 * fp / (fp + tn) if fp + tn else float("nan")
    mar = 100.0 * fn / (fn + tp) if fn + tp else float("nan")
    return SkabScores(f1, far, mar, tp, fp, fn, tn)


def pooled_auc(labels: list[np.ndarray], scores: list[np.ndarray],
               skip: int = TRAIN_ROWS) -> float:
    """ROC AUC of ``scores`` against ``labels`` over every file's rows from ``skip`` on.

    Mann-Whitney form: the chance that an anomalous row scores above a normal one, ties
    counting one half. NaN scores (a model not ready) count as the lowest score.

    Examples
    --------
    >>> pooled_auc([np.array([0, 1, 0, 1], bool)], [np.array([0.1, 0.9, 0.5, 0.5])], skip=0)
    0.875
    """
    y = np.concatenate([np.asarray(a, bool)[skip:] for a in labels])
    s = np.concatenate([np.asarray(a, float)[skip:] for a in scores])
    s = np.where(np.isnan(s), -np.inf, s)
    pos, neg = int(y.sum()), int((~y).sum())
    if not pos or not neg:
        return float("nan")
    return float(_average_ranks(s)[y].sum() - pos * (pos + 1) / 2) / (pos * neg)


def best_f1_at_far(labels: list[np.ndarray], scores: list[np.ndarray], max_far: float,
                   skip: int = TRAIN_ROWS) -> SkabScores:
    """The pooled scores at the one threshold with the best F1 whose FAR is at most ``max_far`` %.

    A label-tuned, in-sample figure (how much the score ranks anomalies first), for
    comparison at a fixed false-alarm rate; rows with ``score >= threshold`` detect.

    Examples
    --------
    >>> y = [np.array([0, 0, 0, 0, 1, 1, 1, 1], bool)]
    >>> s = [np.array([0.1, 0.2, 0.3, 0.9, 0.8, 0.7, 0.05, 0.6])]
    >>> r = best_f1_at_far(y, s, 25.0, skip=0)
    >>> (r.tp, r.fp), round(r.f1, 3)
    ((3, 1), 0.75)
    >>> best_f1_at_far(y, s, 0.0, skip=0).tp
    0
    """
    y = np.concatenate([np.asarray(a, bool)[skip:] for a in labels])
    x = np.concatenate([np.asarray(a, float)[skip:] for a in scores])
    x = np.where(np.isnan(x), -np.inf, x)
    order = np.argsort(-x, kind="mergesort")
    xs, ys = x[order], y[order]
    last = np.r_[xs[1:] != xs[:-1], True]  # a threshold takes every row of its value
    tp, fp = np.cumsum(ys)[last], np.cumsum(~ys)[last]
    pos, neg = int(y.sum()), int((~y).sum())
    tp, fp = np.r_[0, tp], np.r_[0, fp]  # first: nothing detects
    fn, tn = pos - tp, neg - fp
    far = 100.0 * fp / max(neg, 1)
    f1 = np.where(tp + fn + fp > 0, tp / np.maximum(tp + (fn + fp) / 2, 1e-12), 0.0)
    f1 = np.where(far <= max_far, f1, -1.0)
    k = int(np.argmax(f1))
    return SkabScores(float(max(f1[k], 0.0)), float(far[k]),
                      100.0 * float(fn[k]) / max(pos, 1), int(tp[k]), int(fp[k]), int(fn[k]),
                      int(tn[k]))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, tied values sharing their mean rank."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    last = np.r_[first[1:], len(values)] - 1
    mean_rank = (first + last) / 2.0 + 1.0
    ranks = np.empty(len(values))
    ranks[order] = mean_rank[group]
    return ranks
