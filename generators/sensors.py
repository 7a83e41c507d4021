"""Sensors (SCENARIOS.md §5): one JSON reading per message, about 5 records/s, 151 sensors.

A plant, not a test pattern. Every sensor reports on its own schedule (every ``sensors /
rate`` seconds, 30 s by default, with a second of jitter; 0.3 % of readings are lost in
transit) and has its own normal level (20..120 °C), noise (standard deviation 0.3..2.5 °C,
log-uniform: a few noisy sensors, many quiet ones) and a daily cycle (0.5..3 °C, warmest in
the afternoon). Sensors belong to devices: consecutive id ranges of 2..6 sensors
(:data:`DEVICES`; the sensors pipeline lists the same ranges). Once a day, at its own hour,
each device is serviced: for 10..20 minutes its sensors cool towards the hall's 22 °C, then
warm back up, and they report status ``WARN`` until they are back (a normal maintenance dip,
not an anomaly). Otherwise status is ``OK`` (99.3 %), ``WARN`` (0.5 %) or ``FAIL`` (0.2 %).

Anomaly kinds, at fixed sizes (``default`` / ``subtle``), starting at a reading with
probability ``anomaly_rate`` on a sensor (device) with no episode and no service within the
next 90 minutes:

- ``spike``: one reading +40 °C / +15 °C (status OK or FAIL);
- ``drift``: +1 °C / +0.3 °C per reading over the sensor's next 20 readings;
- ``stuck``: the value frozen for 30 readings while status says OK (same at both strengths);
- ``slow_drift``: a ramp of 6..12 °C / 3..6 °C over 40..60 minutes;
- ``dropout``: the sensor goes silent for 20..40 / 5..10 minutes; the readings it did not send
  are labelled absent (``send=False``) and its first reading back carries the label;
- ``noisy``: its noise ×5 / ×3 for 30 readings;
- ``device_fault``: two sensors of one device move together, the same way, by 2 / 1.2 of
  their own noise standard deviations for 20 readings each.

Every reading of an episode carries the label. The Kafka key is the sensor id. ``count``
counts the readings sent (the first at ``start``); absent ones come on top.
"""

from __future__ import annotations

import heapq
import json
import math
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from generators.base import GeneratedRecord, check_args, check_kinds, iso_ms, pick

__all__ = ["DEVICES", "KINDS", "PROFILES", "SENSORS", "SIZES", "TOPIC", "records"]

TOPIC = "sensors"
SENSORS = 151  # ids 0..150
KINDS = ("spike", "drift", "stuck", "slow_drift", "dropout", "noisy", "device_fault")
SIZES = {
    "default": {"spike": 40.0, "drift": 1.0, "slow_drift": (6.0, 12.0), "dropout": (20, 40),
                "noisy": 5.0, "device_fault": 2.0},
    "subtle": {"spike": 15.0, "drift": 0.3, "slow_drift": (3.0, 6.0), "dropout": (5, 10),
               "noisy": 3.0, "device_fault": 1.2},
}
LENGTH = {"spike": 1, "drift": 20, "stuck": 30, "noisy": 30, "device_fault": 20}  # readings
STATUS = {"OK": 0.993, "WARN": 0.005, "FAIL": 0.002}
LOSS = 0.003  # share of readings lost in transit (a gap of two periods)
AMBIENT = 22.0  # °C of the hall a serviced device cools towards
DAY = 86_400.0


@dataclass(frozen=True)
class Profile:
    """One sensor's normal behaviour (fixed: it does not depend on the seed)."""

    level: float  # °C
    noise: float  # standard deviation, °C
    amplitude: float  # daily cycle, °C
    warmest: float  # seconds after midnight UTC
    device: int


def _devices(sensors: int) -> list[tuple[str, int, int]]:
    rng = random.Random(4321)
    out, first = [], 0
    while first < sensors:
        last = min(first + rng.randint(2, 6) - 1, sensors - 1)
        out.append((f"unit-{len(out) + 1:02d}", first, last))
        first = last + 1
    return out


DEVICES = _devices(SENSORS)  # (device, first sensor id, last sensor id)


