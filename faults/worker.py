"""One connector process with checkpoints: ``python -m faults.worker PIPELINE [options]``.

The same assembly as ``outlier-connector run`` (:func:`connector.app.build_runner`), plus a
:class:`~connector.checkpoint.Checkpointer` (per-partition state in OpenSearch, gaps replayed
from Kafka). Prints one JSON line of run and checkpoint figures on a clean stop.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path

__all__ = ["main"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m faults.worker")
    p.add_argument("pipeline")
    p.add_argument("--topic")
    p.add_argument("--errors-topic", help="default: TOPIC.errors")
    p.add_argument("--group-id")
    p.add_argument("--index")
    p.add_argument("--bootstrap")
    p.add_argument("--opensearch-url")
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--idle-timeout", type=float, default=None)
    p.add_argument("--snapshot-seconds", type=float, default=5.0)
    p.add_argument("--snapshot-records", type=int, default=20_000)
    p.add_argument("--state-index", default=None, help="state index (default: the store's)")
    p.add_argument("--warm-start", action="store_true")
    p.add_argument("--no-state", action="store_true", help="no checkpoints (one shared model)")
    p.add_argument("--events-topic", help="send an event per flagged document to this topic")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    import yaml

    from connector.app import build_checkpointer, build_runner, opensearch_client, patch_raw
    from connector.checkpoint import SnapshotPolicy
    from connector.config import parse_pipeline
    from connector.state_store import DEFAULT_INDEX, StateStore

    with open(args.pipeline, encoding="utf-8") as f:
        raw = patch_raw(yaml.safe_load(f), topic=args.topic, errors_topic=args.errors_topic,
                        group_id=args.group_id, index=args.index, bootstrap=args.bootstrap,
                        opensearch_url=args.opensearch_url)
    if args.events_topic:
        raw["output"]["events"] = {
            "topic": args.events_topic, "when": "outlier.flag == true",
            "template": {"key": "{outlier.key}", "score": "{outlier.score}"}}
    cfg = parse_pipeline(raw, default_name=Path(args.pipeline).stem)
    runner = build_runner(cfg, batch_size=args.batch_size, max_backoff=5.0)
    ckpt = None
    if not args.no_state:
        group = cfg.source.group_id or f"outliers-{cfg.name}"
        store = StateStore(opensearch_client(cfg), f"{group}/{cfg.name}",
                           index=args.state_index or DEFAULT_INDEX)
        policy = SnapshotPolicy(args.snapshot_seconds, args.snapshot_records)
        ckpt = build_checkpointer(cfg, store, policy=policy, warm_start=args.warm_start)
        runner.use_checkpoints(ckpt)
    runner.install_signal_handlers()
    stats = runner.run(idle_timeout=args.idle_timeout)
    summary = asdict(stats)
    summary.pop("started")
    if ckpt is not None:
        summary["checkpoint"] = asdict(ckpt.stats)
    print(json.dumps(summary), flush=True)
    return 1 if stats.abandoned else 0


if __name__ == "__main__":
    raise SystemExit(main())
