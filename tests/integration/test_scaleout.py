"""Scale-out: connector processes share a group; partitions and their state move on join/leave.

Three real worker processes on a 4-partition topic: ``a`` starts alone, ``b`` and ``c`` join
while records arrive, then ``c`` leaves (SIGTERM: its partitions are checkpointed before they
are released) and ``b`` is SIGKILLed. Totals must be exact and every record scored as an
uninterrupted single process scores it (state followed each partition).
"""

from __future__ import annotations

import pytest
import yaml
from opensearchpy import OpenSearch

from connector.testing import unique
from faults.collect import Producing, create_index, create_topics, read_documents, read_origins
from faults.inputs import CONFLICT_FIELD, gameday_input
from faults.processes import ROOT, Worker
from faults.verify import verify

pytestmark = pytest.mark.integration


def test_three_processes_share_partitions_and_state(
    kafka_bootstrap, opensearch_url, topic_factory, index_name_factory, tmp_path
):
    topic = topic_factory(partitions=4, prefix="scale")
    index, ref_index = index_name_factory("scale-run"), index_name_factory("scale-ref")
    state_index = index_name_factory("scale-state")
    client = OpenSearch(hosts=[opensearch_url], timeout=60)
    for idx in (index, ref_index):
        create_index(client, idx, {CONFLICT_FIELD: {"type": "keyword"}})
    # as wide as the input: dead letters are fenced per source partition (no repeats)
    create_topics(kafka_bootstrap, {f"{topic}.errors": 4, f"{topic}.ref-errors": 4})
    raw = yaml.safe_load((ROOT / "pipelines" / "gameday.yaml").read_text())
    raw["source"]["kafka"].update({"session.timeout.ms": 6000, "heartbeat.interval.ms": 1500})
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(yaml.safe_dump(raw))
    group = unique("scale")

    def worker(name, grp, idx, errors):
        return Worker(name, [str(pipeline), "--topic", topic, "--group-id", grp, "--index", idx,
                             "--errors-topic", errors, "--bootstrap", kafka_bootstrap,
                             "--opensearch-url", opensearch_url, "--state-index", state_index,
                             "--snapshot-seconds", "3", "--batch-size", "300"], tmp_path)

    records = list(gameday_input(8000, seed=4))
    producing = Producing(kafka_bootstrap, topic, records, rate=400.0).start()
    a = worker("a", group, index, f"{topic}.errors").start()
    b, c = (worker(n, group, index, f"{topic}.errors") for n in ("b", "c"))
    workers = [a, b, c]
    try:
        assert a.wait_for_log("partition assigned", 60)
        b.start()
        c.start()
        assert b.wait_for_log("partition assigned", 60)
        assert c.wait_for_log("partition assigned", 60)
        assert c.stop() == 0  # leave: revoke -> checkpoint -> release
        b.kill()
        producing.join()
        assert not producing.failed
        good = sum(1 for _, fate in producing.expected.values() if fate == "good")
        for _ in range(90):
            client.indices.refresh(index=index)
            if client.count(index=index)["count"] >= good:
                break
            a.wait(2)
        assert a.stop() == 0
        ref = worker("ref", f"{group}-ref", ref_index, f"{topic}.ref-errors")
        workers.append(ref)
        ref.args += ["--idle-timeout", "10"]
        assert ref.start().wait(300) == 0
        ref_scores = {p: s for p, (_, s) in read_documents(client, ref_index).items()}
        errors = [(p, o) for p, o, _ in read_origins(kafka_bootstrap, f"{topic}.errors")]
        run = verify(producing.expected, read_documents(client, index), errors, ref_scores)
        assert (run.lost, run.duplicated, run.missing_errors, run.unexpected_errors) == (
            0, 0, 0, 0), run
        assert run.repeated == 0, run  # b's SIGKILL and the moves repeat no dead letter
        assert run.documents == good
        assert run.continuity == 1.0, run
        moved = sum(s["checkpoint"]["restores"] for w in (a, c) for s in w.summaries())
        assert moved >= 8  # every partition restored at least twice across rebalances
    finally:
        for w in workers:
            w.stop(30)
