"""What every generator shares: the record type, Kafka production, labels files, pacing.

Labels never travel in the payload: a labelled record carries Kafka headers ``label`` (the
anomaly kind) and ``label.event`` (the episode number, so a burst of 20 lines is one event);
an unlabelled record has neither. The labels file is JSON Lines, one object per labelled
record: ``{"id", "kind", "event", "timestamp", "key"}``, plus ``"absent": true`` for a record
the anomaly removed (a pair that stopped talking): such records are yielded with
``send=False`` so the truth is complete, and are never sent.

Event time is anchored to ``start`` (now by default) and advances by ``1 / rate`` per record;
:func:`produce` with ``pace=True`` sleeps so wall time follows event time, ``pace=False`` is the
fast synthetic clock tests use (event times still advance at ``rate``).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

logger = logging.getLogger(__name__)

__all__ = [
    "iso_ms",
    "pick",
    "STRENGTHS",
    "GeneratedRecord",
    "ProduceStats",
    "DailyCurve",
    "bunched_arrivals",
    "check_args",
    "poisson",
    "produce",
    "write_labels",
    "write_lines",
]

STRENGTHS = ("default", "subtle")


@dataclass(frozen=True, slots=True)
class GeneratedRecord:
    """One generated message: Kafka ``key`` and ``value`` plus its ground truth."""

    key: bytes | None
    value: bytes
    label: str | None
    id: str
    event: int | None
    timestamp: float
    send: bool = True  # False: a record the anomaly removed; only its label is written

    def __iter__(self) -> Iterator[Any]:
        """Unpacks as ``key, value, label`` (the shape the demo and tests iterate over).

        >>> key, value, label = GeneratedRecord(b"k", b"v", None, "id-1", None, 0.0)
        >>> key, value, label
        (b'k', b'v', None)
        """
        return iter((self.key, self.value, self.label))

    @property
    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers carrying the label (empty for a normal record)."""
        if self.label is None:
            return []
        return [("label", self.label.encode()), ("label.event", str(self.event).encode())]

    def label_line(self) -> dict[str, Any]:
        """The labels-file object of this record."""
        key = self.key.decode() if self.key is not None else None
        line = {
            "id": self.id,
            "kind": self.label,
            "event": self.event,
            "timestamp": self.timestamp,
            "key": key,
        }
        if not self.send:
            line["absent"] = True  # removed by the anomaly (a pair that stopped talking)
        return line


@dataclass
class ProduceStats:
    """What :func:`produce` did."""

    sent: int = 0
    labelled: int = 0
    failed: int = 0
    seconds: float = 0.0


def check_args(count: int | None, rate: float, anomaly_rate: float, strength: str) -> None:
    """Reject impossible generator arguments early, with the rule broken.

    >>> check_args(10, 0, 0.1, "default")
    Traceback (most recent call last):
    ...
    ValueError: rate must be > 0, got 0
    """
    if count is not None and count < 0:
        raise ValueError(f"count must be ≥ 0, got {count}")
    if not rate > 0:
        raise ValueError(f"rate must be > 0, got {rate}")
    if not 0 <= anomaly_rate <= 1:
        raise ValueError(f"anomaly_rate must be within [0, 1], got {anomaly_rate}")
    if strength not in STRENGTHS:
        raise ValueError(f"strength must be one of {', '.join(STRENGTHS)}, got {strength!r}")


def produce(
    records: Iterable[GeneratedRecord],
    *,
    bootstrap: str,
    topic: str,
    pace: bool = True,
    labels_file: str | Path | None = None,
    producer_config: dict[str, Any] | None = None,
    flush_timeout: float = 60.0,
) -> ProduceStats:
    """Send records to Kafka with their label headers; optionally write the labels file.

    With ``pace=True`` this **blocks by calling time.sleep** so that records leave at their
    event-time rate. Raises ``RuntimeError`` when any delivery failed or the final flush timed
    out (generated data must arrive complete to be a benchmark).
    """
    from confluent_kafka import Producer

    config = {"bootstrap.servers": bootstrap, "linger.ms": 20, "enable.idempotence": True}
    config.update(producer_config or {})
    producer = Producer(config)
    stats = ProduceStats()
    errors: list[str] = []

    def on_delivery(err: Any, _msg: Any) -> None:
        if err is not None:
            errors.append(str(err))

    labels = open(labels_file, "a", encoding="utf-8") if labels_file else None  # noqa: SIM115
    began = time.monotonic()
    first_ts: float | None = None
    try:
        for rec in records:
            if pace:
                first_ts = rec.timestamp if first_ts is None else first_ts
                delay = (rec.timestamp - first_ts) - (time.monotonic() - began)
                if delay > 0:
                    producer.poll(0)
                    time.sleep(delay)
            if rec.send:
                _send(producer, topic, rec, on_delivery)
                stats.sent += 1
            if rec.label is not None:
                stats.labelled += 1
                if labels is not None:
                    labels.write(json.dumps(rec.label_line()) + "\n")
        remaining = producer.flush(flush_timeout)
    finally:
        if labels is not None:
            labels.close()
    stats.seconds = time.monotonic() - began
    stats.failed = len(errors) + remaining
    if stats.failed:
        first = errors[0] if errors else f"{remaining} still queued after {flush_timeout}s"
        raise RuntimeError(
            f"{stats.failed} of {stats.sent} records not delivered to {topic}: {first}"
        )
    return stats


