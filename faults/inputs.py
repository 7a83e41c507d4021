"""The suite's input: generated scenario records, some made malformed or mapping-conflicting.

Every record carries its fate (``good``, ``malformed`` or ``conflict``) so the verdict can be
computed from the input alone. Malformed records fail decoding in different ways (cut JSON,
bytes that are not UTF-8, a missing envelope, a timestamp that is not a time); conflicting
records decode and score but carry an object where the index maps a keyword, so OpenSearch
rejects them with a 400 and they must land in the error topic too.

Windowed input (:func:`tolls_input`) keeps each record's event time, so the window counts
can be recomputed from the input alone. Its event time is a synthetic fast clock: it moves
by ``1 / event_rate`` per record whatever the wall-clock production rate, so 1,000,000
records make 10,000 s of traffic (1,000 ten-second windows per station) in minutes.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["CONFLICT_FIELD", "InputRecord", "gameday_input", "malform", "malform_csv",
           "tolls_input"]

#: The field a conflicting record sets to an object; the suite maps it as ``keyword``.
CONFLICT_FIELD = "user_id"
GOOD, MALFORMED, CONFLICT = "good", "malformed", "conflict"


@dataclass(frozen=True, slots=True)
class InputRecord:
    """One message to produce, with its identity (``LOG-…``) and its expected fate."""

    key: bytes | None
    value: bytes
    ident: str
    fate: str
    event_time: float | None = None  # windowed input: the record's event time (epoch s)


def malform(value: bytes, rng: random.Random) -> bytes:
    """A broken copy of a valid gameday message (four kinds of damage).

    Examples
    --------
    >>> rng = random.Random(3)
    >>> ok = b'{"start": "LOG_START", "log_message": {"timestamp": 1.0}, "stop": "LOG_END"}'
    >>> {malform(ok, rng) != ok for _ in range(8)}
    {True}
    """
    kind = rng.randrange(4)
    if kind == 0:
        return value[: rng.randrange(1, max(2, len(value) - 1))]
    if kind == 1:
        return b"\xff\xfe" + value
    body = json.loads(value)
    if kind == 2:
        return json.dumps(body["log_message"]).encode()
    body["log_message"]["timestamp"] = "not a time"
    return json.dumps(body).encode()


def gameday_input(
    count: int, *, seed: int = 11, malformed: float = 0.01, conflicts: float = 0.002,
    start: float = 1_790_000_000.0,
) -> Iterator[InputRecord]:
    """``count`` gameday records, a share of them malformed or mapping-conflicting.

    Examples
    --------
    >>> recs = list(gameday_input(2000, seed=1))
    >>> len(recs), sorted({r.fate for r in recs})
    (2000, ['conflict', 'good', 'malformed'])
    >>> 5 <= sum(r.fate == "malformed" for r in recs) <= 40
    True
    """
    from generators import gameday

    rng = random.Random(seed)
    for rec in gameday.records(count=count, rate=50.0, anomaly_rate=0.005, seed=seed,
                               start=start):
        draw = rng.random()
        if draw < malformed:
            yield InputRecord(rec.key, malform(rec.value, rng), rec.id, MALFORMED)
        elif draw < malformed + conflicts:
            body = json.loads(rec.value)
            body["log_message"][CONFLICT_FIELD] = {"conflict": rec.id}
            yield InputRecord(rec.key, json.dumps(body).encode(), rec.id, CONFLICT)
        else:
            yield InputRecord(rec.key, rec.value, rec.id, GOOD)


def malform_csv(value: bytes, rng: random.Random) -> bytes:
    """A broken copy of a valid ``date,toll,user`` line (four kinds of damage).

    Examples
    --------
    >>> rng = random.Random(3)
    >>> ok = b"2026-09-21T14:13:20.000Z,Exit66,JQ3QZ5"
    >>> {malform_csv(ok, rng) != ok for _ in range(8)}
    {True}
    """
    kind = rng.randrange(4)
    date, toll, user = value.split(b",")
    if kind == 0:
        return date + b"," + toll  # a column short
    if kind == 1:
        return b"\xff\xfe" + value  # not UTF-8
    if kind == 2:
        return b"not a time," + toll + b"," + user
    return value + b",extra"  # a column too many


def tolls_input(
    count: int, *, seed: int = 11, malformed: float = 0.01, event_rate: float = 100.0,
    start: float = 1_790_000_000.0,
) -> Iterator[InputRecord]:
    """``count`` toll passes (CSV, keyed by station), a share of them malformed.

    Event time starts at ``start`` and advances ``1 / event_rate`` s per record (the fast
    clock). There are no conflicting *records*: the suite's index refuses some *windows*
    instead (see :mod:`faults.scenarios`).

    Examples
    --------
    >>> recs = list(tolls_input(3000, seed=1))
    >>> len(recs), sorted({r.fate for r in recs}), recs[0].key
    (3000, ['good', 'malformed'], b'Exit66')
    >>> round(recs[1].event_time - recs[0].event_time, 6)
    0.01
    """
    from generators import tolls

    rng = random.Random(seed)
    for rec in tolls.records(count=count, rate=event_rate, seed=seed, start=start,
                             traffic="even"):
        if rng.random() < malformed:
            yield InputRecord(rec.key, malform_csv(rec.value, rng), rec.id, MALFORMED,
                              rec.timestamp)
        else:
            yield InputRecord(rec.key, rec.value, rec.id, GOOD, rec.timestamp)
