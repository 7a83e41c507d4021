"""Toll traffic that looks like production, with labelled episodes (issue 18).

What production has and the original stream had not:

- a **daily curve** (:data:`CURVE`): night at 0.3 of daytime, a morning rush ramping to x2.5
  between 07:00 and 08:00 UTC and an evening one around 17:30;
- **bunched arrivals**: vehicles come in platoons (geometric sizes, mean
  :data:`MEAN_PLATOON`) and each station has a traffic light (a cycle of 60-100 s, green
  half of it at 1.25x, red at 0.75x), so a 10-second count varies far more than a Poisson one;
- **stations 25x apart**: :data:`STATIONS` are daytime vehicles per 10 s, from 3.2 to 32
  (8 to 80 in the rush hour);
- **plates**: :data:`N_PLATES` plates, each with a home station (90 % of its passes) and an
  activity drawn from a Zipf-like law, so a few plates are very active.

Episode kinds (default / subtle size), each from the next window boundary, on one station
unless said (one episode per station at a time; none starts during a diversion, and a
station already in an episode when a diversion starts keeps its own label):

- ``sensor_failure``: the station reports 20 % / 60 % of its traffic for 5 windows
  (SCENARIOS.md), on one of the stations of at least :data:`FAILURE_MIN` vehicles per window;
- ``partial_drop``: the station reports 30 % / 50 % of its traffic for 5 minutes;
- ``long_silence``: the station reports nothing for 30 / 20 minutes;
- ``diversion``: the stations' shares move to :data:`~generators.tolls.DIVERTED` (35South
  surges, most drop) / half-way there, for 5 windows; every record of it is labelled;
- ``cloned_plate``: a plate is seen at another station within 40 s of a real pass, 3 times
  within 2 minutes / once (visible per plate, ``tolls-passes``, not in station counts).

Records an episode removed are yielded with ``send=False`` and the episode's label (the
truth of a drop or a silence is where traffic is missing). The end of the input (``count``
reached) is not an episode: nothing is labelled there.
"""

from __future__ import annotations

import heapq
import itertools
import random
import time
from collections.abc import Iterator, Sequence

from generators.base import (
    DailyCurve,
    GeneratedRecord,
    bunched_arrivals,
    check_args,
    check_kinds,
    iso_ms,
)

__all__ = ["CURVE", "DAYTIME_RATE", "KINDS", "N_PLATES", "SIZES", "STATIONS", "plates", "rush"]

STATIONS = {  # daytime vehicles per 10 s (x2.5 in the rush hours)
    "183A": 32.0,
    "35North": 26.0,
    "SH130": 20.0,
    "TX45": 15.0,
    "TX290": 11.0,
    "Exit79": 8.0,
    "Exit29": 6.0,
    "Exit620": 4.6,
    "Exit66": 3.8,
    "35South": 3.2,
}
DAYTIME_RATE = sum(STATIONS.values()) / 10.0  # vehicles/s of all stations at level 1
CURVE = DailyCurve(
    ((0, 0.3), (5, 0.3), (6, 0.8), (7, 1.0), (8, 2.5), (8.5, 2.5), (9.5, 1.1), (12, 1.0),
     (16, 1.0), (17, 2.5), (18, 2.5), (19, 1.0), (22, 0.5), (24, 0.3))
)
MEAN_PLATOON = 1.6
LIGHT = 1.25  # arrivals at a green light, per vehicle of the mean (2 - LIGHT at red)
N_PLATES = 3000
FAILURE_MIN = 8.0  # sensor failures on stations of at least this many vehicles per window
KINDS = ("sensor_failure", "partial_drop", "long_silence", "diversion", "cloned_plate")
SIZES = {
    "default": {"sensor_failure": 0.2, "partial_drop": 0.3, "long_silence": 1800.0,
                "diversion": 1.0, "cloned_plate": 3},
    "subtle": {"sensor_failure": 0.6, "partial_drop": 0.5, "long_silence": 1200.0,
               "diversion": 0.5, "cloned_plate": 1},
}
WINDOW = 10.0
SECONDS = {"sensor_failure": 50.0, "partial_drop": 300.0, "diversion": 50.0,
           "cloned_plate": 120.0}


