"""Flow logs (SCENARIOS.md §6): one JSON flow record per message, in the VPC flow-log spirit.

Normal traffic, shaped like a production network's (the same graph for every seed):

- 72 service pairs talking all day, with heavy-tailed volumes (0.5 to 50 flows a minute at
  their daily peak, 100x), their own ports, byte sizes and reject shares (2-6 %);
- a daily cycle (the night is :data:`NIGHT` of the 14:00 UTC peak, each pair shifted by up
  to two hours) and per-minute counts more variable than Poisson (a gamma-distributed
  rate each minute: busy pairs swing by tens of flows);
- 3 hourly batch pairs: 5-9 minutes of heavy transfers at a fixed minute of every hour,
  silent the rest of it;
- benign new pairs: a service starts calling another it never called before (about one
  every :data:`NEW_PAIR_EVERY` seconds), and keeps doing so.

Anomaly kinds, at fixed sizes (``default`` / ``subtle``), on a pair that talks all day and
has at least :data:`MIN_TARGET_RATE` flows a minute at the time (on a pair with one flow in
a few minutes, three minutes without flows or with ten times its rejects are no change):

- ``pair_stop``: the pair drops to 0 flows / 30 % of its flows for 3 minutes (a bad deploy);
- ``rejects_jump``: its rejects x10 / x3 for 3 minutes;
- ``bytes_jump``: its bytes per flow x10 / x3 for 3 minutes;
- ``port_scan``: its source probes 100 / 30 random ports a minute for 3 minutes (almost all
  rejected, 40-80 bytes);
- ``new_pair``: exfiltration-like: a service starts sending to a service it never talked to,
  flows 10 / 3 times the usual size, on an unusual port, for 10 minutes;
- ``long_silence``: the pair sends nothing for 20 / 13 minutes.

Flows an anomaly removes are yielded with ``send=False`` so the labels file still records
them. No episode starts in the first :data:`QUIET_START` seconds (every pair is new then).
The Kafka key is the pair, ``src->dst``.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from generators.base import GeneratedRecord, check_args, check_kinds

__all__ = ["KINDS", "PAIRS", "SERVICES", "SIZES", "TOPIC", "pair_key", "records"]

TOPIC = "flowlogs"
SERVICES = (
    "frontend", "checkout", "payments", "cart", "catalog", "search", "auth", "users",
    "orders", "shipping", "inventory", "pricing", "reviews", "recommend", "email", "notify",
    "ledger", "fraud", "gateway", "reports",
)
KINDS = ("pair_stop", "rejects_jump", "bytes_jump", "port_scan", "new_pair", "long_silence")
SIZES = {
    "default": {"stop_keep": 0.0, "reject_factor": 10.0, "bytes_factor": 10.0,
                "scan_per_min": 100, "exfil_bytes": 10.0, "silence_s": 1200.0},
    "subtle": {"stop_keep": 0.3, "reject_factor": 3.0, "bytes_factor": 3.0,
               "scan_per_min": 30, "exfil_bytes": 3.0, "silence_s": 780.0},
}
EPISODE = 180.0
EXFIL = 600.0
NIGHT = 0.35
PEAK_HOUR = 14.0
DISPERSION = 10.0  # gamma shape of a pair's per-minute rate (coefficient of variation 0.32)
NEW_PAIR_EVERY = 7200.0
QUIET_START = 1800.0
CONTINUOUS, BATCH = 72, 3
MIN_TARGET_RATE = 5.0  # flows a minute a pair needs, at the time, to be an episode's target


@dataclass
class _Pair:
    src: str
    dst: str
    volume: float  # flows a minute at the daily peak
    port: int
    protocol: int
    size: float  # median bytes per flow
    reject_p: float
    dst_octet: int
    shift: float = 0.0  # hours the pair's daily cycle is shifted by
    batch: tuple[int, int] | None = None  # (minute of the hour, seed of its run lengths)
    born: float = -math.inf


@dataclass
class _Episode:
    kind: str
    pair: tuple[str, str]
    start: float
    end: float
    event: int
    spec: dict[str, Any] = field(default_factory=dict)


def _graph() -> dict[tuple[str, str], _Pair]:
    rng = random.Random(20261202)  # fixed: the graph is part of the scenario
    pairs: dict[tuple[str, str], _Pair] = {}
    while len(pairs) < CONTINUOUS + BATCH:
        src, dst = rng.sample(SERVICES, 2)
        if (src, dst) in pairs:
            continue
        batch = len(pairs) >= CONTINUOUS
        pairs[(src, dst)] = _Pair(
            src, dst,
            volume=rng.uniform(20.0, 80.0) if batch else math.exp(rng.uniform(0.0, 1.0) *
                                                                 math.log(100.0)) * 0.5,
            port=rng.choice((443, 8080, 5432, 6379, 9092)),
            protocol=rng.choice((6, 6, 6, 17)),
            size=rng.uniform(50_000.0, 500_000.0) if batch else math.exp(
                rng.uniform(math.log(500.0), math.log(20_000.0))),
            reject_p=rng.uniform(0.02, 0.06),
            dst_octet=rng.randrange(2, 250),
            shift=rng.uniform(-2.0, 2.0),
            batch=(rng.randrange(0, 50), rng.randrange(1 << 30)) if batch else None,
        )
    return pairs


PAIRS = _graph()


def pair_key(src: str, dst: str) -> str:
    """The Kafka key and model key of a pair (``src->dst``)."""
    return f"{src}->{dst}"


def daily(ts: float, shift: float = 0.0) -> float:
    """A pair's rate at ``ts`` as a share of its daily peak (cosine, peak 14:00 UTC).

    >>> round(daily(14 * 3600.0), 2), round(daily(2 * 3600.0), 2)
    (1.0, 0.35)
    """
    hour = (ts % 86400.0) / 3600.0
    phase = 2 * math.pi * (hour - PEAK_HOUR - shift) / 24
    return NIGHT + (1.0 - NIGHT) * (1.0 + math.cos(phase)) / 2


def records(
    count: int | None = 1000,
    rate: float = 14.0,
    anomaly_rate: float = 0.0001,
    seed: int = 0,
    strength: str = "default",
    start: float | None = None,
    kinds: Sequence[str] | None = None,
    *,
    quiet_start: float = QUIET_START,
) -> Iterator[GeneratedRecord]:
    """Yield ``count`` flow records (``None`` = forever) in event-time order from ``start``.

    ``rate`` is the mean rate over a day (records per second); ``anomaly_rate`` the chance,
    per flow, that an episode starts (so about ``anomaly_rate * rate * 86400`` a day), none
    in the first ``quiet_start`` seconds.

    Examples
    --------
    >>> r = next(records(count=1, seed=5, start=1_800_000_000.0))
    >>> body = json.loads(r.value)
    >>> r.key.decode() == pair_key(body["src_service"], body["dst_service"])
    True
    >>> kinds = {r.label for r in records(count=60_000, anomaly_rate=0.002, seed=1,
    ...                                    start=1_800_000_000.0)}
    >>> len({k for k in kinds if k}) >= 4
    True
    """
    check_args(count, rate, anomaly_rate, strength)
    chosen = check_kinds(kinds, KINDS)
    net = _Network(random.Random(seed), rate, SIZES[strength], chosen, anomaly_rate,
                   time.time() if start is None else start)
    net.quiet = quiet_start
    emitted = 0
    while count is None or emitted < count:
        for rec in net.minute():
            yield rec
            emitted += int(rec.send)
            if count is not None and emitted >= count:
                return


class _Network:
    """The pairs, the episodes under way and the clock, one minute of flows at a time."""

    def __init__(self, rng: random.Random, rate: float, size: dict[str, Any],
                 kinds: tuple[str, ...], anomaly_rate: float, t0: float) -> None:
        self.rng, self.size, self.kinds, self.anomaly_rate = rng, size, kinds, anomaly_rate
        self.t0 = self.clock = t0
        self.pairs = {k: _Pair(**vars(p)) for k, p in PAIRS.items()}
        mean_day = sum(p.volume * (NIGHT + 1.0) / 2 for p in self.pairs.values()
                       if p.batch is None)
        self.scale = rate * 60.0 / mean_day
        self.novel = [(s, d) for s in SERVICES for d in SERVICES if s != d and (s, d) not in
                      self.pairs]
        rng.shuffle(self.novel)
        self.next_new = t0 + rng.expovariate(1.0 / NEW_PAIR_EVERY)
        self.episodes: list[_Episode] = []
        self.events = self.serial = 0
        self.quiet = QUIET_START

    def minute(self) -> list[GeneratedRecord]:
        """Every flow of the next minute, in event-time order."""
        rng, now = self.rng, self.clock
        self.clock += 60.0
        for ep in self.episodes:
            if ep.end <= now and ep.kind == "new_pair":
                del self.pairs[ep.pair]  # the exfiltration is over: the pair goes away
        self.episodes = [e for e in self.episodes if e.end > now]
        if now >= self.next_new:  # a benign new pair, here to stay
            src, dst = self.novel.pop()
            self.pairs[(src, dst)] = _Pair(
                src, dst, volume=math.exp(rng.uniform(0.0, math.log(40.0))) * 0.5,
                port=rng.choice((443, 8080)), protocol=6,
                size=math.exp(rng.uniform(math.log(500.0), math.log(20_000.0))),
                reject_p=rng.uniform(0.02, 0.06), dst_octet=rng.randrange(2, 250), born=now)
            self.next_new = now + rng.expovariate(1.0 / NEW_PAIR_EVERY)
        flows: list[tuple[float, tuple[str, str], _Pair, dict[str, Any]]] = []
        for key, pair in self.pairs.items():
            for ts in self._times(pair, now):
                flows.append((ts, key, pair, {}))
        expected = len(flows)
        if now - self.t0 >= self.quiet and rng.random() < self.anomaly_rate * expected:
            self._start_episode(now + rng.uniform(0.0, 60.0))
        for ep in self.episodes:
            flows = self._apply(ep, flows, now)
        flows.sort(key=lambda f: f[0])
        return [self._record(*f) for f in flows]

    def _times(self, pair: _Pair, now: float) -> list[float]:
        rng = self.rng
        if pair.batch is not None:
            minute_of_hour, runs = pair.batch
            hour = int(now // 3600)
            length = 5 + random.Random(runs + hour).randrange(0, 5)
            into = (now % 3600) / 60.0 - minute_of_hour
            if not 0 <= into < length:
                return []
            mean = pair.volume * rng.gammavariate(DISPERSION, 1 / DISPERSION)
        else:
            if now < pair.born:
                return []
            mean = pair.volume * self.scale * daily(now, pair.shift)
            mean *= rng.gammavariate(DISPERSION, 1.0 / DISPERSION)
        return sorted(now + rng.random() * 60.0 for _ in range(_poisson(rng, mean)))

    def _start_episode(self, at: float) -> None:
        rng, size = self.rng, self.size
        kind = rng.choice(self.kinds)
        busy = {e.pair for e in self.episodes}
        if kind == "new_pair":
            pair = self.novel.pop()
            model = rng.choice([p for p in self.pairs.values() if p.batch is None])
            self.pairs[pair] = _Pair(
                *pair, volume=rng.uniform(5.0, 30.0) / self.scale, port=4444, protocol=6,
                size=model.size * size["exfil_bytes"], reject_p=0.0, dst_octet=251, born=at)
            end = at + EXFIL
        else:
            steady = [k for k, p in self.pairs.items()  # busy enough for the change to exist
                      if p.batch is None and p.born < at - 3600 and k not in busy
                      and p.volume * self.scale * daily(at, p.shift) >= MIN_TARGET_RATE]
            pair = rng.choice(steady)
            end = at + (size["silence_s"] if kind == "long_silence" else EPISODE)
        self.events += 1
        self.episodes.append(_Episode(kind, pair, at, end, self.events))

    def _apply(self, ep: _Episode, flows: list, now: float) -> list:
        rng, size = self.rng, self.size
        out = []
        for ts, key, pair, extra in flows:
            if key == ep.pair and ep.start <= ts < ep.end:
                extra = {**extra, "label": ep.kind, "event": ep.event}
                if ep.kind == "pair_stop" and rng.random() >= size["stop_keep"]:
                    extra["send"] = False
                elif ep.kind == "long_silence":
                    extra["send"] = False
                elif ep.kind == "rejects_jump":
                    extra["reject_p"] = pair.reject_p * size["reject_factor"]
                elif ep.kind == "bytes_jump":
                    extra["bytes_factor"] = size["bytes_factor"]
            elif key == ep.pair and ep.kind == "new_pair" and ts >= ep.end:
                continue  # the end of the exfiltration, within its last minute
            out.append((ts, key, pair, extra))
        if ep.kind == "port_scan":
            lo, hi = max(now, ep.start), min(now + 60.0, ep.end)
            pair = self.pairs[ep.pair]
            for _ in range(round(size["scan_per_min"] * max(0.0, hi - lo) / 60.0)):
                out.append((rng.uniform(lo, hi), ep.pair, pair,
                            {"label": ep.kind, "event": ep.event, "scan": True}))
        return out

    def _record(self, ts: float, key: tuple[str, str], pair: _Pair,
                extra: dict[str, Any]) -> GeneratedRecord:
        rng = self.rng
        self.serial += 1
        src, dst = key
        end = int(ts)
        scan = extra.get("scan", False)
        reject_p = 0.95 if scan else extra.get("reject_p", pair.reject_p)
        size = pair.size * extra.get("bytes_factor", 1.0)
        body = {
            "start": end - rng.randint(0, 30),
            "end": end,
            "src_service": src,
            "src_addr": f"10.1.{SERVICES.index(src)}.{rng.randrange(2, 250)}",
            "dst_service": dst,
            "dst_addr": f"10.1.{SERVICES.index(dst)}.{pair.dst_octet}",
            "dst_port": rng.randrange(1, 65536) if scan else pair.port,
            "protocol": pair.protocol,
            "packets": rng.randint(1, 2) if scan else max(1, int(rng.expovariate(1 / 12))),
            "bytes": (
                rng.randint(40, 80) if scan else max(40, int(size * rng.lognormvariate(0.0, 0.5)))
            ),
            "action": "REJECT" if rng.random() < reject_p else "ACCEPT",
        }
        return GeneratedRecord(
            pair_key(src, dst).encode(), json.dumps(body).encode(), extra.get("label"),
            f"flow-{self.serial - 1:09d}", extra.get("event"), float(ts), extra.get("send", True),
        )


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (normal approximation above a mean of 50)."""
    if mean <= 0.0:
        return 0
    if mean > 50.0:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k