def _profiles(sensors: int, devices: list[tuple[str, int, int]]) -> list[Profile]:
    rng = random.Random(1234)
    out = []
    for d, (_, first, last) in enumerate(devices):
        base = rng.uniform(30.0, 110.0)
        warmest = rng.uniform(13.0, 17.0) * 3600.0
        for _ in range(first, min(last, sensors - 1) + 1):
            out.append(Profile(
                level=min(max(base + rng.uniform(-10.0, 10.0), 20.0), 120.0),
                noise=math.exp(rng.uniform(math.log(0.3), math.log(2.5))),
                amplitude=rng.uniform(0.5, 3.0),
                warmest=warmest + rng.uniform(-1800.0, 1800.0),
                device=d,
            ))
    return out


PROFILES = _profiles(SENSORS, DEVICES)


class _Service:
    """A device's daily service: when it starts, how long it cools, how long it recovers."""

    def __init__(self, rng: random.Random, t0: float) -> None:
        self.hour = rng.uniform(0.0, DAY)  # seconds after midnight
        self.cool = rng.uniform(600.0, 1200.0)
        self.recover = 1200.0  # six time constants of 200 s: back within noise
        self.t0 = t0

    def start_before(self, t: float) -> float:
        """Start of the last service beginning at or before ``t``."""
        day = math.floor((t - self.hour) / DAY)
        return day * DAY + self.hour

    def phase(self, t: float) -> float | None:
        """Seconds into the service at ``t``, or ``None`` when not being serviced."""
        into = t - self.start_before(t)
        return into if into < self.cool + self.recover else None

    def busy_within(self, t: float, horizon: float) -> bool:
        nxt = self.start_before(t) + DAY
        return self.phase(t) is not None or nxt - t < horizon

    def temperature(self, into: float, normal: float) -> float:
        """The serviced sensor's temperature ``into`` seconds into the service."""
        low = AMBIENT + (normal - AMBIENT) * math.exp(-min(into, self.cool) / 240.0)
        if into <= self.cool:
            return low
        return normal + (low - normal) * math.exp(-(into - self.cool) / 200.0)


def records(
    count: int | None = 1000,
    rate: float = 5.0,
    anomaly_rate: float = 0.001,
    seed: int = 0,
    strength: str = "default",
    start: float | None = None,
    kinds: Sequence[str] | None = None,
    sensors: int = SENSORS,
) -> Iterator[GeneratedRecord]:
    """Yield ``count`` readings (``None`` = forever), event time from ``start`` (now).

    Examples
    --------
    >>> r = next(records(count=1, seed=2, start=1_800_000_000.0))
    >>> body = json.loads(r.value)
    >>> sorted(body), body["event_time"][:16]
    (['current_temperature', 'event_time', 'sensor_id', 'status'], '2027-01-15T08:00')
    >>> recs = list(records(count=20_000, anomaly_rate=0.01, seed=1, start=1_800_000_000.0))
    >>> sorted({r.label for r in recs if r.label})  # doctest: +NORMALIZE_WHITESPACE
    ['device_fault', 'drift', 'dropout', 'noisy', 'slow_drift', 'spike', 'stuck']
    """
    check_args(count, rate, anomaly_rate, strength)
    if not 2 <= sensors <= SENSORS:
        raise ValueError(f"sensors must be within [2, {SENSORS}], got {sensors}")
    chosen = check_kinds(kinds, KINDS)
    size = SIZES[strength]
    rng = random.Random(seed)
    t0 = time.time() if start is None else start
    period = sensors / rate
    profiles = PROFILES[:sensors]
    services = [_Service(random.Random(9000 + d), t0) for d in range(len(DEVICES))]
    offsets = [rng.uniform(0.0, period) for _ in range(sensors)]
    queue = [(t0 + o - min(offsets), s) for s, o in enumerate(offsets)]  # the first at t0
    heapq.heapify(queue)
    episodes: dict[int, dict] = {}  # sensor -> its running episode
    events = emitted = absent = 0  # emitted: sent readings (``count`` counts those)
    while count is None or emitted < count:
        ts, sensor = heapq.heappop(queue)
        heapq.heappush(queue, (ts + period + rng.uniform(-1.0, 1.0), sensor))
        prof = profiles[sensor]
        service = services[prof.device]
        episode = episodes.get(sensor)
        if episode is None and rng.random() < anomaly_rate:
            members = [s for s in range(sensors) if profiles[s].device == prof.device]
            if not service.busy_within(ts, 5400.0) and not any(m in episodes for m in members):
                events += 1
                episode = _start(rng.choice(chosen), events, sensor, members, size, rng, episodes)
        if episode is None and rng.random() < LOSS:
            continue  # lost in transit: a normal gap of two periods
        normal = prof.level + prof.amplitude * math.cos(2 * math.pi * (ts - prof.warmest) / DAY)
        noise = rng.gauss(0.0, prof.noise)
        status = pick(rng, STATUS)
        into = service.phase(ts)
        temp = normal + noise
        if into is not None:  # serviced: a dip, reported as WARN
            temp, status = service.temperature(into, normal) + noise, "WARN"
        label = event = None
        send = True
        if episode is not None:
            label, event = episode["kind"], episode["event"]
            temp, status, send, done = _apply(episode, temp, noise, status, prof, ts, rng)
            if done:
                del episodes[sensor]
            if not send:
                absent += 1
                yield _reading(sensor, temp, status, ts, label, event, f"absent-{absent:08d}",
                               send=False)
                continue
        yield _reading(sensor, temp, status, ts, label, event, f"reading-{emitted:08d}")
        emitted += 1


