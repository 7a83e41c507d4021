"""Speed and size benchmark of the detectors; prints figures, asserts nothing.

Run with ``.venv/bin/python -m detectors.bench`` (``--quick`` for a short run). Figures:

All speed figures are CPU time of this process (``time.process_time``), so that other
processes on a shared machine inflate them less; wall time is printed alongside.

- score+learn: microseconds per record of ``score_one`` then ``learn_one`` on the bare
  detector, and of ``Scorer.process_one`` (adds calibration, feature preparation and the
  assessment), on a seeded 3-feature Gaussian stream after warm-up;
- explain: microseconds per flagged record of :func:`detectors.explain_one` as the scorer
  calls it (one field pushed far out, the others normal);
- keyed model size: pickled bytes (raw and zlib) of a mature keyed model (sample full) and
  resident memory (RSS) growth per model over many models;
- snapshot/restore of a scorer holding 10,000 mature keyed models (restore is lazy: the
  time to first use every key, when each model is unpickled, is printed separately).
"""

from __future__ import annotations

import argparse
import gc
import os
import pickle
import random
import time
import zlib
from collections.abc import Callable, Mapping
from typing import Any

from . import state
from .defaults import (
    DEFAULT_CALIBRATION,
    DEFAULT_HST,
    DEFAULT_KEYED,
    DEFAULT_KEYED_RCF,
    DEFAULT_RCF,
    KINESIS_RCF,
    NAB_BEST,
)
from .explain import explain_one
from .keyed import KeyedModels
from .models import build_detector, build_filter, rcf_shape
from .scorer import build_scorer

__all__ = ["main"]

FEATURES = ("a", "b", "c")
CONFIGS: dict[str, Mapping[str, Any]] = {
    "DEFAULT_RCF": DEFAULT_RCF,
    "DEFAULT_KEYED_RCF": DEFAULT_KEYED_RCF,
    "KINESIS_RCF": KINESIS_RCF,
    "DEFAULT_HST": DEFAULT_HST,
    "NAB_BEST": NAB_BEST["detector"],
    # reference only: the Kinesis function's defaults (100 trees, 256 points)
    "REFERENCE_100x256": {"name": "rcf", "n_trees": 100, "sample_size": 256, "seed": 42},
}


_KEEP: list[Any] = []


def _names(n_features: int) -> list[str]:
    """Feature names of the bench stream: ``a, b, c`` for 3 (the usual stream), else
    ``f0 .. f{k-1}``."""
    return list(FEATURES) if n_features == 3 else [f"f{i}" for i in range(n_features)]


def _stream(n: int, seed: int = 0, n_features: int = 3) -> list[dict[str, float]]:
    rng = random.Random(seed)
    if n_features == 3:
        return [{"a": rng.gauss(0, 1), "b": rng.gauss(10, 2), "c": rng.random()}
                for _ in range(n)]
    # features of different units (0.01 .. 1000), as sensors are
    names = _names(n_features)
    scales = [10.0 ** (i % 6 - 2) for i in range(n_features)]
    return [{name: rng.gauss(5 * s, s) for name, s in zip(names, scales, strict=True)}
            for _ in range(n)]


def _per_record_us(fn: Callable[[Any], Any], data: list[Any]) -> float:
    """CPU microseconds per record of this process (the 2-core box is shared; CPU time
    is far steadier than wall time under load)."""
    start = time.process_time()
    for x in data:
        fn(x)
    return (time.process_time() - start) / len(data) * 1e6


def _rss() -> int:
    with open("/proc/self/statm") as f:  # Linux only: resident pages
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def bench_speed(
    spec: Mapping[str, Any], n: int, calibration: Mapping[str, Any] | None = None,
    n_features: int = 3,
) -> dict[str, float]:
    """Per-record microseconds of score+learn (bare and scorer) and of explanations.

    ``calibration`` is the scorer's (default :data:`detectors.DEFAULT_CALIBRATION`);
    ``n_features``: record width (3: the usual ``a, b, c`` stream).
    """
    names = _names(n_features)
    warm, data = _stream(2000, 1, n_features), _stream(n, 2, n_features)
    det = build_detector(spec, names)
    for x in warm:
        det.learn_one(x)

    def step(x: dict) -> None:
        det.score_one(x)
        det.learn_one(x)

    bare = _per_record_us(step, data)
    scorer = build_scorer(spec, DEFAULT_CALIBRATION if calibration is None else calibration,
                          features=names)
    for x in warm:
        scorer.process_one(x)
    full = _per_record_us(scorer.process_one, data)
    unit = scorer._single
    name = names[min(1, len(names) - 1)]  # "b" on the usual stream
    odd = [{**x, name: x[name] + 25.0 if n_features == 3 else 6.0 * x[name]}
           for x in data[: min(n, 2000)]]
    scored = [(x, unit.score_one(x)) for x in odd]  # the scorer explains a scored record
    explain = _per_record_us(
        lambda xs: explain_one(unit.anomaly_detector, xs[0], unit.feature_means, xs[1],
                               unit.feature_spreads), scored)
    return {"score_learn_us": bare, "process_one_us": full, "explain_us": explain}


