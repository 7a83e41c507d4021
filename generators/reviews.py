"""Movie reviews (SCENARIOS.md §4): one JSON review per message, keyed by reviewer.

Normal traffic, shaped like a production site's:

- 3,000 reviewers whose activity is heavy-tailed (most post a few reviews a day), plus
  :data:`ACTIVE` very active normal ones (a critic posting every few minutes for hours);
- a daily curve: the review rate at night is :data:`NIGHT` of the evening peak (20:00 UTC);
- normal binges: a reviewer who posts often goes on to post 2-4 reviews, each at least
  :data:`MIN_GAP` seconds after the last (writing a review takes time), so two may share a
  minute but three rarely do;
- :data:`MOVIES` movies (400) with heavy-tailed popularity and their own usual rating.

Anomaly kinds (every record of an episode carries the label; sizes ``default`` / ``subtle``):

- ``review_burst`` (a bot, SCENARIOS.md §4): one reviewer posts 6 / 3 reviews of different
  movies within 29 s;
- ``brigade``: 4-6 / 3 reviewers each post one review of the same movie within a minute,
  all rating it 1-2 (a review bomb, 70 %) or 10 (a promotion);
- ``drip``: one reviewer posts one review every 15-20 s / 30-40 s for 8 minutes, each of a
  different movie (a sustained moderate rate, never a burst).
"""

from __future__ import annotations

import heapq
import json
import math
import random
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from generators.base import GeneratedRecord, check_args, check_kinds, iso_ms

__all__ = ["KINDS", "MOVIES", "SIZES", "TOPIC", "records"]

TOPIC = "reviews"
KINDS = ("review_burst", "brigade", "drip")
SIZES = {
    "default": {"reviews": 6, "brigade": (4, 6), "drip_gap": (15.0, 20.0)},
    "subtle": {"reviews": 3, "brigade": (3, 3), "drip_gap": (30.0, 40.0)},
}
BURST_SPAN = 29.0  # a bot's reviews fall inside one 1-minute window of the 30-s grid
BRIGADE_SPAN = 50.0  # a brigade's reviews fall inside one minute
DRIP_SPAN = 480.0
REVIEWERS = 3000
ACTIVE = 8  # very active normal reviewers (mean gap ACTIVE_GAP)
ACTIVE_GAP = (150.0, 300.0)
BINGE_P = 0.15  # a normal review starts a binge of 2-4 reviews
MIN_GAP = 40.0  # seconds between two reviews of one normal reviewer, at least
NIGHT = 0.4  # the rate at the daily low, as a share of the evening peak
PEAK_HOUR = 20.0
_ADJ = "silent dark golden last lost broken hidden wild little endless".split()
_NOUN = "river city night garden letter machine summer road kingdom mirror".split()
MOVIES = tuple(
    f"The {a.title()} {n.title()} ({1960 + (i * 7 + j * 3 + k * 17) % 64})"
    + ("" if k == 0 else f" {('II', 'III', 'IV')[k - 1]}")
    for k in range(4)
    for i, a in enumerate(_ADJ)
    for j, n in enumerate(_NOUN)
)
_WORDS = (
    "great plot acting boring loved story ending music slow brilliant cast visuals "
    "script twist characters"
).split()


def _catalogue() -> tuple[list[float], dict[str, float]]:
    """Popularity weights (Zipf-like, 1 / (rank + 8)) and usual ratings, the same every seed."""
    rng = random.Random(20261202)
    order = list(MOVIES)
    rng.shuffle(order)
    weight = {m: 1.0 / (rank + 8.0) for rank, m in enumerate(order)}
    quality = {m: rng.uniform(4.0, 8.5) for m in MOVIES}
    return [weight[m] for m in MOVIES], quality


_POPULARITY, QUALITY = _catalogue()


def daily(ts: float) -> float:
    """The review rate at ``ts`` as a share of the evening peak (cosine, low at 08:00 UTC).

    >>> round(daily(20 * 3600.0), 2), round(daily(8 * 3600.0), 2)
    (1.0, 0.4)
    """
    hour = (ts % 86400.0) / 3600.0
    return NIGHT + (1.0 - NIGHT) * (1.0 + math.cos(2 * math.pi * (hour - PEAK_HOUR) / 24)) / 2


def records(
    count: int | None = 1000,
    rate: float = 2.0,
    anomaly_rate: float = 0.002,
    seed: int = 0,
    strength: str = "default",
    start: float | None = None,
    kinds: Sequence[str] | None = None,
) -> Iterator[GeneratedRecord]:
    """Yield ``count`` reviews (``None`` = forever) in event-time order from ``start`` (now).

    ``rate`` is the peak rate (reviews per second); ``anomaly_rate`` the chance that a
    normal review is followed by an episode (one at a time).

    Examples
    --------
    >>> r = next(records(count=1, seed=3, start=1_800_000_000.0))
    >>> sorted(json.loads(r.value)) == sorted(['review_id', 'reviewer', 'movie', 'rating',
    ...     'review_summary', 'review_date', 'spoiler_tag', 'review_detail', 'helpful',
    ...     'event_time'])
    True
    >>> r.key == json.loads(r.value)["reviewer"].encode()
    True
    >>> kinds = {r.label for r in records(count=20_000, anomaly_rate=0.01, seed=1,
    ...                                    start=1_800_000_000.0)}
    >>> sorted(k for k in kinds if k)
    ['brigade', 'drip', 'review_burst']
    """
    check_args(count, rate, anomaly_rate, strength)
    chosen = check_kinds(kinds, KINDS)
    rng = random.Random(seed)
    t0 = time.time() if start is None else start
    stream = _Stream(rng, rate, SIZES[strength], chosen, anomaly_rate, t0)
    emitted = 0
    while count is None or emitted < count:
        yield stream.next_record(emitted)
        emitted += 1