def _start(
    kind: str, event: int, sensor: int, members: list[int], size: dict, rng: random.Random,
    episodes: dict[int, dict],
) -> dict:
    """Register a new episode (two sensors for a device fault); return this sensor's."""
    ep = {"kind": kind, "event": event, "step": 0, "amount": size.get(kind)}
    if kind == "slow_drift":
        lo, hi = size["slow_drift"]
        ep.update(total=rng.uniform(lo, hi), steps=round(rng.uniform(40.0, 60.0) * 2))
    elif kind == "dropout":
        lo, hi = size["dropout"]
        ep.update(until=None, minutes=rng.uniform(lo, hi))
    elif kind == "device_fault":
        other = rng.choice([m for m in members if m != sensor])
        sign = rng.choice((-1.0, 1.0))
        episodes[other] = {**ep, "sign": sign}
        ep["sign"] = sign
    episodes[sensor] = ep
    return ep


def _apply(
    ep: dict, temp: float, noise: float, status: str, prof: Profile, ts: float,
    rng: random.Random,
) -> tuple[float, str, bool, bool]:
    """This reading under the episode: ``(temperature, status, sent, episode over)``."""
    kind = ep["kind"]
    ep["step"] += 1
    step = ep["step"]
    if kind == "spike":
        return temp + ep["amount"], ("FAIL" if rng.random() < 0.2 else "OK"), True, True
    if kind == "drift":
        return temp + ep["amount"] * step, status, True, step >= LENGTH["drift"]
    if kind == "stuck":
        frozen = ep.setdefault("frozen", round(temp, 2))
        return frozen, "OK", True, step >= LENGTH["stuck"]
    if kind == "slow_drift":
        return temp + ep["total"] * step / ep["steps"], status, True, step >= ep["steps"]
    if kind == "noisy":
        return temp + noise * (ep["amount"] - 1.0), status, True, step >= LENGTH["noisy"]
    if kind == "device_fault":
        shift = ep["sign"] * ep["amount"] * prof.noise
        return temp + shift, status, True, step >= LENGTH["device_fault"]
    # dropout: silent until `until`, then this reading is the first one back
    if ep["until"] is None:
        ep["until"] = ts + ep["minutes"] * 60.0
    if ts < ep["until"]:
        return temp, status, False, False
    return temp, status, True, True


def _reading(
    sensor: int, temp: float, status: str, ts: float, label: str | None, event: int | None,
    ident: str, send: bool = True,
) -> GeneratedRecord:
    body = {
        "sensor_id": sensor,
        "current_temperature": round(min(max(temp, 10.0), 150.0), 2),
        "status": status,
        "event_time": iso_ms(ts, zulu=False),
    }
    return GeneratedRecord(
        str(sensor).encode(), json.dumps(body).encode(), label, ident, event, ts, send,
    )
