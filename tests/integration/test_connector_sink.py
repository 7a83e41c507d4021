"""The OpenSearch sink's outcome classes on the real server: created, 409, 400, blocked, cut."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from opensearchpy import OpenSearch

from connector.errors import Backpressure, SinkError
from connector.records import Document, action_line
from connector.sinks.opensearch import OpenSearchSink
from connector.testing import TcpProxy

pytestmark = pytest.mark.integration


def _docs(user_ids: list[str]) -> list[Document]:
    return [Document(f"t+0+{i}", action_line(f"t+0+{i}"), json.dumps({"user_id": u, "n": i}))
            for i, u in enumerate(user_ids)]


@pytest.fixture
def index(opensearch, index_name_factory):
    name = index_name_factory()
    opensearch.indices.create(index=name, body={"mappings": {"properties": {
        "user_id": {"type": "long"}}}})
    return name


def test_created_duplicate_and_rejected_are_told_apart(opensearch, index):
    sink = OpenSearchSink(opensearch, index, max_retries=0)
    docs = _docs(["1", "2", "not-a-number", "4"])
    sink.add(docs)
    first = sink.flush()
    assert (first.indexed, first.duplicates) == (3, 0)
    [(doc, status, reason)] = first.rejected
    assert doc is docs[2] and status == 400 and reason.startswith("mapper_parsing_exception")
    sink.add(docs)  # a replay: the three written answer 409, the bad one 400 again
    again = sink.flush()
    assert (again.indexed, again.duplicates, len(again.rejected)) == (0, 3, 1)
    assert len(sink) == 0


def test_a_write_blocked_index_is_retried_not_dead_lettered(opensearch, index):
    sink = OpenSearchSink(opensearch, index, max_retries=0)
    opensearch.indices.put_settings(index=index, body={"index.blocks.write": True})
    try:
        sink.add(_docs(["1", "2"]))
        with pytest.raises(Backpressure, match="cluster_block_exception"):
            sink.flush()  # per-document 403s about the index, not about the documents
        assert len(sink) == 2  # kept for the retry
    finally:
        opensearch.indices.put_settings(index=index, body={"index.blocks.write": False})
    outcome = sink.flush()
    assert (outcome.indexed, outcome.rejected) == (2, [])


def test_a_lost_connection_raises_and_keeps_the_buffer(opensearch_url, opensearch, index):
    url = urlsplit(opensearch_url)
    proxy = TcpProxy(url.hostname, url.port)
    try:
        client = OpenSearch(hosts=[proxy.url], timeout=5, max_retries=0)
        sink = OpenSearchSink(client, index)
        sink.add(_docs(["1", "2", "3"]))
        proxy.cut()
        with pytest.raises(SinkError):
            sink.flush()
        assert len(sink) == 3
        proxy.restore()
        assert sink.flush().indexed == 3
    finally:
        proxy.close()
    opensearch.indices.refresh(index=index)
    assert opensearch.count(index=index)["count"] == 3
