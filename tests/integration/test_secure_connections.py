"""The connector on the secured local stack: Kafka SASL_SSL (SCRAM-SHA-512), OpenSearch HTTPS.

The session fixture starts ``provision.secure`` (its own Kafka on :9192 and the nginx TLS +
basic-auth proxy on :9243 in front of the local OpenSearch) and stops it at the end when it
started it. Each test runs ``outlier-connector run`` as a subprocess on a pipeline YAML whose
secrets come from files (``${file:...}``) and the environment, so every byte it prints can
be searched for the secrets. Failure cases run with one thing wrong, check the message names
the server and the cause and that nothing was committed or written, then run again fixed and
check that every record arrives.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from connector.connections import opensearch_client
from connector.testing import GAMEDAY_PIPELINE, gameday_value, unique
from provision import secure

pytestmark = pytest.mark.integration

N = 120
CLI = [sys.executable, "-m", "connector"]


@pytest.fixture(scope="session")
def secured(servers) -> Iterator[secure.SecureServers]:
    """The secured stack; started here (and stopped at the end) unless already running."""
    layout = secure.secure_layout()
    was_running = all(secure.running_pid(layout, n) for n in secure.NAMES)
    found = secure.up()
    yield found
    if not was_running:
        secure.down()


@pytest.fixture
def topic(secured) -> Iterator[str]:
    """A fresh topic on the secured Kafka holding ``N`` game-day records; deleted after."""
    name = unique("secure")
    admin = AdminClient(secured.kafka_settings())
    admin.create_topics([NewTopic(name, 1, 1)])[name].result(30)
    producer = Producer(secured.kafka_settings())
    for i in range(N):
        producer.produce(name, gameday_value(i))
    assert producer.flush(30) == 0
    yield name
    for t in (name, f"{name}.errors"):
        admin.delete_topics([t])[t].exception(30)


@pytest.fixture
def index(secured, opensearch) -> Iterator[str]:
    name = unique("secure-out")
    yield name
    opensearch.indices.delete(index=name, ignore_unavailable=True)


def _pipeline(tmp_path: Path, secured: secure.SecureServers, topic: str, index: str,
              group: str, *, kafka: dict[str, Any] | None = None,
              opensearch: dict[str, Any] | None = None) -> Path:
    """gameday.yaml on the secured servers; passwords by reference (file, environment)."""
    raw = yaml.safe_load(GAMEDAY_PIPELINE.read_text())
    raw["source"].update(topics=[topic], group_id=group)
    raw["source"]["kafka"] = {
        "bootstrap.servers": secured.kafka_bootstrap,
        "auto.offset.reset": "earliest",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "connector",
        "sasl.password": f"${{file:{secured.secrets_dir / 'kafka-connector'}}}",
        "ssl.ca.location": str(secured.ca_file),
        **(kafka or {}),
    }
    raw["output"].update(index=index, errors_topic=f"{topic}.errors")
    raw["output"]["opensearch"] = {
        "hosts": [secured.opensearch_url],
        "http_auth": ["connector", "${OC_TEST_OPENSEARCH_PASSWORD}"],
        "ca_certs": str(secured.ca_file),
        **(opensearch or {}),
    }
    raw["output"].pop("events", None)
    path = tmp_path / f"secure-{group}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _env(secured: secure.SecureServers, **extra: str) -> dict[str, str]:
    return {**os.environ, "OC_TEST_OPENSEARCH_PASSWORD": secured.password("opensearch",
                                                                          "connector"), **extra}


def _run(pipeline: Path, env: dict[str, str], *args: str, timeout: float = 180
         ) -> subprocess.CompletedProcess[str]:
    """``outlier-connector -v run`` to completion: all records, then idle."""
    return subprocess.run([*CLI, "-v", "run", str(pipeline), "--max-records", str(N),
                           "--idle-timeout", "15", *args], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def _run_for(pipeline: Path, env: dict[str, str], seconds: float, *args: str
             ) -> tuple[int, str]:
    """Run the connector for ``seconds`` (it cannot finish: something is wrong), then SIGTERM."""
    proc = subprocess.Popen([*CLI, "-v", "run", str(pipeline), "--max-records", str(N), *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    return proc.returncode, out


def _committed(secured: secure.SecureServers, group: str, topic: str) -> int:
    consumer = Consumer({**secured.kafka_settings(), "group.id": group,
                         "enable.auto.commit": False})
    try:
        [tp] = consumer.committed([TopicPartition(topic, 0)], 20)
        return tp.offset
    finally:
        consumer.close()


def _count(secured: secure.SecureServers, index: str) -> int:
    client = opensearch_client(secured.opensearch_settings())
    try:
        if not client.indices.exists(index=index):
            return 0
        client.indices.refresh(index=index)
        return client.count(index=index)["count"]
    finally:
        client.close()


def _all_secrets(secured: secure.SecureServers) -> list[str]:
    return [p.read_text() for p in sorted(secured.secrets_dir.iterdir())]


def _assert_no_secret(output: str, secured: secure.SecureServers, *more: str) -> None:
    for value in [*_all_secrets(secured), *more]:
        assert value not in output, "a secret appears in the connector's output"


def _delete_group(secured: secure.SecureServers, group: str) -> None:
    admin = AdminClient(secured.kafka_settings())
    admin.delete_consumer_groups([group], request_timeout=30)[group].exception(30)


def test_a_pipeline_runs_end_to_end_over_sasl_ssl_and_https(tmp_path, secured, topic, index):
    group = unique("secure-g")
    pipeline = _pipeline(tmp_path, secured, topic, index, group)
    try:
        done = _run(pipeline, _env(secured))
        output = done.stdout + done.stderr
        assert done.returncode == 0, output[-3000:]
        assert _count(secured, index) == N
        assert _committed(secured, group, topic) == N
        _assert_no_secret(output, secured)
        assert f'"indexed": {N}' in done.stdout
        # the state store wrote the model state through the proxy too; read it back as the
        # connector would on a restart (same credentials, verified TLS)
        from connector.state_store import StateStore

        store = StateStore(secured.opensearch_settings(), f"{group}/gameday")
        saved = store.get(topic, 0)
        assert saved is not None and saved.offset == N, "no model state snapshot at the end"
    finally:
        _delete_group(secured, group)


WRONG = "not-the-password-7f3a9c"
# case -> (source.kafka overrides, output.opensearch overrides, what the output must name)
FAILURES = {
    "kafka-wrong-password": ({"sasl.password": "${OC_TEST_WRONG}"}, None,
                             ["kafka 127.0.0.1:9192 (", "authentication failed: check",
                              "invalid credentials"]),
    "kafka-unknown-ca": ({"ssl.ca.location": "OTHER_CA"}, None,
                         ["kafka 127.0.0.1:9192 (", "TLS failed: check ssl.ca.location",
                          "certificate verify failed"]),
    "opensearch-wrong-password": (None, {"http_auth": ["connector", "${OC_TEST_WRONG}"]},
                                  ["https://127.0.0.1:9243", "status:401",
                                   "AuthenticationException(401"]),
    "opensearch-unknown-ca": (None, {"ca_certs": "OTHER_CA"},
                              ["https://127.0.0.1:9243", "CERTIFICATE_VERIFY_FAILED"]),
    "opensearch-no-write-permission": (None, {"http_auth": ["reader", "READER"]},
                                       ["https://127.0.0.1:9243", "status:403",
                                        "no permissions for this write"]),
}


def _resolve(overrides: dict[str, Any] | None, secured: secure.SecureServers
             ) -> dict[str, Any] | None:
    if overrides is None:
        return None
    out = dict(overrides)
    for key, value in out.items():
        if value == "OTHER_CA":
            out[key] = str(secured.other_ca_file)
        elif isinstance(value, list) and value[1] == "READER":
            out[key] = [value[0], secured.password("opensearch", "reader")]
    return out


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_bad_credentials_fail_clearly_and_lose_nothing(case, tmp_path, secured, topic, index):
    kafka, opensearch, named = FAILURES[case]
    group = unique("secure-g")
    bad = _pipeline(tmp_path, secured, topic, index, group, kafka=_resolve(kafka, secured),
                    opensearch=_resolve(opensearch, secured))
    (tmp_path / "fixed").mkdir()
    good = _pipeline(tmp_path / "fixed", secured, topic, index, group)
    try:
        # --no-prepare: straight to consuming (prepare's own Kafka timeout is 30 s); --no-state:
        # a failing state restore holds a SIGTERM until its 2-minute timeout, the bulk path
        # (retried with backoff) stops at once; the fixed run below uses the state store
        _, output = _run_for(bad, _env(secured, OC_TEST_WRONG=WRONG), 15, "--no-prepare",
                             "--no-state")
        for words in named:
            assert words in output, f"{case}: {words!r} not in the output:\n{output[-3000:]}"
        _assert_no_secret(output, secured, WRONG)
        assert _committed(secured, group, topic) < 0, "an offset was committed"
        assert _count(secured, index) == 0
        # the configuration fixed: every record arrives, once
        done = _run(good, _env(secured))
        assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
        assert _count(secured, index) == N
        assert _committed(secured, group, topic) == N
    finally:
        _delete_group(secured, group)


def test_setup_over_https_with_a_password_file_and_its_failures(secured):
    base = [*CLI, "-v", "setup", "--url", secured.opensearch_url, "--user", "connector",
            "--password-file", str(secured.secrets_dir / "opensearch-connector"),
            "--scenario", "gameday"]
    ok = subprocess.run([*base, "--ca-certs", str(secured.ca_file), "--dry-run"],
                        capture_output=True, text=True, timeout=120, check=False)
    assert ok.returncode == 0, (ok.stdout + ok.stderr)[-2000:]
    assert "[dry-run]" in ok.stdout and "index-template outliers-gameday" in ok.stdout
    _assert_no_secret(ok.stdout + ok.stderr, secured)
    unknown_ca = subprocess.run([*base, "--ca-certs", str(secured.other_ca_file), "--dry-run"],
                                capture_output=True, text=True, timeout=120, check=False)
    assert unknown_ca.returncode == 2
    assert (f"setup failed against {secured.opensearch_url}: " in unknown_ca.stderr
            and "CERTIFICATE_VERIFY_FAILED" in unknown_ca.stderr)
    wrong = subprocess.run([*CLI, "setup", "--url", secured.opensearch_url, "--user", "connector",
                            "--ca-certs", str(secured.ca_file), "--scenario", "gameday"],
                           env={**os.environ, "OUTLIER_OPENSEARCH_PASSWORD": WRONG},
                           capture_output=True, text=True, timeout=120, check=False)
    assert wrong.returncode == 2 and "401" in wrong.stderr, wrong.stderr[-2000:]
    _assert_no_secret(wrong.stdout + wrong.stderr, secured, WRONG)
