"""``outlier-connector evaluate``: the out-of-sample protocol, NAB scores and event metrics.

Examples::

    outlier-connector evaluate --protocol             # the out-of-sample table, product default
    outlier-connector evaluate --protocol --configs default nab-best --seeds 42 7 1 2
    outlier-connector evaluate --protocol --rows cross all cut1000 skab --json out.json
    outlier-connector evaluate DIR --configs default --json scores.json   # any NAB-layout DIR
    outlier-connector evaluate --list-configs         # every named configuration
    outlier-connector evaluate                        # the five required configs, all files
    outlier-connector evaluate --configs rcf-default krcf-tail --files nyc_taxi ec2_cpu
    outlier-connector evaluate --limit 2000 --workers 1
    outlier-connector evaluate --scenario-labels scored.jsonl --threshold 0.99
    outlier-connector evaluate --scenario all --strength both     # per-scenario detection

NAB data: ``../shared/data/nab`` by default (NAB layout; MIT, Copyright 2014-2024 Numenta;
github.com/numenta/NAB); SKAB: ``../shared/data/skab`` by default (GPL-3.0,
github.com/waico/SKAB). Missing data ends in one line saying what and where to get it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from evaluation.configs import BASELINE, CONFIGS
from evaluation.corpus import DEFAULT_NAB, DataMissing
from evaluation.report import PROFILE_ORDER, ConfigReport, build_report
from evaluation.scenario_run import RUNS
from evaluation.skab import DEFAULT_SKAB

__all__ = ["register", "run"]



def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` command."""
    p = subparsers.add_parser(
        "evaluate",
        help="score detector configs on labelled data (NAB scoring, event metrics)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("nab", nargs="?", default=None,
                   help=f"NAB-layout folder (default {DEFAULT_NAB})")
    p.add_argument("--nab", dest="nab_option", default=None, metavar="DIR",
                   help="NAB-layout folder (same as the positional argument)")
    p.add_argument(
        "--configs",
        nargs="+",
        default=None,
        metavar="NAME",
        help="configs to compare (default: 'default' with --protocol, else the baseline set); "
        "--list-configs prints the names",
    )
    p.add_argument("--list-configs", action="store_true", help="print every config name and exit")
    p.add_argument("--protocol", action="store_true",
                   help="the out-of-sample protocol table (evaluation.protocol)")
    p.add_argument("--seeds", nargs="+", type=int, default=None, metavar="N",
                   help="with --protocol: forest seeds (default 42 7 1 2)")
    p.add_argument("--rows", nargs="+", default=None, metavar="ROW",
                   help="with --protocol: rows to run (default all: cross all cut1000 cut2500 "
                   "x1000 plus1e6 round gap skab)")
    p.add_argument("--skab", default=str(DEFAULT_SKAB), metavar="DIR",
                   help="with --protocol: SKAB folder holding valve1/")
    p.add_argument("--cache", default=None, metavar="DIR",
                   help="with --protocol: raw output cache (default "
                   "~/.cache/outlier-connector/evaluation/protocol; safe to delete)")
    p.add_argument("--json", default=None, metavar="PATH",
                   help="also write the figures as JSON (without --protocol: "
                   '{config: {"tuned": {profile: score}, "untuned": {...}, "seconds": s}})')
    p.add_argument("--all-configs", action="store_true", help="run every known config")
    p.add_argument(
        "--files",
        nargs="+",
        default=None,
        help="only files whose name contains one of these substrings",
    )
    p.add_argument("--limit", type=int, default=None, help="at most this many rows per file")
    p.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    p.add_argument(
        "--scenario-labels",
        default=None,
        metavar="FILE",
        help="evaluate a scored, labelled JSONL instead (see evaluation.scenario)",
    )
    p.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="with --scenario-labels: the decision threshold on 'score'",
    )
    p.add_argument(
        "--scenario",
        default=None,
        choices=["all", *RUNS],
        help="generate a scenario's labelled records and run its shipped pipeline in process",
    )
    p.add_argument("--strength", default="both", choices=["default", "subtle", "both"])
    p.add_argument("--records", type=int, default=None, help="records to generate (per run)")
    p.add_argument("--seed", type=_seeds, default=[1],
                   help="generator seed, or seeds as 3,4,5 (each run, then mean and range; "
                   "default 1)")
    p.add_argument(
        "--anomaly-rate",
        type=float,
        default=None,
        help="per-record episode probability (default: evaluation.scenario_run.RUNS)",
    )
    p.add_argument(
        "--what-if-calibration",
        default=None,
        metavar="JSON|tail",
        help="with --scenario: replace the pipeline's calibration (a what-if for proposing a "
        "pipeline change; 'tail' = detectors.DEFAULT_CALIBRATION)",
    )
    p.set_defaults(func=run)


