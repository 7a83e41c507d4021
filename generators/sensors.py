"""Sensors (SCENARIOS.md §5): one JSON reading per message, about 5 records/s, 151 sensors.

Each sensor has its own baseline in 20..120 °C with a slow 6-hour ±1 °C wave and 0.5 °C noise;
status is OK 97 %, WARN 2.5 %, FAIL 0.5 %. Anomaly kinds, at fixed sizes (``default`` /
``subtle``), on the sensor of the record where the episode starts (episodes on different
sensors may overlap):

- ``spike``: one reading +40 °C / +15 °C;
- ``drift``: +1 °C / +0.3 °C per reading over the sensor's next 20 readings;
- ``stuck``: the value frozen for 30 readings while status says OK (same at both strengths).

Every reading of an episode carries the label. The Kafka key is the sensor id.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Iterator, Sequence

from generators.base import GeneratedRecord, check_args, check_kinds, iso_ms, pick

__all__ = ["KINDS", "SENSORS", "SIZES", "TOPIC", "records"]

TOPIC = "sensors"
SENSORS = 151  # ids 0..150
KINDS = ("spike", "drift", "stuck")
SIZES = {
    "default": {"spike": 40.0, "drift": 1.0},
    "subtle": {"spike": 15.0, "drift": 0.3},
}
LENGTH = {"spike": 1, "drift": 20, "stuck": 30}
STATUS = {"OK": 0.97, "WARN": 0.025, "FAIL": 0.005}
WAVE_PERIOD = 6 * 3600.0  # a slow cycle of ±1 °C on top of each baseline


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
    >>> sorted(body), body["event_time"]
    (['current_temperature', 'event_time', 'sensor_id', 'status'], '2027-01-15T08:00:00.000')
    """
    check_args(count, rate, anomaly_rate, strength)
    chosen = check_kinds(kinds, KINDS)
    size = SIZES[strength]
    rng = random.Random(seed)
    base = random.Random(1234)  # sensor baselines do not depend on the seed
    baseline = [base.uniform(20.0, 120.0) for _ in range(sensors)]
    phase = [base.uniform(0.0, 2 * math.pi) for _ in range(sensors)]
    t0 = time.time() if start is None else start
    episodes: dict[int, list] = {}  # sensor -> [kind, event, step, frozen value]
    events = 0
    for n in range(count) if count is not None else _forever():
        ts = t0 + n / rate
        sensor = rng.randrange(sensors)
        wave = 1.0 * math.sin(2 * math.pi * ts / WAVE_PERIOD + phase[sensor])
        temp = baseline[sensor] + wave + rng.gauss(0.0, 0.5)
        status = pick(rng, STATUS)
        if sensor not in episodes and rng.random() < anomaly_rate:
            events += 1
            episodes[sensor] = [rng.choice(chosen), events, 0, round(temp, 2)]
        label = event = None
        if sensor in episodes:
            kind, event, step, frozen = episodes[sensor]
            label, step = kind, step + 1
            if kind == "spike":
                temp += size["spike"]
            elif kind == "drift":
                temp += size["drift"] * step
            else:
                temp, status = frozen, "OK"
            episodes[sensor][2] = step
            if step >= LENGTH[kind]:
                del episodes[sensor]
        body = {
            "sensor_id": sensor,
            "current_temperature": round(min(max(temp, 10.0), 150.0), 2),
            "status": status,
            "event_time": iso_ms(ts, zulu=False),
        }
        yield GeneratedRecord(
            str(sensor).encode(), json.dumps(body).encode(), label, f"reading-{n:08d}", event, ts
        )


def _forever() -> Iterator[int]:
    n = 0
    while True:
        yield n
        n += 1
