"""Game-day web logs (SCENARIOS.md §1): enveloped JSON logs with labelled anomalies.

Traffic that looks like production:

- a daily load curve: the request rate swings between 0.25 and 1.75 times ``rate`` (busiest
  at 10:00 UTC), with random (exponential) gaps between requests;
- twelve paths whose median response times differ by 375 times (8 ms to 3 s), each with its
  own log-normal spread (sigma 0.2..0.3), popularity and a mild slow-down at peak load;
- each path is served by a service that logs with one library's level names: Python
  (``DEBUG INFO WARNING ERROR CRITICAL``), Java log4j (``TRACE DEBUG INFO WARN ERROR
  FATAL``), java.util.logging (``FINE INFO WARNING SEVERE``), Go (``debug info warn error
  panic``), syslog (``debug info notice warning err crit alert emerg``);
- normal levels: debug 30 %, info 58 %, warning 12 %, error 0.1 % (isolated ERROR lines), and
  every few minutes a normal burst of 10..40 warnings in 5..20 s (a client hitting a rate
  limit, status 429).

Anomaly kinds, at fixed sizes (``default`` / ``subtle``):

- ``slow_response``: response time ×10 / ×3 of the path's median;
- ``error_burst``: 20 / 5 extra error or critical lines (in each service's spelling) spread
  over 8 s (within 10 s);
- ``info_slow``: an info line with a 9 s / 4 s response, on a path whose median is at most
  0.45 s (on the 3 s export path 4 s is normal);
- ``latency_creep``: one path's response times grow steadily to ×4 / ×2 over 10 minutes, then
  recover; every request of that path in those minutes carries the label;
- ``unknown_level``: one line whose level is no library's name (``AUDIT3``, ``SEV7``...), the
  same at both strengths.

An episode starts at a normal record with probability ``anomaly_rate`` (never while a burst
is still running); every record of the episode carries the label. The Kafka key is the path.
"""

from __future__ import annotations

import heapq
import json
import math
import random
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from generators.base import GeneratedRecord, check_args, check_kinds, pick

__all__ = ["KINDS", "LIBRARIES", "PATHS", "SIZES", "TOPIC", "load", "records"]

TOPIC = "gameday"
# path -> (median response time s, log-normal sigma, popularity, logging library)
PROFILES = {
    "static/app.js": (0.008, 0.20, 0.15, "go"),
    "app/main": (0.03, 0.20, 0.13, "go"),
    "posts/recent": (0.06, 0.22, 0.12, "python"),
    "wp-admin/login": (0.09, 0.20, 0.04, "java"),
    "api/v1/cart": (0.12, 0.22, 0.10, "java"),
    "wp-content/list": (0.15, 0.25, 0.10, "python"),
    "tags/popular": (0.2, 0.25, 0.08, "syslog"),
    "api/v1/orders": (0.35, 0.25, 0.08, "java"),
    "search": (0.45, 0.30, 0.07, "jul"),
    "list/items": (0.8, 0.25, 0.06, "python"),
    "reports/daily": (1.5, 0.30, 0.04, "jul"),
    "export/csv": (3.0, 0.30, 0.03, "syslog"),
}
PATHS = {path: p[0] for path, p in PROFILES.items()}  # path -> median response time (s)
# library -> canonical level -> its spellings (first is the usual one, then weights)
LIBRARIES = {
    "python": {"DEBUG": {"DEBUG": 1}, "INFO": {"INFO": 1}, "WARNING": {"WARNING": 1},
               "ERROR": {"ERROR": 1}, "CRITICAL": {"CRITICAL": 1}},
    "java": {"DEBUG": {"DEBUG": 0.7, "TRACE": 0.3}, "INFO": {"INFO": 1}, "WARNING": {"WARN": 1},
             "ERROR": {"ERROR": 1}, "CRITICAL": {"FATAL": 1}},
    "jul": {"DEBUG": {"FINE": 1}, "INFO": {"INFO": 1}, "WARNING": {"WARNING": 1},
            "ERROR": {"SEVERE": 1}, "CRITICAL": {"SEVERE": 1}},
    "go": {"DEBUG": {"debug": 1}, "INFO": {"info": 1}, "WARNING": {"warn": 1},
           "ERROR": {"error": 1}, "CRITICAL": {"panic": 1}},
    "syslog": {"DEBUG": {"debug": 1}, "INFO": {"info": 0.7, "notice": 0.3},
               "WARNING": {"warning": 1}, "ERROR": {"err": 1},
               "CRITICAL": {"crit": 0.5, "alert": 0.3, "emerg": 0.2}},
}
UNKNOWN_STEMS = ("AUDIT", "SEV", "PRIO", "LEVEL", "NOTE")  # + a digit: no library's name
LEVELS = {"DEBUG": 0.30, "INFO": 0.58, "WARNING": 0.119, "ERROR": 0.001}
METHODS = {"GET": 0.7, "POST": 0.2, "PUT": 0.05, "DELETE": 0.05}
STATUS = {
    "DEBUG": {200: 0.9, 304: 0.05, 404: 0.05},
    "INFO": {200: 0.9, 201: 0.05, 301: 0.05},
    "WARNING": {400: 0.4, 404: 0.4, 429: 0.2},
    "ERROR": {500: 0.5, 502: 0.3, 503: 0.2},
    "CRITICAL": {500: 0.5, 503: 0.5},
}
WORDS = (
    "seat west value able major light river stone early paper green north table "
    "quick order build field small plain house"
).split()
KINDS = ("slow_response", "error_burst", "info_slow", "latency_creep", "unknown_level")
SIZES = {  # the benchmark's fixed anomaly sizes
    "default": {"slow_factor": 10.0, "burst_lines": 20, "info_seconds": 9.0, "creep": 4.0},
    "subtle": {"slow_factor": 3.0, "burst_lines": 5, "info_seconds": 4.0, "creep": 2.0},
}
BURST_SPAN = 8.0  # seconds over which a burst's lines are spread (inside the 10 s rule)
CREEP_SECONDS = 600.0
INFO_SLOW_PATHS = tuple(p for p, m in PATHS.items() if m <= 0.45)
WARN_BURST = 1 / 4000  # chance per normal record that a normal warning burst starts
DAY = 86_400.0
PEAK = 10 * 3600.0  # busiest time of day, seconds after midnight UTC
SWING = 0.75  # load between 1 - SWING and 1 + SWING times the mean rate


