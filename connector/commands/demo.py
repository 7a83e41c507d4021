"""``outlier-connector demo``: a minute of game-day traffic, end to end, with a summary.

Brings up the servers (``provision.servers()``: env-named ones or the local stack), applies
the gameday index template, creates a fresh topic, generates labelled traffic with injected
anomalies plus a few malformed records (event time ending now; generated faster than real
time), runs the connector until the topic is drained, and prints what happened: records in,
documents indexed, dead letters, outliers flagged, precision and recall against the labels,
the top 10 outliers, and where to look at them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import threading
import time
from typing import Any

__all__ = ["register", "run"]

logger = logging.getLogger(__name__)

MALFORMED = (b"LOG_START {broken json", b'{"start": "LOG_START", "stop": "LOG_END"}',
             b'{"start": "LOG_START", "log_message": {"timestamp": "soon"}, "stop": "LOG_END"}',
             b"\xff\xfe not utf-8", b"")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("demo", help="game-day traffic end to end, with a summary")
    p.add_argument("--seconds", type=float, default=60.0, help="seconds of event time")
    p.add_argument("--rate", type=float, default=20.0, help="records per second of event time")
    p.add_argument("--anomaly-rate", type=float, default=0.01)
    p.add_argument("--malformed", type=int, default=5, help="malformed records to mix in")
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=run)


def _mixed(records: Any, total: int, malformed: int, seed: int) -> Any:
    from generators.base import GeneratedRecord

    rng = random.Random(seed)
    where = set(rng.sample(range(1, max(total, 2)), min(malformed, max(total - 1, 0))))
    bad = 0
    for n, rec in enumerate(records):
        if n in where:  # one of each kind in turn, so every kind of fault shows up
            value = MALFORMED[bad % len(MALFORMED)]
            bad += 1
            yield GeneratedRecord(None, value, None, f"BAD-{n}", None, rec.timestamp)
        yield rec


def _prepare_servers(name: str, servers: Any, partitions: int = 1) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": servers.kafka_bootstrap})
    futures = admin.create_topics([NewTopic(t, partitions, 1) for t in (name, f"{name}.errors")])
    for future in futures.values():
        future.result(30)
    try:
        from opensearchpy import OpenSearch

        from connector.assets import apply_assets, load_assets
        from connector.commands.setup import _default_assets_dir

        client = OpenSearch(hosts=[servers.opensearch_url], timeout=30)
        apply_assets(client, load_assets(_default_assets_dir(), ["gameday"]))
    except Exception as exc:  # noqa: BLE001 - the demo runs on dynamic mappings without it
        logger.warning("gameday assets not applied (dynamic mapping used): %s", exc)


def run(args: argparse.Namespace) -> int:
    from connector.app import build_runner, load_config
    from connector.testing import GAMEDAY_PIPELINE
    from generators import gameday
    from generators.base import produce
    from provision.stack import servers as provision_servers

    # request-level client logs would drown the figures
    logging.getLogger("opensearch").setLevel(logging.ERROR)
    servers = provision_servers()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    topic, index = f"gameday-demo-{stamp}", f"outliers-gameday-demo-{stamp}"
    print(f"servers: kafka={servers.kafka_bootstrap} opensearch={servers.opensearch_url}")
    _prepare_servers(topic, servers)

    count = max(1, int(args.seconds * args.rate))
    start = time.time() - args.seconds
    generated = list(gameday.records(count=count, rate=args.rate, anomaly_rate=args.anomaly_rate,
                                     seed=args.seed, start=start))
    labels = {r.id: r.event for r in generated if r.label is not None}
    mixed = list(_mixed(generated, count, args.malformed, args.seed))
    print(f"generating {len(mixed)} records ({len(generated)} game-day logs, {len(labels)} "
          f"labelled in {len(set(labels.values()))} anomaly events, "
          f"{len(mixed) - len(generated)} malformed) to topic {topic}")
    producer = threading.Thread(target=produce, args=(mixed,), daemon=True,
                                kwargs={"bootstrap": servers.kafka_bootstrap, "topic": topic,
                                        "pace": False})
    producer.start()

    cfg = load_config(GAMEDAY_PIPELINE, topic=topic, index=index, group_id=f"outliers-{topic}",
                      bootstrap=servers.kafka_bootstrap, opensearch_url=servers.opensearch_url)
    runner = build_runner(cfg, batch_size=500)
    runner.progress_every = 1.0
    runner.install_signal_handlers()
    print(f"connector running: {topic} -> {index}", flush=True)
    stats = runner.run(max_records=len(mixed), idle_timeout=60.0, on_progress=_progress)
    _progress(stats)
    producer.join(30)
    _summary(stats, servers, index, topic, labels)
    return 1 if stats.abandoned or stats.records < len(mixed) else 0


def _progress(stats: Any) -> None:
    print(f"  ... {stats.records} records, {stats.indexed} indexed, {stats.dead_lettered} "
          f"dead-lettered, {stats.flagged} flagged ({stats.rate():.0f} records/s)", flush=True)


def _summary(stats: Any, servers: Any, index: str, topic: str, labels: dict) -> None:
    from opensearchpy import OpenSearch

    from connector.report import detection, flagged_ids, top_outliers, top_query

    client = OpenSearch(hosts=[servers.opensearch_url], timeout=30)
    found = detection(flagged_ids(client, index), labels)
    count = client.count(index=index)["count"]
    print("\n== summary ==")
    print(f"records in            {stats.records}")
    print(f"documents indexed     {stats.indexed} (index {index} holds {count})")
    print(f"records dead-lettered {stats.dead_lettered} (topic {topic}.errors)")
    print(f"outliers flagged      {stats.flagged}")
    print(f"precision             {found.precision:.2f} ({found.true_positives} of "
          f"{found.flagged} flagged records are labelled anomalies)")
    print(f"recall                {found.recall:.2f} of labelled records, "
          f"{found.event_recall:.2f} of anomaly events ({found.events_found}/{found.events})")
    print("\ntop 10 outliers:")
    print(f"  {'id':<12} {'level':<8} {'response_s':>10} {'score':>7}  top field")
    for doc in top_outliers(client, index):
        out = doc.get("outlier", {})
        print(f"  {doc.get('log_identifier', '?'):<12} {doc.get('log_level', '?'):<8} "
              f"{doc.get('response_time', float('nan')):>10.3f} {out.get('score', 0):>7.2f}  "
              f"{out.get('top_field')} ({out.get('direction')})")
    body = json.dumps(top_query(10))
    print("\nlook at them:")
    print(f"  index   {index}")
    print(f"  curl -s '{servers.opensearch_url}/{index}/_search?pretty' "
          f"-H 'Content-Type: application/json' -d '{body}'")
    dashboards = os.environ.get("OUTLIER_DASHBOARDS_URL")
    if dashboards:
        print(f"  Dashboards {dashboards} (Discover: index pattern outliers-gameday*, "
              f"filter outlier.flag:true)")
    else:
        print("  Dashboards: none here (under compose: http://127.0.0.1:5601; "
              "set OUTLIER_DASHBOARDS_URL to print it)")
