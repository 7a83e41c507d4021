"""Value types that flow through the runtime: a source record, a document, a rejection.

They are plain slotted dataclasses with no I/O, so sources, sinks and the runner can share
them without importing each other. A :class:`Document` carries its bulk action line and its
source already serialised (``json.dumps`` once per document, on the hot path), plus the
position of the record it came from so a rejected document can be dead-lettered with the
original bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

__all__ = [
    "Document",
    "Origin",
    "Position",
    "Rejection",
    "RunStats",
    "SourceRecord",
    "action_line",
    "origin",
    "record_doc_id",
    "rejection_of",
    "window_record",
]

#: ``(topic, partition, offset)`` of one source record.
Position = tuple[str, int, int]


@dataclass(slots=True)
class SourceRecord:
    """One record as read from a source: where it sits and its raw bytes.

    Examples
    --------
    >>> r = SourceRecord("gameday", 0, 41, b'{"a": 1}')
    >>> r.position
    ('gameday', 0, 41)
    """

    topic: str
    partition: int
    offset: int
    value: bytes | None
    key: bytes | None = None
    headers: list[tuple[str, bytes]] | None = None

    @property
    def position(self) -> Position:
        return (self.topic, self.partition, self.offset)


def record_doc_id(topic: str, partition: int, offset: int) -> str:
    """Deterministic ``_id`` of a record document: ``<topic>+<partition>+<offset>``.

    A replay of the same offset yields the same id, so ``op_type: create`` answers 409 instead
    of writing a duplicate.

    Examples
    --------
    >>> record_doc_id("gameday", 2, 1007)
    'gameday+2+1007'
    """
    return f"{topic}+{partition}+{offset}"


def action_line(doc_id: str, op_type: str = "create") -> str:
    """The bulk action line for one document (the index goes on the request URL).

    Examples
    --------
    >>> action_line("gameday+0+7")
    '{"create":{"_id":"gameday+0+7"}}'
    >>> action_line('we"ird', op_type="index")
    '{"index":{"_id":"we\\\\"ird"}}'
    """
    quoted = json.dumps(doc_id) if '"' in doc_id or "\\" in doc_id else f'"{doc_id}"'
    return f'{{"{op_type}":{{"_id":{quoted}}}}}'


@dataclass(slots=True)
class Document:
    """A document ready for the bulk API: id, action line and JSON source.

    ``record`` is the source record it came from (``None`` for window documents, whose
    sources are many); a rejected document is dead-lettered with that record's bytes.
    ``trigger`` is, for a window document, the position of the record that closed (or
    updated) the window: replays close it at the same record, so outputs derived from the
    window can be ordered and deduplicated by that position (:func:`origin`).
    """

    doc_id: str
    action: str
    source: str
    record: SourceRecord | None = None
    flagged: bool = False
    body: dict | None = field(default=None, repr=False)
    trigger: Position | None = None


def window_record(doc: Document) -> SourceRecord:
    """A stand-in source record for a window document (its sources are many), so a rejected
    window is dead-lettered with its own body and id, at the position of the record that
    closed it (``window``, -1, -1 when unknown, as at the end of a file).

    Examples
    --------
    >>> doc = Document("tolls+Exit79+0", "", "{}", trigger=("tolls", 2, 90))
    >>> window_record(doc).position, window_record(Document("w", "", "{}")).position
    (('tolls', 2, 90), ('window', -1, -1))
    """
    topic, partition, offset = doc.trigger or ("window", -1, -1)
    return SourceRecord(topic, partition, offset, doc.source.encode(), doc.doc_id.encode())


#: Where an output derived from a document comes from: ``(topic, partition, offset, window
#: id or None)``; the last part tells apart several windows closed by one record.
Origin = tuple[str, int, int, str | None]


def origin(doc: Document) -> Origin | None:
    """The :data:`Origin` of a document (``None`` when it has no Kafka position).

    Examples
    --------
    >>> origin(Document("t+0+7", "", "{}", SourceRecord("t", 0, 7, b"")))
    ('t', 0, 7, None)
    >>> origin(Document("p+k+0", "", "{}", trigger=("t", 1, 9)))
    ('t', 1, 9, 'p+k+0')
    >>> origin(Document("p+k+0", "", "{}")) is None
    True
    """
    if doc.record is not None:
        return (*doc.record.position, None)
    if doc.trigger is not None:
        return (*doc.trigger, doc.doc_id)
    return None


@dataclass(slots=True)
class Rejection:
    """A record that goes to the error topic, with the reason and (from OpenSearch) a status.

    ``window`` is the id of a rejected window document (its record is a stand-in).
    """

    record: SourceRecord
    reason: str
    status: int | None = None
    window: str | None = None


def rejection_of(doc: Document, reason: str, status: int | None = None) -> Rejection:
    """The dead letter of a document OpenSearch refused: its record, or its window.

    Examples
    --------
    >>> r = rejection_of(Document("p+k+0", "", "{}", trigger=("t", 1, 9)), "too big", 400)
    >>> r.record.position, r.window, r.status
    (('t', 1, 9), 'p+k+0', 400)
    """
    if doc.record is not None:
        return Rejection(doc.record, reason, status)
    return Rejection(window_record(doc), reason, status, doc.doc_id)


@dataclass(slots=True)
class RunStats:
    """Counters of one run (what the run and demo commands print).

    ``records`` were read and scored; ``indexed``/``duplicates`` acknowledged by OpenSearch;
    ``dead_lettered`` delivered to the error topic (or found there already, or only logged
    without one), ``truncated`` of them cut to their first bytes; ``undeliverable`` could
    be neither indexed nor dead-lettered (logged, their offsets committed all the same);
    ``uncommitted`` records belong to batches left unfinished (a stop while a write kept
    failing): their offsets were not committed, and the next run replays them.
    """

    records: int = 0
    indexed: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    undeliverable: int = 0
    truncated: int = 0  # dead letters (or events) sent cut, too large for their topic
    uncommitted: int = 0
    flagged: int = 0
    events: int = 0
    batches: int = 0
    retries: int = 0
    abandoned: bool = False
    started: float = 0.0
    first_batch: float = 0.0  # when the first records arrived (group join excluded)
    last_batch: float = 0.0  # when the last batch was committed
    stage_seconds: float = 0.0  # preparing and scoring (CPU)
    wait_seconds: float = 0.0  # blocked on OpenSearch after scoring was done

    def rate(self) -> float:
        """Records per second from the first batch's arrival to the last commit."""
        elapsed = self.last_batch - self.first_batch
        return self.records / elapsed if elapsed > 0 else 0.0