def _fmt(v: float, digits: int = 1) -> str:
    return "-" if v != v else f"{v:.{digits}f}"  # NaN -> "-"


#: NAB's profile names in the machine interface's JSON.
JSON_PROFILES = {"standard": "standard", "reward_low_FP_rate": "reward_low_FP",
                 "reward_low_FN_rate": "reward_low_FN"}


def machine_json(reports: list[ConfigReport]) -> dict:
    """The stable machine interface: ``{config: {"tuned": {profile: score}, "untuned":
    {profile: score}, "seconds": s}}``, profiles ``standard``, ``reward_low_FP``,
    ``reward_low_FN``; ``untuned`` is the config's own decision, ``seconds`` its summed
    per-file scoring time. Checks outside the project read exactly this: keep it stable."""
    def number(v: float) -> float | None:
        return None if v != v else v  # NaN (no window at all) -> null, still valid JSON

    return {
        r.config: {
            "tuned": {JSON_PROFILES[p]: number(r.tuned[p].score) for p in PROFILE_ORDER},
            "untuned": {JSON_PROFILES[p]: number(r.default[p].score) for p in PROFILE_ORDER},
            "seconds": r.seconds,
        }
        for r in reports
    }


def _table(reports: list[ConfigReport]) -> str:
    head = (
        f"{'config':<18} {'sec':>6} | {'tuned std/lowFP/lowFN':>21} | "
        f"{'default std/lowFP/lowFN':>23} | {'P':>5} {'R':>5} {'F1':>5} {'delay':>6} | "
        f"{'P*':>5} {'R*':>5} {'F1*':>5} {'delay*':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in reports:
        tuned = "/".join(_fmt(r.tuned[n].score) for n in PROFILE_ORDER)
        default = "/".join(_fmt(r.default[n].score) for n in PROFILE_ORDER)
        d, t = r.events_default, r.events_tuned
        lines.append(
            f"{r.config:<18} {r.seconds:>6.1f} | {tuned:>21} | {default:>23} | "
            f"{_fmt(d.precision, 2):>5} {_fmt(d.recall, 2):>5} {_fmt(d.f1, 2):>5} "
            f"{_fmt(d.mean_delay):>6} | {_fmt(t.precision, 2):>5} {_fmt(t.recall, 2):>5} "
            f"{_fmt(t.f1, 2):>5} {_fmt(t.mean_delay):>6}"
        )
    return "\n".join(lines)


def _thresholds(reports: list[ConfigReport]) -> str:
    lines = ["tuned thresholds (std / lowFP / lowFN):"]
    for r in reports:
        lines.append(
            f"  {r.config:<18} " + " / ".join(f"{r.tuned[n].threshold:.6g}" for n in PROFILE_ORDER)
        )
    return "\n".join(lines)


def _transfer(reports: list[ConfigReport]) -> str:
    lines = ["threshold tuned on one folder, scored on the other (std / lowFP / lowFN):"]
    for r in reports:
        for direction, results in r.transfer.items():
            if results:
                scores = " / ".join(_fmt(results[n].score) for n in PROFILE_ORDER)
                thr = " / ".join(f"{results[n].threshold:.4g}" for n in PROFILE_ORDER)
                lines.append(f"  {r.config:<18} {direction:<36} {scores}  (thr {thr})")
    return "\n".join(lines)


def run_scenarios(args: argparse.Namespace) -> int:
    """Per-scenario recall, false-positive rate and delay of the shipped pipelines."""
    from evaluation.scenario_run import run_scenario
    from evaluation.scenario_table import HEADER, rows, summary

    names = list(RUNS) if args.scenario == "all" else [args.scenario]
    what_if = getattr(args, "what_if_calibration", None)
    calibration = None
    if what_if == "tail":
        from detectors.defaults import DEFAULT_CALIBRATION

        calibration = json.loads(json.dumps(DEFAULT_CALIBRATION, default=dict))
    elif what_if:
        calibration = json.loads(what_if)
    if calibration is not None:
        print(f"WHAT-IF calibration (not the shipped pipeline): {json.dumps(calibration)}")
    strengths = ["default", "subtle"] if args.strength == "both" else [args.strength]
    print("recall of injected events at the pipeline's own flag; FPR over normal units after "
          "warm-up; delay in units (records or windows) from the event's first, 0 = at once")
    print(HEADER)
    print("-" * len(HEADER))
    seeds = args.seed if isinstance(args.seed, list) else [args.seed]
    for name in names:
        for strength in strengths:
            runs = {}
            for seed in seeds:
                start = time.perf_counter()
                f = runs[seed] = run_scenario(
                    name, strength, args.records, seed, args.anomaly_rate, calibration
                )
                unit = "record" if name in ("gameday", "sensors") else "window"
                if len(seeds) > 1:
                    print(f"seed {seed}")
                for line in rows(name, strength, unit, f, time.perf_counter() - start):
                    print(line, flush=True)
                if f.warm_events:
                    print(f"  ({f.warm_events} events fell wholly in the warm-up, left out)")
            if len(seeds) > 1:
                for line in summary(name, strength, runs):
                    print(line, flush=True)
    return 0


def _seeds(text: str) -> list[int]:
    """``--seed``: ``3`` or ``3,4,5``.

    >>> _seeds("3"), _seeds("3,4,5")
    ([3], [3, 4, 5])
    """
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"seeds must be integers such as 3 or 3,4,5, got {text!r}"
        ) from None


