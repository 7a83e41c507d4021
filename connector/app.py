"""Assembly: a pipeline config (plus a few overrides) becomes a ready :class:`Runner`.

Clients are built from the config's verbatim blocks: ``Consumer(source.kafka + group)``,
``Producer(<connection part of source.kafka> + output.events.kafka)``, ``OpenSearch(**output.
opensearch)``. Overrides exist for the commands and tests that run one pipeline on
uuid-named topics and indices (:func:`load_config`).
"""

from __future__ import annotations

import copy
from functools import partial
from pathlib import Path
from typing import Any

from connector.config import PipelineConfig, parse_pipeline, read_yaml
from connector.runner import Runner
from connector.scoring import Scoring, WindowedScoring
from connector.sinks.fence import Fences
from connector.sinks.kafka import ErrorTopicSink, EventSink, producer_settings
from connector.sinks.opensearch import OpenSearchSink
from connector.sources.file import FileSource
from connector.sources.kafka import KafkaSource, consumer_settings

__all__ = [
    "build_checkpointer",
    "build_runner",
    "enable_checkpoints",
    "load_config",
    "opensearch_client",
    "patch_raw",
]


def patch_raw(
    raw: dict[str, Any],
    *,
    topic: str | None = None,
    group_id: str | None = None,
    index: str | None = None,
    bootstrap: str | None = None,
    opensearch_url: str | None = None,
    errors_topic: str | None = None,
    events_topic: str | None = None,
    instance_id: str | None = None,
    input_path: str | None = None,
) -> dict[str, Any]:
    """A copy of a raw pipeline tree with the given parts replaced.

    Examples
    --------
    >>> raw = {"name": "g", "source": {"kind": "kafka", "topics": ["g"]}, "output": {}}
    >>> out = patch_raw(raw, topic="g-1", index="i-1", bootstrap="h:1", opensearch_url="http://o")
    >>> out["source"]["topics"], out["source"]["kafka"], out["output"]["opensearch"]["hosts"]
    (['g-1'], {'bootstrap.servers': 'h:1'}, ['http://o'])
    >>> out["output"]["errors_topic"], raw["source"]["topics"]
    ('g-1.errors', ['g'])
    """
    raw = copy.deepcopy(raw)
    source = raw.setdefault("source", {})
    output = raw.setdefault("output", {})
    if input_path is not None:
        source.update(kind="file", path=input_path)
    if topic is not None:
        source["topics"] = [topic]
        output["errors_topic"] = errors_topic or f"{topic}.errors"
    elif errors_topic is not None:
        output["errors_topic"] = errors_topic
    if events_topic is not None and isinstance(output.get("events"), dict):
        output["events"]["topic"] = events_topic
    if group_id is not None:
        source["group_id"] = group_id
    if bootstrap is not None:
        source.setdefault("kafka", {})["bootstrap.servers"] = bootstrap
    if instance_id is not None:  # static membership (KIP-345)
        source.setdefault("kafka", {})["group.instance.id"] = instance_id
    if index is not None:
        output["index"] = index
    if opensearch_url is not None:
        output.setdefault("opensearch", {})["hosts"] = [opensearch_url]
    return raw


def load_config(path: str | Path, env: dict[str, str] | None = None, **overrides: Any
                ) -> PipelineConfig:
    """Load a pipeline YAML, apply :func:`patch_raw` overrides, validate it."""
    raw = read_yaml(path)
    return parse_pipeline(patch_raw(raw, **overrides), env=env, default_name=Path(path).stem)


def opensearch_client(cfg: PipelineConfig) -> Any:
    """The pipeline's OpenSearch client: TLS, basic auth or SigV4 (:mod:`connector.connections`)."""
    from connector.connections import opensearch_client as build

    return build(cfg.output.opensearch, f"{cfg.name}.output.opensearch")


def _scoring(cfg: PipelineConfig) -> Scoring:
    return WindowedScoring.from_config(cfg) if cfg.window is not None else Scoring.from_config(cfg)


