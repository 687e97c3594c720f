"""Tabulated TreeSHAP of XGBoost models equals XGBoost's own ``pred_contribs``."""

from __future__ import annotations

import numpy as np
import pytest

from slrt_ml.data.synth.generator import make_registry
from slrt_ml.explain.treeshap import tree_contributions
from slrt_ml.features import household_features
from slrt_ml.models import make_model
from slrt_ml.models._base import BASE


@pytest.fixture(scope="module")
def training():
    registry = make_registry(households=600, seed=3)
    X = household_features(registry["households"], registry["members"], registry["areas"])
    poor = registry["truth"].set_index("IDBDT")["poor"].reindex(X.index).to_numpy()
    return X, poor


@pytest.mark.parametrize("depth", [1, 3, 5])
def test_tabulated_tree_shap_equals_xgboost_pred_contribs(training, depth):
    X, poor = training
    X = X.copy()
    X.loc[X.index[::7], "luas_lantai_per_kapita"] = np.nan  # missing values take the default branch
    model = make_model("gbm", {"n_estimators": 25, "max_depth": depth, "random_state": 0})
    model.fit(X, poor)
    encoded = model.encoder_.transform(X)
    values, base, columns = tree_contributions(model, encoded)
    theirs = model._encoded_contributions(encoded)
    assert columns == list(encoded.columns)
    np.testing.assert_allclose(values, theirs.drop(columns=BASE).to_numpy(), atol=1e-5)
    np.testing.assert_allclose(base, theirs[BASE].to_numpy(), atol=1e-5)
    np.testing.assert_allclose(base + values.sum(axis=1), model.decision_function(X), atol=1e-5)


def test_trees_too_deep_to_tabulate_fall_back_to_pred_contribs(training):
    X, poor = training
    model = make_model("gbm", {"n_estimators": 3, "max_depth": 6, "random_state": 0}).fit(X, poor)
    encoded = model.encoder_.transform(X)
    values, base, _ = tree_contributions(model, encoded)
    theirs = model._encoded_contributions(encoded)
    np.testing.assert_allclose(values, theirs.drop(columns=BASE).to_numpy(), atol=1e-5)
    np.testing.assert_allclose(base + values.sum(axis=1), model.decision_function(X), atol=1e-5)
