"""Grouped cross-validation of the model families (slrt_ml.models.cv)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from slrt_ml.config import config_from_dict
from slrt_ml.data.synth.generator import make_registry
from slrt_ml.models.cv import (
    fit_final,
    grouped_folds,
    new_model,
    out_of_fold_scores,
    training_labels,
    training_sample,
)
from slrt_ml.pipeline.in_memory import targeting_data

RAW = {"seed": 7, "models": ["logit", "pmt_ols"], "cv": {"folds": 3}}
CONFIG = config_from_dict(RAW)


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


# --- the training sample: labelled households, survey weights --------------------------------


def _manual_oof(name, data, folds, rows, weight):
    scores = np.full(len(data.frame), np.nan)
    for train, test in folds:
        train, test = train[rows[train]], test[rows[test]]
        model = new_model(name, CONFIG)
        y = training_labels(model, data)
        model.fit(data.features.iloc[train], y[train], sample_weight=weight[train])
        scores[test] = model.poverty_score(data.features.iloc[test])
    return scores


def test_labelled_rows_get_weighted_oof_scores_and_the_others_the_final_model(data):
    labelled = data.labelled
    assert 0 < labelled.sum() < len(labelled)  # the synthetic survey samples some households
    assert len(np.unique(data.sample_weight[labelled])) > 1  # with unequal weights
    folds = grouped_folds(data.groups, 3, seed=0)
    scores = out_of_fold_scores("pmt_ols", data, folds, CONFIG)
    expected = _manual_oof("pmt_ols", data, folds, labelled, data.sample_weight)
    np.testing.assert_allclose(scores[labelled], expected[labelled])
    final = fit_final("pmt_ols", data, CONFIG)
    np.testing.assert_allclose(scores[~labelled], final.poverty_score(data.features[~labelled]))
    np.testing.assert_allclose(
        final.regression_.coef_,
        new_model("pmt_ols", CONFIG)
        .fit(
            data.features[labelled],
            training_labels(final, data)[labelled],
            sample_weight=data.sample_weight[labelled],
        )  # fmt: skip
        .regression_.coef_,
    )


def test_survey_weights_change_the_out_of_fold_scores(data):
    folds = grouped_folds(data.groups, 3, seed=0)
    equal = dataclasses.replace(data, frame=data.frame.assign(
        survey_weight=data.labelled.astype(float)))  # fmt: skip
    weighted = out_of_fold_scores("logit", data, folds, CONFIG)
    unweighted = out_of_fold_scores("logit", equal, folds, CONFIG)
    assert not np.allclose(weighted[data.labelled], unweighted[data.labelled])


def test_train_sample_all_uses_every_household_unweighted(data):
    folds = grouped_folds(data.groups, 3, seed=0)
    every = config_from_dict({**RAW, "train": {"sample": "all"}})
    rows, weight = training_sample(data, every)
    assert rows.all() and (weight == 1).all()
    scores = out_of_fold_scores("pmt_ols", data, folds, every)
    expected = _manual_oof("pmt_ols", data, folds, rows, weight)
    np.testing.assert_allclose(scores, expected)


def test_an_empty_training_sample_is_an_error(data):
    none = dataclasses.replace(data, frame=data.frame.assign(labelled=np.int8(0)))
    with pytest.raises(ValueError, match="no labelled household"):
        training_sample(none, CONFIG)