def plates(seed: int) -> tuple[list[str], dict[str, list[str]], dict[str, list[float]]]:
    """The plate population: names, plates per home station, and their activity weights.

    >>> names, home, weight = plates(1)
    >>> len(names), sum(len(v) for v in home.values()), names[0]
    (3000, 3000, '7FHNYT')
    """
    rng = random.Random(f"plates-{seed}")
    alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    names = sorted({"".join(rng.choice(alphabet) for _ in range(6)) for _ in range(N_PLATES)})
    while len(names) < N_PLATES:  # a collision: draw more
        names = sorted({*names, "".join(rng.choice(alphabet) for _ in range(7))})
    rng.shuffle(names)
    stations = list(STATIONS)
    home: dict[str, list[str]] = {s: [] for s in stations}
    weight: dict[str, list[float]] = {s: [] for s in stations}
    for rank, name in enumerate(names, 1):
        station = rng.choices(stations, weights=list(STATIONS.values()))[0]
        home[station].append(name)
        weight[station].append(1.0 / rank**0.6)
    return names, home, weight


class _Episode:
    __slots__ = ("kind", "station", "begin", "end", "event", "clones", "size_of", "plate")

    def __init__(self, kind: str, station: str | None, begin: float, end: float, event: int):
        self.kind, self.station, self.begin, self.end = kind, station, begin, end
        self.event = event
        self.clones: list[float] = []
        self.size_of = 0.0  # a diversion's size
        self.plate = ""  # a cloned plate


