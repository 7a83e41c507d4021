"""River conformance: the dataset-free checks of ``river.checks.common`` on our own stream.

River's ``check_estimator`` downloads CreditCard and needs scikit-learn, so the checks are
called one by one with a synthetic, seeded stream of 8 numeric features (enough for the
emerging/disappearing feature checks, which drop 3 at random).
"""

from __future__ import annotations

import copy
import random

import pytest
from river.checks import common

from detectors import CalibratedFilter, RandomCutForest
from detectors.hst import make_hst


def _stream(n=120, seed=5):
    rng = random.Random(seed)
    for i in range(n):
        x = {f"f{j}": rng.gauss(j, 1.0) for j in range(8)}
        if i % 40 == 39:
            x["f3"] += 12.0
        yield x, None


def _models():
    return {
        "rcf": RandomCutForest(n_trees=10, sample_size=32, seed=42),
        "rcf-kinesis": RandomCutForest(
            n_trees=1, sample_size=10, time_decay=10, shingle_size=2, seed=42
        ),
        "hst": make_hst(n_trees=5, height=6, window_size=30, seed=42),
        "calibrated-rcf": CalibratedFilter(
            RandomCutForest(n_trees=10, sample_size=32, seed=42), threshold=2.5, warmup=5
        ),
    }


MODEL_CHECKS = [
    common.check_repr,
    common.check_str,
    common.check_tags,
    common.check_clone_same_class,
    common.check_clone_is_idempotent,
    common.check_init_has_default_params_for_tests,
    common.check_init_default_params_are_not_mutable,
    common.check_doc,
    common.check_clone_changes_memory_addresses,
    common.check_mutate_can_be_idempotent,
    common.check_pickling_supports_roundtrip,
    common.check_repr_roundtrips_clone,
    common.check_clone_with_new_params_applies,
    common.check_get_params_matches_signature,
]

DATASET_CHECKS = [
    common.check_learn_one,
    common.check_pickling,
    common.check_shuffle_features_no_impact,
    common.check_emerging_features,
    common.check_disappearing_features,
    common.check_radically_disappearing_features,
    common.check_predict_one_pure,
    common.check_predict_one_before_any_learn,
    common.check_no_state_aliasing_with_input,
    common.check_clone_is_independent,
    common.check_seeding_is_idempotent,
    common.check_bounded_memory_growth,
]

# Checks that only make sense for a class (not a pipeline built by a factory function).
_CLASS_ONLY = {"check_init_has_default_params_for_tests", "check_get_params_matches_signature",
               "check_init_default_params_are_not_mutable", "check_clone_with_new_params_applies"}


# River's `_infer` only knows detectors, classifiers, regressors and transformers: an
# AnomalyFilter (River's own ThresholdFilter too) has no inference method it can call; the
# last two would return at once for it (vacuous), so they are not run on the filter either.
_NEEDS_INFER = {"check_pickling", "check_shuffle_features_no_impact", "check_emerging_features",
                "check_disappearing_features", "check_radically_disappearing_features",
                "check_seeding_is_idempotent", "check_predict_one_pure",
                "check_predict_one_before_any_learn"}


def _cases(checks):
    for name in _models():
        for check in checks:
            if name == "hst" and check.__name__ in _CLASS_ONLY:
                continue  # River's own HalfSpaceTrees passes these in River's suite
            if name == "calibrated-rcf" and check.__name__ in _NEEDS_INFER:
                continue
            yield pytest.param(name, check, id=f"{name}-{check.__name__}")


@pytest.mark.parametrize(("name", "check"), list(_cases(MODEL_CHECKS)))
def test_model_check(name, check):
    check(copy.deepcopy(_models()[name]))


@pytest.mark.parametrize(("name", "check"), list(_cases(DATASET_CHECKS)))
def test_dataset_check(name, check):
    random.seed(0)  # the feature checks shuffle with the global random module
    check(copy.deepcopy(_models()[name]), list(_stream()))


def test_wrapper_accepts_kwargs():
    common.check_wrapper_accepts_kwargs(_models()["calibrated-rcf"])