def load(ts: float) -> float:
    """The daily load curve: request rate at ``ts`` over the mean rate.

    >>> round(load(1_800_000_000.0 + 2 * 3600), 2), round(load(1_800_000_000.0 + 14 * 3600), 2)
    (1.75, 0.25)
    """
    return 1.0 + SWING * math.cos(2 * math.pi * (ts - PEAK) / DAY)


def records(
    count: int | None = 1000,
    rate: float = 20.0,
    anomaly_rate: float = 0.001,
    seed: int = 0,
    strength: str = "default",
    start: float | None = None,
    kinds: Sequence[str] | None = None,
) -> Iterator[GeneratedRecord]:
    """Yield ``count`` log messages (``None`` = forever), event time from ``start`` (now).

    ``rate`` is the mean request rate over a day (the load curve moves it, see :func:`load`).

    Examples
    --------
    >>> recs = list(records(count=3000, anomaly_rate=0.01, seed=1, start=1_700_000_000.0))
    >>> first = json.loads(recs[0].value)
    >>> sorted(first), first["log_message"]["log_identifier"]
    (['log_message', 'start', 'stop'], 'LOG-000000')
    >>> sorted({r.label for r in recs if r.label})  # doctest: +NORMALIZE_WHITESPACE
    ['error_burst', 'info_slow', 'latency_creep', 'slow_response', 'unknown_level']
    >>> recs == list(records(count=3000, anomaly_rate=0.01, seed=1, start=1_700_000_000.0))
    True
    """
    check_args(count, rate, anomaly_rate, strength)
    chosen = check_kinds(kinds, KINDS)
    size = SIZES[strength]
    rng = random.Random(seed)
    t_normal = time.time() if start is None else start
    pending: list[tuple[float, int, dict[str, Any], str | None, int | None]] = []  # bursts
    creeps: dict[str, tuple[float, int]] = {}  # path -> (creep start, event)
    emitted = events = seq = 0
    burst_until = -1.0
    while count is None or emitted < count:
        if pending and pending[0][0] <= t_normal:
            ts, _, fields, label, event = heapq.heappop(pending)
            yield _record(emitted, ts, fields, label, event, rng)
            emitted += 1
            continue
        fields, label, event = _normal(rng, t_normal), None, None
        creep = creeps.get(fields["path"])
        if creep is not None:
            into = (t_normal - creep[0]) / CREEP_SECONDS
            if into >= 1.0:
                del creeps[fields["path"]]
            else:
                fields["response_time"] *= 1.0 + (size["creep"] - 1.0) * into
                label, event = "latency_creep", creep[1]
        if label is None and t_normal > burst_until and rng.random() < anomaly_rate:
            events += 1
            label, event = rng.choice(chosen), events
            if label == "slow_response":
                fields["response_time"] = PATHS[fields["path"]] * size["slow_factor"]
            elif label == "info_slow":
                path = rng.choice(INFO_SLOW_PATHS)
                fields.update(path=path, level="INFO", status_code=200,
                              response_time=size["info_seconds"])
            elif label == "unknown_level":
                fields["spelling"] = rng.choice(UNKNOWN_STEMS) + str(rng.randint(1, 9))
            elif label == "latency_creep":
                if fields["path"] in creeps:
                    label = event = None  # that path is creeping already
                    events -= 1
                else:
                    creeps[fields["path"]] = (t_normal, events)
            else:
                n = size["burst_lines"]
                for j in range(n):
                    line = _normal(rng, t_normal)
                    line["level"] = rng.choice(("ERROR", "CRITICAL"))
                    line["status_code"] = pick(rng, STATUS[line["level"]])
                    seq += 1
                    heapq.heappush(
                        pending, (t_normal + j * BURST_SPAN / n, seq, line, label, event)
                    )
                burst_until = t_normal + BURST_SPAN
                label = event = None  # this record itself is normal; the burst lines follow
        elif label is None and rng.random() < WARN_BURST:
            _warning_burst(rng, t_normal, pending, seq)
            seq += 40
        yield _record(emitted, t_normal, fields, label, event, rng)
        emitted += 1
        t_normal += rng.expovariate(rate * load(t_normal))


