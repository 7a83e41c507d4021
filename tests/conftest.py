"""Session fixtures for real Kafka and OpenSearch (never fakes).

Where the servers come from, in order:

1. ``OUTLIER_KAFKA_BOOTSTRAP`` / ``OUTLIER_OPENSEARCH_URL`` name existing servers;
2. else testcontainers, only when a Docker engine answers and ``testcontainers`` is installed;
3. else the local stack (``provision.servers()``: reused when running, started otherwise).

The local stack is left running at the end of the session, so the next run starts in a
second; stop it with ``outlier-connector stack down``.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

import provision


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
    yield found
    for container in containers:
        container.stop()


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
    """``topic_factory(partitions=1, prefix="test") -> name``: a fresh uuid-suffixed topic.

    At the end of the session the topics, and any ``<name>.*`` topics derived from them (such
    as ``<name>.errors``), are deleted.
    """
    from confluent_kafka.admin import NewTopic

    created: list[str] = []

    def make(partitions: int = 1, prefix: str = "test") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
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
    """``index_name_factory(prefix="test") -> name``: a fresh uuid-suffixed index name.

    Nothing is created. At the end of the session every index and data stream whose name
    starts with a handed-out name is deleted (covers rollover suffixes too). Use a prefix such
    as ``"outliers-tolls"`` to have the scenario's index template apply.
    """
    names: list[str] = []

    def make(prefix: str = "test") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:12]}".lower()
        names.append(name)
        return name

    yield make
    for name in names:
        try:
            opensearch.indices.delete_data_stream(name=f"{name}*")
        except Exception:  # noqa: BLE001 - no data stream by that name is the common case
            pass
        opensearch.indices.delete(index=f"{name}*", ignore_unavailable=True, expand_wildcards="all")