def records(
    count: int | None = 1000,
    rate: float | None = None,
    anomaly_rate: float = 0.00005,
    seed: int = 0,
    strength: str = "default",
    start: float | None = None,
    kinds: Sequence[str] | None = None,
) -> Iterator[GeneratedRecord]:
    """Yield ``count`` realistic toll passes (``None`` = forever), event time from ``start``.

    ``rate`` scales all stations (vehicles/s at daytime level 1); ``anomaly_rate`` is the
    chance per vehicle that an episode starts (when its station is free).

    Examples
    --------
    >>> recs = list(records(count=3, seed=1, start=1_800_000_000.0))
    >>> [r.value.decode().split(",")[1] for r in recs], recs[0].label
    (['SH130', '183A', 'TX290'], None)
    """
    rate = DAYTIME_RATE if rate is None else rate
    check_args(count, rate, anomaly_rate, strength)
    chosen = check_kinds(kinds, KINDS)
    size = SIZES[strength]
    rng = random.Random(seed)
    t0 = time.time() - 1.0 if start is None else float(start)
    scale = rate / DAYTIME_RATE
    _names, home, weight = plates(seed)
    everyone = [p for s in STATIONS for p in home[s]]
    cumulative = {s: list(itertools.accumulate(w)) for s, w in weight.items()}
    light = {s: (rng.uniform(60.0, 100.0), rng.uniform(0.0, 100.0)) for s in STATIONS}
    from generators.tolls import DIVERTED

    diverted = {s: w / sum(DIVERTED.values()) for s, w in DIVERTED.items()}
    busy: dict[str, _Episode] = {}  # station -> its running episode
    divert: _Episode | None = None
    events = emitted = 0
    pending: list[tuple[float, int, str, str, str | None, int | None, bool]] = []
    serial = 0
    second = t0
    while count is None or emitted < count:
        level = CURVE.at(second) * scale
        total = sum(STATIONS.values()) / WINDOW * level
        if divert is not None and second >= divert.end:
            divert = None
        for station in [s for s, e in busy.items() if second >= e.end]:
            del busy[station]
        if rng.random() < anomaly_rate * total:
            events += 1
            episode = _start(rng, rng.choice(chosen), second, events, size, busy, divert)
            if episode is not None and episode.kind == "cloned_plate":
                episode.plate = rng.choices(home[episode.station],
                                            cum_weights=cumulative[episode.station])[0]
            if episode is not None and episode.kind == "diversion":
                divert = episode
            elif episode is not None:
                busy[episode.station] = episode
        live_divert = divert is not None and divert.begin <= second
        for station, volume in STATIONS.items():
            share = volume / sum(STATIONS.values())
            if live_divert:
                share += divert.size_of * (diverted[station] - share)
            period, phase = light[station]
            green = ((second + phase) % period) < period / 2
            per_s = total * share * (LIGHT if green else 2.0 - LIGHT)
            episode = busy.get(station)
            live = episode is not None and episode.begin <= second
            for _ in range(bunched_arrivals(rng, per_s, MEAN_PLATOON)):
                ts = second + rng.random()
                plate = (rng.choices(home[station], cum_weights=cumulative[station])[0]
                         if rng.random() < 0.9 else rng.choice(everyone))
                label, event, send = None, None, True
                if live and episode.kind in ("sensor_failure", "partial_drop", "long_silence"):
                    label, event = episode.kind, episode.event
                    kept = 0.0 if episode.kind == "long_silence" else size[episode.kind]
                    send = rng.random() < kept
                elif live_divert:  # a station in an episode of its own keeps its label
                    label, event = "diversion", divert.event
                serial += 1
                heapq.heappush(pending, (ts, serial, station, plate, label, event, send))
            if live and episode.kind == "cloned_plate":
                while episode.clones and episode.clones[0] < second + 1.0:
                    # the plate passes its home station, and its clone another within 40 s
                    ts = episode.clones.pop(0)
                    other = rng.choice([s for s in STATIONS if s != station])
                    heapq.heappush(pending, (ts, serial + 1, station, episode.plate, None,
                                             None, True))
                    heapq.heappush(pending, (ts + rng.uniform(5.0, 40.0), serial + 2, other,
                                             episode.plate, "cloned_plate", episode.event, True))
                    serial += 2
        second += 1.0
        while pending and pending[0][0] < second:
            ts, _, station, plate, label, event, send = heapq.heappop(pending)
            if count is not None and emitted >= count:
                return
            yield GeneratedRecord(station.encode(), f"{iso_ms(ts)},{station},{plate}".encode(),
                                  label, f"toll-{emitted:08d}", event, ts, send)
            emitted += 1


def _start(
    rng: random.Random, kind: str, now: float, event: int, size: dict, busy: dict,
    divert: _Episode | None,
) -> _Episode | None:
    """A new episode from the next window boundary, or None when its stations are busy."""
    begin = (now // WINDOW + 1) * WINDOW
    if divert is not None:
        return None
    if kind == "diversion":
        episode = _Episode(kind, None, begin, begin + SECONDS[kind], event)
        episode.size_of = size["diversion"]
        return episode
    stations = [s for s, v in STATIONS.items()
                if s not in busy and (kind != "sensor_failure" or v >= FAILURE_MIN)]
    if not stations:
        return None
    seconds = size[kind] if kind == "long_silence" else SECONDS[kind]
    episode = _Episode(kind, rng.choice(stations), begin, begin + seconds, event)
    if kind == "cloned_plate":
        episode.clones = sorted(begin + rng.uniform(0.0, seconds - 40.0)
                                for _ in range(size[kind]))
    return episode


def rush(ts: float) -> bool:
    """Whether ``ts`` is inside a rush hour or its ramps (the curve above 1.2x daytime).

    >>> rush(1_800_000_000.0), rush(1_800_000_000.0 - 7200)  # 08:00 and 06:00 UTC
    (True, False)
    """
    return CURVE.at(ts) > 1.2
