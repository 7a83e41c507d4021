"""``outlier-connector bench``: where the time goes, measured in one run on the same servers.

On one fresh topic of generated game-day records it measures, each from the first record
(consumer-group joins are excluded):

- ``kafka consume``: the Kafka source alone (batches, no processing);
- ``prepare``: decode + features (``transform.prepare``), in memory;
- ``scoring``: ``process_many`` of a fresh scorer over the prepared features, in memory;
- ``own path``: consume + prepare + score + build bulk bodies, no OpenSearch write;
- ``opensearch bulk``: the same documents through the OpenSearch sink into a fresh index;
- ``end to end``: the connector's runner, Kafka -> OpenSearch with commits;
- ``end to end (state on)``: the same with per-partition model checkpoints, as ``run`` does.

Figures are printed, never asserted. ``--profile`` adds a cProfile of the own path.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import pstats
import time
import uuid
from typing import Any

__all__ = ["register", "run"]

OWN_PATH_TARGET = 20_000.0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("bench", help="measure consume, scoring, bulk and end-to-end rates")
    p.add_argument("--records", type=int, default=50_000)
    p.add_argument("--batch-size", type=int, default=2000)
    p.add_argument("--profile", action="store_true", help="cProfile the own path (top 20)")
    p.add_argument("--keep", action="store_true", help="keep the bench topic and indices")
    p.add_argument("--no-state", action="store_true", help="skip the state-on end-to-end run")
    p.set_defaults(func=run)


def _timed(fn: Any) -> tuple[Any, float]:
    began = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - began


def _drain(source: Any, total: int, on_batch: Any = None) -> float:
    """Consume ``total`` records; seconds from the first record to the last batch handled."""
    seen, first = 0, 0.0
    while seen < total:
        batch = source.consume()
        if batch:
            first = first or time.perf_counter()
            seen += len(batch)
            if on_batch is not None:
                on_batch(batch)
    elapsed = time.perf_counter() - first
    source.close()  # leaving the group is not part of the rate
    return elapsed


def run(args: argparse.Namespace) -> int:
    from confluent_kafka.admin import AdminClient, NewTopic

    from connector.app import build_runner, enable_checkpoints, load_config, opensearch_client
    from connector.scoring import Scoring
    from connector.sinks.opensearch import OpenSearchSink
    from connector.sources.kafka import KafkaSource, consumer_settings
    from connector.testing import GAMEDAY_PIPELINE
    from connector.transform import build_transform
    from generators import gameday
    from generators.base import produce
    from provision.stack import servers as provision_servers

    # request-level client logs would drown the figures
    logging.getLogger("opensearch").setLevel(logging.ERROR)
    servers = provision_servers()
    n, stamp = args.records, uuid.uuid4().hex[:8]
    topic, index = f"gameday-bench-{stamp}", f"outliers-gameday-bench-{stamp}"
    admin = AdminClient({"bootstrap.servers": servers.kafka_bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    recs = list(gameday.records(count=n, rate=200.0, anomaly_rate=0.005, seed=1,
                                start=time.time() - n / 200.0))
    produce(recs, bootstrap=servers.kafka_bootstrap, topic=topic, pace=False)
    print(f"bench: {n} game-day records on {topic} (kafka {servers.kafka_bootstrap}, "
          f"opensearch {servers.opensearch_url}), batch {args.batch_size}")

    def config(suffix: str) -> Any:
        return load_config(GAMEDAY_PIPELINE, topic=topic, index=f"{index}-{suffix}",
                           group_id=f"bench-{stamp}-{suffix}", bootstrap=servers.kafka_bootstrap,
                           opensearch_url=servers.opensearch_url)

    cfg = config("own")

    def source(suffix: str) -> KafkaSource:
        c = config(suffix)
        return KafkaSource(list(c.source.topics), consumer_settings(c.source.kafka,
                           c.source.group_id), batch_size=args.batch_size, poll_timeout=0.2)

    rates: dict[str, float] = {}
    rates["kafka consume"] = n / _drain(source("consume"), n)

    transform = build_transform(cfg)
    prepared, secs = _timed(lambda: [transform.prepare(r.value) for r in recs])
    rates["prepare (decode+features)"] = n / secs
    scorer = Scoring.from_config(cfg).scorer
    feats, keys = [p.features for p in prepared], [p.key for p in prepared]
    _, secs = _timed(lambda: [scorer.process_many(feats[i:i + args.batch_size],
                                                  keys[i:i + args.batch_size])
                              for i in range(0, n, args.batch_size)])
    rates["scoring (process_many)"] = n / secs

    docs: list[Any] = []
    own_transform, own_scoring = build_transform(cfg), Scoring.from_config(cfg)

    def own_batch(batch: list[Any]) -> None:
        ready = [own_transform.prepare(r.value) for r in batch]
        docs.extend(own_scoring.documents(ready, batch)[0])

    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    rates["own path (no write)"] = n / _drain(source("own"), n, own_batch)
    if profiler is not None:
        profiler.disable()

    client = opensearch_client(config("bulk"))
    sink = OpenSearchSink(client, f"{index}-bulk", chunk_size=args.batch_size)

    def bulk_all() -> None:
        for i in range(0, len(docs), args.batch_size):
            sink.add(docs[i:i + args.batch_size])
            sink.flush()

    _, secs = _timed(bulk_all)
    rates["opensearch bulk only"] = len(docs) / secs

    runner = build_runner(config("e2e"), batch_size=args.batch_size)
    stats = runner.run(max_records=n, idle_timeout=60)
    rates["end to end"] = stats.rate()
    if not args.no_state:  # what `run` does by default: per-partition state, snapshots
        stateful = build_runner(config("state"), batch_size=args.batch_size)
        checkpointer = enable_checkpoints(stateful, config("state"))
        rates["end to end (state on)"] = stateful.run(max_records=n, idle_timeout=60).rate()
        checkpointer.store.delete(topic, 0)

    _print(rates, stats)
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
        print(out.getvalue())
    if not args.keep:
        client.indices.delete(index=f"{index}-*", ignore_unavailable=True)
        for future in admin.delete_topics([topic]).values():
            future.result(30)
    return 0


def _print(rates: dict[str, float], stats: Any) -> None:
    print(f"\n{'measure':<28} {'records/s':>12}")
    for name, rate in rates.items():
        print(f"{name:<28} {rate:>12,.0f}")
    own, bulk = rates["own path (no write)"], rates["opensearch bulk only"]
    e2e = rates["end to end"]
    print(f"\nown path / target {OWN_PATH_TARGET:,.0f}     {own / OWN_PATH_TARGET:>6.2f}")
    print(f"end to end / bulk only         {e2e / bulk:>6.2f}  (target >= 0.80)")
    print(f"end to end / own path          {e2e / own:>6.2f}")
    print(f"scoring share of own path      {own / rates['scoring (process_many)']:>6.2f}")
    print(f"end to end: {stats.records} records, {stats.indexed} indexed, {stats.duplicates} "
          f"already there (replayed after a rebalance), {stats.dead_lettered} dead-lettered, "
          f"{stats.flagged} flagged, {stats.retries} retries")
    span = max(stats.last_batch - stats.first_batch, 1e-9)
    print(f"end to end time: {stats.stage_seconds / span:.0%} preparing and scoring, "
          f"{stats.wait_seconds / span:.0%} waiting for OpenSearch after scoring was done")
