"""SKAB's pooled metrics, ROC AUC and Hotelling T² (plain values, then the shared files)."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.corpus import DataMissing
from evaluation.hotelling import HotellingT2, t2_ucl
from evaluation.skab import DEFAULT_SKAB, SENSORS, load_experiments, pooled_auc, pooled_scores


def test_pooled_counts_add_up_over_files_on_test_rows_only():
    labels = [np.array([1, 1, 0, 1, 0, 0], bool), np.array([1, 0, 1, 1], bool)]
    flags = [np.array([1, 1, 1, 1, 1, 0], bool), np.array([1, 1, 0, 1], bool)]
    s = pooled_scores(labels, flags, skip=2)
    assert (s.tp, s.fp, s.fn, s.tn) == (2, 2, 1, 1)
    assert s.f1 == pytest.approx(2 / (2 + 1.5))
    assert s.far == pytest.approx(100 * 2 / 3)
    assert s.mar == pytest.approx(100 / 3)


def test_flagging_everything_is_the_trap_the_readme_names():
    labels = [np.r_[np.zeros(400), np.zeros(300), np.ones(400)].astype(bool)]
    s = pooled_scores(labels, [np.ones(1100, bool)])
    assert round(s.f1, 3) == round(400 / (400 + 150), 3) and s.far == 100.0 and s.mar == 0.0


def test_auc_counts_ties_as_half_and_nan_as_lowest():
    y = [np.array([0, 0, 1, 1], bool)]
    assert pooled_auc(y, [np.array([0.1, 0.2, 0.3, 0.4])], skip=0) == 1.0
    assert pooled_auc(y, [np.array([0.4, 0.3, 0.2, 0.1])], skip=0) == 0.0
    assert pooled_auc(y, [np.array([0.5, 0.5, 0.5, 0.5])], skip=0) == 0.5
    assert pooled_auc(y, [np.array([0.2, np.nan, np.nan, 0.3])], skip=0) == 0.625
    assert np.isnan(pooled_auc([np.zeros(3, bool)], [np.arange(3.0)], skip=0))


def test_t2_limit_and_flags_on_a_plain_shift():
    f_quantile = 7.4184  # F(0.999; 2, 98)
    assert t2_ucl(2, 100, 0.999) == pytest.approx(2 * 99 * 101 / (100 * 98) * f_quantile, rel=1e-4)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(600, 4)) * [0.01, 1.0, 100.0, 1e4]  # units do not matter
    x[500:, 2] += 800.0
    t2, flags = HotellingT2().fit_predict(x)
    assert np.isnan(t2[:4]).all() and not flags[:4].any()
    assert flags[504:].all() and flags[400:500].mean() < 0.02


def test_t2_refuses_a_constant_training_column():
    x = np.ones((450, 2))
    x[:, 0] = np.arange(450.0)
    with pytest.raises(ValueError, match=r"constant column\(s\) \[1\]"):
        HotellingT2().fit_predict(x)


def test_t2_reproduces_skab_published_figures_on_valve1():
    experiments = load_experiments(DEFAULT_SKAB)
    assert len(experiments) == 16 and experiments[0].values.shape[1] == len(SENSORS)
    labels = [e.anomaly for e in experiments]
    out = [HotellingT2().fit_predict(e.values) for e in experiments]
    s = pooled_scores(labels, [flags for _, flags in out])
    # SKAB's README: 0.65 / 19.94 / 44.05 on these 16 files
    assert (round(s.f1, 2), round(s.far, 2), round(s.mar, 2)) == (0.65, 19.94, 44.05)
    assert round(pooled_auc(labels, [t2 for t2, _ in out]), 2) == 0.77


def test_missing_skab_says_where_to_get_it(tmp_path):
    with pytest.raises(DataMissing, match="github.com/waico/SKAB"):
        load_experiments(tmp_path)


def test_best_f1_at_a_false_alarm_budget_takes_whole_ties():
    from evaluation.skab import best_f1_at_far

    y = [np.array([0, 0, 0, 0, 1, 1, 1, 1], bool), np.array([0, 1], bool)]
    s = [np.array([0.1, 0.2, 0.3, 0.9, 0.8, 0.7, 0.05, 0.6]), np.array([0.5, 0.5])]
    tight = best_f1_at_far(y, s, 10.0, skip=0)  # 0.9 is a normal row: nothing may detect
    assert (tight.tp, tight.fp, tight.f1) == (0, 0, 0.0)
    loose = best_f1_at_far(y, s, 40.0, skip=0)  # 0.5 ties one normal and one anomalous row
    assert (loose.tp, loose.fp, loose.fn, loose.tn) == (4, 2, 1, 3)
    assert loose.f1 == pytest.approx(4 / (4 + 1.5)) and loose.far == pytest.approx(40.0)
