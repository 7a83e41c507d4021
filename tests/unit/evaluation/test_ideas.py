from __future__ import annotations

import numpy as np
import pytest

from evaluation.ideas import ForestTail, RollingInput
from evaluation.runner import score_series


def _series(n=2100, seed=3):
    rng = np.random.default_rng(seed)
    values = rng.normal(10.0, 1.0, n)
    values[1700] += 15.0  # after 1000 scores, so rarer than 1 in 1000 is reachable
    values[1900:1950] += 4.0
    return values


def test_idea_harness_reproduces_the_default_configuration_exactly():
    values = _series()
    scores, flags, _ = score_series("default", values)
    again, again_flags, _ = score_series("idea-check", values)
    assert np.array_equal(scores, again) and np.array_equal(flags, again_flags)
    assert flags.any()


def test_smoothing_and_a_second_scale_change_the_levels_but_still_flag_the_spike():
    values = _series()
    for config in ("idea-smooth2", "idea-scales"):
        scores, flags, _ = score_series(config, values)
        assert flags[1700:1710].any() and scores.max() >= 3.0


def test_rolling_inputs():
    std = RollingInput("std", 3)
    assert [std.transform(v) for v in (1.0, 1.0, 4.0)][-1] == pytest.approx(np.std([1, 1, 4]))
    with pytest.raises(ValueError):
        RollingInput("median")
    with pytest.raises(ValueError):
        ForestTail([({"n_trees": 2}, [("nope", 1)])])
