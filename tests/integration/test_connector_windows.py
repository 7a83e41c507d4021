"""Windowed pipelines (tolls): commits stay below open windows, and a restart rebuilds them,
so every window document ends with the true count (none lost, none counted twice)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest

from connector.app import build_runner, load_config
from connector.testing import GAMEDAY_PIPELINE, committed_offsets, produce, unique
from generators import tolls

pytestmark = pytest.mark.integration

PIPELINE = GAMEDAY_PIPELINE.with_name("tolls.yaml")
START = 1_800_000_000.0  # a multiple of the 10 s window


def _truth(values: list[bytes]) -> Counter:
    counts: Counter = Counter()
    for value in values:
        date, toll, _plate = value.decode().split(",")
        ts = datetime.fromisoformat(date.replace("Z", "+00:00")).timestamp()
        counts[(toll, int(ts // 10 * 10_000))] += 1
    return counts


def _windows(client, index: str) -> dict[tuple[str, int], float]:
    client.indices.refresh(index=index)
    hits = client.search(index=index, body={"size": 1000, "query": {"match_all": {}}})
    out = {}
    for hit in hits["hits"]["hits"]:
        _pipeline, toll, start_ms = hit["_id"].split("+")
        out[(toll, int(start_ms))] = hit["_source"]["count"]
    return out


def test_commits_hold_open_windows_and_a_restart_completes_them(
    kafka_bootstrap, opensearch_url, opensearch, topic_factory, index_name_factory
):
    topic, index, group = topic_factory(), index_name_factory(), unique("g")
    values = [r.value for r in tolls.records(count=5000, rate=100.0, seed=3, start=START,
                                             traffic="even")]
    cfg = load_config(PIPELINE, env={}, topic=topic, index=index, group_id=group,
                      bootstrap=kafka_bootstrap, opensearch_url=opensearch_url)

    produce(kafka_bootstrap, topic, values[:2500])  # event time 0..25 s
    first = build_runner(cfg, batch_size=500, poll_timeout=0.2)
    assert first.run(max_records=2500, idle_timeout=60).records == 2500
    committed = committed_offsets(kafka_bootstrap, group, topic)[0]
    assert 0 < committed < 2500  # records of windows still open or kept are not committed
    emitted = _windows(opensearch, index)
    assert emitted and all(start < (START + 20) * 1000 for _toll, start in emitted)

    produce(kafka_bootstrap, topic, values[2500:])  # event time 25..50 s
    second = build_runner(cfg, batch_size=500, poll_timeout=0.2)
    stats = second.run(max_records=5000 - committed, idle_timeout=60)
    assert stats.records == 5000 - committed  # it resumed at the held offset

    truth = _truth(values)
    final = {k: v for k, v in _windows(opensearch, index).items()
             if k[1] + 10_000 <= (START + 50) * 1000}  # windows closed by event time 50 s
    assert {k[1] for k in final} == {int((START + s) * 1000) for s in (0, 10, 20, 30, 40)}
    assert final == {k: float(truth.get(k, 0)) for k in final}
