"""``outlier-connector run PIPELINE.yaml``: run one pipeline until stopped.

Stops on SIGINT/SIGTERM (after the current batch is written and committed), after
``--max-records`` records, when a file source is exhausted, or after ``--idle-timeout``
seconds without a record. Exit code 0 on a clean stop, 1 when a batch had to be left
uncommitted (it is replayed by the next run), 2 for a config error, 130 when a second
signal cut the last batch short (uncommitted, replayed by the next run).

Before consuming, a missing index template of the pipeline's scenario is applied and a
missing error/events topic is created with the source's partition count
(:mod:`connector.prepare`; ``--no-prepare`` skips both).

Model state is checkpointed per partition in OpenSearch (``outlier-connector-state``) for
Kafka sources unless ``--no-state``: a restart restores the models instead of warming up.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict

from connector.errors import ConfigError, ConnectorError

__all__ = ["register", "run"]

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("run", help="run one pipeline: Kafka (or a file) -> OpenSearch")
    p.add_argument("pipeline", help="pipeline YAML, e.g. pipelines/gameday.yaml")
    p.add_argument("--max-records", type=int, default=None, help="stop after N records")
    p.add_argument("--idle-timeout", type=float, default=None,
                   help="stop after S seconds without a record (counted from the partition "
                        "assignment: waiting for the group does not count)")
    p.add_argument("--batch-size", type=int, default=2000, help="records per batch")
    p.add_argument("--topic", help="override the source topic (errors go to TOPIC.errors)")
    p.add_argument("--errors-topic", help="override the error topic (dead letters)")
    p.add_argument("--events-topic", help="override the events topic (when the pipeline has one)")
    p.add_argument("--group-id", help="override the consumer group")
    p.add_argument("--instance-id",
                   help="static group membership (group.instance.id, one per instance): a "
                        "restarted instance takes its partitions back at once instead of "
                        "after the group's session timeout")
    p.add_argument("--index", help="override the target index")
    p.add_argument("--bootstrap", help="override bootstrap.servers")
    p.add_argument("--opensearch-url", help="override the OpenSearch host")
    p.add_argument("--input", metavar="PATH",
                   help="read lines from PATH ('-' for stdin) instead of Kafka")
    p.add_argument("--no-prepare", action="store_true",
                   help="do not apply a missing index template nor create missing output topics")
    p.add_argument("--no-state", action="store_true",
                   help="do not keep model state in OpenSearch (models start cold on restart)")
    p.add_argument("--snapshot-seconds", type=float, default=10.0,
                   help="snapshot model state at most this often (per partition)")
    p.add_argument("--warm-start", action="store_true",
                   help="with no saved state, learn a partition's history before going live")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from connector.app import build_runner, enable_checkpoints, load_config
    from connector.prepare import prepare

    try:
        cfg = load_config(
            args.pipeline, topic=args.topic, errors_topic=args.errors_topic,
            events_topic=args.events_topic, group_id=args.group_id,
            instance_id=args.instance_id, index=args.index,
            bootstrap=args.bootstrap, opensearch_url=args.opensearch_url, input_path=args.input,
        )
    except ConfigError as exc:
        logger.error("config error: %s", exc)
        return 2
    try:
        if not args.no_prepare:
            prepare(cfg)  # the index template and the output topics, when missing
        runner = build_runner(cfg, batch_size=args.batch_size)
        if cfg.source.kind == "kafka" and not args.no_state:
            enable_checkpoints(runner, cfg, snapshot_seconds=args.snapshot_seconds,
                               warm_start=args.warm_start)
        runner.install_signal_handlers()
        stats = runner.run(max_records=args.max_records, idle_timeout=args.idle_timeout)
    except ConnectorError as exc:
        logger.error("connector stopped pipeline=%s error=%s", cfg.name, exc)
        return 1
    except KeyboardInterrupt:  # a second signal: the last batch was not committed
        return 130
    summary = asdict(stats)
    for clock in ("started", "first_batch", "last_batch"):
        summary.pop(clock)
    summary["rate"] = round(stats.rate(), 1)
    for clock in ("stage_seconds", "wait_seconds"):
        summary[clock] = round(summary[clock], 2)
    print(json.dumps({"pipeline": cfg.name, **summary}), flush=True)
    return 1 if stats.abandoned else 0
