"""The secured local stack: Kafka over SASL_SSL (SCRAM-SHA-512) and OpenSearch over HTTPS.

``outlier-connector stack up --secure`` runs, beside the open stack and never touching it:

- a second Kafka broker (the open stack's jars, its own config, data and logs below
  ``<cache>/secure/``) whose only client listener is ``SASL_SSL://127.0.0.1:9192``; its
  SCRAM-SHA-512 users are created by Kafka's own ``StorageTool format --add-scram``;
- nginx (Debian's package, installed with ``apt-get`` when missing) terminating TLS on
  ``https://127.0.0.1:9243`` with HTTP basic auth, proxying to the local OpenSearch. User
  ``reader`` may only ``GET``/``HEAD``: every write answers 403 ``security_exception`` like
  the OpenSearch security plugin does for a user without write permission (in production the
  plugin plays nginx's part).

Certificates come from a throw-away CA made with ``openssl`` at each fresh start (a second,
unrelated CA is made too, for "unknown CA" tests); passwords are random per fresh start and
kept in ``<cache>/secure/secrets/`` (one file per secret, mode 0600, Kubernetes Secret style)
and ``stack.json``. A fresh start (nothing secure running) wipes the secure Kafka's data.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import secrets
import shutil
import ssl
import subprocess
import urllib.error
import urllib.request
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provision import kafka, procs, versions
from provision.errors import ProvisionError
from provision.layout import Layout, default_layout

log = logging.getLogger(__name__)

KAFKA_PORT = 9192
KAFKA_CONTROLLER_PORT = 9193
PROXY_PORT = 9243
BOOTSTRAP = f"{versions.HOST}:{KAFKA_PORT}"
URL = f"https://{versions.HOST}:{PROXY_PORT}"
MECHANISM = "SCRAM-SHA-512"
KAFKA_USERS = ("admin", "connector")
OPENSEARCH_USERS = ("connector", "reader")
NAMES = ("kafka", "proxy")


@dataclass(frozen=True)
class SecureLayout:
    """Paths of the secured stack below ``<cache>/secure``.

    >>> lay = SecureLayout(Path("/c/secure"))
    >>> str(lay.ca_file), str(lay.secret("kafka-connector"))
    ('/c/secure/tls/ca.pem', '/c/secure/secrets/kafka-connector')
    """

    root: Path

    @property
    def tls(self) -> Path:
        return self.root / "tls"

    @property
    def ca_file(self) -> Path:
        return self.tls / "ca.pem"

    @property
    def other_ca_file(self) -> Path:
        """A CA that signed nothing here: trusting only it must fail verification."""
        return self.tls / "other-ca.pem"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    def secret(self, name: str) -> Path:
        return self.secrets / name

    @property
    def kafka(self) -> Path:
        return self.root / "kafka"

    @property
    def nginx(self) -> Path:
        return self.root / "nginx"

    @property
    def state_file(self) -> Path:
        return self.root / "stack.json"

    @property
    def lock_file(self) -> Path:
        return self.root / "stack.lock"

    def pid_file(self, name: str) -> Path:
        return (self.kafka if name == "kafka" else self.nginx) / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return (self.kafka if name == "kafka" else self.nginx) / "logs" / f"{name}.log"


@dataclass(frozen=True)
class SecureServers:
    """Where the secured servers are, and how to reach them.

    ``kafka_settings``/``opensearch_settings`` give the client configuration a pipeline's
    ``source.kafka`` / ``output.opensearch`` block would hold (verification on).
    """

    kafka_bootstrap: str
    opensearch_url: str
    ca_file: Path
    other_ca_file: Path
    secrets_dir: Path

    def password(self, kind: str, user: str) -> str:
        """The password of ``user`` on ``kind`` ('kafka' or 'opensearch')."""
        return (self.secrets_dir / f"{kind}-{user}").read_text()

    def kafka_settings(self, user: str = "connector", password: str | None = None,
                       ca_file: Path | None = None) -> dict[str, Any]:
        return {
            "bootstrap.servers": self.kafka_bootstrap,
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": MECHANISM,
            "sasl.username": user,
            "sasl.password": self.password("kafka", user) if password is None else password,
            "ssl.ca.location": str(ca_file or self.ca_file),
        }

    def opensearch_settings(self, user: str = "connector", password: str | None = None,
                            ca_file: Path | None = None) -> dict[str, Any]:
        secret = self.password("opensearch", user) if password is None else password
        return {
            "hosts": [self.opensearch_url],
            "http_auth": [user, secret],
            "ca_certs": str(ca_file or self.ca_file),
        }


def secure_layout(layout: Layout | None = None) -> SecureLayout:
    """The secured stack's layout below the open stack's cache directory."""
    return SecureLayout((layout or default_layout()).cache / "secure")


# --------------------------------------------------------------------------- certificates


def _openssl(*args: str, cwd: Path) -> None:
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise ProvisionError(f"openssl {args[0]} failed in {cwd}: {proc.stderr.strip()[:500]}")


def make_ca(directory: Path, name: str, days: int = 7) -> tuple[Path, Path]:
    """A self-signed CA (``<name>.pem``, ``<name>.key``) in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
             "-out", str(cert), "-days", str(days), "-subj", f"/CN=outlier-connector {name}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)  # fmt: skip
    key.chmod(0o600)
    return cert, key


