"""One fault-suite run: input, faulted run on a timeline, uninterrupted reference, verdict.

Timeline (``D`` = the time the input takes to produce at ``rate``): worker ``a`` starts at
once; ``kills`` SIGKILLs of ``a`` spread over ``[0.1 D, 0.9 D]`` (restarted a second later);
worker ``b`` joins at ``0.3 D`` and leaves (SIGTERM) at ``0.7 D``; the OpenSearch proxy is cut
at ``0.45 D`` for ``outage`` seconds; the Kafka broker is restarted at ``0.8 D`` (local stack
only). After the input is in, the run drains, the workers stop, and a single uninterrupted
worker scores the same topic into a reference index.
"""

from __future__ import annotations

import logging
import random
import re
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from faults.collect import (
    Producing,
    create_index,
    create_topics,
    delete_topics,
    read_documents,
    read_errors,
)
from faults.inputs import gameday_input
from faults.processes import Worker
from faults.proxy import TcpProxy
from faults.verify import Verdict, verify

__all__ = ["SuiteOptions", "run_suite"]

logger = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class SuiteOptions:
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


def _pipeline(path: Path) -> Path:
    raw = yaml.safe_load((ROOT / "pipelines" / "gameday.yaml").read_text(encoding="utf-8"))
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
        return f"SIGKILL (was assigned: {assigned}), restarted"


def _restart_kafka() -> str:
    from provision import stack
    from provision.procs import stop

    pid = stack.running_pid(stack.default_layout(), "kafka")
    if pid is None:
        return "skipped: the broker is not the local stack's"
    stop(pid)
    stack.up(("kafka",))
    return f"restarted (old pid {pid})"


def run_suite(opts: SuiteOptions, servers: Any) -> SuiteResult:
    """Run the whole suite against ``servers`` (``provision.Servers``); **blocks** minutes."""
    from opensearchpy import OpenSearch

    run_id = uuid.uuid4().hex[:8]
    work = opts.workdir / run_id
    work.mkdir(parents=True, exist_ok=True)
    topic = f"faults-{run_id}"
    errors, ref_errors = f"{topic}.errors", f"{topic}.ref-errors"
    index, ref_index = f"faults-{run_id}-run", f"faults-{run_id}-ref"
    client = OpenSearch(hosts=[servers.opensearch_url], timeout=60)
    create_topics(servers.kafka_bootstrap, {topic: opts.partitions, errors: 1, ref_errors: 1})
    create_index(client, index)
    create_index(client, ref_index)
    pipeline = _pipeline(work / "pipeline.yaml")
    records = list(gameday_input(opts.records, seed=opts.seed, malformed=opts.malformed,
                                 conflicts=opts.conflicts))
    host, port = servers.opensearch_url.split("//")[1].split(":")
    proxy = TcpProxy((host, int(port)))

    def worker(name: str, group: str, idx: str, url: str) -> Worker:
        return Worker(name, [
            str(pipeline), "--topic", topic, "--group-id", group, "--index", idx,
            "--bootstrap", servers.kafka_bootstrap, "--opensearch-url", url,
            "--snapshot-seconds", str(opts.snapshot_seconds), "--batch-size", "500",
        ], work)

    a = worker("a", f"faults-{run_id}", index, proxy.url)
    b = worker("b", f"faults-{run_id}", index, proxy.url)
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
        "restart kafka": _restart_kafka,
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
        good = sum(1 for _, fate in producing.expected.values() if fate == "good")
        _drain(client, index, good, opts.drain_timeout)
        log.append(f"t={time.monotonic() - began:7.1f}s drained; exit codes "
                   f"a={a.stop()} b={b.stop()}")
        run_errors = read_errors(servers.kafka_bootstrap, errors)
        ref = worker("ref", f"faults-{run_id}-ref", ref_index, servers.opensearch_url)
        ref.args += ["--idle-timeout", "15", "--errors-topic", ref_errors]
        ref.start().wait(opts.drain_timeout)
        log.append(f"t={time.monotonic() - began:7.1f}s reference run done")
        expected = producing.expected
        run_docs = read_documents(client, index)
        ref_docs = read_documents(client, ref_index)
        ref_scores = {pos: score for pos, (_, score) in ref_docs.items()}
        verdicts = {
            "reference": verify(expected, ref_docs, read_errors(servers.kafka_bootstrap,
                                                                ref_errors), ref_scores),
            "faulted": verify(expected, run_docs, run_errors, ref_scores),
        }
        figures = checkpoint_figures([s for w in (a, b) for s in w.summaries()])
        figures.update(assignment_figures([p for w in (a, b) for p in w.logs()]))
        figures.update(workdir=str(work), input_failed=producing.failed)
        return SuiteResult(verdicts, log, figures)
    finally:
        for w in (a, b):
            w.stop(30)
        proxy.close()
        if not opts.keep:
            delete_topics(servers.kafka_bootstrap, [topic, errors, ref_errors])
            for idx in (index, ref_index):
                client.indices.delete(index=idx, ignore_unavailable=True)


