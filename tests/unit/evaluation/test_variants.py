"""Robustness variants keep the labels and change the stream as named (plain values)."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.corpus import LabelledSeries
from evaluation.variants import VARIANTS, cut, gap, make_variant


def _series(n=20):
    stamps = tuple(f"t{i}" for i in range(n))
    return LabelledSeries("folder/file.csv", stamps, np.linspace(0.2, 9.8, n), ((3, 6), (12, 15)),
                          (4, 13))


def test_cut_drops_windows_past_the_cut_and_clips_a_crossing_one():
    short = cut(_series(), 14)
    assert len(short.values) == 14 and len(short.timestamps) == 14
    assert short.windows == ((3, 6), (12, 13))
    assert short.labels == (4, 13)
    assert short.probation == 2  # NAB's probation of a 14-row file, not of the 20-row one
    assert cut(_series(), 10).windows == ((3, 6),) and cut(_series(), 10).labels == (4,)


def test_cut_longer_than_the_file_is_the_file():
    s = _series()
    assert cut(s, 1000) is s


def test_value_variants_keep_windows_and_change_values():
    s = _series()
    assert np.allclose(make_variant(s, "x1000").values, s.values * 1000)
    assert np.allclose(make_variant(s, "plus1e6").values, s.values + 1e6)
    assert make_variant(s, "round").values.tolist()[:3] == [0.0, 1.0, 1.0]
    for name in ("x1000", "plus1e6", "round", "gap", "original"):
        v = make_variant(s, name)
        assert v.windows == s.windows and v.labels == s.labels and v.name == s.name
    assert not np.isnan(s.values).any()  # the original is left alone


def test_gap_blanks_ten_percent_in_the_middle():
    values = gap(_series(20)).values
    assert np.flatnonzero(np.isnan(values)).tolist() == [9, 10]
    values = make_variant(_series(100), "gap").values
    assert np.flatnonzero(np.isnan(values)).tolist() == list(range(45, 55))


def test_every_variant_is_named_and_an_unknown_one_is_refused():
    assert set(VARIANTS) == {"original", "cut1000", "cut2500", "x1000", "plus1e6", "round", "gap"}
    with pytest.raises(ValueError, match="unknown variant 'half'"):
        make_variant(_series(), "half")