def _send(producer: Any, topic: str, rec: GeneratedRecord, on_delivery: Any) -> None:
    while True:
        try:
            producer.produce(
                topic,
                value=rec.value,
                key=rec.key,
                headers=rec.headers,
                timestamp=int(rec.timestamp * 1000),
                on_delivery=on_delivery,
            )
            producer.poll(0)
            return
        except BufferError:
            producer.poll(0.5)  # local queue full: wait for deliveries, then retry


def write_labels(records: Iterable[GeneratedRecord], path: str | Path) -> Iterator[GeneratedRecord]:
    """Pass records through, appending each labelled one to the JSONL labels file."""
    with open(path, "a", encoding="utf-8") as out:
        for rec in records:
            if rec.label is not None:
                out.write(json.dumps(rec.label_line()) + "\n")
            yield rec


def write_lines(records: Iterable[GeneratedRecord], stream: IO[str] | None = None) -> int:
    """Write one value per line (for the file/stdin source); returns the number written."""
    out = stream or sys.stdout
    n = 0
    for rec in records:
        if rec.send:
            out.write(rec.value.decode() + ("" if rec.value.endswith(b"\n") else "\n"))
            n += 1
    return n


def pick(rng: Any, weights: dict[Any, float]) -> Any:
    """One key of ``weights`` drawn with those relative weights (they need not sum to 1)."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def iso_ms(ts: float, zulu: bool = True) -> str:
    """Epoch seconds as ``YYYY-MM-DDTHH:MM:SS.mmm`` (UTC), with ``Z`` unless ``zulu=False``.

    >>> iso_ms(1_800_000_000.1234), iso_ms(0, zulu=False)
    ('2027-01-15T08:00:00.123Z', '1970-01-01T00:00:00.000')
    """
    from datetime import UTC, datetime

    text = datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    return text + "Z" if zulu else text


def check_kinds(kinds: Any, known: tuple[str, ...]) -> tuple[str, ...]:
    """The anomaly kinds to inject: all ``known`` ones by default, else a checked subset.

    >>> check_kinds(None, ("a", "b")), check_kinds(["b"], ("a", "b"))
    (('a', 'b'), ('b',))
    >>> check_kinds(["c"], ("a", "b"))
    Traceback (most recent call last):
    ...
    ValueError: unknown anomaly kind(s) c; known: a, b
    """
    if not kinds:
        return known
    chosen = tuple(kinds)
    unknown = [k for k in chosen if k not in known]
    if unknown:
        raise ValueError(f"unknown anomaly kind(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return chosen


class DailyCurve:
    """A traffic multiplier over the day: piecewise linear between ``(hour, level)`` points.

    Hours are UTC hours of event time in ``[0, 24]``; the curve wraps at midnight.

    Examples
    --------
    >>> curve = DailyCurve(((0, 0.5), (7, 1.0), (8, 2.5), (10, 1.0), (24, 0.5)))
    >>> [round(curve.at(h * 3600.0), 2) for h in (0, 7, 7.5, 8, 9, 12)]
    [0.5, 1.0, 1.75, 2.5, 1.75, 0.93]
    """

    def __init__(self, points: tuple[tuple[float, float], ...]) -> None:
        hours = [h for h, _ in points]
        if hours != sorted(hours) or hours[0] != 0 or hours[-1] != 24:
            raise ValueError(f"curve points must run in order from hour 0 to 24, got {hours}")
        if any(level < 0 for _, level in points):
            raise ValueError("curve levels must be >= 0")
        self.points = points

    def at(self, ts: float) -> float:
        """The multiplier at epoch seconds ``ts``."""
        hour = (ts % 86_400.0) / 3600.0
        for (h0, v0), (h1, v1) in zip(self.points, self.points[1:], strict=False):
            if h0 <= hour <= h1:
                return v0 if h1 == h0 else v0 + (v1 - v0) * (hour - h0) / (h1 - h0)
        return self.points[-1][1]


def bunched_arrivals(rng: Any, rate: float, mean_bunch: float) -> int:
    """Vehicles (or events) in one second arriving in bunches: a Poisson number of bunches,
    each of a geometric size with mean ``mean_bunch`` (>= 1); ``rate`` is per second.

    Over-dispersed: the variance of a count is about ``2 * mean_bunch - 1`` times its mean.

    >>> import random
    >>> rng = random.Random(1)
    >>> xs = [bunched_arrivals(rng, 2.0, 2.0) for _ in range(20_000)]
    >>> round(sum(xs) / len(xs), 1)
    2.0
    """
    bunches = poisson(rng, rate / mean_bunch)
    total = 0
    stop = 1.0 / mean_bunch
    for _ in range(bunches):
        size = 1
        while rng.random() >= stop:
            size += 1
        total += size
    return total


def poisson(rng: Any, mean: float) -> int:
    """A Poisson draw (Knuth's product method for small means, normal beyond 30).

    >>> import random
    >>> rng = random.Random(2)
    >>> round(sum(poisson(rng, 3.0) for _ in range(10_000)) / 10_000, 1)
    3.0
    """
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, mean**0.5)))
    limit, k, product = pow(2.718281828459045, -mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k
