"""Processes the stack starts: pid files, ownership checks, port checks, start and stop.

``down`` must stop only what ``up`` started: a pid file alone is not proof (pids are reused),
so the pid's command line must also contain a marker (the server's install path).
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from provision.errors import ProvisionError

log = logging.getLogger(__name__)


def port_in_use(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on ``host:port``.

    >>> with socket.socket() as s:
    ...     s.bind(("127.0.0.1", 0)); s.listen(); port = s.getsockname()[1]
    ...     port_in_use("127.0.0.1", port)
    True
    """
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on TCP ``port`` (IPv4 and IPv6), from ``/proc/net``."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A = LISTEN
                inodes.add(inode)
    return inodes


def port_holder(port: int) -> tuple[int, str] | None:
    """The pid and command line of the process listening on ``port``, when visible.

    >>> with socket.socket() as s:
    ...     s.bind(("127.0.0.1", 0)); s.listen(); port = s.getsockname()[1]
    ...     port_holder(port)[0] == os.getpid()
    True
    """
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    targets = {f"socket:[{inode}]" for inode in inodes}
    for proc_dir in Path("/proc").iterdir():
        if proc_dir.name.isdigit() and any(_link(fd) in targets for fd in _fds(proc_dir)):
            args = cmdline(int(proc_dir.name)) or []
            return int(proc_dir.name), " ".join(args)
    return None


def _fds(proc_dir: Path) -> list[Path]:
    """The open file descriptors of one process; none when it is gone or not ours to read."""
    try:
        return list((proc_dir / "fd").iterdir())
    except OSError:
        return []


def _link(fd: Path) -> str | None:
    """What ``fd`` points at, or None when it closed since it was listed.

    A busy server (Kafka answering clients) closes descriptors all the time; one that closes
    between listing and reading must not hide the rest of that process's descriptors.
    """
    try:
        return os.readlink(fd)
    except OSError:
        return None


def read_pid(pid_file: Path) -> int | None:
    """The pid in ``pid_file``, or None when the file is missing or not a number."""
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def cmdline(pid: int) -> list[str] | None:
    """The command line of process ``pid`` (Linux ``/proc``), or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    if not raw:
        return None  # zombie or kernel thread
    return raw.rstrip(b"\0").decode(errors="replace").split("\0")


def is_ours(pid: int | None, marker: str) -> bool:
    """Whether ``pid`` is alive and its command line mentions ``marker``.

    >>> is_ours(os.getpid(), "no-such-marker-in-this-cmdline-xyz")
    False
    >>> is_ours(None, "java")
    False
    """
    if pid is None:
        return False
    args = cmdline(pid)
    return args is not None and any(marker in arg for arg in args)


def running(pid_file: Path, marker: str) -> int | None:
    """The pid recorded in ``pid_file`` if that process is still ours, else None."""
    pid = read_pid(pid_file)
    return pid if is_ours(pid, marker) else None


def start(
    cmd: list[str],
    *,
    pid_file: Path,
    log_file: Path,
    cwd: Path,
    env: dict[str, str],
    user: str | None = None,
) -> int:
    """Start ``cmd`` detached (own session), output appended to ``log_file``; write its pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as out:
        proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
            start_new_session=True, user=user,
        )  # fmt: skip
    pid_file.write_text(f"{proc.pid}\n")
    return proc.pid


def alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def stop(pid: int, timeout: float = 30.0) -> None:
    """SIGTERM ``pid``, wait up to ``timeout`` seconds, then SIGKILL."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            _reap(pid)
            return
        time.sleep(0.2)
    log.warning("pid %d ignored SIGTERM for %.0fs: sending SIGKILL", pid, timeout)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _reap(pid)


def _reap(pid: int) -> None:
    """Collect the exit status if ``pid`` is our child (it is when started in this process)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def tail(path: Path, lines: int) -> str:
    """The last ``lines`` lines of a text file ('' when it does not exist)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 200 * max(lines, 1) - 4096))
            text = fh.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:]) if lines > 0 else ""


def wait_healthy(
    name: str,
    healthy: Callable[[], bool],
    pid: int | None,
    log_file: Path,
    *,
    timeout: float,
    interval: float,
    not_ready: str,
    tail_lines: int = 30,
) -> None:
    """Poll ``healthy()`` until it is true; fail early, with the log tail, if ``pid`` exits.

    **Blocks** up to ``timeout`` seconds (``time.sleep(interval)`` between polls); raises
    :class:`~provision.errors.ProvisionError` naming ``not_ready`` when time runs out.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if healthy():
            return
        if pid is not None and not alive(pid):
            raise ProvisionError(
                f"{name} exited during start-up; log {log_file}:\n" + tail(log_file, tail_lines)
            )
        time.sleep(interval)
    raise ProvisionError(f"{name} {not_ready} within {timeout:.0f}s")


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created with its folder) for the block.

    >>> import tempfile
    >>> with file_lock(Path(tempfile.mkdtemp()) / "sub" / "lock"):
    ...     pass
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