def _warning_burst(rng: random.Random, t: float, pending: list, seq: int) -> None:
    """A normal burst: one client hitting a rate limit, 10..40 warnings in 5..20 s."""
    path = pick(rng, {p: v[2] for p, v in PROFILES.items()})
    lines, span = rng.randint(10, 40), rng.uniform(5.0, 20.0)
    for j in range(lines):
        line = _normal(rng, t, path)
        line.update(level="WARNING", status_code=429)
        heapq.heappush(pending, (t + rng.uniform(0.0, span), seq + j, line, None, None))


def _normal(rng: random.Random, t: float, path: str | None = None) -> dict[str, Any]:
    path = path or pick(rng, {p: v[2] for p, v in PROFILES.items()})
    median, sigma, _, _ = PROFILES[path]
    level = pick(rng, LEVELS)
    slower = 1.0 + 0.15 * (load(t) - 1.0)  # a little slower at peak load
    return {
        "level": level,
        "path": path,
        "method": pick(rng, METHODS),
        "status_code": pick(rng, STATUS[level]),
        "response_time": median * slower * rng.lognormvariate(0.0, sigma),
    }


def spelling(rng: random.Random, path: str, level: str) -> str:
    """How the service behind ``path`` writes the canonical ``level``.

    >>> rng = random.Random(1)
    >>> spelling(rng, "api/v1/cart", "WARNING"), spelling(rng, "app/main", "CRITICAL")
    ('WARN', 'panic')
    """
    return pick(rng, LIBRARIES[PROFILES[path][3]][level])


def _record(
    n: int,
    ts: float,
    fields: dict[str, Any],
    label: str | None,
    event: int | None,
    rng: random.Random,
) -> GeneratedRecord:
    log_id = f"LOG-{n:06d}"
    level = fields.get("spelling") or spelling(rng, fields["path"], fields["level"])
    message = {
        "log_identifier": log_id,
        "timestamp": ts,
        "log_level": level,
        "ip_address": ".".join(str(rng.randint(1, 254)) for _ in range(4)),
        "user_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "method": fields["method"],
        "path": fields["path"],
        "status_code": fields["status_code"],
        "response_time": round(fields["response_time"], 3),
        "message": " ".join(rng.choice(WORDS) for _ in range(5)).capitalize() + ".",
    }
    body = {"start": "LOG_START", "log_message": message, "stop": "LOG_END"}
    return GeneratedRecord(
        fields["path"].encode(), json.dumps(body).encode(), label, log_id, event, ts
    )