def list_configs() -> str:
    """Every configuration ``--configs`` accepts, one per line with what it is."""
    from evaluation.protocol import protocol_configs

    lines = ["protocol configs (--protocol; seeded, product path):"]
    lines += [f"  {c.name:<22} {c.description}" for c in protocol_configs().values()]
    lines.append("  NAME={\"detector\": {...}, \"calibration\": {...}}  an inline product spec")
    lines.append("research configs (without --protocol; fixed seed):")
    lines += [f"  {c.name:<22} {c.description}" for c in CONFIGS.values()]
    return "\n".join(lines)


def _nab_folder(args: argparse.Namespace) -> str:
    return args.nab_option or args.nab or str(DEFAULT_NAB)


def run_protocol(args: argparse.Namespace) -> int:
    """The out-of-sample protocol table (and JSON)."""
    from evaluation import protocol

    configs = [protocol.resolve_config(c) for c in (args.configs or ["default"])]
    rows = args.rows or list(protocol.ROWS)
    result = protocol.run_protocol(
        configs, _nab_folder(args), args.skab if "skab" in rows else None,
        seeds=args.seeds or protocol.DEFAULT_SEEDS, rows=rows, files=args.files,
        workers=args.workers, cache=args.cache or protocol.CACHE,
    )
    print(protocol.format_table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(protocol.as_json(result), indent=2) + "\n")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the evaluation and print the tables; returns the exit code.

    Missing data or an unknown name ends in ONE line on stderr and exit code 2.
    """
    try:
        return _run(args)
    except (DataMissing, ValueError) as exc:
        print(f"evaluate: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if getattr(args, "list_configs", False):
        print(list_configs())
        return 0
    if getattr(args, "protocol", False):
        return run_protocol(args)
    if getattr(args, "scenario", None):
        return run_scenarios(args)
    if args.scenario_labels:
        from evaluation.scenario import evaluate_file

        print(evaluate_file(args.scenario_labels, args.threshold))
        return 0
    from evaluation.corpus import load_corpus
    from evaluation.runner import run_configs

    configs = sorted(CONFIGS) if args.all_configs else (args.configs or list(BASELINE))
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        raise ValueError(f"unknown config(s) {', '.join(unknown)}; "
                         "'outlier-connector evaluate --list-configs' prints the known ones")
    nab = _nab_folder(args)
    corpus = load_corpus(nab, args.files, args.limit)
    if not corpus:
        print(f"no labelled files under {nab} match {args.files}", file=sys.stderr)
        return 2
    rows = sum(len(s.values) for s in corpus)
    windows = sum(len(s.windows) for s in corpus)
    start = time.perf_counter()
    runs = run_configs(configs, corpus, workers=args.workers)
    reports = [build_report(c, corpus, runs[c]) for c in configs]
    if args.json:
        Path(args.json).write_text(json.dumps(machine_json(reports), indent=2) + "\n")
    print(
        f"NAB-layout data: {nab} ({len(corpus)} files, {rows} rows, {windows} windows); "
        f"NAB data (c) Numenta, MIT licence"
    )
    print(
        "tuned = per-profile threshold over all files (NAB's procedure, label-tuned); "
        "default = product default calibration (detectors.DEFAULT_CALIBRATION: tail mode, "
        "-log10 p >= 3 at new peaks; no labels)"
    )
    print(
        "P/R/F1/delay: events at the default decision; * at the tuned standard threshold; "
        "delay in rows from the labelled point"
    )
    print(_table(reports))
    print(_thresholds(reports))
    print(_transfer(reports))
    print(f"wall time {time.perf_counter() - start:.1f} s, workers {args.workers}")
    return 0
