"""One fault-suite run: input, faulted run on a timeline, uninterrupted reference, verdict.

Timeline (``D`` = the time the input takes to produce at ``rate``): worker ``a`` starts at
once; ``kills`` SIGKILLs of ``a`` spread over ``[0.1 D, 0.9 D]`` (restarted a second later);
worker ``b`` joins at ``0.3 D`` and leaves (SIGTERM) at ``0.7 D``; the OpenSearch proxy is cut
at ``0.45 D`` for ``outage`` seconds; the Kafka broker is restarted at ``0.8 D`` (the local
stack's broker when the suite runs against it; another broker only through the command in
``$OUTLIER_FAULTS_KAFKA_RESTART``). The input is produced exactly once (:mod:`faults.producing`).
After the input is in, the run drains (the group committed every partition to its
end), the workers stop, and a single uninterrupted worker scores the same topic into a
reference index. The scenario (:mod:`faults.scenarios`) names the pipeline, the input, the
index mapping and the verdict.

The error topics get as many partitions as the input topic, so the connector's dead letters
are fenced per source partition (:mod:`connector.sinks.fence`): a record replayed after a
SIGKILL or a rebalance is not dead-lettered again, and ``repeated`` must be 0.
"""

from __future__ import annotations

import logging
import os
import random
import re
import shlex
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from faults.collect import Producing, create_index, create_topics, delete_topics, wait_committed
from faults.figures import assignment_figures, checkpoint_figures
from faults.processes import Worker
from faults.proxy import TcpProxy
from faults.scenarios import SCENARIOS, Outputs
from faults.verify import Verdict

__all__ = ["SuiteOptions", "run_suite"]

logger = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class SuiteOptions:
    scenario: str = "gameday"
    records: int = 20_000
    partitions: int = 3
    rate: float = 400.0
    kills: int = 1
    outage: float = 30.0
    broker_restart: bool = True
    join_leave: bool = True
    malformed: float = 0.01
    conflicts: float = 0.002
    seed: int = 11
    snapshot_seconds: float = 5.0
    drain_timeout: float = 600.0
    keep: bool = False
    workdir: Path = field(default_factory=lambda: Path("/tmp/outlier-faults"))


@dataclass
class SuiteResult:
    verdicts: dict[str, Verdict]
    events: list[str]
    checkpoint: dict[str, Any]


def _pipeline(path: Path, stem: str) -> Path:
    raw = yaml.safe_load((ROOT / "pipelines" / f"{stem}.yaml").read_text(encoding="utf-8"))
    # quick failure detection, so a SIGKILLed member's partitions move within seconds
    raw["source"].setdefault("kafka", {}).update(
        {"session.timeout.ms": 6000, "heartbeat.interval.ms": 1500})
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _timeline(opts: SuiteOptions, duration: float, rng: random.Random) -> list[tuple[float, str]]:
    events = []
    for i in range(opts.kills):
        lo = 0.1 + 0.8 * i / max(opts.kills, 1)
        hi = 0.1 + 0.8 * (i + 1) / max(opts.kills, 1)
        events.append((duration * rng.uniform(lo, hi), "kill a"))
    if opts.join_leave:
        events += [(0.3 * duration, "join b"), (0.7 * duration, "leave b")]
    if opts.outage > 0:
        events += [(0.45 * duration, "cut opensearch"),
                   (0.45 * duration + opts.outage, "restore opensearch")]
    if opts.broker_restart:
        events.append((0.8 * duration, "restart kafka"))
    return sorted(events)


def _act(action: Callable[[], str], name: str, began: float, log: list[str]) -> None:
    started = time.monotonic() - began
    outcome = action()
    log.append(f"t={started:7.1f}s {name}: {outcome} (done at {time.monotonic() - began:.1f}s)")
    logger.info("fault %s", log[-1])


def _kill_running(worker: Worker, lock: threading.Lock) -> str:
    """SIGKILL ``worker`` once it is consuming (assigned), then start it again."""
    with lock:
        assigned = worker.wait_for_log("partition assigned", 90)
        worker.kill()
        time.sleep(1.0)
        worker.start()
        # what the restart had to rebuild: state older than the commit is replayed (for a
        # windowed pipeline the open windows are in the state, so they are rebuilt too)
        resumed = worker.wait_for_log("partition assigned", 60)
        time.sleep(1.0)
        text = worker.logs()[-1].read_text(errors="replace") if resumed else ""
        replayed = sum(int(n) for n in re.findall(r"partition assigned .*?replayed=(\d+)", text))
        return (f"SIGKILL (was assigned: {assigned}), restarted; resumed={resumed} "
                f"replayed={replayed}")


#: A shell command restarting the broker the suite runs against, when that broker is not
#: the local stack's (e.g. a private one, so a shared stack is never restarted).
RESTART_COMMAND = "OUTLIER_FAULTS_KAFKA_RESTART"


