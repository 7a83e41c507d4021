"""Turn per-file runs into the figures ``evaluate`` prints.

For one configuration:

- ``tuned``: per NAB profile, the threshold with the best raw score over all files pooled
  (NAB's own procedure: tuned on the labels, a best case);
- ``default``: NAB profiles scored on the product's default decision (no label tuning);
- event precision / recall / F1 / mean delay for the default decision and for the
  standard-profile tuned threshold;
- ``transfer``: thresholds tuned on one NAB folder, scored on the other (a check that the
  tuned threshold generalises).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from evaluation.corpus import LabelledSeries
from evaluation.events import EventCounts, event_counts
from evaluation.nab import PROFILES, ProfileResult, ScoredRows
from evaluation.runner import FileRun

__all__ = ["ConfigReport", "PROFILE_ORDER", "build_report", "pooled", "transfer"]

PROFILE_ORDER = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")


@dataclass(slots=True)
class ConfigReport:
    """Every figure of one configuration."""

    config: str
    seconds: float
    tuned: dict[str, ProfileResult] = field(default_factory=dict)
    default: dict[str, ProfileResult] = field(default_factory=dict)
    events_default: EventCounts = field(default_factory=EventCounts)
    events_tuned: EventCounts = field(default_factory=EventCounts)
    transfer: dict[str, dict[str, ProfileResult]] = field(default_factory=dict)


def pooled(corpus: Sequence[LabelledSeries], arrays: Sequence[np.ndarray]) -> ScoredRows:
    """One score array per file of ``corpus``, pooled for corpus-level NAB scoring."""
    return ScoredRows((a, s.windows, s.probation) for s, a in zip(corpus, arrays, strict=True))


def _events(corpus: Sequence[LabelledSeries], detects: Sequence[np.ndarray]) -> EventCounts:
    total = EventCounts()
    for s, d in zip(corpus, detects, strict=True):
        total = total + event_counts(d, s.windows, s.probation, s.labels)
    return total


def transfer(
    corpus: Sequence[LabelledSeries], scores: Sequence[np.ndarray], source: str, target: str
) -> dict[str, ProfileResult]:
    """Per profile: threshold tuned on folder ``source``, scored on folder ``target``."""
    pick = [i for i, s in enumerate(corpus) if s.folder == source]
    test = [i for i, s in enumerate(corpus) if s.folder == target]
    if not pick or not test:
        return {}
    tune = pooled([corpus[i] for i in pick], [scores[i] for i in pick])
    check = pooled([corpus[i] for i in test], [scores[i] for i in test])
    out = {}
    for name in PROFILE_ORDER:
        chosen = tune.best(PROFILES[name]).threshold
        out[name] = check.at_threshold(chosen, PROFILES[name])
    return out


def build_report(
    config: str, corpus: Sequence[LabelledSeries], runs: Sequence[FileRun]
) -> ConfigReport:
    """All figures for one configuration's runs (runs in corpus order)."""
    scores = [r.scores for r in runs]
    flags = [r.flags.astype(np.float64) for r in runs]
    report = ConfigReport(config, sum(r.seconds for r in runs))
    tuned_rows, default_rows = pooled(corpus, scores), pooled(corpus, flags)
    for name in PROFILE_ORDER:
        report.tuned[name] = tuned_rows.best(PROFILES[name])
        report.default[name] = default_rows.at_threshold(0.5, PROFILES[name])
    report.events_default = _events(corpus, [f > 0.5 for f in flags])
    chosen = report.tuned["standard"].threshold
    report.events_tuned = _events(corpus, [s >= chosen for s in scores])
    folders = sorted({s.folder for s in corpus})
    if len(folders) == 2:
        a, b = folders
        report.transfer[f"{a}->{b}"] = transfer(corpus, scores, a, b)
        report.transfer[f"{b}->{a}"] = transfer(corpus, scores, b, a)
    return report
