"""SIGTERM while the state restore keeps failing (issue 11, item 2): the connector (a real
subprocess, real Kafka) ends the restore's retry at once and prints a clear summary, instead
of holding the stop for the restore's 2-minute timeout.

The state store is the pipeline's OpenSearch; here it is a local port where nothing listens
(connection refused on every restore attempt) or one that accepts connections and never
answers (every attempt hangs until the client's 30 s timeout), so nothing is written to the
shared server.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.testing import (
    GAMEDAY_PIPELINE,
    committed_offsets,
    gameday_value,
    produce,
    unique,
    wait_for,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A local URL whose server accepts connections and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)  # the kernel completes handshakes; nothing is ever read or written
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


def _dead_url() -> str:
    """A local URL with no listener (bound then released: connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.mark.parametrize("store", ["refused", "silent"])
def test_sigterm_during_a_failing_state_restore_returns_at_once(
    store, kafka_bootstrap, topic_factory, index_name_factory, request
):
    topic, index, group = topic_factory(), index_name_factory(), unique("g")
    produce(kafka_bootstrap, topic, [gameday_value(i) for i in range(50)])
    dead = _dead_url() if store == "refused" else request.getfixturevalue("silent_server")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "connector", "run", str(GAMEDAY_PIPELINE), "--topic", topic,
         "--group-id", group, "--index", index, "--bootstrap", kafka_bootstrap,
         "--opensearch-url", dead, "--batch-size", "100"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    log: list[str] = []
    reader = threading.Thread(target=lambda: log.extend(proc.stderr), daemon=True)
    reader.start()
    try:
        # refused: wait until the restore has failed twice (it then sits in a 1 s or longer
        # wait, well inside its 120 s restore timeout); silent: until the partition is
        # assigned (the first restore attempt then hangs on the server), then stop it
        if store == "refused":
            assert wait_for(lambda: sum("state restore failed" in line for line in log) >= 2,
                            timeout=90), "".join(log)[-3000:]
        else:
            # the group assigns the partition within a few seconds and the first attempt then
            # hangs for 30 s: stop inside it (the log checks below prove the stop hit it)
            time.sleep(10.0)
        time.sleep(0.3)
        stopped = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        line = proc.stdout.readline()  # the summary is the only line on stdout
        took = time.monotonic() - stopped
        proc.wait(30)
        exited = time.monotonic() - stopped
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(5)
    text = "".join(log)
    assert took < 2.0, f"summary {took:.1f}s after SIGTERM: {text[-3000:]}"
    assert exited < 10.0, exited  # the interpreter's own exit (slow on a loaded machine)
    assert proc.returncode == 1, text[-3000:]  # not a clean finish: the partition never ran
    summary = json.loads(line)
    # nothing was consumed, written or committed: the summary says so, and says why
    assert summary["abandoned"] is True, summary
    assert summary["records"] == summary["indexed"] == summary["dead_lettered"] == 0, summary
    assert summary["uncommitted"] == 0, summary
    assert "stop requested during a failing state restore" in text, text[-3000:]
    after = text[text.index("stop requested during a failing state restore"):]
    assert "Traceback" not in after, after[-3000:]  # a clean stop, not a crash
    assert committed_offsets(kafka_bootstrap, group, topic) == {0: -1001}  # none committed