def build_runner(
    cfg: PipelineConfig,
    *,
    batch_size: int = 2000,
    poll_timeout: float = 0.5,
    max_backoff: float = 30.0,
    transform: Any = None,
    scoring: Scoring | None = None,
) -> Runner:
    """Everything :class:`Runner` needs, built from ``cfg`` (clients connect lazily)."""
    from connector.connections import check_kafka
    from connector.transform import build_transform, render_event

    check_kafka(cfg.source.kafka, f"{cfg.name}.source.kafka")
    if cfg.source.kind == "file":
        source: Any = FileSource(cfg.source.path or "-", batch_size=batch_size,
                                 poll_timeout=poll_timeout)
    else:
        from connector.connections import KafkaErrorReporter

        group = cfg.source.group_id or f"outliers-{cfg.name}"
        consumer = consumer_settings(cfg.source.kafka, group)
        consumer.setdefault("error_cb", KafkaErrorReporter(
            str(cfg.source.kafka.get("bootstrap.servers")), f"{cfg.name}.source.kafka"))
        source = KafkaSource(
            list(cfg.source.topics),
            consumer,
            batch_size=batch_size,
            poll_timeout=poll_timeout,
        )
    producer = None
    errors = events = None
    if cfg.source.kafka.get("bootstrap.servers") and (cfg.output.errors_topic or cfg.output.events):
        from confluent_kafka import Producer

        base = producer_settings(cfg.source.kafka)
        producer = Producer(base)
        kafka_source = cfg.source.kind == "kafka"  # replays happen: fence the outputs
        if cfg.output.errors_topic:
            topic = cfg.output.errors_topic
            fences = Fences(topic, base) if kafka_source else None
            errors = ErrorTopicSink(producer, topic, fences=fences)
        ev = cfg.output.events
        if ev is not None:
            ev_base = {**base, **ev.kafka}
            ev_producer = Producer(ev_base) if ev.kafka else producer
            fences = Fences(ev.topic, ev_base) if kafka_source else None
            events = (EventSink(ev_producer, ev.topic, fences=fences), partial(render_event, ev))
    sink = OpenSearchSink(opensearch_client(cfg), cfg.output.index, chunk_size=batch_size)
    return Runner(
        source,
        transform if transform is not None else build_transform(cfg),
        scoring if scoring is not None else _scoring(cfg),
        sink,
        errors,
        events,
        max_backoff=max_backoff,
    )


def enable_checkpoints(runner: Runner, cfg: PipelineConfig, *, snapshot_seconds: float = 10.0,
                       snapshot_records: int = 100_000, warm_start: bool = False) -> Any:
    """Keep model state per partition in OpenSearch (:mod:`connector.checkpoint`).

    A restarted connector restores its models instead of warming up again. Returns the
    checkpointer (its ``stats`` say what was restored and snapshotted).
    """
    from connector.checkpoint import SnapshotPolicy
    from connector.state_store import StateStore

    group = cfg.source.group_id or f"outliers-{cfg.name}"
    store = StateStore(opensearch_client(cfg), f"{group}/{cfg.name}")
    checkpointer = build_checkpointer(
        cfg, store, policy=SnapshotPolicy(snapshot_seconds, snapshot_records),
        warm_start=warm_start,
    )
    runner.use_checkpoints(checkpointer)
    return checkpointer


def build_checkpointer(
    cfg: PipelineConfig, store: Any = None, *, policy: Any = None,
    warm_start: bool = False,
) -> Any:
    """A :class:`Checkpointer` for a loaded pipeline: per partition, a scorer and a transform
    built from the same config (``detectors.build_scorer``, ``build_transform``); state in
    the pipeline's OpenSearch (``outlier-connector-state``), gaps replayed from its Kafka."""
    import detectors
    from connector.checkpoint import Checkpointer, StateFactory
    from connector.features.windows import WindowAggregator
    from connector.state_store import StateStore
    from connector.transform import build_transform

    windowed = cfg.window is not None
    features = list(cfg.features_names)
    factory = StateFactory(
        new_scorer=lambda: Scoring.from_config(cfg).scorer,
        restore_scorer=detectors.restore_scorer,
        new_transform=lambda: build_transform(cfg),
        new_windows=(lambda: WindowAggregator(cfg.window, features)) if windowed else None,
        restore_windows=(lambda b: WindowAggregator.restore(b, cfg.window)) if windowed else None,
    )
    grouped = cfg.source.kind == "kafka"
    group = cfg.source.group_id or f"outliers-{cfg.name}"
    if store is None:
        kwargs = {"timeout": 30, **dict(cfg.output.opensearch)}
        store = StateStore(kwargs, f"{group}/{cfg.name}")
    replay = None
    if grouped:
        from connector.replay import kafka_replay

        scoring = WindowedScoring(None, cfg.name, None) if windowed else Scoring(None, cfg.name)
        # the replay consumer only assigns: it must not share the member's static identity
        settings = {k: v for k, v in cfg.source.kafka.items() if k != "group.instance.id"}
        replay = kafka_replay(consumer_settings(settings, group), build_transform(cfg), scoring)
    return Checkpointer(store, factory, policy, replay=replay, warm_start=warm_start,
                        grouped=grouped)
