"""Stream labelled series through named configurations, in parallel processes.

Every (configuration, file) pair is one task: a cold scorer reads the file row by row in
arrival order (score, then learn). Tasks run in a process pool (``workers`` processes; the
build machine has 2 cores), largest files first so the pool stays busy.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from evaluation.configs import CONFIGS
from evaluation.corpus import LabelledSeries

logger = logging.getLogger(__name__)

__all__ = ["FileRun", "run_configs", "score_series"]


@dataclass(frozen=True, slots=True)
class FileRun:
    """One configuration's output on one file: a score and a default flag per row."""

    config: str
    file: str
    scores: np.ndarray
    flags: np.ndarray
    seconds: float


def score_series(config: str, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Run one cold scorer of ``config`` over ``values``.

    Returns
    -------
    scores, flags, seconds
        The score of every row, the default decision of every row (the scorer's own
        ``decide`` when it has one, else the product's default calibration applied to the
        score), and the wall time.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> values = np.r_[rng.normal(0, 1, 2000), [12.0], rng.normal(0, 1, 20)]
    >>> scores, flags, _ = score_series("zscore", values)
    >>> int(np.argmax(scores)), bool(flags[2000])
    (2000, True)
    """
    import detectors

    scorer = CONFIGS[config].build()
    decide = getattr(scorer, "decide", None)
    calibrator = None if decide else detectors.ScoreCalibrator(**detectors.DEFAULT_CALIBRATION)
    scores = np.empty(len(values))
    flags = np.zeros(len(values), dtype=bool)
    start = time.perf_counter()
    for i, value in enumerate(values.tolist()):
        if decide is not None:
            scores[i], flags[i] = decide(value)
        else:
            score = scorer.process(value)
            flags[i] = calibrator.assess(score)[1]
            calibrator.update(score)
            scores[i] = score
    return scores, flags, time.perf_counter() - start


def _task(args: tuple[str, str, np.ndarray]) -> FileRun:
    config, name, values = args
    scores, flags, seconds = score_series(config, values)
    return FileRun(config, name, scores, flags, seconds)


def run_configs(
    configs: list[str], corpus: list[LabelledSeries], workers: int = 2
) -> dict[str, list[FileRun]]:
    """Run every configuration over every file; results per configuration in corpus order."""
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        raise ValueError(f"unknown config(s) {unknown}; known: {sorted(CONFIGS)}")
    tasks = [(c, s.name, s.values) for c in configs for s in corpus]
    tasks.sort(key=lambda t: -len(t[2]))
    if workers > 1 and len(tasks) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            runs = list(pool.map(_task, tasks))
    else:
        runs = [_task(t) for t in tasks]
    order = {s.name: i for i, s in enumerate(corpus)}
    out: dict[str, list[FileRun]] = {c: [] for c in configs}
    for run in runs:
        out[run.config].append(run)
    for c in configs:
        out[c].sort(key=lambda r: order[r.file])
        logger.info("config=%s seconds=%.1f", c, sum(r.seconds for r in out[c]))
    return out
