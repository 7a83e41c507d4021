"""Traffic ops over time (connector.features.traffic) through the shipped pipelines' windows.

Issue 18, behaviour 6 (coordinated activity: brigades, drips) and behaviour 8 (flows: bytes,
batch pairs, over-dispersed counts, benign new pairs, long silences). Records go through the
pipeline's own transform and window aggregator, so a changed pipeline is tested too.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from connector.config import load_pipeline
from connector.features.keys import surprise
from connector.features.windows import WindowAggregator
from connector.transform import build_transform

ROOT = Path(__file__).resolve().parents[3]
T0 = 1_800_000_000.0  # a multiple of 60 s


class View:
    """One pipeline's transform and window aggregator; windows collected per key."""

    def __init__(self, pipeline: str) -> None:
        cfg = load_pipeline(ROOT / "pipelines" / f"{pipeline}.yaml", env={})
        self.transform = build_transform(cfg)
        self.windows = WindowAggregator(cfg.window, list(cfg.features_names))
        self.out: dict[str, list] = {}
        self.offset = 0

    def send(self, body: dict) -> None:
        prepared = self.transform.prepare(json.dumps(body).encode())
        self.offset += 1
        for w in self.windows.add(prepared, ("t", 0, self.offset)):
            if w.revision == 0:
                self.out.setdefault(w.key, []).append(w)

    def advance(self, t: float) -> None:
        for w in self.windows.advance(T0 + t):
            if w.revision == 0:
                self.out.setdefault(w.key, []).append(w)

    def docs(self, key: str) -> list[dict]:
        return [w.document for w in self.out.get(key, [])]


def review(t: float, reviewer: str, movie: str, rating: int = 7) -> dict:
    from generators.base import iso_ms

    return {"review_id": "r", "reviewer": reviewer, "movie": movie, "rating": rating,
            "event_time": iso_ms(T0 + t)}


def background(rng: random.Random, hours: float, rate: float = 1.0):
    """Normal reviews: ``rate`` a second over 50 movies, each reviewer once."""
    t, n = 0.0, 0
    while t < hours * 3600:
        t += rng.expovariate(rate)
        n += 1
        yield t, f"u{n}", f"movie{rng.randrange(50)}", rng.choice((6, 7, 7, 8))


# -- behaviour 6: coordinated activity ----------------------------------------------------

def test_a_brigade_is_visible_per_movie_and_invisible_per_reviewer():
    rng = random.Random(1)
    movies, reviewers = View("reviews-movies"), View("reviews")
    brigade_at = 1800.0
    for t, who, movie, rating in background(rng, 1.0, rate=0.5):
        for view in (movies, reviewers):
            view.send(review(t, who, movie, rating))
        if brigade_at is not None and t > brigade_at:
            for j in range(5):  # five reviewers on one movie within a minute, rating it 1
                for view in (movies, reviewers):
                    view.send(review(t + 5 + j * 8, f"crew{j}", "movie7", 1))
            brigade_at = None
    # per reviewer: one review each, a window as ordinary as any other
    for j in range(5):
        assert [d["count"] for d in reviewers.docs(f"crew{j}")] in ([1.0], [1.0, 1.0])
    docs = movies.docs("movie7")
    worst = max(docs, key=lambda d: d["reviewers_surprise"])
    usual = sorted(d["reviewers_surprise"] for k in movies.out for d in movies.docs(k))
    assert worst["reviewers"] >= 4 and worst["reviewers_surprise"] > 4.0
    assert usual[int(0.99 * len(usual))] < 3.0  # normal movie windows stay well below
    assert min(d["rating_shift"] for d in docs) < -4.0  # and the review bomb's ratings show


def test_a_drip_builds_up_where_a_binge_does_not():
    view = View("reviews")
    reviews = [review(i * 30.0, f"u{i}", "m") for i in range(120)]  # one review each
    reviews += [review(600.0 + i * 60.0, "binger", f"m{i}") for i in range(4)]  # 60 s apart
    # a drip: one review every 17 s for 8 minutes
    reviews += [review(1200.0 + i * 17.0, "dripper", f"m{i}") for i in range(29)]
    for body in sorted(reviews, key=lambda b: b["event_time"]):
        view.send(body)
    view.advance(3700.0)
    drip = max(d["recent"] for d in view.docs("dripper"))
    binge = max(d["recent"] for d in view.docs("binger"))
    assert max(d["count"] for d in view.docs("dripper")) <= 4  # no single window is a burst
    assert drip > 12.0 and binge < 4.0


# -- behaviour 8: flows -------------------------------------------------------------------

