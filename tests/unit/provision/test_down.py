"""``down`` stops only processes whose command line names this stack's install."""

from __future__ import annotations

import subprocess
import sys

import pytest

from provision import kafka, opensearch, procs, stack
from provision.layout import Layout


def _spawn(*marker: str) -> subprocess.Popen:
    code = "import time; print('ready', flush=True); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code, *marker], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"ready"
    return proc


@pytest.fixture
def layout(tmp_path):
    lay = Layout(tmp_path / "cache", opensearch_root=tmp_path / "os")
    for server in (lay.kafka, lay.opensearch):
        server.root.mkdir(parents=True)
    return lay


def test_down_stops_our_server_and_removes_its_pid_file(layout):
    ours = _spawn(str(layout.kafka.home / "libs" / "*"))
    layout.kafka.pid_file.write_text(f"{ours.pid}\n")
    try:
        messages = stack.down(layout)
        assert f"kafka: stopped pid {ours.pid}" in messages
        assert "opensearch: not running" in messages
        assert ours.wait(timeout=10) is not None
        assert not layout.kafka.pid_file.exists()
    finally:
        ours.kill()
        ours.wait()


def test_down_leaves_a_reused_pid_alone(layout):
    stranger = _spawn("/somewhere/else/opensearch/home")
    layout.opensearch.pid_file.write_text(f"{stranger.pid}\n")
    try:
        messages = stack.down(layout)
        assert any("stale pid file" in m and str(stranger.pid) in m for m in messages)
        assert procs.alive(stranger.pid)
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_health_checks_say_no_when_nothing_listens(monkeypatch):
    assert not kafka.healthy("127.0.0.1:1", timeout=0.5)
    monkeypatch.setattr(opensearch, "URL", "http://127.0.0.1:1")
    assert not opensearch.healthy(timeout=0.5)


def test_servers_without_start_refuses_a_stopped_stack(monkeypatch):
    monkeypatch.delenv("OUTLIER_OPENSEARCH_URL", raising=False)
    monkeypatch.setenv("OUTLIER_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    monkeypatch.setattr(opensearch, "URL", "http://127.0.0.1:1")
    with pytest.raises(stack.ProvisionError, match="local opensearch is not running"):
        stack.servers(start=False)