def make_server_cert(directory: Path, ca: tuple[Path, Path], days: int = 7) -> tuple[Path, Path]:
    """``server.pem``/``server.key`` for 127.0.0.1 and localhost, signed by ``ca``."""
    cert, key, csr = directory / "server.pem", directory / "server.key", directory / "server.csr"
    ext = directory / "server.ext"
    ext.write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,"
                   "keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n"
                   "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
             "-subj", "/CN=127.0.0.1", cwd=directory)  # fmt: skip
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
             "-CAcreateserial", "-out", str(cert), "-days", str(days), "-extfile", str(ext),
             cwd=directory)  # fmt: skip
    key.chmod(0o600)
    return cert, key


def ssha(password: str, salt: bytes | None = None) -> str:
    """An htpasswd ``{SSHA}`` hash (nginx reads it).

    >>> ssha("pw", b"salt")
    '{SSHA}K/qCHdTzr1rftXNEV4Ob7XsySBlzYWx0'
    """
    salt = os.urandom(8) if salt is None else salt
    digest = hashlib.sha1(password.encode() + salt).digest()  # noqa: S324 - htpasswd format
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


# --------------------------------------------------------------------------- Kafka


def kafka_properties(sec: SecureLayout, admin_password: str) -> str:
    """The secured broker's configuration: one SASL_SSL listener for clients and brokers.

    >>> props = kafka_properties(SecureLayout(Path("/s")), "pw")
    >>> "listeners=SASL_SSL://127.0.0.1:9192,CONTROLLER://127.0.0.1:9193" in props
    True
    >>> "ssl.keystore.type=PEM" in props, "password=\\"pw\\"" in props
    (True, True)
    """
    host = versions.HOST
    jaas = (f'org.apache.kafka.common.security.scram.ScramLoginModule required '
            f'username="admin" password="{admin_password}";')
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{host}:{KAFKA_CONTROLLER_PORT}",
        "listeners": f"SASL_SSL://{host}:{KAFKA_PORT},CONTROLLER://{host}:{KAFKA_CONTROLLER_PORT}",
        "advertised.listeners": f"SASL_SSL://{host}:{KAFKA_PORT}",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "SASL_SSL",
        "sasl.enabled.mechanisms": MECHANISM,
        "sasl.mechanism.inter.broker.protocol": MECHANISM,
        f"listener.name.sasl_ssl.{MECHANISM.lower()}.sasl.jaas.config": jaas,
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(sec.tls / "server-keystore.pem"),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(sec.ca_file),
        "log.dirs": str(sec.kafka / "data"),
        **kafka.SINGLE_NODE,
    }
    return kafka.properties_text(settings)


