"""Movie reviews (SCENARIOS.md §4): one JSON review per message, keyed by reviewer.

Normal traffic: 2 reviews/s spread over 20 000 reviewers, so a reviewer with two reviews in
one minute is rare. Anomaly kind ``review_burst``: one reviewer posts 6 (``default``) /
3 (``subtle``) extra reviews of different movies within 29 s, so they always fall inside one
1-minute window of the 30-s sliding grid; all of them carry the label.
"""

from __future__ import annotations

import heapq
import json
import random
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from generators.base import GeneratedRecord, check_args, check_kinds, iso_ms

__all__ = ["KINDS", "SIZES", "TOPIC", "records"]

TOPIC = "reviews"
KINDS = ("review_burst",)
SIZES = {"default": {"reviews": 6}, "subtle": {"reviews": 3}}
BURST_SPAN = 29.0
REVIEWERS = 20_000
_ADJ = "silent dark golden last lost broken hidden wild little endless".split()
_NOUN = "river city night garden letter machine summer road kingdom mirror".split()
MOVIES = tuple(
    f"The {a.title()} {n.title()} ({1960 + (i * 7 + j * 3) % 64})"
    for i, a in enumerate(_ADJ)
    for j, n in enumerate(_NOUN)
)
_WORDS = (
    "great plot acting boring loved story ending music slow brilliant cast visuals "
    "script twist characters"
).split()


def records(
    count: int | None = 1000,
    rate: float = 2.0,
    anomaly_rate: float = 0.002,
    seed: int = 0,
    strength: str = "default",
    start: float | None = None,
    kinds: Sequence[str] | None = None,
) -> Iterator[GeneratedRecord]:
    """Yield ``count`` reviews (``None`` = forever), event time from ``start`` (now).

    Examples
    --------
    >>> r = next(records(count=1, seed=3, start=1_800_000_000.0))
    >>> sorted(json.loads(r.value)) == sorted(['review_id', 'reviewer', 'movie', 'rating',
    ...     'review_summary', 'review_date', 'spoiler_tag', 'review_detail', 'helpful',
    ...     'event_time'])
    True
    >>> json.loads(r.value)["event_time"], r.key == json.loads(r.value)["reviewer"].encode()
    ('2027-01-15T08:00:00.000Z', True)
    """
    check_args(count, rate, anomaly_rate, strength)
    check_kinds(kinds, KINDS)  # one kind only; still reject unknown names
    n_burst = SIZES[strength]["reviews"]
    rng = random.Random(seed)
    t0 = time.time() if start is None else start
    pending: list[tuple[float, int, str, str, int]] = []
    normal = emitted = events = 0
    while count is None or emitted < count:
        ts = t0 + normal / rate
        if pending and pending[0][0] <= ts:
            when, _, reviewer, movie, event = heapq.heappop(pending)
            yield _review(emitted, when, reviewer, movie, "review_burst", event, rng)
            emitted += 1
            continue
        reviewer = f"ur{rng.randrange(REVIEWERS):07d}"
        if not pending and rng.random() < anomaly_rate:
            events += 1
            spammer = f"ur{rng.randrange(REVIEWERS):07d}"
            for j, movie in enumerate(rng.sample(MOVIES, n_burst)):
                heapq.heappush(
                    pending, (ts + j * BURST_SPAN / (n_burst - 1), j, spammer, movie, events)
                )
            continue  # the burst's first review takes this slot
        yield _review(emitted, ts, reviewer, rng.choice(MOVIES), None, None, rng)
        emitted += 1
        normal += 1


def _review(
    n: int,
    ts: float,
    reviewer: str,
    movie: str,
    label: str | None,
    event: int | None,
    rng: random.Random,
) -> GeneratedRecord:
    votes = rng.randrange(0, 40)
    body: dict[str, Any] = {
        "review_id": f"rw{n:07d}",
        "reviewer": reviewer,
        "movie": movie,
        "rating": rng.randint(1, 10),
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
