"""Static membership: a connector killed with SIGKILL and restarted with the same
``--instance-id`` (``group.instance.id``) gets its partition back at once, not after the
group's session timeout (30 s here; librdkafka's default is 45 s)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from connector.testing import GAMEDAY_PIPELINE, gameday_value, produce, unique

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SESSION_TIMEOUT = 30.0


class _Connector:
    """A ``run`` subprocess whose log lines are collected as they come."""

    def __init__(self, args: list[str]) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.started = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-m", "connector", "run", *args],
                                     cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: list[tuple[float, str]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append((time.monotonic(), line))

    def assigned_at(self, timeout: float) -> float | None:
        """When the group first handed it a partition (monotonic), or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for at, line in list(self.lines):
                if "group assignment partitions=[(" in line:
                    return at
            time.sleep(0.05)
        return None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(30)


def restart_seconds(bootstrap: str, opensearch_url: str, topic: str, index: str, group: str,
                    pipeline: Path, instance_id: str | None) -> tuple[float, float]:
    """SIGKILL an assigned connector, start it again: seconds from the kill and from the
    restart's launch to the restarted one's assignment."""
    args = [str(pipeline), "--topic", topic, "--group-id", group, "--index", index,
            "--bootstrap", bootstrap, "--opensearch-url", opensearch_url, "--no-state",
            "--no-prepare"]
    if instance_id is not None:
        args += ["--instance-id", instance_id]
    first = _Connector(args)
    try:
        assert first.assigned_at(90) is not None, "".join(line for _, line in first.lines)
        time.sleep(2.0)  # consuming, heartbeating
    finally:
        killed = time.monotonic()
        first.stop()
    again = _Connector(args)
    try:
        at = again.assigned_at(SESSION_TIMEOUT + 60)
        assert at is not None, "".join(line for _, line in again.lines)[-3000:]
        return at - killed, at - again.started
    finally:
        again.stop()


def _delete_when_empty(admin, group: str, timeout: float) -> None:
    """A static member does not leave on close: its group empties at the session timeout."""
    from confluent_kafka import ConsumerGroupState

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        desc = admin.describe_consumer_groups([group], request_timeout=10)[group].result()
        if desc.state in (ConsumerGroupState.EMPTY, ConsumerGroupState.DEAD):
            break
        time.sleep(1.0)
    admin.delete_consumer_groups([group], request_timeout=30)[group].result()


def test_a_restarted_static_member_gets_its_partition_back_at_once(
    kafka_bootstrap, kafka_admin, opensearch_url, topic_factory, index_name_factory, tmp_path
):
    topic, index = topic_factory(), index_name_factory()
    produce(kafka_bootstrap, topic, [gameday_value(i) for i in range(50)])
    raw = yaml.safe_load(GAMEDAY_PIPELINE.read_text())
    raw["source"]["kafka"].update({"session.timeout.ms": int(SESSION_TIMEOUT * 1000),
                                   "heartbeat.interval.ms": 3000})
    pipeline = tmp_path / "gameday.yaml"
    pipeline.write_text(yaml.safe_dump(raw))
    group = unique("g")
    try:
        from_kill, from_launch = restart_seconds(
            kafka_bootstrap, opensearch_url, topic, index, group, pipeline, unique("i"))
    finally:
        _delete_when_empty(kafka_admin, group, SESSION_TIMEOUT + 30)
    print(f"static member: partition back {from_kill:.1f} s after the kill "
          f"({from_launch:.1f} s after the restart's launch)")
    assert from_kill < SESSION_TIMEOUT / 2, (from_kill, from_launch)