def _restart_kafka(bootstrap: str) -> str:
    """Restart the suite's broker: by :data:`RESTART_COMMAND` when set, else the local
    stack's broker, and only when the suite runs against it."""
    from provision import kafka, stack
    from provision.procs import stop

    command = os.environ.get(RESTART_COMMAND)
    if command:
        proc = subprocess.run(shlex.split(command), capture_output=True, text=True,
                              timeout=300, check=False)
        return f"restarted by ${RESTART_COMMAND} (exit {proc.returncode})"
    if bootstrap != kafka.BOOTSTRAP:
        return f"skipped: {bootstrap} is not the local stack's broker (set ${RESTART_COMMAND})"
    pid = stack.running_pid(stack.default_layout(), "kafka")
    if pid is None:
        return "skipped: the broker is not the local stack's"
    stop(pid)
    stack.up(("kafka",))
    return f"restarted (old pid {pid})"


def run_suite(opts: SuiteOptions, servers: Any) -> SuiteResult:
    """Run the whole suite against ``servers`` (``provision.Servers``); **blocks** minutes."""
    from opensearchpy import OpenSearch

    scenario = SCENARIOS[opts.scenario]
    # a test session's run id first (connector.testing.unique), so it can remove the groups
    run_id = "-".join(filter(None, (os.environ.get("OUTLIER_TEST_RUN"), uuid.uuid4().hex[:8])))
    work = opts.workdir / run_id
    work.mkdir(parents=True, exist_ok=True)
    topic = f"faults-{opts.scenario}-{run_id}"
    errors, ref_errors = f"{topic}.errors", f"{topic}.ref-errors"
    events, ref_events = f"{topic}.events", f"{topic}.ref-events"
    outputs = (errors, ref_errors, events, ref_events)
    index, ref_index = f"{topic}-run", f"{topic}-ref"
    client = OpenSearch(hosts=[servers.opensearch_url], timeout=60)
    create_topics(servers.kafka_bootstrap, {t: opts.partitions for t in (topic, *outputs)})
    for idx in (index, ref_index):
        create_index(client, idx, scenario.properties)
    pipeline = _pipeline(work / "pipeline.yaml", scenario.pipeline)
    records = scenario.make_input(opts.records, opts.seed, opts.malformed, opts.conflicts)
    host, port = servers.opensearch_url.split("//")[1].split(":")
    proxy = TcpProxy((host, int(port)))

    def worker(name: str, group: str, idx: str, url: str) -> Worker:
        return Worker(name, [
            str(pipeline), "--topic", topic, "--group-id", group, "--index", idx,
            "--bootstrap", servers.kafka_bootstrap, "--opensearch-url", url,
            "--snapshot-seconds", str(opts.snapshot_seconds), "--batch-size", "500",
        ], work)

    group = f"faults-{run_id}"
    a = worker("a", group, index, proxy.url)
    b = worker("b", group, index, proxy.url)
    for w in (a, b):
        w.args += ["--events-topic", events]
    log: list[str] = []
    kill_lock = threading.Lock()
    began = time.monotonic()
    actions: dict[str, Callable[[], str]] = {
        "kill a": lambda: _kill_running(a, kill_lock),
        "join b": lambda: b.start() and "started",
        "leave b": lambda: (f"assigned={b.wait_for_log('partition assigned', 60)}, "
                            f"SIGTERM, exit {b.stop()}"),
        "cut opensearch": lambda: proxy.cut() or "proxy cut",
        "restore opensearch": lambda: proxy.restore() or "proxy restored",
        "restart kafka": lambda: _restart_kafka(servers.kafka_bootstrap),
    }
    try:
        producing = Producing(servers.kafka_bootstrap, topic, records, opts.rate).start()
        a.start()
        threads = []
        for at, name in _timeline(opts, opts.records / opts.rate, random.Random(opts.seed)):
            time.sleep(max(0.0, began + at - time.monotonic()))
            # each fault in its own thread: a slow one (a leave waiting for its worker) must
            # not delay the next (the end of the outage)
            thread = threading.Thread(target=_act, args=(actions[name], name, began, log))
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join()
        log.sort()
        producing.join()
        proxy.restore()
        left = wait_committed(servers.kafka_bootstrap, group, topic, opts.drain_timeout)
        log.append(f"t={time.monotonic() - began:7.1f}s drained (left {left}); exit codes "
                   f"a={a.stop()} b={b.stop()}")
        ref = worker("ref", f"{group}-ref", ref_index, servers.opensearch_url)
        ref.args += ["--idle-timeout", "15", "--errors-topic", ref_errors,
                     "--events-topic", ref_events]
        ref.start().wait(opts.drain_timeout)
        log.append(f"t={time.monotonic() - began:7.1f}s reference run done")
        where = Outputs(client, servers.kafka_bootstrap, index, ref_index, *outputs)
        verdicts = scenario.verdicts(records, producing.expected, where)
        figures = checkpoint_figures([s for w in (a, b) for s in w.summaries()])
        figures.update(assignment_figures([p for w in (a, b) for p in w.logs()]))
        figures.update(workdir=str(work), input_failed=producing.failed,
                       input_repeated=producing.repeated, input_resent=producing.resent,
                       input_producers=producing.producers)
        return SuiteResult(verdicts, log, figures)
    finally:
        for w in (a, b):
            w.stop(30)
        proxy.close()
        if not opts.keep:
            delete_topics(servers.kafka_bootstrap, [topic, *outputs])
            for idx in (index, ref_index):
                client.indices.delete(index=idx, ignore_unavailable=True)