def _start_kafka(sec: SecureLayout, layout: Layout, java: Path, passwords: dict[str, str]) -> int:
    kafka.install(layout)
    libs = str(layout.kafka.home / "libs" / "*")
    config = sec.kafka / "config"
    config.mkdir(parents=True, exist_ok=True)
    (sec.kafka / "logs").mkdir(parents=True, exist_ok=True)
    props = config / "server.properties"
    props.write_text(kafka_properties(sec, passwords["kafka-admin"]))
    props.chmod(0o600)
    (config / "log4j.properties").write_text(kafka.log4j_properties())
    log4j = f"-Dlog4j.configuration=file:{config / 'log4j.properties'}"
    scram = []
    for user in KAFKA_USERS:
        scram += ["--add-scram", f"{MECHANISM}=[name={user},password={passwords[f'kafka-{user}']}]"]
    cmd = [str(java), "-cp", libs, log4j, "kafka.tools.StorageTool", "format",
           "-t", kafka.cluster_id(), "-c", str(props), *scram]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ProvisionError(f"secure kafka storage format failed: {proc.stderr[-800:]}")
    cmd = [str(java), "-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
           log4j, f"-Dkafka.logs.dir={sec.kafka / 'logs'}", "-cp", libs, "kafka.Kafka",
           str(props)]  # fmt: skip
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    return procs.start(cmd, pid_file=sec.pid_file("kafka"), log_file=sec.log_file("kafka"),
                       cwd=sec.kafka, env=env)


def kafka_healthy(found: SecureServers, timeout: float = 3.0) -> bool:
    """Whether the secured broker answers a metadata request as user ``connector``."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({**found.kafka_settings(), "log_level": 0})
    try:
        return bool(admin.list_topics(timeout=timeout).brokers)
    except Exception:  # noqa: BLE001 - not yet
        return False


# --------------------------------------------------------------------------- nginx

_DENIED = ('{"error":{"root_cause":[{"type":"security_exception","reason":"no permissions '
           'for this write and User [name=$remote_user]"}],"type":"security_exception",'
           '"reason":"no permissions for this write and User [name=$remote_user]"},"status":403}')


def nginx_conf(sec: SecureLayout, upstream: str, run_as_root: bool) -> str:
    """nginx: TLS on 127.0.0.1:9243, basic auth, ``reader`` read-only, proxy to ``upstream``.

    >>> conf = nginx_conf(SecureLayout(Path("/s")), "127.0.0.1:9200", False)
    >>> "listen 127.0.0.1:9243 ssl;" in conf, "proxy_pass http://127.0.0.1:9200;" in conf
    (True, True)
    """
    n = sec.nginx
    tmp = n / "tmp"
    return f"""{'user root root;' if run_as_root else ''}
