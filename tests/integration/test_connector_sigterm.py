"""SIGTERM mid-stream: the connector (a real subprocess) finishes its batch, commits, exits 0;
SIGTERM during a retry backoff (OpenSearch cut off) ends the wait at once, with a summary
that counts what was really done before the stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from connector.testing import (
    GAMEDAY_PIPELINE,
    TcpProxy,
    committed_offsets,
    doc_offsets,
    gameday_value,
    produce,
    read_topic,
    unique,
    wait_for,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _count(client, index: str) -> int:
    if not client.indices.exists(index=index):
        return 0
    client.indices.refresh(index=index)
    return client.count(index=index)["count"]


def _stop(proc: subprocess.Popen) -> tuple[float, float, str]:
    """SIGTERM ``proc``: seconds until its summary line, seconds until it exited, the line."""
    stopped = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    line = proc.stdout.readline()  # the summary is the only line on stdout
    took = time.monotonic() - stopped
    proc.wait(30)
    return took, time.monotonic() - stopped, line


def test_sigterm_flushes_commits_and_exits_zero(
    kafka_bootstrap, opensearch_url, opensearch, topic_factory, index_name_factory
):
    topic, index, group = topic_factory(), index_name_factory(), unique("g")
    total = 6000

    def trickle() -> None:  # keep records arriving while the connector runs
        for start in range(0, total, 200):
            produce(kafka_bootstrap, topic, [gameday_value(i) for i in range(start, start + 200)])
            time.sleep(0.1)

    producer = threading.Thread(target=trickle, daemon=True)
    producer.start()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "connector", "run", str(GAMEDAY_PIPELINE), "--topic", topic,
         "--group-id", group, "--index", index, "--bootstrap", kafka_bootstrap,
         "--opensearch-url", opensearch_url, "--batch-size", "100"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        progressed = wait_for(lambda: _count(opensearch, index) >= 500, timeout=60)
        if not progressed:
            proc.kill()
        else:
            proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert progressed, f"no progress: {err[-2000:]}"
    assert proc.returncode == 0, err[-2000:]
    summary = json.loads(out.strip().splitlines()[-1])
    producer.join(60)

    committed = committed_offsets(kafka_bootstrap, group, topic)[0]
    assert 500 <= committed < total  # it stopped mid-stream
    assert summary["records"] == committed and summary["indexed"] == committed
    # everything committed is indexed, and nothing was indexed past the commit
    assert doc_offsets(opensearch, index) == list(range(committed))


def test_a_killed_connector_restarts_without_gap_or_duplicate(
    kafka_bootstrap, opensearch_url, opensearch, topic_factory, index_name_factory, tmp_path
):
    topic, index, group = topic_factory(), index_name_factory(), unique("g")
    total = 5000
    produce(kafka_bootstrap, topic, [gameday_value(i) for i in range(total)])
    # librdkafka settings pass through verbatim: a short session lets the killed member's
    # partitions go to the restarted one in seconds instead of the default 45 s
    raw = yaml.safe_load(GAMEDAY_PIPELINE.read_text())
    raw["source"]["kafka"].update({"session.timeout.ms": 6000, "heartbeat.interval.ms": 1000})
    pipeline = tmp_path / "gameday.yaml"
    pipeline.write_text(yaml.safe_dump(raw))
    command = [sys.executable, "-m", "connector", "run", str(pipeline), "--topic", topic,
               "--group-id", group, "--index", index, "--bootstrap", kafka_bootstrap,
               "--opensearch-url", opensearch_url, "--batch-size", "100"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: _count(opensearch, index) >= 1000, timeout=60), "no progress"
        proc.kill()  # no chance to flush or commit
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    committed = committed_offsets(kafka_bootstrap, group, topic)[0]
    assert committed < total
    written = doc_offsets(opensearch, index)
    assert set(range(max(committed, 0))) <= set(written)  # commits never passed the writes

    rerun = subprocess.run([*command, "--max-records", str(total - max(committed, 0))],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    summary = json.loads(rerun.stdout.strip().splitlines()[-1])
    # records written but not committed before the kill come back as 409s, not as copies
    assert summary["indexed"] + summary["duplicates"] == total - max(committed, 0)
    assert doc_offsets(opensearch, index) == list(range(total))
    assert committed_offsets(kafka_bootstrap, group, topic) == {0: total}


def test_sigterm_during_a_backoff_returns_at_once_with_a_true_summary(
    kafka_bootstrap, opensearch_url, opensearch, topic_factory, index_name_factory
):
    topic, index, group = topic_factory(), index_name_factory(), unique("g")
    bad = {3, 57, 250}  # dead-lettered before the outage: they must be in the summary
    values = [b"{broken" if i in bad else gameday_value(i) for i in range(400)]
    produce(kafka_bootstrap, topic, values)
    url = urlsplit(opensearch_url)
    proxy = TcpProxy(url.hostname, url.port)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "connector", "run", str(GAMEDAY_PIPELINE), "--topic", topic,
         "--group-id", group, "--index", index, "--bootstrap", kafka_bootstrap,
         "--opensearch-url", proxy.url, "--batch-size", "100", "--no-state"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    log: list[str] = []
    reader = threading.Thread(target=lambda: log.extend(proc.stderr), daemon=True)
    reader.start()
    try:
        assert wait_for(lambda: _count(opensearch, index) >= 400 - len(bad), timeout=90), \
            "".join(log)[-2000:]
        proxy.cut()  # OpenSearch is gone for the connector (connection refused)
        produce(kafka_bootstrap, topic, [gameday_value(i) for i in range(400, 600)])
        # wait until it sits in a long backoff (4 s or more), then stop it
        assert wait_for(lambda: any("retry_in=4.0s" in line or "retry_in=8.0s" in line
                                    for line in log), timeout=60), "".join(log)[-2000:]
        time.sleep(0.5)  # well inside the 4 s wait
        took, exited, out = _stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
        proxy.close()
    reader.join(5)
    assert took < 2.0, f"summary {took:.1f}s after SIGTERM: {''.join(log)[-2000:]}"
    assert exited < 10.0, exited  # the interpreter's own exit (slow on a loaded machine)
    assert proc.returncode == 1, "".join(log)[-2000:]  # a batch was left uncommitted
    summary = json.loads(out)
    committed = committed_offsets(kafka_bootstrap, group, topic)[0]
    assert committed == 400  # everything acknowledged before the outage was committed
    assert summary["abandoned"] is True
    assert summary["records"] == 400 + summary["uncommitted"] and summary["uncommitted"] > 0
    assert summary["indexed"] == _count(opensearch, index) == 400 - len(bad)
    assert summary["dead_lettered"] == len(bad)
    assert len(read_topic(kafka_bootstrap, f"{topic}.errors", 10, timeout=10)) == len(bad)


def test_sigterm_while_the_error_topic_refuses_writes_returns_at_once(
    kafka_bootstrap, opensearch_url, opensearch, topic_factory, index_name_factory
):
    # the broker refuses every dead letter (an invalid topic name: TOPIC_EXCEPTION) while
    # the documents are indexed: the connector retries the dead letters, as in issue 11
    topic, index, group = topic_factory(), index_name_factory(), unique("g")
    bad = {5, 40}
    produce(kafka_bootstrap, topic,
            [b"{broken" if i in bad else gameday_value(i) for i in range(100)])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "connector", "run", str(GAMEDAY_PIPELINE), "--topic", topic,
         "--group-id", group, "--index", index, "--bootstrap", kafka_bootstrap,
         "--opensearch-url", opensearch_url, "--batch-size", "100", "--no-state",
         "--errors-topic", f"refused!{topic}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    log: list[str] = []
    reader = threading.Thread(target=lambda: log.extend(proc.stderr), daemon=True)
    reader.start()
    try:
        assert wait_for(lambda: any("error topic produce failed" in line
                                    and "retry_in=2.0s" in line for line in log),
                        timeout=90), "".join(log)[-2000:]
        took, exited, out = _stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(5)
    assert took < 2.0, f"summary {took:.1f}s after SIGTERM: {''.join(log)[-2000:]}"
    assert exited < 10.0, exited  # the interpreter's own exit (slow on a loaded machine)
    summary = json.loads(out)
    assert proc.returncode == 1 and summary["abandoned"] is True, "".join(log)[-2000:]
    assert summary["records"] == 100 and summary["uncommitted"] == 100
    assert summary["indexed"] == _count(opensearch, index) == 100 - len(bad)
    assert summary["dead_lettered"] == 0  # refused: nothing claimed that was not delivered
    assert not any("recovered after" in line for line in log)
    assert committed_offsets(kafka_bootstrap, group, topic)[0] < 0  # replayed next run


def test_sigterm_while_opensearch_does_not_answer_stops_within_the_grace(
    kafka_bootstrap, topic_factory, index_name_factory
):
    # a listener that never answers: the bulk request hangs for the client's 30 s timeout
    import socket

    topic, index, group = topic_factory(), index_name_factory(), unique("g")
    produce(kafka_bootstrap, topic, [gameday_value(i) for i in range(100)])
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "connector", "run", str(GAMEDAY_PIPELINE), "--topic", topic,
             "--group-id", group, "--index", index, "--bootstrap", kafka_bootstrap,
             "--opensearch-url", url, "--batch-size", "100", "--no-state", "--no-prepare"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        log: list[str] = []
        reader = threading.Thread(target=lambda: log.extend(proc.stderr), daemon=True)
        reader.start()
        try:
            assert wait_for(lambda: any("group assignment" in line for line in log),
                            timeout=60), "".join(log)[-2000:]
            time.sleep(3.0)  # the first bulk request is out, unanswered
            took, exited, out = _stop(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
    reader.join(5)
    # the default grace is 10 s, against the 30 s the request would otherwise hold the stop
    assert took < 12.0, f"summary {took:.1f}s after SIGTERM: {''.join(log)[-2000:]}"
    assert exited < 20.0, exited
    summary = json.loads(out)
    assert proc.returncode == 1 and summary["abandoned"] is True
    assert (summary["records"], summary["indexed"], summary["uncommitted"]) == (100, 0, 100)
    assert committed_offsets(kafka_bootstrap, group, topic)[0] < 0
