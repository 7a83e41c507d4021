"""Model state survives a restart and a warm start trains without writing (real servers).

Runners are built in-process exactly as ``run`` builds them, with a checkpointer on top; the
scores of a stopped-and-resumed run must equal those of an uninterrupted run record for record.
"""

from __future__ import annotations

import pytest
from confluent_kafka import Producer

from connector.app import build_checkpointer, build_runner, load_config, opensearch_client
from connector.checkpoint import SnapshotPolicy
from connector.state_store import StateStore
from connector.testing import GAMEDAY_PIPELINE, unique
from faults.collect import read_documents
from faults.inputs import gameday_input

pytestmark = pytest.mark.integration

RECORDS = 3000


def _produce(bootstrap: str, topic: str, count: int, seed: int = 5) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for rec in gameday_input(count, seed=seed, malformed=0.01, conflicts=0.0):
        producer.produce(topic, rec.value, rec.key)
        producer.poll(0)
    assert producer.flush(60) == 0


def _run(env, *, group, index, state_index, max_records=None, warm_start=False, every=1e9):
    kafka_bootstrap, opensearch_url, topic = env
    cfg = load_config(GAMEDAY_PIPELINE, topic=topic, group_id=group, index=index,
                      bootstrap=kafka_bootstrap, opensearch_url=opensearch_url)
    runner = build_runner(cfg, batch_size=250)
    store = StateStore(opensearch_client(cfg), f"{group}/gameday", index=state_index)
    ckpt = build_checkpointer(cfg, store, policy=SnapshotPolicy(every, 10**9),
                              warm_start=warm_start)
    runner.use_checkpoints(ckpt)
    stats = runner.run(max_records=max_records, idle_timeout=4.0)
    return stats, ckpt.stats


@pytest.fixture
def env(kafka_bootstrap, opensearch_url, topic_factory):
    topic = topic_factory(partitions=2, prefix="ckpt")
    _produce(kafka_bootstrap, topic, RECORDS)
    return kafka_bootstrap, opensearch_url, topic


def _scores(opensearch, index):
    return {pos: score for pos, (_, score) in read_documents(opensearch, index).items()}


def test_stop_and_resume_scores_like_an_uninterrupted_run(env, opensearch, index_name_factory):
    state_index = index_name_factory("state")
    ref_index, index = index_name_factory("ref"), index_name_factory("run")
    _run(env, group=unique("ref"), index=ref_index, state_index=state_index)
    group = unique("run")
    first, first_ckpt = _run(env, group=group, index=index, state_index=state_index,
                             max_records=1200)
    assert first.records == 1200
    assert first_ckpt.snapshots >= 2  # at least one per partition, on revoke at close
    second, second_ckpt = _run(env, group=group, index=index, state_index=state_index)
    assert first.records + second.records == RECORDS
    assert second_ckpt.restores == 2 and second_ckpt.replayed == 0
    ref, run = _scores(opensearch, ref_index), _scores(opensearch, index)
    assert len(run) == len(ref) > RECORDS * 0.95
    assert run == ref


def test_state_older_than_the_commit_is_rolled_forward(env, opensearch, index_name_factory):
    state_index, old_state_index = index_name_factory("state"), index_name_factory("oldstate")
    ref_index, index = index_name_factory("ref"), index_name_factory("run")
    topic, group = env[2], unique("run")
    _run(env, group=unique("ref"), index=ref_index, state_index=state_index)
    _run(env, group=group, index=index, state_index=state_index, max_records=1800)
    # Keep the states as they are now, let the run go on, then restore these older states:
    # as after a crash long after the last snapshot, the committed offsets are ahead.
    store = StateStore(opensearch, f"{group}/gameday", index=state_index)
    old = StateStore(opensearch, f"{group}/gameday", index=old_state_index)
    kept = 0
    for partition in (0, 1):
        stored = store.get(topic, partition)
        if stored is not None:
            old.put(topic, partition, stored.offset, stored.blob)
            kept += 1
    assert kept >= 1
    _run(env, group=group, index=index, state_index=state_index, max_records=600)
    _, ckpt = _run(env, group=group, index=index, state_index=old_state_index)
    assert ckpt.replayed >= 600 - 10  # the gap between the old states and the commits
    assert _scores(opensearch, index) == _scores(opensearch, ref_index)


def test_warm_start_trains_on_history_without_writing_it(env, opensearch, index_name_factory,
                                                          kafka_bootstrap):
    state_index = index_name_factory("state")
    ref_index, index = index_name_factory("ref"), index_name_factory("run")
    topic, group = env[2], unique("warm")
    _, ckpt = _run(env, group=group, index=index, state_index=state_index, warm_start=True)
    assert ckpt.replayed == RECORDS
    assert not opensearch.indices.exists(index=index)  # history is learned, never written
    _produce(kafka_bootstrap, topic, 400, seed=6)  # live records after the history
    _run(env, group=unique("ref"), index=ref_index, state_index=state_index)
    _, live = _run(env, group=group, index=index, state_index=state_index, warm_start=True)
    assert live.replayed == 0 and live.restores == 2
    ref, run = _scores(opensearch, ref_index), _scores(opensearch, index)
    assert 390 <= len(run) <= 400  # only the live records became documents
    assert {pos: ref[pos] for pos in run} == run  # scored as by a model that saw all history


def test_windowed_pipeline_resumes_with_its_open_windows(
    kafka_bootstrap, opensearch_url, opensearch, topic_factory, index_name_factory
):
    from opensearchpy import helpers

    from generators import tolls

    topic = topic_factory(partitions=2, prefix="ckpt-win")
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "linger.ms": 5})
    for rec in tolls.records(count=6000, seed=3, start=1_790_000_000.0):
        producer.produce(topic, rec.value, rec.key)
    assert producer.flush(60) == 0
    state_index = index_name_factory("state")
    ref_index, index = index_name_factory("ref"), index_name_factory("run")

    def run(group, idx, max_records=None):
        cfg = load_config(GAMEDAY_PIPELINE.parent / "tolls.yaml", topic=topic, group_id=group,
                          index=idx, bootstrap=kafka_bootstrap, opensearch_url=opensearch_url)
        runner = build_runner(cfg, batch_size=250)
        store = StateStore(opensearch_client(cfg), f"{group}/tolls", index=state_index)
        runner.use_checkpoints(build_checkpointer(cfg, store, policy=SnapshotPolicy(1e9, 10**9)))
        return runner.run(max_records=max_records, idle_timeout=4.0)

    def windows(idx):
        opensearch.indices.refresh(index=idx)
        return {h["_id"]: h["_source"]["outlier"]["score"]
                for h in helpers.scan(opensearch, index=idx, query={"query": {"match_all": {}}})}

    run(unique("ref"), ref_index)
    group = unique("run")
    first = run(group, index, max_records=2500)  # stops with windows open in the state
    second = run(group, index)
    assert first.records + second.records == 6000
    ref = windows(ref_index)
    assert len(ref) >= 50
    assert windows(index) == ref  # same windows, same counts, same scores
