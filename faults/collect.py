"""The suite's I/O with the real servers: produce the input, read back documents and errors."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from faults.producing import Producing  # the suite's input producer (re-exported)

__all__ = ["Producing", "create_index", "create_topics", "read_documents", "read_origins",
           "read_windows", "wait_committed"]

logger = logging.getLogger(__name__)

Pos = tuple[int, int]


def create_topics(bootstrap: str, topics: dict[str, int]) -> None:
    """Create ``{name: partitions}`` (replication 1); **blocks** until done."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(t, n, 1) for t, n in topics.items()])
    for future in futures.values():
        future.result(30)


def delete_topics(bootstrap: str, topics: Iterable[str]) -> None:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})  # alive until every future is done
    for future in admin.delete_topics(list(topics)).values():
        try:
            future.result(30)
        except Exception as exc:  # noqa: BLE001 - cleanup is best effort
            logger.warning("topic not deleted error=%s", exc)


def create_index(client: Any, index: str, properties: dict[str, Any]) -> None:
    """The run's index, with the scenario's ``properties`` mapped up front (the mapping the
    conflicting records or windows break)."""
    client.indices.create(index=index, body={
        "settings": {"index": {"number_of_shards": 1, "number_of_replicas": 0}},
        "mappings": {"properties": properties},
    })


def wait_committed(bootstrap: str, group: str, topic: str, timeout: float,
                   stall: float = 120.0) -> dict[int, int]:
    """Wait until ``group`` committed every partition of ``topic`` to its end, or its commits
    stop moving for ``stall`` s; returns the records left per partition (**blocks**)."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "enable.auto.commit": False})
    deadline, last, since = time.monotonic() + timeout, None, time.monotonic()
    left: dict[int, int] = {}
    try:
        parts = consumer.list_topics(topic, timeout=30).topics[topic].partitions
        tps = [TopicPartition(topic, p) for p in parts]
        while time.monotonic() < deadline:
            try:
                done = {tp.partition: tp.offset for tp in consumer.committed(tps, timeout=30)}
                left = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), 30)[1]
                        - max(done[p], 0) for p in parts}
            except Exception as exc:  # noqa: BLE001 - the broker may be restarting
                logger.warning("committed offsets not read error=%s", exc)
            if left and not any(n > 0 for n in left.values()):
                return left
            if left != last:
                last, since = dict(left), time.monotonic()
            elif time.monotonic() - since > stall:
                logger.warning("drain stalled left=%s", left)
                return left
            time.sleep(2.0)
    finally:
        consumer.close()
    return left


def read_documents(client: Any, index: str) -> dict[Pos, tuple[str, float | None]]:
    """Every document of ``index`` as ``(partition, offset) -> (log_identifier, score)``."""
    from opensearchpy import helpers

    client.indices.refresh(index=index)
    docs: dict[Pos, tuple[str, float | None]] = {}
    hits = helpers.scan(client, index=index, size=2000, query={
        "query": {"match_all": {}}, "_source": ["log_identifier", "outlier.score"]})
    for hit in hits:
        _, partition, offset = hit["_id"].rsplit("+", 2)
        src = hit["_source"]
        docs[(int(partition), int(offset))] = (
            src.get("log_identifier", hit["_id"]), src.get("outlier", {}).get("score"))
    return docs


def read_windows(client: Any, index: str) -> dict[str, tuple[float | None, float | None]]:
    """Every window document of ``index`` as ``_id -> (count, score)``."""
    from opensearchpy import helpers

    client.indices.refresh(index=index)
    hits = helpers.scan(client, index=index, size=2000, query={
        "query": {"match_all": {}}, "_source": ["count", "outlier.score"]})
    return {hit["_id"]: (hit["_source"].get("count"),
                         hit["_source"].get("outlier", {}).get("score")) for hit in hits}


def read_origins(bootstrap: str, topic: str, timeout: float = 60.0
                ) -> list[tuple[int, int, str | None]]:
    """``(source.partition, source.offset, window.id)`` of every record of an output topic
    (the error topic, or the events topic: both carry these headers), repeats kept
    (``window.id`` is ``None`` for an output of a record)."""
    from confluent_kafka import Consumer, KafkaError

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"faults-read-{topic}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False,
                         "enable.partition.eof": True})
    consumer.subscribe([topic])
    out: list[tuple[int, int, str | None]] = []
    eof: set[int] = set()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for msg in consumer.consume(1000, 1.0):
                if msg.error() is not None:
                    if msg.error().code() == KafkaError._PARTITION_EOF:
                        eof.add(msg.partition())
                    continue
                headers = dict(msg.headers() or [])
                window = headers.get("window.id")
                out.append((int(headers["source.partition"]), int(headers["source.offset"]),
                            window.decode() if window else None))
            assignment = consumer.assignment()
            if assignment and eof >= {tp.partition for tp in assignment}:
                break
    finally:
        consumer.close()
    return out
