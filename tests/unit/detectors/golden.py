"""Seeded streams and a digest of every scorer output, to pin them bit for bit.

``python -m tests.unit.detectors.golden`` prints the digests of the current code (and writes
the old-format snapshot fixture with ``--snapshot``); ``test_equivalence.py`` compares.
"""

from __future__ import annotations

import hashlib
import random
import sys
from pathlib import Path

from detectors import build_scorer
from detectors.defaults import (
    DEFAULT_CALIBRATION,
    DEFAULT_HST,
    DEFAULT_KEYED,
    DEFAULT_KEYED_CALIBRATION,
    DEFAULT_KEYED_RCF,
    DEFAULT_RCF,
    KINESIS_RCF,
    TAIL_CALIBRATION,
)

FEATURES = ["a", "b", "c"]
SNAPSHOT = Path(__file__).parent / "data" / "tail-rcf-v1.snapshot"
SMALL_TAIL = {"tail": {"history": 400, "suppress": 30, "margin": 0.05, "min_history": 40},
              "threshold": 2.0}

#: name -> (detector, calibration, keyed, missing, records)
CASES = {
    "default": (DEFAULT_RCF, DEFAULT_CALIBRATION, None, "impute", 6000),
    # the default before issue 10, configured explicitly: its outputs must not move
    "former-default": ({"name": "rcf", "n_trees": 15, "sample_size": 1024, "time_decay": 3000,
                        "shingle_size": 1, "seed": 42}, TAIL_CALIBRATION, None, "impute", 6000),
    "rcf-20x512-tail": ({"name": "rcf", "n_trees": 20, "sample_size": 512, "shingle_size": 1,
                         "seed": 42}, TAIL_CALIBRATION, None, "impute", 6000),
    "small-tail-wraps": ({"name": "rcf", "n_trees": 10, "sample_size": 64, "seed": 3},
                         SMALL_TAIL, None, "impute", 3000),
    "keyed-quantile": (DEFAULT_KEYED_RCF, DEFAULT_KEYED_CALIBRATION, DEFAULT_KEYED, "impute",
                       3000),
    # the keyed default before issue 10 (no standardize key): its outputs must not move
    "keyed-quantile-raw": ({k: v for k, v in DEFAULT_KEYED_RCF.items()
                            if not k.startswith("standardize")},
                           DEFAULT_KEYED_CALIBRATION, DEFAULT_KEYED, "impute", 3000),
    "keyed-tail-reject": ({"name": "rcf", "n_trees": 8, "sample_size": 32, "seed": 5},
                          SMALL_TAIL, {"max_keys": 3}, "reject", 4000),
    "threshold": (KINESIS_RCF, {"threshold": 2.5, "warmup": 20}, None, "impute", 2000),
    "hst-tail": (DEFAULT_HST, SMALL_TAIL, None, "impute", 900),
}


def stream(n: int, seed: int = 11) -> list[tuple[dict, str]]:
    """Gaussian records with spikes, level shifts, missing and non-numeric fields; 3 keys
    and a rare fourth one (evicts a key when the pool holds 3)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        x = {"a": rng.gauss(0, 1), "b": rng.gauss(10, 2) + (8.0 if (i // 700) % 2 else 0.0),
             "c": rng.random()}
        r = rng.random()
        if r < 0.01:
            x[rng.choice(FEATURES)] += rng.choice((-1, 1)) * rng.uniform(8, 40)
        elif r < 0.013:
            del x[rng.choice(FEATURES)]
        elif r < 0.015:
            x[rng.choice(FEATURES)] = rng.choice((None, "n/a", float("nan"), float("inf")))
        if i % 1000 == 999:  # rarer than 1 in 1000: the default threshold can flag it
            x["b"] = 300.0 + i / 100
        out.append((x, "k9" if i % 500 == 77 else f"k{i % 3}"))
    return out


def _line(a) -> str:
    f = (a.score, a.grade, a.confidence)
    expl = None if a.explanation is None else sorted(
        (k, repr(v["attribution"]), v["direction"], repr(v["expected"]))
        for k, v in a.explanation.items())
    return repr(([v.hex() for v in f], a.flag, a.warming_up, a.key, a.model, a.top_field,
                 a.direction, expl, a.rejected))


def outputs(scorer, records, keyed: bool) -> tuple[str, int]:
    """sha256 of every assessment's exact fields, and the number of flags."""
    h, flags = hashlib.sha256(), 0
    for x, key in records:
        a = scorer.process_one(x, key if keyed else None)
        flags += a.flag
        h.update(_line(a).encode())
        h.update(repr(scorer.calibrator(key if keyed else None).last_level).encode())
    return h.hexdigest(), flags


def run(name: str) -> tuple[str, int]:
    detector, calibration, keyed, missing, n = CASES[name]
    scorer = build_scorer(detector, calibration, keyed, FEATURES, missing)
    return outputs(scorer, stream(n), keyed is not None)


def snapshot_case():
    """A small tail-mode scorer after 1500 records, and the records that follow."""
    scorer = build_scorer({"name": "rcf", "n_trees": 6, "sample_size": 32, "seed": 9},
                          SMALL_TAIL, None, FEATURES)
    records = stream(2500, seed=12)
    for x, _ in records[:1500]:
        scorer.process_one(x)
    return scorer, records[1500:]


if __name__ == "__main__":
    for case in CASES:
        print(case, run(case))
    scorer, rest = snapshot_case()
    if "--snapshot" in sys.argv:
        SNAPSHOT.write_bytes(scorer.snapshot(compress=True))
    print("snapshot-continue", outputs(scorer, rest, False))