def checkpoint_figures(summaries: list[dict]) -> dict[str, Any]:
    """Snapshot and restore figures summed over the workers' clean-exit summaries.

    Examples
    --------
    >>> s = {"checkpoint": {"snapshots": 4, "snapshot_bytes": 400, "snapshot_seconds": 0.2,
    ...      "restores": 2, "restore_seconds": 0.1, "replayed": 10, "replay_seconds": 0.5}}
    >>> checkpoint_figures([s, s])["snapshot_ms_avg"]
    50.0
    """
    total: dict[str, float] = {}
    for summary in summaries:
        for key, value in summary.get("checkpoint", {}).items():
            total[key] = total.get(key, 0) + value
    snaps, restores = total.get("snapshots", 0), total.get("restores", 0)
    return {
        "clean_exits": len(summaries), **total,
        "snapshot_bytes_avg": total.get("snapshot_bytes", 0) / snaps if snaps else None,
        "snapshot_ms_avg": 1000 * total.get("snapshot_seconds", 0) / snaps if snaps else None,
        "restore_ms_avg": 1000 * total.get("restore_seconds", 0) / restores if restores else None,
    }


_ASSIGNED = re.compile(r"partition assigned event=(\w+) .*replayed=(\d+) "
                       r"restore_s=([\d.]+) total_s=([\d.]+)")


def assignment_figures(logs: list[Path]) -> dict[str, Any]:
    """Restore times per partition assignment, from every incarnation's log (killed ones too).

    ``restore`` is reading and decoding the state; ``resume`` adds the replay of the gap.
    Figures are split by event: ``start`` (a process's first assignment) and ``rebalance``.

    Examples
    --------
    >>> import tempfile
    >>> log = Path(tempfile.mkdtemp()) / "a-1.log"
    >>> _ = log.write_text("partition assigned event=start topic=t partition=0 state_offset=5 "
    ...     "committed=9 start=9 replayed=4 restore_s=0.010 total_s=0.030\\n")
    >>> figures = assignment_figures([log])
    >>> figures["start"]["restore_ms_max"], figures["start"]["resume_ms_max"], figures["rebalance"]
    (10.0, 30.0, {'assignments': 0})
    """
    rows: dict[str, list[tuple[int, float, float]]] = {"start": [], "rebalance": []}
    for path in logs:
        for m in _ASSIGNED.finditer(path.read_text(errors="replace")):
            rows.setdefault(m[1], []).append((int(m[2]), float(m[3]), float(m[4])))
    out: dict[str, Any] = {}
    for event, found in rows.items():
        if not found:
            out[event] = {"assignments": 0}
            continue
        restore = [1000 * r[1] for r in found]
        resume = [1000 * r[2] for r in found]
        out[event] = {
            "assignments": len(found),
            "restore_ms_median": round(statistics.median(restore), 1),
            "restore_ms_max": round(max(restore), 1),
            "resume_ms_median": round(statistics.median(resume), 1),
            "resume_ms_max": round(max(resume), 1),
            "replayed_max": max(r[0] for r in found),
        }
    return out


def _drain(client: Any, index: str, good: int, timeout: float) -> None:
    """Wait until ``index`` holds ``good`` documents, or stops growing for 60 s."""
    deadline, last, since = time.monotonic() + timeout, -1, time.monotonic()
    while time.monotonic() < deadline:
        try:
            client.indices.refresh(index=index)
            count = client.count(index=index)["count"]
        except Exception as exc:  # noqa: BLE001 - the server may be restarting
            logger.warning("count failed error=%s", exc)
            count = last
        if count >= good:
            return
        if count != last:
            last, since = count, time.monotonic()
        elif time.monotonic() - since > 60:
            logger.warning("drain stalled count=%s good=%s", count, good)
            return
        time.sleep(2.0)