worker_processes 1;
daemon off;
pid {sec.pid_file('proxy')}.nginx;
error_log {sec.log_file('proxy')} warn;
events {{ worker_connections 256; }}
http {{
    access_log {n / 'logs' / 'access.log'};
    client_body_temp_path {tmp / 'body'};
    proxy_temp_path {tmp / 'proxy'};
    fastcgi_temp_path {tmp / 'fastcgi'};
    uwsgi_temp_path {tmp / 'uwsgi'};
    scgi_temp_path {tmp / 'scgi'};
    client_max_body_size 512m;
    map "$remote_user:$request_method" $write_denied {{
        default 0;
        "~^reader:(GET|HEAD)$" 0;
        "~^reader:" 1;
    }}
    server {{
        listen {versions.HOST}:{PROXY_PORT} ssl;
        ssl_certificate {sec.tls / 'server.pem'};
        ssl_certificate_key {sec.tls / 'server.key'};
        ssl_protocols TLSv1.2 TLSv1.3;
        auth_basic "outlier-connector secure stack";
        auth_basic_user_file {n / 'htpasswd'};
        default_type application/json;
        location / {{
            if ($write_denied) {{ return 403 '{_DENIED}'; }}
            proxy_pass http://{upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "";
        }}
    }}
}}
"""


def nginx_binary() -> str:
    """The nginx executable, installed from Debian's package when missing."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                      else None)
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise ProvisionError("nginx is missing: install it (apt-get install nginx-light)")
    log.info("apt-get install nginx-light (the secure stack's TLS proxy)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "nginx-light"]):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise ProvisionError(f"{' '.join(cmd)} failed: {proc.stderr[-500:]}")
    return shutil.which("nginx") or "/usr/sbin/nginx"


def _start_proxy(sec: SecureLayout, upstream: str, passwords: dict[str, str]) -> int:
    binary = nginx_binary()
    for sub in ("logs", "tmp"):
        (sec.nginx / sub).mkdir(parents=True, exist_ok=True)
    users = "".join(f"{u}:{ssha(passwords[f'opensearch-{u}'])}\n" for u in OPENSEARCH_USERS)
    (sec.nginx / "htpasswd").write_text(users)
    (sec.nginx / "htpasswd").chmod(0o600)
    conf = sec.nginx / "nginx.conf"
    conf.write_text(nginx_conf(sec, upstream, run_as_root=os.geteuid() == 0))
    check = subprocess.run([binary, "-t", "-p", str(sec.nginx), "-c", str(conf)],
                           capture_output=True, text=True, check=False)
    if check.returncode != 0:
        raise ProvisionError(f"nginx rejected {conf}: {check.stderr.strip()[-600:]}")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    return procs.start([binary, "-p", str(sec.nginx), "-c", str(conf)],
                       pid_file=sec.pid_file("proxy"), log_file=sec.log_file("proxy"),
                       cwd=sec.nginx, env=env)


def proxy_request(found: SecureServers, method: str, path: str, user: str = "connector",
                  timeout: float = 5.0) -> tuple[int, dict]:
    """One JSON request through the proxy (CA-verified, basic auth): ``(status, body)``."""
    context = ssl.create_default_context(cafile=str(found.ca_file))
    token = base64.b64encode(f"{user}:{found.password('opensearch', user)}".encode()).decode()
    req = urllib.request.Request(found.opensearch_url + path, method=method,  # noqa: S310
                                 headers={"Authorization": f"Basic {token}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as resp:  # noqa: S310
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def proxy_healthy(found: SecureServers) -> bool:
    """Whether OpenSearch answers yellow or green through the proxy."""
    try:
        status, body = proxy_request(found, "GET", "/_cluster/health")
    except (OSError, ValueError):
        return False
    return status == 200 and body.get("status") in ("yellow", "green")


# --------------------------------------------------------------------------- life cycle


def _locked(sec: SecureLayout) -> AbstractContextManager[None]:
    sec.root.mkdir(parents=True, exist_ok=True)
    return procs.file_lock(sec.lock_file)


def running_pid(sec: SecureLayout, name: str) -> int | None:
    """The pid of our running secure ``name`` ('kafka' or 'proxy'), or None."""
    return procs.running(sec.pid_file(name), str(sec.root))


def _found(sec: SecureLayout) -> SecureServers:
    return SecureServers(BOOTSTRAP, URL, sec.ca_file, sec.other_ca_file, sec.secrets)


def _fresh_material(sec: SecureLayout) -> dict[str, str]:
    """New CAs, server certificate, passwords; the secure Kafka's old data is wiped."""
    for sub in (sec.tls, sec.secrets, sec.kafka / "data"):
        shutil.rmtree(sub, ignore_errors=True)
    ca = make_ca(sec.tls, "ca")
    make_ca(sec.tls, "other-ca")
    cert, key = make_server_cert(sec.tls, ca)
    keystore = sec.tls / "server-keystore.pem"
    keystore.write_text(key.read_text() + cert.read_text())
    keystore.chmod(0o600)
    sec.secrets.mkdir(mode=0o700, parents=True, exist_ok=True)
    passwords = {f"kafka-{u}": secrets.token_urlsafe(18) for u in KAFKA_USERS}
    passwords |= {f"opensearch-{u}": secrets.token_urlsafe(18) for u in OPENSEARCH_USERS}
    for name, value in passwords.items():
        path = sec.secret(name)
        path.write_text(value)
        path.chmod(0o600)
    return passwords


def _passwords(sec: SecureLayout) -> dict[str, str]:
    names = [f"kafka-{u}" for u in KAFKA_USERS] + [f"opensearch-{u}" for u in OPENSEARCH_USERS]
    return {n: sec.secret(n).read_text() for n in names}


def up(layout: Layout | None = None) -> SecureServers:
    """Start the secured Kafka and the TLS proxy (and the open OpenSearch behind it if needed).

    Idempotent: running secure servers are reused. **Blocks** until both answer (Kafka a
    SASL_SSL metadata request, the proxy a verified, authenticated cluster health).
    """
    from provision import stack

    layout = layout or default_layout()
    sec = secure_layout(layout)
    stack.up(("opensearch",), layout)  # the proxy's upstream; reused when running
    java = stack.java_home() / "bin" / "java"
    found = _found(sec)
    with _locked(sec):
        running = {name: running_pid(sec, name) for name in NAMES}
        if not any(running.values()):
            for port in (KAFKA_PORT, KAFKA_CONTROLLER_PORT, PROXY_PORT):
                if procs.port_in_use(versions.HOST, port):
                    raise ProvisionError(f"port {versions.HOST}:{port} needed by the secure "
                                         "stack is taken by a process it did not start")
            passwords = _fresh_material(sec)
        else:
            passwords = _passwords(sec)
        started: dict[str, int] = {}
        try:
            if running["kafka"] is None:
                started["kafka"] = _start_kafka(sec, layout, java, passwords)
            if running["proxy"] is None:
                upstream = f"{versions.HOST}:{versions.OPENSEARCH_PORT}"
                started["proxy"] = _start_proxy(sec, upstream, passwords)
            procs.wait_healthy("secure kafka", lambda: kafka_healthy(found),
                               started.get("kafka") or running["kafka"], sec.log_file("kafka"),
                               timeout=90, interval=0.5, not_ready=f"did not answer on {BOOTSTRAP}")
            procs.wait_healthy("secure proxy", lambda: proxy_healthy(found),
                               started.get("proxy") or running["proxy"], sec.log_file("proxy"),
                               timeout=30, interval=0.3, not_ready=f"did not answer on {URL}")
        except BaseException:
            for name, pid in started.items():
                log.warning("secure up failed: stopping %s (pid %d)", name, pid)
                procs.stop(pid)
                sec.pid_file(name).unlink(missing_ok=True)
            raise
        sec.state_file.write_text(json.dumps({
            "kafka_bootstrap": BOOTSTRAP, "opensearch_url": URL, "ca_file": str(sec.ca_file),
            "other_ca_file": str(sec.other_ca_file), "secrets_dir": str(sec.secrets),
            "kafka_users": list(KAFKA_USERS), "opensearch_users": list(OPENSEARCH_USERS),
        }, indent=2) + "\n")
    return found


def down(layout: Layout | None = None) -> list[str]:
    """Stop the secured Kafka and the proxy (only processes ``up`` started)."""
    sec = secure_layout(layout)
    messages = []
    with _locked(sec):
        for name in reversed(NAMES):
            pid = running_pid(sec, name)
            if pid is None:
                messages.append(f"secure {name}: not running")
            else:
                procs.stop(pid)
                messages.append(f"secure {name}: stopped pid {pid}")
            sec.pid_file(name).unlink(missing_ok=True)
    return messages


def status(layout: Layout | None = None) -> list[str]:
    """One line per secured server: state, pid, address; and where the secrets are."""
    sec = secure_layout(layout)
    found = _found(sec)
    lines = []
    for name, where, check in (("kafka", f"SASL_SSL {BOOTSTRAP}", kafka_healthy),
                               ("proxy", f"{URL} -> OpenSearch", proxy_healthy)):
        pid = running_pid(sec, name)
        state = "stopped" if pid is None else ("healthy" if check(found) else "starting")
        lines.append(f"secure {name:6} {state:8} pid={pid or '-'} {where}")
    lines.append(f"ca={sec.ca_file} secrets={sec.secrets} (one file per password)")
    return lines
