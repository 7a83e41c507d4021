"""Flow logs (SCENARIOS.md §6): one JSON flow record per message, in the VPC flow-log spirit.

Twenty services talk along a fixed graph of 60 pairs (the same for every seed), about
300 records/s in total; each pair has its own share of traffic, port, protocol and byte
sizes, and 5 % of its flows are rejected. Anomaly kinds, each lasting 3 minutes, at fixed
sizes (``default`` / ``subtle``):

- ``pair_stop``: a pair drops to 0 flows / 30 % of its flows (a bad deploy). The flows it
  no longer sends are yielded with ``send=False`` so the labels file still records them;
- ``rejects_jump``: a pair's rejects ×10 / ×3;
- ``new_pair``: a pair that never talked before starts talking.

The Kafka key is the pair, ``src->dst``.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator, Sequence
from typing import Any

from generators.base import GeneratedRecord, check_args, check_kinds, pick

__all__ = ["KINDS", "PAIRS", "SERVICES", "SIZES", "TOPIC", "pair_key", "records"]

TOPIC = "flowlogs"
SERVICES = (
    "frontend",
    "checkout",
    "payments",
    "cart",
    "catalog",
    "search",
    "auth",
    "users",
    "orders",
    "shipping",
    "inventory",
    "pricing",
    "reviews",
    "recommend",
    "email",
    "notify",
    "ledger",
    "fraud",
    "gateway",
    "reports",
)
KINDS = ("pair_stop", "rejects_jump", "new_pair")
SIZES = {
    "default": {"stop_keep": 0.0, "reject_factor": 10.0},
    "subtle": {"stop_keep": 0.3, "reject_factor": 3.0},
}
EPISODE = 180.0
REJECT_P = 0.05  # normal share of rejected flows (so ×3 is visible above noise)


def _graph() -> dict[tuple[str, str], dict[str, Any]]:
    rng = random.Random(20261122)  # fixed: the graph is part of the scenario
    pairs: dict[tuple[str, str], dict[str, Any]] = {}
    while len(pairs) < 60:
        src, dst = rng.sample(SERVICES, 2)
        if (src, dst) not in pairs:
            pairs[(src, dst)] = {
                "weight": rng.uniform(0.3, 3.0),
                "port": rng.choice((443, 8080, 5432, 6379, 9092)),
                "protocol": rng.choice((6, 6, 6, 17)),
                "bytes": rng.uniform(500.0, 20_000.0),
                "dst_octet": rng.randrange(2, 250),
            }
    return pairs


PAIRS = _graph()


def pair_key(src: str, dst: str) -> str:
    """The Kafka key and model key of a pair (``src->dst``)."""
    return f"{src}->{dst}"


def records(
    count: int | None = 1000,
    rate: float = 300.0,
    anomaly_rate: float = 0.000005,
    seed: int = 0,
    strength: str = "default",
    start: float | None = None,
    kinds: Sequence[str] | None = None,
) -> Iterator[GeneratedRecord]:
    """Yield ``count`` flow records (``None`` = forever), event time from ``start`` (now).

    Examples
    --------
    >>> r = next(records(count=1, seed=5, start=1_800_000_000.0))
    >>> body = json.loads(r.value)
    >>> r.key.decode() == pair_key(body["src_service"], body["dst_service"]), body["end"]
    (True, 1800000000)
    """
    check_args(count, rate, anomaly_rate, strength)
    chosen = check_kinds(kinds, KINDS)
    size = SIZES[strength]
    rng = random.Random(seed)
    t0 = time.time() if start is None else start
    weights = {p: spec["weight"] for p, spec in PAIRS.items()}
    novel = [(s, d) for s in SERVICES for d in SERVICES if s != d and (s, d) not in PAIRS]
    emitted = draws = events = 0
    episode: tuple[str, tuple[str, str], float, dict[str, Any]] | None = None
    while count is None or emitted < count:
        ts = t0 + draws / rate
        draws += 1
        if episode is not None and ts >= episode[2]:
            episode = None
        if episode is None and rng.random() < anomaly_rate:
            events += 1
            kind = rng.choice(chosen)
            pair = rng.choice(novel) if kind == "new_pair" else rng.choice(list(PAIRS))
            spec = PAIRS.get(pair) or {**rng.choice(list(PAIRS.values())), "dst_octet": 251}
            episode = (kind, pair, ts + EPISODE, spec)
        pair, spec, label, reject_p = _draw(rng, weights)
        if episode is not None:
            kind, target, _, target_spec = episode
            if kind == "new_pair" and rng.random() < target_spec["weight"] / sum(weights.values()):
                pair, spec, label = target, target_spec, kind
            elif pair == target:
                label = kind
                reject_p *= size["reject_factor"] if kind == "rejects_jump" else 1.0
        send = not (label == "pair_stop" and rng.random() >= size["stop_keep"])
        value = _flow(rng, ts, pair, spec, reject_p)
        yield GeneratedRecord(
            pair_key(*pair).encode(),
            value,
            label,
            f"flow-{draws - 1:09d}",
            events if label else None,
            ts,
            send,
        )
        emitted += int(send)


def _draw(rng: random.Random, weights: dict[tuple[str, str], float]) -> tuple:
    pair = pick(rng, weights)
    return pair, PAIRS[pair], None, REJECT_P


def _flow(
    rng: random.Random, ts: float, pair: tuple[str, str], spec: dict[str, Any], reject_p: float
) -> bytes:
    src, dst = pair
    end = int(ts)
    body = {
        "start": end - rng.randint(0, 30),
        "end": end,
        "src_service": src,
        "src_addr": f"10.1.{SERVICES.index(src)}.{rng.randrange(2, 250)}",
        "dst_service": dst,
        "dst_addr": f"10.1.{SERVICES.index(dst)}.{spec['dst_octet']}",
        "dst_port": spec["port"],
        "protocol": spec["protocol"],
        "packets": max(1, int(rng.expovariate(1 / 12))),
        "bytes": max(40, int(spec["bytes"] * rng.lognormvariate(0.0, 0.5))),
        "action": "REJECT" if rng.random() < reject_p else "ACCEPT",
    }
    return json.dumps(body).encode()
