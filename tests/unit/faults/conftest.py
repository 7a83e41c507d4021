"""Hypothesis profiles for the fuzz tests: ``OUTLIER_FUZZ_PROFILE=ci`` (default) or ``full``.

``full`` generates 6,000 inputs per fuzz test (18 tests with the pipeline parametrisation:
108,000 in all); ``ci`` about a hundred per test.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "full", max_examples=6_000, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("OUTLIER_FUZZ_PROFILE", "ci"))
