"""Connector processes for the suite: start, SIGKILL, SIGTERM, wait (real OS processes)."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["Worker"]

logger = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]


class Worker:
    """One ``python -m faults.worker`` process; stderr goes to ``<log_dir>/<name>-<n>.log``.

    Parameters
    ----------
    name
        A label for logs (``a``, ``b``, ``ref``).
    args
        Arguments after ``python -m faults.worker``.
    log_dir
        Where each incarnation's log file goes (a restart gets a new file).
    """

    def __init__(self, name: str, args: list[str], log_dir: Path) -> None:
        self.name = name
        self.args = list(args)
        self.log_dir = log_dir
        self.starts = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        self.starts += 1
        log = open(self.log_dir / f"{self.name}-{self.starts}.log", "wb")  # noqa: SIM115
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": path}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "faults.worker", *self.args],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
        )
        log.close()
        logger.info("worker started name=%s pid=%s start=%d", self.name, self.proc.pid,
                    self.starts)
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no flush, no commit, no snapshot, no leave-group."""
        if self.alive:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            logger.info("worker killed name=%s pid=%s", self.name, self.proc.pid)

    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGTERM (finish the batch, checkpoint, leave the group), then wait."""
        if self.proc is None:
            return None
        if self.alive:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            logger.warning("worker did not stop, killing name=%s", self.name)
            self.kill()
            return self.proc.returncode

    def logs(self) -> list[Path]:
        return [self.log_dir / f"{self.name}-{n}.log" for n in range(1, self.starts + 1)]

    def wait_for_log(self, text: str, timeout: float) -> bool:
        """Wait until the current incarnation's log contains ``text`` (e.g. an assignment)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.starts and text in self.logs()[-1].read_text(errors="replace"):
                return True
            time.sleep(0.5)
        return False

    def summaries(self) -> list[dict]:
        """The JSON summary line of each incarnation that stopped cleanly."""
        out = []
        for path in self.logs():
            for line in reversed(path.read_text(errors="replace").splitlines()):
                if line.startswith("{"):
                    out.append(json.loads(line))
                    break
        return out

    def wait(self, timeout: float) -> int | None:
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
