"""Grouped cross-validation of the model families (slrt_ml.models.cv)."""

from __future__ import annotations

import numpy as np
import pytest

from slrt_ml.config import config_from_dict
from slrt_ml.data.synth.generator import make_registry
from slrt_ml.models.cv import grouped_folds, new_model, out_of_fold_scores, training_labels
from slrt_ml.pipeline.in_memory import targeting_data

CONFIG = config_from_dict({"seed": 7, "models": ["logit", "pmt_ols"], "cv": {"folds": 3}})


@pytest.fixture(scope="module")
def data():
    return targeting_data(make_registry(households=600, seed=11))


def test_grouped_folds_never_split_a_desa(data):
    folds = grouped_folds(data.groups, 3, seed=0)
    seen = np.concatenate([test for _, test in folds])
    assert sorted(seen) == list(range(len(data.groups)))
    for train_idx, test_idx in folds:
        assert not set(data.groups[train_idx]) & set(data.groups[test_idx])


def test_grouped_folds_need_enough_desa():
    with pytest.raises(ValueError, match="at least 5 desa"):
        grouped_folds(np.array(["a", "a", "b"]), 5, seed=0)


def test_out_of_fold_scores_cover_every_household_and_are_reproducible(data):
    folds = grouped_folds(data.groups, 3, seed=0)
    calls = []
    first = out_of_fold_scores("logit", data, folds, CONFIG, on_fold=lambda: calls.append(1))
    again = out_of_fold_scores("logit", data, folds, CONFIG)
    assert len(calls) == len(folds)
    assert not np.isnan(first).any()
    np.testing.assert_array_equal(first, again)


def test_welfare_models_learn_the_welfare_ratio_and_classifiers_the_label(data):
    assert np.array_equal(training_labels(new_model("logit", CONFIG), data), data.poor)
    welfare = training_labels(new_model("pmt_ols", CONFIG), data)
    np.testing.assert_array_equal(welfare, data.welfare_target.to_numpy(dtype=float))


def test_new_model_takes_the_config_seed_unless_given():
    assert new_model("gbm", CONFIG).get_params()["random_state"] == 7
    seeded = config_from_dict({"seed": 7, "model_params": {"gbm": {"random_state": 3}}})
    assert new_model("gbm", seeded).get_params()["random_state"] == 3
