"""Named default configurations (importable, so evaluation measures exactly these).

The default RCF is leaner than Kinesis' 100 trees x 256 samples (~100 us/record): 30 trees
of 64 points score and learn in about 25 us/record on 3 features. Keyed models trade trees,
sample and the bounding-box cache for memory, to stay under 100 KB per key
(``python -m detectors.bench`` prints the figures).
"""

from __future__ import annotations

from types import MappingProxyType

from .rcf import KINESIS_PRESET

__all__ = [
    "DEFAULT_CALIBRATION",
    "DEFAULT_HST",
    "DEFAULT_KEYED",
    "DEFAULT_KEYED_RCF",
    "DEFAULT_RCF",
    "KINESIS_RCF",
]

#: Default single-model RCF.
DEFAULT_RCF = MappingProxyType(
    {"name": "rcf", "n_trees": 30, "sample_size": 64, "shingle_size": 1, "seed": 42}
)
#: Kinesis ``RANDOM_CUT_FOREST(cursor, 1, 10, 10, 2)``.
KINESIS_RCF = MappingProxyType({"name": "rcf", **KINESIS_PRESET, "seed": 42})
#: Default Half-Space Trees (River's defaults, seeded).
DEFAULT_HST = MappingProxyType(
    {"name": "hst", "n_trees": 10, "height": 8, "window_size": 250, "seed": 42}
)
#: Default per-key RCF: 20 trees of 32 points, no bounding-box cache (about 70 KB resident
#: per key instead of about 220 KB for DEFAULT_RCF; same detection on per-key count streams).
DEFAULT_KEYED_RCF = MappingProxyType(
    {"name": "rcf", "n_trees": 20, "sample_size": 32, "shingle_size": 1,
     "bounding_box_cache_fraction": 0.0, "seed": 42}
)
#: Default keyed-pool bounds.
DEFAULT_KEYED = MappingProxyType({"max_keys": 10_000, "max_bytes": 1_000_000_000})
#: Default calibration: flag the top 1% of each key's recent scores.
DEFAULT_CALIBRATION = MappingProxyType({"quantile": 0.99, "warmup": 50, "window": 1000})
