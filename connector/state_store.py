"""Where checkpointed model state lives: one OpenSearch document per (group, topic, partition).

Why an OpenSearch state index rather than a compacted Kafka topic
------------------------------------------------------------------
Both survive a crash and let state follow a partition to another instance. We chose the index
because of what the connector does with state:

- **Restore is one realtime GET by id** (plus an ``mget`` of chunks for big blobs). A compacted
  topic must be read from its start to its high watermark for every assigned partition, and
  compaction only cleans closed segments, so with a snapshot every few seconds that read grows
  with the snapshot rate until the cleaner catches up; restore time on a rebalance would not
  be bounded by the state size.
- **Fencing comes free**: each head document is written with ``version_type=external_gte``
  and ``version`` = the offset the state covers, so a zombie instance that lost the partition
  cannot overwrite a newer state with an older one (OpenSearch answers 409, we keep the newer).
- **The failure domain is the sink's**: the state goes where the documents go. When OpenSearch
  is down, no document can be flushed, so no offset is committed and no state is needed; when
  it comes back both resume together. A Kafka state topic would add no availability here.
- Operators can inspect it (``GET outlier-connector-state/_search``) with the tools they
  already use for the documents.

What we give up: no Kafka transaction can make "state + offsets" atomic. The checkpoint order
(flush sinks -> write state -> commit offsets) and the offset stored *inside* the state make
that unnecessary: on restore, state newer than the committed offset wins (its documents were
flushed before it was written), state older than the committed offset is rolled forward by a
replay of the gap (see :mod:`connector.checkpoint`).

Layout
------
Head document ``_id = <group>/<topic>/<partition>``: ``offset`` (next offset not folded into the
state), ``format``, ``size``, ``sha256``, ``chunks`` and, when the blob fits in one chunk,
``blob`` (base64, a ``binary`` field: stored, never indexed). Bigger blobs go to chunk documents
``<head id>#<offset>#<i>`` written *before* the head, so a crash mid-write leaves the previous
head and its chunks intact; the previous version's chunks are deleted after the new head lands
(a crash between the two leaves orphan chunks, never a corrupt state).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConflictError, NotFoundError, RequestError, TransportError

from connector.connections import opensearch_client
from connector.errors import ConnectorError
from connector.state_format import FORMAT_NAME, decode_state, encode_state

__all__ = [
    "FORMAT_NAME",
    "StateStore",
    "StateStoreError",
    "StoredState",
    "decode_state",
    "encode_state",
    "split_chunks",
    "state_id",
]

logger = logging.getLogger(__name__)

DEFAULT_INDEX = "outlier-connector-state"
#: Raw bytes per document (base64 makes it 4/3 of that on the wire); well under the default
#: ``http.max_content_length`` of 100 MB and kind to the heap of a small node.
DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024

_INDEX_BODY = {
    "settings": {"index": {"number_of_shards": 1, "auto_expand_replicas": "0-1"}},
    "mappings": {
        "dynamic": False,
        "properties": {
            "group": {"type": "keyword"},
            "topic": {"type": "keyword"},
            "partition": {"type": "integer"},
            "offset": {"type": "long"},
            "format": {"type": "keyword"},
            "size": {"type": "long"},
            "chunks": {"type": "integer"},
            "sha256": {"type": "keyword"},
            "updated": {"type": "date", "format": "epoch_millis"},
            "blob": {"type": "binary"},
        },
    },
}


class StateStoreError(ConnectorError):
    """The state store could not read or write (infrastructure: the runner retries)."""


@dataclass(frozen=True, slots=True)
class StoredState:
    """A state blob as stored: the offset it covers and its bytes."""

    offset: int
    blob: bytes
    chunks: int = 0


def state_id(group: str, topic: str, partition: int) -> str:
    """Id of a partition's head state document.

    Examples
    --------
    >>> state_id("outliers-tolls", "tolls", 3)
    'outliers-tolls/tolls/3'
    """
    return f"{group}/{topic}/{partition}"


def split_chunks(blob: bytes, chunk_bytes: int) -> list[bytes]:
    """Cut ``blob`` into pieces of at most ``chunk_bytes`` (one piece when it fits).

    Examples
    --------
    >>> [len(c) for c in split_chunks(bytes(10), 4)]
    [4, 4, 2]
    >>> split_chunks(b"", 4)
    [b'']
    """
    if chunk_bytes < 1:
        raise ValueError("chunk_bytes must be >= 1")
    return [blob[i : i + chunk_bytes] for i in range(0, len(blob), chunk_bytes)] or [b""]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class StateStore:
    """Per-partition state blobs in an OpenSearch index.

    Parameters
    ----------
    client
        An ``opensearchpy.OpenSearch`` client, or the kwargs to build one (the pipeline's
        ``output.opensearch`` block, verbatim).
    group
        The consumer group: two groups running the same pipeline keep separate states.
    index
        The state index (created on first use with a ``dynamic: false`` mapping).
    chunk_bytes
        Blobs above this size are split over several documents.

    Every call **blocks** on HTTP; failures raise :class:`StateStoreError`.
    """

    def __init__(
        self,
        client: OpenSearch | Mapping[str, Any],
        group: str,
        *,
        index: str = DEFAULT_INDEX,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    ) -> None:
        self.client = client if isinstance(client, OpenSearch) else opensearch_client(client)
        self.group = group
        self.index = index
        self.chunk_bytes = chunk_bytes
        self._ready = False
        # head id -> (offset, chunks) of the version we last read or wrote, to delete old chunks
        self._known: dict[str, tuple[int, int]] = {}

    def ensure_index(self) -> None:
        """Create the state index if it does not exist (idempotent)."""
        if self._ready:
            return
        try:
            if not self.client.indices.exists(index=self.index):
                self.client.indices.create(index=self.index, body=_INDEX_BODY)
        except RequestError as exc:
            if "resource_already_exists" not in str(exc):
                raise StateStoreError(f"state index {self.index}: {exc}") from exc
        except TransportError as exc:
            raise StateStoreError(f"state index {self.index}: {exc}") from exc
        self._ready = True

    def get(self, topic: str, partition: int) -> StoredState | None:
        """The latest state of a partition, or ``None`` if it never had one (**blocks**)."""
        self.ensure_index()
        head_id = state_id(self.group, topic, partition)
        try:
            head = self.client.get(index=self.index, id=head_id)["_source"]
        except NotFoundError:
            return None
        except TransportError as exc:
            raise StateStoreError(f"state get {head_id}: {exc}") from exc
        offset, chunks = int(head["offset"]), int(head.get("chunks", 0))
        if chunks == 0:
            blob = base64.b64decode(head["blob"])
        else:
            blob = self._read_chunks(head_id, offset, chunks)
        if hashlib.sha256(blob).hexdigest() != head["sha256"]:
            raise StateStoreError(f"state {head_id}@{offset}: checksum mismatch")
        self._known[head_id] = (offset, chunks)
        return StoredState(offset, blob, chunks)

    def _read_chunks(self, head_id: str, offset: int, chunks: int) -> bytes:
        ids = [f"{head_id}#{offset}#{i}" for i in range(chunks)]
        try:
            found = self.client.mget(index=self.index, body={"ids": ids})["docs"]
        except TransportError as exc:
            raise StateStoreError(f"state chunks {head_id}@{offset}: {exc}") from exc
        missing = [d["_id"] for d in found if not d.get("found")]
        if missing:
            raise StateStoreError(f"state {head_id}@{offset}: missing chunks {missing}")
        return b"".join(base64.b64decode(d["_source"]["blob"]) for d in found)

    def put(self, topic: str, partition: int, offset: int, blob: bytes, fmt: str = "") -> bool:
        """Store ``blob`` as the state of a partition covering offsets below ``offset``.

        Returns ``False`` when a state covering a *later* offset is already stored (a zombie
        write, refused by OpenSearch's external versioning); **blocks** on HTTP.
        """
        self.ensure_index()
        head_id = state_id(self.group, topic, partition)
        pieces = split_chunks(blob, self.chunk_bytes)
        chunked = len(pieces) > 1
        head: dict[str, Any] = {
            "group": self.group, "topic": topic, "partition": partition, "offset": offset,
            "format": fmt, "size": len(blob), "chunks": len(pieces) if chunked else 0,
            "sha256": hashlib.sha256(blob).hexdigest(), "updated": int(time.time() * 1000),
        }
        try:
            if chunked:
                for i, piece in enumerate(pieces):
                    self.client.index(
                        index=self.index, id=f"{head_id}#{offset}#{i}", body={"blob": _b64(piece)}
                    )
            else:
                head["blob"] = _b64(blob)
            self.client.index(
                index=self.index, id=head_id, body=head,
                version=max(offset, 0), version_type="external_gte",
            )
        except ConflictError:
            logger.warning("state not stored, a newer one exists id=%s offset=%s", head_id, offset)
            return False
        except TransportError as exc:
            raise StateStoreError(f"state put {head_id}@{offset}: {exc}") from exc
        self._drop_old_chunks(head_id, offset)
        self._known[head_id] = (offset, head["chunks"])
        return True

    def _drop_old_chunks(self, head_id: str, offset: int) -> None:
        old = self._known.get(head_id)
        if old is None or old[1] == 0 or old[0] == offset:
            return
        for i in range(old[1]):
            try:
                self.client.delete(index=self.index, id=f"{head_id}#{old[0]}#{i}")
            except NotFoundError:
                pass
            except TransportError as exc:  # an orphan chunk costs space, never correctness
                logger.warning("state chunk not deleted id=%s#%s#%s error=%s", head_id, *old, exc)
                return

    def delete(self, topic: str, partition: int) -> None:
        """Forget a partition's state (head and the chunks we know of); **blocks**."""
        self.ensure_index()
        head_id = state_id(self.group, topic, partition)
        self._known.setdefault(head_id, (-1, 0))
        self._drop_old_chunks(head_id, -2)
        self._known.pop(head_id, None)
        try:
            self.client.delete(index=self.index, id=head_id)
        except NotFoundError:
            pass
        except TransportError as exc:
            raise StateStoreError(f"state delete {head_id}: {exc}") from exc
