"""Port checks, pid files and the ownership check ``down`` relies on (real processes)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from provision import procs


def test_port_in_use_sees_a_listener_and_its_absence():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert procs.port_in_use("127.0.0.1", port)
    assert not procs.port_in_use("127.0.0.1", port)


def test_read_pid_tolerates_missing_and_garbage(tmp_path):
    pid_file = tmp_path / "x.pid"
    assert procs.read_pid(pid_file) is None
    pid_file.write_text("not a pid\n")
    assert procs.read_pid(pid_file) is None
    pid_file.write_text("1234\n")
    assert procs.read_pid(pid_file) == 1234


@pytest.fixture
def sleeper(tmp_path):
    """A child whose command line carries a marker; yielded once it has exec'd (says ready)."""
    marker = tmp_path / "home-marker"
    code = "import time; print('ready', flush=True); time.sleep(60)"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(marker)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "ready"
    yield proc, str(marker)
    proc.kill()
    proc.wait()
    proc.stdout.close()


def test_is_ours_requires_the_marker_in_the_cmdline(sleeper):
    proc, marker = sleeper
    assert procs.is_ours(proc.pid, marker)
    assert not procs.is_ours(proc.pid, marker + "-other-install")
    assert not procs.is_ours(os.getpid(), marker)


def test_running_ignores_a_pid_file_of_someone_else(tmp_path, sleeper):
    proc, marker = sleeper
    pid_file = tmp_path / "kafka.pid"
    pid_file.write_text(f"{proc.pid}\n")
    assert procs.running(pid_file, marker) == proc.pid
    assert procs.running(pid_file, "/some/other/home") is None


def test_stop_ends_the_process_and_is_quiet_when_gone(sleeper):
    proc, _ = sleeper
    procs.stop(proc.pid, timeout=10)
    assert proc.wait(timeout=10) is not None
    assert not procs.alive(proc.pid)
    procs.stop(proc.pid)  # already gone: no error


def test_start_detaches_writes_pid_and_log(tmp_path):
    log_file = tmp_path / "logs" / "s.log"
    pid = procs.start(
        [sys.executable, "-c", "print('hello from child', flush=True)"],
        pid_file=tmp_path / "s.pid",
        log_file=log_file,
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"]},
    )
    assert procs.read_pid(tmp_path / "s.pid") == pid
    os.waitpid(pid, 0)
    assert procs.tail(log_file, 5) == "hello from child"


def test_tail_returns_last_lines(tmp_path):
    path = tmp_path / "f.log"
    path.write_text("".join(f"line {i}\n" for i in range(1000)))
    assert procs.tail(path, 2) == "line 998\nline 999"
    assert procs.tail(tmp_path / "missing.log", 3) == ""


def test_port_holder_names_the_listening_process():
    with socket.socket(socket.AF_INET6) as sock:
        sock.bind(("::1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        pid, command = procs.port_holder(port)
        assert pid == os.getpid()
        assert "python" in command
    assert procs.port_holder(port) is None


def test_port_holder_survives_descriptors_closing_while_it_looks(monkeypatch):
    """A busy server closes descriptors between listing and reading; the rest still count."""
    listed = procs._fds

    def with_a_closed_one(proc_dir):
        fds = listed(proc_dir)
        return [proc_dir / "fd" / "999999", *fds] if proc_dir.name == str(os.getpid()) else fds

    monkeypatch.setattr(procs, "_fds", with_a_closed_one)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        assert procs.port_holder(sock.getsockname()[1])[0] == os.getpid()


def test_taken_port_error_names_port_and_holder(monkeypatch, tmp_path):
    from provision import layout, stack, versions
    from provision.errors import ProvisionError

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        monkeypatch.setattr(versions, "KAFKA_PORT", port)
        with pytest.raises(ProvisionError, match=rf"port 127\.0\.0\.1:{port} needed by kafka"):
            stack._check_ports_free(layout.Layout(tmp_path), "kafka")
        try:
            stack._check_ports_free(layout.Layout(tmp_path), "kafka")
        except ProvisionError as exc:
            assert f"pid {os.getpid()}" in str(exc)