def bench_keyed_size(spec: Mapping[str, Any], n_models: int) -> dict[str, float]:
    """Pickled and resident bytes per mature keyed model (calibration included)."""
    data = _stream(600, seed=3)
    proto = build_filter(spec, {"quantile": 0.99, "warmup": 50}, list(FEATURES))
    mature = proto.clone()
    for x in data:
        mature.learn_score(x, mature.score_one(x), False)
    blob = pickle.dumps(mature, protocol=pickle.HIGHEST_PROTOCOL)
    estimate = KeyedModels(proto).measure(mature)
    gc.collect()
    before = _rss()
    models = [pickle.loads(blob) for _ in range(n_models)]  # noqa: S301 (our own bytes)
    gc.collect()
    rss = (_rss() - before) / n_models
    _KEEP.append(models)  # freed pages would be reused by the next measurement
    return {"pickle_bytes": len(blob), "zlib_bytes": len(zlib.compress(blob, 1)),
            "rss_bytes": rss, "estimate_bytes": estimate}


def bench_restore(
    spec: Mapping[str, Any], n_keys: int, compress: bool | None
) -> dict[str, float]:
    """Snapshot and restore seconds for a scorer holding ``n_keys`` mature models."""
    scorer = build_scorer(spec, {"quantile": 0.99, "warmup": 50},
                          keyed={**DEFAULT_KEYED, "max_keys": n_keys}, features=list(FEATURES))
    for x in _stream(600, seed=4):
        scorer.process_one(x, key=0)
    blob = pickle.dumps(scorer._pool.get(0), protocol=pickle.HIGHEST_PROTOCOL)
    for key in range(1, n_keys):  # copies of a mature model: same size as learned ones
        scorer._pool._models[key] = pickle.loads(blob)  # noqa: S301 (our own bytes)
    start = time.perf_counter()
    snap = scorer.snapshot(compress=compress)
    dump_s = time.perf_counter() - start
    del scorer
    gc.collect()
    start = time.perf_counter()
    restored = state.loads(snap)
    load_s = time.perf_counter() - start
    assert len(restored._pool) == n_keys  # noqa: S101 (sanity of the benchmark itself)
    start = time.perf_counter()
    for key in range(n_keys):  # first use of every key unpickles its model
        restored._pool.get(key)
    thaw_s = time.perf_counter() - start
    return {"snapshot_s": dump_s, "restore_s": load_s, "thaw_s": thaw_s,
            "snapshot_mb": len(snap) / 1e6}


def _reference_ms() -> float:
    """CPU milliseconds of a fixed pure-Python loop: how fast this machine is right now.

    The build machines are shared virtual CPUs whose speed drifts by up to 2x within an
    hour; compare figures taken in one run (or scale by this number), not across runs.
    """
    start = time.process_time()
    sum(range(10_000_000))
    return (time.process_time() - start) * 1e3


def _bench_default(n: int, rounds: int, widths: list[int]) -> None:
    """The default's score + learn + calibrate (``process_one``) at several record widths."""
    runs: dict[int, list[dict[str, float]]] = {k: [] for k in widths}
    for _ in range(rounds):
        for k in widths:
            runs[k].append(bench_speed(DEFAULT_RCF, n, n_features=k))
    for k, timed in runs.items():
        target = 50.0 if k <= 3 else 100.0
        full = min(t["process_one_us"] for t in timed)
        print(f"default, {k} feature(s): process_one (score + learn + calibrate) {full:7.1f} "
              f"us/record, bare forest {min(t['score_learn_us'] for t in timed):7.1f} "
              f"(target <= {target:.0f}; best of {rounds}, {n} records)")