def flow(t: float, pair: tuple[str, str], size: float = 2000.0, action: str = "ACCEPT") -> dict:
    return {"start": int(T0 + t) - 1, "end": int(T0 + t), "src_service": pair[0],
            "src_addr": "10.0.0.1", "dst_service": pair[1], "dst_addr": "10.0.0.2",
            "dst_port": 443, "protocol": 6, "packets": 3, "bytes": int(size), "action": action}


def run_flows(minutes: int, plan, seed: int = 1) -> View:
    """``plan(minute, rng)`` -> list of (pair, size, action) flows in that minute."""
    rng = random.Random(seed)
    view = View("flowlogs")
    for m in range(minutes):
        flows = sorted((m * 60.0 + rng.random() * 60.0, f) for f in plan(m, rng))
        for t, (pair, size, action) in flows:
            view.send(flow(t, pair, size, action))
        view.advance(m * 60.0 + 60.0)
    return view


def poisson(rng: random.Random, mean: float) -> int:
    return max(0, round(rng.gauss(mean, math.sqrt(mean)))) if mean > 30 else sum(
        1 for _ in range(int(mean * 20)) if rng.random() < 0.05)


STEADY, BUSY, BATCH = ("a", "b"), ("c", "d"), ("e", "f")


def test_bytes_x10_moves_the_model_input():
    def plan(m, rng):
        factor = 10.0 if 120 <= m < 123 else 1.0
        return [(STEADY, 2000.0 * factor * rng.lognormvariate(0, 0.5), "ACCEPT")
                for _ in range(poisson(rng, 20))]

    docs = run_flows(130, plan).docs("a->b")
    normal = [abs(d["bytes_shift"]) for d in docs[20:120]]
    assert max(d["bytes_shift"] for d in docs[120:123]) > 8.0
    assert max(normal) < 4.0


def test_an_hourly_batch_pair_is_neither_new_nor_stopped_every_hour():
    def plan(m, rng):
        out = [(STEADY, 2000.0, "ACCEPT") for _ in range(poisson(rng, 10))]
        if m % 60 < 6:  # six busy minutes at the top of every hour, silent otherwise
            out += [(BATCH, 300_000.0, "ACCEPT") for _ in range(poisson(rng, 50))]
        return out

    docs = run_flows(5 * 60, plan).docs("e->f")
    assert sum(d["pair_new"] for d in docs) == 0  # remembered across its silences
    later = docs[2 * 60:]  # from the third hour on
    assert later and sum(d["silent"] for d in later) > 100
    assert min(d["flows_z"] for d in later) > -3.0  # its silence is usual
    assert max(d["flows_z"] for d in later) < 4.0  # and so is its next run


def test_busy_pairs_are_judged_in_their_own_spread_not_poissons():
    def plan(m, rng):  # 400 flows a minute whose rate swings by 30 % (gamma, shape 10)
        n = poisson(rng, 400 * rng.gammavariate(10, 0.1))
        return [(BUSY, 2000.0, "ACCEPT") for _ in range(n)]

    docs = run_flows(400, plan).docs("c->d")[60:]
    poisson_view = [abs(surprise(d["flows"], 400.0)) for d in docs]
    assert sum(z > 4 for z in poisson_view) / len(docs) > 0.2  # Poisson: odd all the time
    assert sum(abs(d["flows_z"]) > 4 for d in docs) / len(docs) < 0.01


def test_a_new_pair_is_news_once():
    def plan(m, rng):
        out = [(STEADY, 2000.0, "ACCEPT") for _ in range(poisson(rng, 10))]
        if m >= 30:
            out += [(("g", "h"), 2000.0, "ACCEPT") for _ in range(poisson(rng, 5))]
        return out

    docs = run_flows(60, plan).docs("g->h")
    assert [d["pair_new"] for d in docs[:3]] == [1.0, 0.0, 0.0]


@pytest.mark.parametrize("rate", [4.7, 50.0])
def test_a_long_silence_keeps_building_evidence(rate):
    def plan(m, rng):
        return [] if 200 <= m < 213 else [(STEADY, 2000.0, "ACCEPT")
                                           for _ in range(poisson(rng, rate))]

    docs = run_flows(214, plan).docs("a->b")
    silence = [d["flows_z"] for d in docs[200:205]]  # scored for 5 minutes (missing.score_for)
    assert all(b < a for a, b in zip(silence, silence[1:], strict=False))  # keeps building
    assert silence[2] < -4.5 and silence[-1] < -6.0
    # then reported silent until it returns, no longer scored (flagged once, not every minute)
    assert all(d["silent"] and d["flows_z"] == 0.0 for d in docs[206:213])
    normal = [d["flows_z"] for d in docs[20:200]]
    assert min(normal) > -4.5
