"""``outlier-connector stack``: a second ``up`` reuses the running servers; ``status`` says so."""

from __future__ import annotations

import os

import pytest

from connector.cli import main
from provision import stack
from provision.layout import default_layout

pytestmark = pytest.mark.integration


@pytest.fixture
def local_stack(servers):
    if os.environ.get("OUTLIER_KAFKA_BOOTSTRAP") or os.environ.get("OUTLIER_OPENSEARCH_URL"):
        pytest.skip("servers named by OUTLIER_* env: there is no local stack to manage")
    return default_layout()


def test_second_up_reuses_the_running_servers(local_stack, capsys):
    before = {name: stack.running_pid(local_stack, name) for name in stack.NAMES}
    assert all(before.values()), before
    assert main(["stack", "up"]) == 0
    after = {name: stack.running_pid(local_stack, name) for name in stack.NAMES}
    assert after == before
    out = capsys.readouterr().out
    assert f"pid={before['kafka']}" in out and f"pid={before['opensearch']}" in out
    assert "kafka_bootstrap=127.0.0.1:9092 opensearch_url=http://127.0.0.1:9200" in out


def test_status_reports_both_servers_healthy(local_stack, capsys):
    assert main(["stack", "status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["kafka", "healthy"]
    assert lines[1].split()[:2] == ["opensearch", "healthy"]
    assert "version=3.9.1" in lines[0] and "version=3.8.0" in lines[1]


def test_logs_tail_each_server(local_stack, capsys):
    assert main(["stack", "logs", "-n", "5"]) == 0
    out = capsys.readouterr().out
    assert "kafka.log <==" in out and "opensearch.log <==" in out
    assert len(out.splitlines()) > 4


def test_up_refuses_ports_held_by_another_cache_dir(local_stack, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OUTLIER_CACHE_DIR", str(tmp_path / "other-cache"))
    assert main(["stack", "up"]) == 1
    err = capsys.readouterr().err
    assert "port 127.0.0.1:9092 needed by kafka is taken by pid" in err
