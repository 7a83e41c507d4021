"""Toll stations (SCENARIOS.md §2): one CSV line ``date,toll,user`` per vehicle.

By default the traffic looks like production (:mod:`generators.tolls_traffic`: a daily
curve with rush hours, bunched arrivals, stations 25x apart, six episode kinds). With
``traffic="even"``, the original stream: about 100 vehicles/s; stations weighted 0.1 each
except 35North 0.09 and 35South 0.01 (normalised), plates uniform. Anomaly kinds, at fixed
sizes (``default`` / ``subtle``), each lasting 5 ten-second windows from the next window
boundary:

- ``sensor_failure``: one station reports 20 % / 60 % of its traffic (the records it still
  reports carry the label);
- ``diversion``: the weights move to the diverted ones (35South surges, most drop) / half-way
  to them; every record of the episode carries the label.

An episode starts at a record with probability ``anomaly_rate`` when none is running. The
Kafka key is the station.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence

from generators.base import GeneratedRecord, check_args, check_kinds, iso_ms, pick
from generators.tolls_traffic import rush

__all__ = ["DIVERTED", "KINDS", "PLATES", "SIZES", "STATIONS", "TOPIC", "records", "rush"]

TOPIC = "tolls"
STATIONS = {
    "183A": 0.1,
    "SH130": 0.1,
    "TX45": 0.1,
    "TX290": 0.1,
    "Exit79": 0.1,
    "Exit29": 0.1,
    "Exit620": 0.1,
    "Exit66": 0.1,
    "35North": 0.09,
    "35South": 0.01,
}
DIVERTED = dict(
    zip(STATIONS, (0.02, 0.04, 0.05, 0.06, 0.02, 0.02, 0.02, 0.02, 0.02, 0.1), strict=True)
)
PLATES = (
    "6LD7N",
    "JQ3QZ5",
    "J80DP4",
    "T4OFLD",
    "AECZV8",
    "EDMTT",
    "ULORSTX",
    "XHRRET",
    "UMC6IZ",
    "XSUEJA",
)
KINDS = ("sensor_failure", "diversion")
SIZES = {  # the benchmark's fixed anomaly sizes
    "default": {"reported": 0.2, "diversion": 1.0},
    "subtle": {"reported": 0.6, "diversion": 0.5},
}
WINDOW = 10.0
EPISODE_WINDOWS = 5


def records(
    count: int | None = 1000,
    rate: float | None = None,
    anomaly_rate: float = 0.00005,
    seed: int = 0,
    strength: str = "default",
    start: float | None = None,
    kinds: Sequence[str] | None = None,
    traffic: str = "realistic",
) -> Iterator[GeneratedRecord]:
    """Yield ``count`` CSV lines (``None`` = forever), event time from ``start`` (now).

    ``traffic="realistic"`` (default): :mod:`generators.tolls_traffic` (daily curve, rush
    hours, bunched arrivals, volumes 25x apart; ``rate``: vehicles/s of all stations at
    daytime level, default :data:`~generators.tolls_traffic.DAYTIME_RATE`) with every kind of
    :data:`~generators.tolls_traffic.KINDS`. ``traffic="even"``: the original stream, one
    vehicle every ``1 / rate`` s (default 100/s) with the original weights, kinds
    :data:`KINDS` (the fault suite's fast clock).

    Examples
    --------
    >>> recs = list(records(count=5, seed=1, start=1_800_000_000.0, traffic="even"))
    >>> recs[0].value
    b'2027-01-15T08:00:00.000Z,Exit66,JQ3QZ5'
    >>> recs[0].key, recs[0].label
    (b'Exit66', None)
    """
    if traffic == "realistic":
        from generators import tolls_traffic

        yield from tolls_traffic.records(count, rate, anomaly_rate, seed, strength, start, kinds)
        return
    if traffic != "even":
        raise ValueError(f"traffic must be realistic or even, got {traffic!r}")
    rate = 100.0 if rate is None else rate
    check_args(count, rate, anomaly_rate, strength)
    chosen = check_kinds(kinds, KINDS)
    size = SIZES[strength]
    rng = random.Random(seed)
    t0 = time.time() if start is None else start
    normal = _normalised(STATIONS)
    emitted = draws = events = 0
    episode: tuple[str, str, float, float] | None = None  # kind, station, begin, end
    while count is None or emitted < count:
        ts = t0 + draws / rate
        draws += 1
        if episode is not None and ts >= episode[3]:
            episode = None
        if episode is None and rng.random() < anomaly_rate:
            events += 1
            begin = (ts // WINDOW + 1) * WINDOW  # whole windows, from the next boundary
            station = rng.choice([s for s, w in STATIONS.items() if w >= 0.09])
            episode = (rng.choice(chosen), station, begin, begin + EPISODE_WINDOWS * WINDOW)
        active = episode is not None and episode[2] <= ts
        weights = normal
        if active and episode[0] == "diversion":
            weights = {
                s: w + size["diversion"] * (DIVERTED[s] / sum(DIVERTED.values()) - w)
                for s, w in normal.items()
            }
        station = pick(rng, weights)
        plate = rng.choice(PLATES)
        label = None
        if active:
            kind, failing = episode[0], episode[1]
            if kind == "diversion":
                label = kind
            elif station == failing:
                if rng.random() >= size["reported"]:
                    continue  # the failed sensor misses this vehicle
                label = kind
        value = f"{iso_ms(ts)},{station},{plate}".encode()
        yield GeneratedRecord(
            station.encode(), value, label, f"toll-{emitted:08d}", events if label else None, ts
        )
        emitted += 1


def _normalised(weights: dict[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    return {k: v / total for k, v in weights.items()}
