"""Game-day web logs (SCENARIOS.md §1): enveloped JSON logs with labelled anomalies.

Normal traffic: ten paths, each with its own median response time (log-normal spread,
sigma 0.25); levels DEBUG 35 %, INFO 55 %, WARNING 9 %, ERROR 1 %. Anomaly kinds, at fixed
sizes (``default`` / ``subtle``):

- ``slow_response``: response time ×10 / ×3 of the path's median;
- ``error_burst``: 20 / 5 extra ERROR or CRITICAL lines spread over 8 s (within 10 s);
- ``info_slow``: an INFO line with a 9 s / 4 s response.

An episode starts at a normal record with probability ``anomaly_rate`` (never while a burst
is still running); every record of the episode carries the label. The Kafka key is the path.
"""

from __future__ import annotations

import heapq
import json
import random
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from generators.base import GeneratedRecord, check_args, check_kinds

__all__ = ["KINDS", "PATHS", "SIZES", "TOPIC", "records"]

TOPIC = "gameday"
# path -> median response time in seconds
PATHS = {
    "wp-content/list": 0.15,
    "wp-admin/login": 0.08,
    "api/v1/orders": 0.25,
    "api/v1/cart": 0.12,
    "search": 0.4,
    "explore/category": 0.2,
    "posts/recent": 0.1,
    "app/main": 0.05,
    "list/items": 0.3,
    "tags/popular": 0.18,
}
LEVELS = {"DEBUG": 0.35, "INFO": 0.55, "WARNING": 0.09, "ERROR": 0.01}
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
KINDS = ("slow_response", "error_burst", "info_slow")
SIZES = {  # the benchmark's fixed anomaly sizes
    "default": {"slow_factor": 10.0, "burst_lines": 20, "info_seconds": 9.0},
    "subtle": {"slow_factor": 3.0, "burst_lines": 5, "info_seconds": 4.0},
}
BURST_SPAN = 8.0  # seconds over which a burst's lines are spread (inside the 10 s rule)


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

    Examples
    --------
    >>> recs = list(records(count=300, anomaly_rate=0.05, seed=1, start=1_700_000_000.0))
    >>> first = json.loads(recs[0].value)
    >>> sorted(first), first["log_message"]["log_identifier"]
    (['log_message', 'start', 'stop'], 'LOG-000000')
    >>> sorted({r.label for r in recs if r.label})
    ['error_burst', 'info_slow', 'slow_response']
    >>> recs == list(records(count=300, anomaly_rate=0.05, seed=1, start=1_700_000_000.0))
    True
    """
    check_args(count, rate, anomaly_rate, strength)
    chosen = check_kinds(kinds, KINDS)
    size = SIZES[strength]
    rng = random.Random(seed)
    t0 = time.time() if start is None else start
    pending: list[tuple[float, int, dict[str, Any], str, int]] = []  # injected burst lines
    normal = emitted = events = 0
    burst_until = -1.0
    while count is None or emitted < count:
        t_normal = t0 + normal / rate
        if pending and pending[0][0] <= t_normal:
            ts, _, fields, label, event = heapq.heappop(pending)
            yield _record(emitted, ts, fields, label, event, rng)
            emitted += 1
            continue
        fields, label, event = _normal(rng), None, None
        if t_normal > burst_until and rng.random() < anomaly_rate:
            events += 1
            label, event = rng.choice(chosen), events
            if label == "slow_response":
                fields["response_time"] = PATHS[fields["path"]] * size["slow_factor"]
            elif label == "info_slow":
                fields.update(log_level="INFO", status_code=200, response_time=size["info_seconds"])
            else:
                n = size["burst_lines"]
                for j in range(n):
                    line = _normal(rng)
                    line["log_level"] = rng.choice(("ERROR", "CRITICAL"))
                    line["status_code"] = _pick(rng, STATUS[line["log_level"]])
                    heapq.heappush(pending, (t_normal + j * BURST_SPAN / n, j, line, label, event))
                burst_until = t_normal + BURST_SPAN
                label = event = None  # this record itself is normal; the burst lines follow
        yield _record(emitted, t_normal, fields, label, event, rng)
        emitted += 1
        normal += 1


def _normal(rng: random.Random) -> dict[str, Any]:
    path = rng.choice(list(PATHS))
    level = _pick(rng, LEVELS)
    return {
        "log_level": level,
        "path": path,
        "method": _pick(rng, METHODS),
        "status_code": _pick(rng, STATUS[level]),
        "response_time": PATHS[path] * rng.lognormvariate(0.0, 0.25),
    }


def _record(
    n: int,
    ts: float,
    fields: dict[str, Any],
    label: str | None,
    event: int | None,
    rng: random.Random,
) -> GeneratedRecord:
    log_id = f"LOG-{n:06d}"
    message = {
        "log_identifier": log_id,
        "timestamp": ts,
        "log_level": fields["log_level"],
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


def _pick(rng: random.Random, weights: dict[Any, float]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]
