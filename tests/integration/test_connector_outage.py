"""OpenSearch cut off mid-stream (a real TCP proxy is cut): commits never pass acknowledged
documents, and after it returns every document is there exactly once."""

from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit

import pytest

from connector.testing import (
    TcpProxy,
    committed_offsets,
    doc_offsets,
    gameday_runner,
    gameday_value,
    produce,
    unique,
    wait_for,
)

pytestmark = pytest.mark.integration


def test_outage_pauses_retries_and_never_commits_unwritten_documents(
    kafka_bootstrap, opensearch_url, opensearch, topic_factory, index_name_factory
):
    topic, index, group = topic_factory(), index_name_factory(), unique("g")
    total = 3000
    url = urlsplit(opensearch_url)
    proxy = TcpProxy(url.hostname, url.port)
    runner = gameday_runner(kafka_bootstrap, proxy.url, topic, index, group, batch_size=100,
                            max_backoff=1.0)
    worker = threading.Thread(target=runner.run, kwargs={"max_records": total}, daemon=True)
    feeder = threading.Thread(target=lambda: [
        (produce(kafka_bootstrap, topic, [gameday_value(i) for i in range(s, s + 100)]),
         time.sleep(0.1)) for s in range(0, total, 100)], daemon=True)
    feeder.start()
    worker.start()
    try:
        assert wait_for(lambda: opensearch.indices.exists(index=index)
                        and len(doc_offsets(opensearch, index)) >= 300, timeout=60)
        proxy.cut()
        checks = 0
        deadline = time.monotonic() + 6.0
        while time.monotonic() < deadline:
            committed = committed_offsets(kafka_bootstrap, group, topic)[0]
            written = set(doc_offsets(opensearch, index))  # read directly, not via the proxy
            assert set(range(max(committed, 0))) <= written, f"commit {committed} passed docs"
            checks += 1
            time.sleep(0.3)
        assert runner.stats.retries > 0 and runner.stats.records < total
        proxy.restore()
        worker.join(120)
        assert not worker.is_alive()
    finally:
        runner.stop()
        proxy.close()
    assert checks >= 5
    assert runner.stats.records == total and not runner.stats.abandoned
    assert committed_offsets(kafka_bootstrap, group, topic) == {0: total}
    assert doc_offsets(opensearch, index) == list(range(total))  # each exactly once
