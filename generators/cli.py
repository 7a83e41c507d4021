"""``outlier-connector generate SCENARIO ...``: produce labelled data to Kafka or stdout."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import Any

from generators.base import STRENGTHS, produce, write_labels, write_lines

logger = logging.getLogger(__name__)

__all__ = ["register"]

SCENARIOS = ("gameday", "tolls", "reviews", "sensors", "flowlogs")


def register(subparsers: Any) -> None:
    """Add the ``generate`` command to the CLI."""
    p = subparsers.add_parser(
        "generate",
        help="produce a scenario's labelled records to Kafka (or stdout)",
        description="Generate a scenario's records with labelled anomalies (label in the "
        "Kafka header 'label', never in the payload).",
    )
    p.add_argument("scenario", choices=SCENARIOS)
    p.add_argument(
        "--rate",
        type=float,
        default=None,
        help="records per second of event time (scenario default when omitted)",
    )
    p.add_argument("--count", type=int, default=1000, help="records to send (0 = forever)")
    p.add_argument(
        "--anomaly-rate",
        type=float,
        default=None,
        help="chance per record that an anomaly episode starts (scenario default)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--strength", choices=STRENGTHS, default="default")
    p.add_argument(
        "--bootstrap", default=os.environ.get("OUTLIER_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    )
    p.add_argument("--topic", default=None, help="Kafka topic (default: the scenario name)")
    p.add_argument("--labels-file", default=None, help="append labelled records here (JSONL)")
    p.add_argument(
        "--kinds",
        default=None,
        help="comma-separated anomaly kinds to inject (default: all of the scenario's)",
    )
    p.add_argument(
        "--fast",
        action="store_true",
        help="synthetic clock: send as fast as possible (event time still at --rate)",
    )
    p.add_argument(
        "--stdout",
        action="store_true",
        help="print one value per line instead of producing to Kafka",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Generate and send; returns the exit code."""
    module = importlib.import_module(f"generators.{args.scenario}")
    kwargs: dict[str, Any] = {
        "count": args.count or None,
        "seed": args.seed,
        "strength": args.strength,
    }
    if args.rate is not None:
        kwargs["rate"] = args.rate
    if args.kinds:
        kwargs["kinds"] = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if args.anomaly_rate is not None:
        kwargs["anomaly_rate"] = args.anomaly_rate
    try:
        recs = module.records(**kwargs)
        if args.stdout:
            if args.labels_file:
                recs = write_labels(recs, args.labels_file)
            write_lines(recs, sys.stdout)
            return 0
        stats = produce(
            recs,
            bootstrap=args.bootstrap,
            topic=args.topic or module.TOPIC,
            pace=not args.fast,
            labels_file=args.labels_file,
        )
    except ValueError as exc:
        print(f"generate: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # stdout closed early (``| head``): not an error
        sys.stderr.close()
        return 0
    logger.info(
        "generate scenario=%s topic=%s sent=%d labelled=%d seconds=%.1f rate=%.0f/s",
        args.scenario,
        args.topic or module.TOPIC,
        stats.sent,
        stats.labelled,
        stats.seconds,
        stats.sent / max(stats.seconds, 1e-9),
    )
    return 0
