"""``outlier-connector faults``: run the fault-injection suite and print its table.

``--scenario gameday`` checks records, ``--scenario tolls`` windows (:mod:`faults.scenarios`).
Exit code 0 when the faulted run lost nothing, duplicated nothing, dead-lettered exactly the
bad records (once each) and scored at least 99% of records (windows) as the uninterrupted
reference did; 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "faults", help="inject faults into real connector processes and check the result")
    p.add_argument("--scenario", choices=["gameday", "tolls"], default="gameday",
                   help="gameday: scored records; tolls: 10 s windows per station")
    p.add_argument("--records", type=int, default=20_000,
                   help="input records (full run: 1000000; CI: tens of thousands)")
    p.add_argument("--partitions", type=int, default=3)
    p.add_argument("--rate", type=float, default=400.0, help="input records per second")
    p.add_argument("--kills", type=int, default=1, help="SIGKILLs of the connector (full: 5)")
    p.add_argument("--outage", type=float, default=30.0,
                   help="seconds OpenSearch is unreachable (0: no outage)")
    p.add_argument("--no-broker-restart", action="store_true")
    p.add_argument("--no-join-leave", action="store_true")
    p.add_argument("--malformed", type=float, default=0.01, help="share of malformed records")
    p.add_argument("--conflicts", type=float, default=0.002,
                   help="share of records with a mapping conflict (gameday; tolls: windows of "
                        "more than 127 vehicles are refused)")
    p.add_argument("--snapshot-seconds", type=float, default=5.0)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--workdir", type=Path, default=Path("/tmp/outlier-faults"),
                   help="worker logs and the generated pipeline go here")
    p.add_argument("--keep", action="store_true", help="keep topics and indices")
    p.add_argument("--json", action="store_true", help="print the verdicts as JSON too")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    import provision
    from faults.suite import SuiteOptions, run_suite
    from faults.verify import format_table

    opts = SuiteOptions(
        scenario=args.scenario, records=args.records, partitions=args.partitions,
        rate=args.rate, kills=args.kills,
        outage=args.outage, broker_restart=not args.no_broker_restart,
        join_leave=not args.no_join_leave, malformed=args.malformed, conflicts=args.conflicts,
        seed=args.seed, snapshot_seconds=args.snapshot_seconds, keep=args.keep,
        workdir=args.workdir,
    )
    result = run_suite(opts, provision.servers())
    print(f"scenario: {args.scenario}, records: {args.records}")
    print("faults injected:")
    for line in result.events:
        print(f"  {line}")
    print(format_table(result.verdicts))
    print("checkpoint figures (workers that exited cleanly):")
    for key, value in result.checkpoint.items():
        print(f"  {key}: {value}")
    if args.json:
        print(json.dumps({k: {**asdict(v), "repeated": v.repeated, "continuity": v.continuity,
                              "ok": v.ok} for k, v in result.verdicts.items()}))
    return 0 if result.verdicts["faulted"].ok else 1
