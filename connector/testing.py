"""Helpers for integration tests, the demo and the bench, against *real* servers.

Nothing here imitates Kafka or OpenSearch: :class:`TcpProxy` is a real TCP forwarder on
127.0.0.1 that can be cut (connections reset, listener closed) and restored, which is how
tests take OpenSearch away from the connector; the rest produce, read and count on the real
servers. :func:`gameday_value` builds one game-day message in the exact SCENARIOS.md format.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

__all__ = [
    "GAMEDAY_PIPELINE",
    "TcpProxy",
    "committed_offsets",
    "doc_offsets",
    "gameday_runner",
    "gameday_value",
    "produce",
    "read_topic",
    "unique",
    "wait_for",
]

#: This test session's run id: every topic, index and group a test creates carries it, so a
#: session can find (and remove) what it left, and never touches anyone else's names.
RUN_ID = os.environ.setdefault("OUTLIER_TEST_RUN", uuid.uuid4().hex[:6])


def unique(prefix: str) -> str:
    """A fresh name of this run: ``<prefix>-<run id>-<8 hex>``.

    Examples
    --------
    >>> name = unique("g")
    >>> name.startswith(f"g-{RUN_ID}-") and len(name) == len("g-") + len(RUN_ID) + 9
    True
    """
    return f"{prefix}-{RUN_ID}-{uuid.uuid4().hex[:8]}"


GAMEDAY_PIPELINE = Path(__file__).resolve().parents[1] / "pipelines" / "gameday.yaml"

_LEVELS = ("DEBUG", "INFO", "INFO", "INFO", "WARNING", "ERROR")
_PATHS = ("wp-content/list", "api/orders", "login", "search", "static/app.js")


def gameday_value(i: int, *, t0: float = 1_728_565_962.0, rng: random.Random | None = None,
                  **overrides: Any) -> bytes:
    """One enveloped game-day log line (``LOG-%06d`` ids, one per 10 ms from ``t0``).

    Examples
    --------
    >>> json.loads(gameday_value(3, rng=random.Random(1)))["log_message"]["log_identifier"]
    'LOG-000003'
    """
    rng = rng or random.Random(i)
    msg = {
        "log_identifier": f"LOG-{i:06d}", "timestamp": t0 + i * 0.01,
        "log_level": rng.choice(_LEVELS), "ip_address": f"10.0.{i % 250}.{rng.randint(1, 250)}",
        "user_id": f"user-{rng.randint(1, 50)}", "method": rng.choice(("GET", "POST")),
        "path": rng.choice(_PATHS), "status_code": rng.choice((200, 200, 200, 404, 502)),
        "response_time": round(rng.lognormvariate(-2.0, 0.4), 4), "message": "ok",
    }
    msg.update(overrides)
    return json.dumps({"start": "LOG_START", "log_message": msg, "stop": "LOG_END"}).encode()


def produce(bootstrap: str, topic: str, values: list[bytes], *, partition: int | None = None,
            headers: list[list[tuple[str, bytes]]] | None = None) -> None:
    """Produce values in order and wait until all are acknowledged (**blocks**)."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    failed: list[str] = []

    def on_delivery(err: Any, _msg: Any) -> None:
        if err is not None:
            failed.append(str(err))

    for i, value in enumerate(values):
        kwargs: dict[str, Any] = {"on_delivery": on_delivery}
        if partition is not None:
            kwargs["partition"] = partition
        if headers is not None:
            kwargs["headers"] = headers[i]
        while True:
            try:
                producer.produce(topic, value, **kwargs)
                break
            except BufferError:
                producer.poll(0.1)
    if producer.flush(30) or failed:
        raise KafkaException(f"produce to {topic} failed: {failed[:1]}")


def read_topic(bootstrap: str, topic: str, count: int, timeout: float = 30.0) -> list[Any]:
    """Read ``count`` messages of ``topic`` from the beginning (confluent ``Message`` objects)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"read-{time.time_ns()}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    out: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < count and time.monotonic() < deadline:
            out.extend(m for m in consumer.consume(count - len(out), 0.5) if m.error() is None)
    finally:
        consumer.close()
    return out


def committed_offsets(bootstrap: str, group: str, topic: str, partitions: int = 1
                      ) -> dict[int, int]:
    """Committed offsets of ``group`` on ``topic`` (``-1001`` = nothing committed)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "enable.auto.commit": False})
    try:
        tps = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], 10)
        return {tp.partition: tp.offset for tp in tps}
    finally:
        consumer.close()


def gameday_runner(bootstrap: str, opensearch_url: str, topic: str, index: str, group: str,
                   **kwargs: Any) -> Any:
    """A :class:`~connector.runner.Runner` of ``pipelines/gameday.yaml`` on the given names."""
    from connector.app import build_runner, load_config

    cfg = load_config(GAMEDAY_PIPELINE, env={}, topic=topic, index=index, group_id=group,
                      bootstrap=bootstrap, opensearch_url=opensearch_url)
    kwargs.setdefault("poll_timeout", 0.2)
    return build_runner(cfg, **kwargs)


def doc_offsets(client: Any, index: str) -> list[int]:
    """Offsets of every record document in ``index`` (from ``<topic>+<partition>+<offset>``).

    Refreshes first; a duplicate document would show up as a repeated offset.
    """
    from opensearchpy import helpers

    client.indices.refresh(index=index)
    hits = helpers.scan(client, index=index, query={"query": {"match_all": {}}},
                        _source=False, size=1000)
    return sorted(int(hit["_id"].rsplit("+", 1)[1]) for hit in hits)


def wait_for(predicate: Any, timeout: float, interval: float = 0.2) -> Any:
    """Poll ``predicate()`` until it returns a truthy value or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


class TcpProxy:
    """A real TCP forwarder ``127.0.0.1:<port>`` -> ``target``, that can be cut and restored.

    :meth:`cut` closes the listener and resets every open connection (clients see
    "connection refused"/"reset", as when a server dies); :meth:`restore` listens again on
    the same port. Runs an asyncio loop in a daemon thread.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.restore()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(1 << 16):
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(OSError):
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        self._writers.difference_update((writer, up_writer))

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for w in list(self._writers):
            transport = w.transport
            with contextlib.suppress(OSError):
                transport.abort()
        self._writers.clear()

    def restore(self) -> None:
        """Listen (again) on the proxy's port."""
        self._call(self._start())

    def cut(self) -> None:
        """Stop listening and reset every forwarded connection."""
        self._call(self._stop())

    def close(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
