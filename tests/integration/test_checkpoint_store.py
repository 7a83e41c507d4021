"""The OpenSearch state store against a real node: round trips, chunks, fencing, checksums."""

from __future__ import annotations

import os

import pytest

from connector.state_store import StateStore, StateStoreError

pytestmark = pytest.mark.integration


@pytest.fixture
def store(opensearch, index_name_factory):
    return StateStore(opensearch, "g/p", index=index_name_factory("state"), chunk_bytes=1000)


def test_absent_state_is_none(store):
    assert store.get("t", 0) is None


def test_chunked_round_trip_and_old_chunks_deleted(store, opensearch):
    first, second = os.urandom(3500), os.urandom(2500)
    assert store.put("t", 0, 10, first)
    got = store.get("t", 0)
    assert (got.offset, got.chunks, got.blob) == (10, 4, first)
    assert store.put("t", 0, 20, second)
    assert store.get("t", 0).blob == second
    opensearch.indices.refresh(index=store.index)
    ids = {h["_id"] for h in opensearch.search(index=store.index, size=50)["hits"]["hits"]}
    assert ids == {"g/p/t/0"} | {f"g/p/t/0#20#{i}" for i in range(3)}


def test_older_state_is_refused(store):
    assert store.put("t", 1, 500, b"new")
    assert not store.put("t", 1, 400, b"zombie")
    assert store.put("t", 1, 500, b"same offset rewrites")
    assert store.get("t", 1) == store.get("t", 1)
    assert store.get("t", 1).blob == b"same offset rewrites"


def test_partitions_and_groups_are_separate(store, opensearch):
    other = StateStore(opensearch, "other/p", index=store.index)
    store.put("t", 0, 5, b"mine")
    other.put("t", 0, 7, b"theirs")
    assert store.get("t", 0).blob == b"mine"
    assert other.get("t", 0).blob == b"theirs"
    assert store.get("t", 2) is None


def test_corrupt_state_is_an_error(store, opensearch):
    store.put("t", 3, 5, b"payload")
    opensearch.update(index=store.index, id="g/p/t/3", body={"doc": {"sha256": "0" * 64}})
    with pytest.raises(StateStoreError, match="checksum"):
        store.get("t", 3)
