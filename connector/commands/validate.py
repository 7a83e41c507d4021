"""``outlier-connector validate PIPELINE.yaml ...``: check pipeline configs without running them.

Each file is loaded exactly as ``run`` loads it (``${VAR}`` interpolation, JSON Schema, semantic
rules); the first broken rule is printed as ``PATH: rule`` and the exit code is 1. With
``--sample FILE`` the records in FILE (one message per line) are also prepared, and each
rejected line is reported with its reason. ``--schema`` prints the JSON Schema for editors.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from connector.errors import ConfigError, RecordRejected

__all__ = ["register", "validate"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``validate`` command to the CLI."""
    p = subparsers.add_parser("validate", help="check pipeline YAML files (no servers needed)")
    p.add_argument("pipelines", nargs="*", help="pipeline YAML files, e.g. pipelines/*.yaml")
    p.add_argument(
        "--sample",
        metavar="FILE",
        help="also prepare each line of FILE ('-' = stdin) with the pipeline",
    )
    p.add_argument("--schema", action="store_true", help="print the pipeline JSON Schema")
    p.set_defaults(func=validate)


def validate(args: argparse.Namespace) -> int:
    """Validate every file; returns 0 when all are valid, 1 otherwise."""
    from connector.config import SCHEMA_PATH, load_pipeline

    if args.schema:
        sys.stdout.write(SCHEMA_PATH.read_text(encoding="utf-8"))
        return 0
    if not args.pipelines:
        print("validate: give at least one pipeline YAML (or --schema)", file=sys.stderr)
        return 2
    failed = 0
    for path in args.pipelines:
        try:
            cfg = load_pipeline(path)
        except (ConfigError, OSError) as exc:
            print(f"{path}: INVALID {exc}")
            failed += 1
            continue
        model = ", ".join(cfg.features_names)
        window = f", window {cfg.window.kind} {cfg.window.size:g}s" if cfg.window else ""
        print(
            f"{path}: ok ({cfg.name}: {cfg.source.kind} -> {cfg.output.index}{window}; "
            f"model inputs: {model})"
        )
        if args.sample:
            failed += _sample(cfg, args.sample)
    return 1 if failed else 0


def _sample(cfg: object, sample: str) -> int:
    from connector.transform import build_transform

    transform = build_transform(cfg)  # type: ignore[arg-type]
    stream = sys.stdin if sample == "-" else Path(sample).open(encoding="utf-8")  # noqa: SIM115
    ok = bad = 0
    began = time.perf_counter()
    try:
        for n, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                transform.prepare(line.rstrip("\n").encode())
                ok += 1
            except RecordRejected as exc:
                bad += 1
                print(f"  line {n}: rejected: {exc.reason}")
    finally:
        if stream is not sys.stdin:
            stream.close()
    seconds = time.perf_counter() - began
    print(
        f"  sample: {ok} prepared, {bad} rejected in {seconds:.2f}s "
        f"({(ok + bad) / max(seconds, 1e-9):,.0f} records/s, decode + features)"
    )
    return 1 if bad else 0