def _bench_rcf(shapes: list[str], n: int, rounds: int = 1) -> int:
    """Speed lines only, for candidate forests ``TxS`` (``TxSdD``: time decay ``D``).

    With ``rounds > 1`` the shapes are timed in turn, round after round, and the fastest
    round of each is printed (the least disturbed by other work on the machine).
    """
    print(f"detectors bench: {len(FEATURES)} features, calibration {_plain(DEFAULT_CALIBRATION)}")
    specs = {shape: rcf_shape(shape) for shape in shapes}
    runs: dict[str, list[dict[str, float]]] = {shape: [] for shape in shapes}
    reference = []
    for _ in range(rounds):
        reference.append(_reference_ms())
        for shape, spec in specs.items():
            runs[shape].append(bench_speed(spec, n))
    for shape, timed in runs.items():
        learn = min(t["score_learn_us"] for t in timed)
        full = min(t["process_one_us"] for t in timed)
        print(f"rcf {shape:13s} score+learn {learn:7.1f} us/record, process_one {full:7.1f} "
              f"us/record (best of {rounds}, {n} records)")
    print(f"reference loop sum(range(10**7)): best {min(reference):.0f} ms, worst "
          f"{max(reference):.0f} ms; load average {os.getloadavg()[0]:.1f}")
    return 0


def _plain(m: Any) -> Any:
    return {k: _plain(v) for k, v in m.items()} if isinstance(m, Mapping) else m


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one line per figure."""
    parser = argparse.ArgumentParser(prog="python -m detectors.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer records and keys")
    parser.add_argument("--rounds", type=int, default=1,
                        help="with --rcf: time the shapes in turn this many times, print the best")
    parser.add_argument("--keys", type=int, default=10_000, help="keyed models to restore")
    parser.add_argument("--default", nargs="*", type=int, default=None, metavar="WIDTH",
                        help="only the default's process_one at these record widths "
                             "(default 1 3 8), best of --rounds")
    parser.add_argument("--rcf", nargs="+", default=None, metavar="TxS[dD]",
                        help="only score+learn of rcf forests of T trees x S points, time decay D "
                             "(e.g. 30x256, 20x1024d2000)")
    args = parser.parse_args(argv)
    if args.default is not None:
        reference = _reference_ms()
        _bench_default(3000 if args.quick else 20_000, args.rounds, args.default or [1, 3, 8])
        print(f"reference loop sum(range(10**7)) {reference:.0f} ms; load average "
              f"{os.getloadavg()[0]:.1f}")
        return 0
    if args.rcf:
        return _bench_rcf(args.rcf, 3000 if args.quick else 20_000, args.rounds)
    n = 3000 if args.quick else 20_000
    n_keys = 1000 if args.quick else args.keys
    print(f"detectors bench: {len(FEATURES)} features, seeded Gaussian stream, pid {os.getpid()}, "
          f"reference loop sum(range(10**7)) {_reference_ms():.0f} ms")
    _bench_default(n, 1, [1, 3, 8])
    for name, spec in CONFIGS.items():
        # HST (Python trees) and the 100-tree reference are slow: fewer records
        count = n if name.startswith(("DEFAULT_RCF", "DEFAULT_KEYED", "KINESIS")) else max(
            1000, n // 5)
        wall = time.perf_counter()
        s = bench_speed(spec, count)
        wall = time.perf_counter() - wall
        print(f"{name:18s} {dict(spec)}")
        print(f"  score+learn      {s['score_learn_us']:8.1f} us/record (bare detector, {count})")
        print(f"  process_one      {s['process_one_us']:8.1f} us/record (scorer, calibrated)")
        print(f"  explain          {s['explain_us']:8.1f} us/flagged record")
        print(f"  (wall {wall:.1f} s for this block, load average {os.getloadavg()[0]:.1f})")
    for name in ("DEFAULT_KEYED_RCF", "DEFAULT_RCF", "DEFAULT_HST"):
        k = bench_keyed_size(CONFIGS[name], 200 if args.quick else 1000)
        print(f"keyed model size   {name}: pickle {k['pickle_bytes'] / 1e3:.1f} KB, zlib "
              f"{k['zlib_bytes'] / 1e3:.1f} KB, RSS {k['rss_bytes'] / 1e3:.1f} KB, pool estimate "
              f"{k['estimate_bytes'] / 1e3:.1f} KB per model")
    _KEEP.clear()
    gc.collect()
    for compress in (None, True):
        r = bench_restore(DEFAULT_KEYED_RCF, n_keys, compress)
        mode = "auto" if compress is None else compress
        print(f"restore {n_keys} keyed DEFAULT_KEYED_RCF (compress={mode}): snapshot "
              f"{r['snapshot_s']:.2f} s, {r['snapshot_mb']:.0f} MB; restore {r['restore_s']:.2f} s"
              f" (lazy), then first use of every key {r['thaw_s']:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