class _Stream:
    """The pending reviews of every reviewer, popped in event-time order."""

    def __init__(
        self, rng: random.Random, rate: float, size: dict[str, Any], kinds: tuple[str, ...],
        anomaly_rate: float, t0: float,
    ) -> None:
        self.rng, self.rate, self.size, self.kinds = rng, rate, size, kinds
        self.anomaly_rate = anomaly_rate
        self.reviewers = [f"ur{i:07d}" for i in range(REVIEWERS)]
        self.activity = [min(20.0, rng.paretovariate(2.0)) for _ in range(REVIEWERS)]
        self.activity[:ACTIVE] = [0.0] * ACTIVE  # the critics post on their own clocks only
        self.last: dict[str, float] = {}  # a normal reviewer's latest scheduled review
        self.pending: list[tuple[float, int, str, str | None, str | None, int | None, int]] = []
        self.seq = 0
        self.clock = t0  # the next arrival of a new (non-binge) review
        self.episode_until = t0
        self.events = 0
        for reviewer in self.reviewers[:ACTIVE]:  # the critics run their own clocks
            self._push(t0 + rng.uniform(0, ACTIVE_GAP[1]), reviewer, None, None, None)

    def _push(self, ts: float, reviewer: str, movie: str | None, label: str | None,
              event: int | None, rating: int = 0) -> None:
        self.seq += 1
        heapq.heappush(self.pending, (ts, self.seq, reviewer, movie, label, event, rating))

    def next_record(self, n: int) -> GeneratedRecord:
        rng = self.rng
        while not self.pending or self.pending[0][0] > self.clock:
            self._arrival()
        ts, _, reviewer, movie, label, event, rating = heapq.heappop(self.pending)
        if label is None and reviewer in self.reviewers[:ACTIVE]:
            gap = MIN_GAP + rng.expovariate(1.0 / rng.uniform(*ACTIVE_GAP))
            self._push(ts + gap, reviewer, None, None, None)
        movie = movie or rng.choices(MOVIES, weights=_POPULARITY)[0]
        if not rating:
            rating = max(1, min(10, round(rng.gauss(QUALITY[movie], 1.8))))
        return _review(n, ts, reviewer, movie, rating, label, event, rng)

    def _arrival(self) -> None:
        """One new normal review (maybe a binge, maybe followed by an episode)."""
        rng = self.rng
        ts = self.clock
        self.clock += rng.expovariate(self.rate * daily(ts))
        reviewer = rng.choices(self.reviewers, weights=self.activity)[0]
        at = max(ts, self.last.get(reviewer, -math.inf) + MIN_GAP + rng.expovariate(1 / 30))
        self._push(at, reviewer, None, None, None)
        if rng.random() < BINGE_P:
            for _ in range(rng.randint(1, 3)):
                at += MIN_GAP + rng.lognormvariate(math.log(60.0), 0.6)
                self._push(at, reviewer, None, None, None)
        self.last[reviewer] = at
        if ts >= self.episode_until and rng.random() < self.anomaly_rate:
            self._episode(ts + rng.uniform(1.0, 30.0))

    def _episode(self, ts: float) -> None:
        rng, size = self.rng, self.size
        self.events += 1
        kind = rng.choice(self.kinds)
        event = self.events
        if kind == "review_burst":
            bot = rng.choice(self.reviewers[ACTIVE:])
            n = size["reviews"]
            for j, movie in enumerate(rng.sample(MOVIES, n)):
                self._push(ts + j * BURST_SPAN / (n - 1), bot, movie, kind, event)
            self.episode_until = ts + BURST_SPAN
        elif kind == "brigade":
            movie = rng.choices(MOVIES, weights=_POPULARITY)[0]
            rating = rng.choice((1, 2)) if rng.random() < 0.7 else 10
            crew = rng.sample(self.reviewers[ACTIVE:], rng.randint(*size["brigade"]))
            for member in crew:
                self._push(ts + rng.uniform(0.0, BRIGADE_SPAN), member, movie, kind, event,
                           rating)
            self.episode_until = ts + BRIGADE_SPAN
        else:  # drip
            dripper = rng.choice(self.reviewers[ACTIVE:])
            at, end = ts, ts + DRIP_SPAN
            movies = iter(rng.sample(MOVIES, 64))
            while at < end:
                self._push(at, dripper, next(movies), kind, event)
                at += rng.uniform(*size["drip_gap"])
            self.episode_until = end
        self.episode_until += 60.0  # a quiet minute between episodes


def _review(
    n: int,
    ts: float,
    reviewer: str,
    movie: str,
    rating: int,
    label: str | None,
    event: int | None,
    rng: random.Random,
) -> GeneratedRecord:
    votes = rng.randrange(0, 40)
    body: dict[str, Any] = {
        "review_id": f"rw{n:07d}",
        "reviewer": reviewer,
        "movie": movie,
        "rating": rating,
        "review_summary": " ".join(rng.choice(_WORDS) for _ in range(4)).capitalize(),
        "review_date": datetime.fromtimestamp(ts, tz=UTC).strftime("%-d %B %Y"),
        "spoiler_tag": int(rng.random() < 0.1),
        "review_detail": " ".join(rng.choice(_WORDS) for _ in range(25)).capitalize() + ".",
        "helpful": [str(rng.randint(0, votes)), str(votes)],
        "event_time": iso_ms(ts),
    }
    return GeneratedRecord(
        reviewer.encode(), json.dumps(body).encode(), label, body["review_id"], event, ts
    )
