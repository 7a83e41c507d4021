"""Session fixtures for real Kafka and OpenSearch (never fakes).

Where the servers come from, in order:

1. ``OUTLIER_KAFKA_BOOTSTRAP`` / ``OUTLIER_OPENSEARCH_URL`` name existing servers;
2. else testcontainers, only when a Docker engine answers and ``testcontainers`` is installed;
3. else the local stack (``provision.servers()``: reused when running, started otherwise).

The local stack is left running at the end of the session, so the next run starts in a
second; stop it with ``outlier-connector stack down``.

Tests own what they create: every topic, index and consumer group name a test makes
carries the session's run id (:func:`connector.testing.unique`, the factories below), and is
removed at the end. The ``servers`` fixture checks it: at the end of the session no topic,
index or group with the run id is left, and the shipped pipelines' own topics and indices
(``gameday``, ``gameday.errors``, ``outliers-gameday``, ...) hold exactly what they held
before (a test that wrote into a user's topic fails the session).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator

import pytest

import provision
from connector.testing import RUN_ID, unique


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "integration: needs real Kafka and OpenSearch (local stack or OUTLIER_* env)",
    )


def _docker_answers() -> bool:
    """Whether a Docker engine answers on its socket (DOCKER_HOST unix:// or the default)."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return False  # tcp engines: name the servers with OUTLIER_* instead
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(1)
            sock.connect(host.removeprefix("unix://"))
            sock.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return b"OK" in sock.recv(256)
    except OSError:
        return False


def _containers(stack: list) -> provision.Servers:
    """Kafka and OpenSearch containers (small on purpose: no engine on the dev machines)."""
    from testcontainers.kafka import KafkaContainer
    from testcontainers.opensearch import OpenSearchContainer

    from provision import versions

    kafka = KafkaContainer(f"apache/kafka:{versions.KAFKA_VERSION}").with_kraft()
    search = OpenSearchContainer(f"opensearchproject/opensearch:{versions.OPENSEARCH_VERSION}")
    for container in (kafka, search):
        container.start()
        stack.append(container)
    url = search.get_config()
    return provision.Servers(
        kafka.get_bootstrap_server(), f"http://{url['host']}:{url['port']}", True
    )


@pytest.fixture(scope="session")
def servers() -> Iterator[provision.Servers]:
    """The Kafka bootstrap and OpenSearch URL every integration test talks to."""
    env_named = any(
        os.environ.get(v) for v in ("OUTLIER_KAFKA_BOOTSTRAP", "OUTLIER_OPENSEARCH_URL")
    )
    containers: list = []
    if not env_named and _docker_answers():
        try:
            found = _containers(containers)
        except ImportError:
            found = provision.servers(start=True)
    else:
        found = provision.servers(start=True)
    before = _shipped_listing(found)
    yield found
    try:
        _remove_run_leftovers(found)
        _check_no_trace(found, before)
    finally:
        for container in containers:
            container.stop()


def _shipped_names() -> tuple[set[str], set[str]]:
    """The topics (source, errors, events) and indices the shipped pipelines write to."""
    from pathlib import Path

    import yaml

    topics, indices = set(), set()
    for path in (Path(__file__).resolve().parents[1] / "pipelines").glob("*.yaml"):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        source, output = raw.get("source") or {}, raw.get("output") or {}
        topics.update(t for t in source.get("topics") or [] if "${" not in t)
        for name in (output.get("errors_topic"), (output.get("events") or {}).get("topic")):
            if name and "${" not in name:
                topics.add(name)
        if output.get("index") and "${" not in output["index"]:
            indices.add(output["index"])
    return topics, indices


def _shipped_listing(found: provision.Servers) -> dict[str, object]:
    """End offsets of the shipped topics and document counts of the shipped indices."""
    from confluent_kafka import Consumer, TopicPartition
    from opensearchpy import OpenSearch

    topics, indices = _shipped_names()
    listing: dict[str, object] = {}
    consumer = Consumer({"bootstrap.servers": found.kafka_bootstrap,
                         "group.id": unique("listing")})
    try:
        meta = consumer.list_topics(timeout=30).topics
        for topic in sorted(topics & set(meta)):
            listing[f"topic {topic}"] = sum(
                consumer.get_watermark_offsets(TopicPartition(topic, p), 30)[1]
                for p in meta[topic].partitions)
    finally:
        consumer.close()
    client = OpenSearch(hosts=[found.opensearch_url], timeout=60)
    try:
        for index in sorted(indices):
            if client.indices.exists(index=index):
                client.indices.refresh(index=index)
                listing[f"index {index}"] = client.count(index=index)["count"]
    finally:
        client.close()
    return listing


def _remove_run_leftovers(found: provision.Servers) -> None:
    """Consumer groups and model-state documents of this run: nobody else can remove them."""
    from confluent_kafka.admin import AdminClient
    from opensearchpy import OpenSearch, helpers

    admin = AdminClient({"bootstrap.servers": found.kafka_bootstrap})
    # A topic a test deleted can come back when a client still asks for it (the local broker
    # auto-creates topics, like many): every name of this run is this session's to remove.
    topics = [t for t in admin.list_topics(timeout=30).topics if RUN_ID in t]
    for future in (admin.delete_topics(topics, operation_timeout=30) if topics
                   else {}).values():
        try:
            future.result()
        except Exception:  # noqa: BLE001 - a topic that could not be deleted: reported below
            pass
    listed = admin.list_consumer_groups(request_timeout=30).result()
    groups = [g.group_id for g in listed.valid if RUN_ID in g.group_id]
    for future in (admin.delete_consumer_groups(groups, request_timeout=30) if groups
                   else {}).values():
        try:
            future.result()
        except Exception:  # noqa: BLE001 - a group with members left: reported below
            pass
    client = OpenSearch(hosts=[found.opensearch_url], timeout=60)
    try:
        state = "outlier-connector-state"
        if client.indices.exists(index=state):
            client.indices.refresh(index=state)
            ids = [h["_id"] for h in helpers.scan(client, index=state, _source=False,
                                                   query={"query": {"match_all": {}}})
                   if RUN_ID in h["_id"]]
            if ids:
                helpers.bulk(client, ({"_op_type": "delete", "_index": state, "_id": i}
                                      for i in ids), raise_on_error=False)
    finally:
        client.close()


def _check_no_trace(found: provision.Servers, before: dict[str, object]) -> None:
    """Fail the session when a test left something of this run or wrote to a shipped name."""
    from confluent_kafka.admin import AdminClient
    from opensearchpy import OpenSearch

    admin = AdminClient({"bootstrap.servers": found.kafka_bootstrap})
    left = [f"topic {t}" for t in admin.list_topics(timeout=30).topics if RUN_ID in t]
    listed = admin.list_consumer_groups(request_timeout=30).result()
    left += [f"group {g.group_id}" for g in listed.valid if RUN_ID in g.group_id]
    client = OpenSearch(hosts=[found.opensearch_url], timeout=60)
    try:
        left += [f"index {i}" for i in client.indices.get(index=f"*{RUN_ID}*",
                                                          expand_wildcards="all")]
    finally:
        client.close()
    after = _shipped_listing(found)
    changed = [f"{name}: {before.get(name)} -> {after.get(name)}"
               for name in sorted(set(before) | set(after)) if before.get(name) != after.get(name)]
    problems = ([f"left behind by this run ({RUN_ID}): {', '.join(sorted(left))}"] if left
                else []) + ([f"shipped topics/indices written by the tests: {changed}"]
                            if changed else [])
    if problems:
        pytest.fail("tests left a trace on the servers: " + "; ".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def kafka_bootstrap(servers: provision.Servers) -> str:
    return servers.kafka_bootstrap


@pytest.fixture(scope="session")
def opensearch_url(servers: provision.Servers) -> str:
    return servers.opensearch_url


@pytest.fixture(scope="session")
def opensearch(opensearch_url: str):
    """An opensearch-py client on the test cluster."""
    from opensearchpy import OpenSearch

    client = OpenSearch(hosts=[opensearch_url], timeout=60)
    yield client
    client.close()


@pytest.fixture(scope="session")
def kafka_admin(kafka_bootstrap: str):
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": kafka_bootstrap})


def _wait_topic(admin, name: str, partitions: int, timeout: float = 30.0) -> None:
    """Wait until metadata shows every partition of ``name`` with a leader."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        topic = admin.list_topics(topic=name, timeout=5).topics.get(name)
        if (
            topic is not None
            and topic.error is None
            and len(topic.partitions) == partitions
            and all(p.leader >= 0 for p in topic.partitions.values())
        ):
            return
        time.sleep(0.1)
    raise TimeoutError(f"topic {name} has no leader for all {partitions} partitions")


@pytest.fixture(scope="session")
def topic_factory(kafka_admin) -> Iterator[Callable[..., str]]:
    """``topic_factory(partitions=1, prefix="test") -> name``: a fresh topic of this run.

    At the end of the session the topics, and any ``<name>.*`` topics derived from them (such
    as ``<name>.errors``), are deleted.
    """
    from confluent_kafka.admin import NewTopic

    created: list[str] = []

    def make(partitions: int = 1, prefix: str = "test") -> str:
        name = unique(prefix)
        futures = kafka_admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1)]
        )
        futures[name].result(timeout=30)
        created.append(name)
        _wait_topic(kafka_admin, name, partitions)
        return name

    yield make
    if created:
        existing = kafka_admin.list_topics(timeout=10).topics
        doomed = [t for t in existing if any(t == n or t.startswith(n + ".") for n in created)]
        if doomed:
            for future in kafka_admin.delete_topics(doomed, operation_timeout=30).values():
                future.result(timeout=60)


@pytest.fixture(scope="session")
def index_name_factory(opensearch) -> Iterator[Callable[..., str]]:
    """``index_name_factory(prefix="test") -> name``: a fresh index name of this run.

    Nothing is created. At the end of the session every index and data stream whose name
    starts with a handed-out name is deleted (covers rollover suffixes too). Use a prefix such
    as ``"outliers-tolls"`` to have the scenario's index template apply.
    """
    names: list[str] = []

    def make(prefix: str = "test") -> str:
        name = unique(prefix).lower()
        names.append(name)
        return name

    yield make
    for name in names:
        try:
            opensearch.indices.delete_data_stream(name=f"{name}*")
        except Exception:  # noqa: BLE001 - no data stream by that name is the common case
            pass
        opensearch.indices.delete(index=f"{name}*", ignore_unavailable=True, expand_wildcards="all")
