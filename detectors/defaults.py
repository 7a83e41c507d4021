"""Named default configurations (importable, so evaluation measures exactly these).

Since issue 10 the default forest standardises its inputs per feature (``standardize``: no
units) and the default calibration extrapolates the score tail beyond its history
(``POT_CALIBRATION``: a flag reachable a few hundred records in, on any stream length) and
flags a value far outside everything seen while the model warms up (``tail.early``). The
choices and the data each looked at are in ``detectors/README.md``.

The default RCF is leaner than Kinesis' 100 trees x 256 samples (~100 us/record): 15 trees
of 1024 points that forget with a time decay of 3000 records. With the tail calibration it
scores narrowly above NAB's HTM on all three NAB profiles (mean of sixteen forest seeds,
chosen with ``python -m evaluation.sweep``), at about 1.2 times the score+learn cost of the
former 20 x 512 default; see ``detectors/README.md`` for the measured trade-off. Keyed models trade
trees, sample and the bounding-box cache for memory, to stay under 100 KB per key
(``python -m detectors.bench`` prints the figures).
"""

from __future__ import annotations

from types import MappingProxyType

from .rcf import KINESIS_PRESET

__all__ = [
    "DEFAULT_CALIBRATION",
    "POT_CALIBRATION",
    "NAB_BEST",
    "QUANTILE_CALIBRATION",
    "TAIL_CALIBRATION",
    "DEFAULT_HST",
    "DEFAULT_KEYED",
    "DEFAULT_KEYED_CALIBRATION",
    "DEFAULT_KEYED_RCF",
    "DEFAULT_RCF",
    "KINESIS_RCF",
]

#: Default single-model RCF: 15 trees x 1024 points, time decay 3000 records (mean NAB score
#: over sixteen forest seeds above HTM on every profile; 20 x 512 with krcf's decay before,
#: 30 x 64 before that).
DEFAULT_RCF = MappingProxyType(
    {"name": "rcf", "n_trees": 15, "sample_size": 1024, "time_decay": 3000, "shingle_size": 1,
     "standardize": True, "seed": 42}
)
#: Kinesis ``RANDOM_CUT_FOREST(cursor, 1, 10, 10, 2)``.
KINESIS_RCF = MappingProxyType({"name": "rcf", **KINESIS_PRESET, "seed": 42})
#: Default Half-Space Trees (River's defaults, seeded) behind a UnitScaler of span 32.
DEFAULT_HST = MappingProxyType(
    {"name": "hst", "n_trees": 10, "height": 8, "window_size": 250, "span": 32.0, "seed": 42}
)
#: Default per-key RCF: 20 trees of 32 points, no bounding-box cache (about 70 KB resident
#: per key instead of about 220 KB for DEFAULT_RCF; same detection on per-key count streams),
#: inputs standardised per key with a frame fixed after 16 records (a key's forest gets its
#: first points then, not after 64).
DEFAULT_KEYED_RCF = MappingProxyType(
    {"name": "rcf", "n_trees": 20, "sample_size": 32, "shingle_size": 1,
     "bounding_box_cache_fraction": 0.0, "standardize": True, "standardize_warmup": 16,
     "seed": 42}
)
#: Default keyed-pool bounds.
DEFAULT_KEYED = MappingProxyType({"max_keys": 10_000, "max_bytes": 1_000_000_000})
#: Tail calibration: grade 1 - p (p: empirical tail probability of the score in the key's last
#: 20000 scores), flag -log10(p) >= 3 at new peaks only (beating the previous 200 rows by
#: 0.05), after 50 scores. Fixed before looking at labels.
TAIL_CALIBRATION = MappingProxyType(
    {
        "tail": MappingProxyType(
            {"history": 20_000, "suppress": 200, "margin": 0.05, "min_history": 50}
        ),
        "threshold": 3.0,
    }
)
#: Tail calibration with a fitted tail (the default since issue 10): as TAIL_CALIBRATION, but
#: a score above the history's top 10 % gets ``p`` from an exponential tail fitted to those
#: scores (peaks over threshold), so ``-log10 p >= 3`` is reachable from the 50th score on
#: instead of the 999th; while fewer than 1000 scores stand behind it the level is lowered
#: by ``2 log10(1000 / n)`` (``young``: at 100 scores a flag needs level 5); and ``early``:
#: a value far outside everything seen flags while the model warms up. Fit quantile,
#: threshold and ``young`` chosen on realKnownCause only (README).
POT_CALIBRATION = MappingProxyType(
    {
        "tail": MappingProxyType(
            {"history": 20_000, "suppress": 200, "margin": 0.05, "min_history": 50,
             "fit": "exp", "fit_quantile": 0.9, "fit_min": 5, "young": 2.0, "mature": 1000,
             "early": True}
        ),
        "threshold": 3.0,
    }
)
#: Former default calibration: flag the top 1% of each key's recent scores.
QUANTILE_CALIBRATION = MappingProxyType({"quantile": 0.99, "warmup": 50, "window": 1000})
#: Default calibration: the tail calibration with a fitted tail (TAIL_CALIBRATION before, the
#: quantile filter before that).
DEFAULT_CALIBRATION = POT_CALIBRATION
#: Default calibration of keyed pools: the quantile filter. Tail mode keeps twice its history
#: (ring and sorted copy): with DEFAULT_KEYED_RCF the pool estimate per key is 78 KB with
#: this, 115 KB with a tail history of 2000 and 209 KB with 5000 (budget: 100 KB).
DEFAULT_KEYED_CALIBRATION = QUANTILE_CALIBRATION
#: Best measured NAB configuration (rcf 100 x 1024 + tail calibration; slow, see README).
NAB_BEST = MappingProxyType(
    {
        "detector": MappingProxyType(
            {"name": "rcf", "n_trees": 100, "sample_size": 1024, "shingle_size": 1, "seed": 42}
        ),
        "calibration": TAIL_CALIBRATION,
    }
)
