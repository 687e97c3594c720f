"""Explanations: additivity for every family, exactness against shap, grouping, labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slrt_ml.data.synth.generator import make_registry
from slrt_ml.explain import (
    BASE,
    encoded_contributions,
    explain_households,
    feature_contributions,
    model_margin,
    plot_waterfall,
    reason_columns,
)
from slrt_ml.features.households import household_features
from slrt_ml.models import make_model

SMALL = {
    "pmt_ols": {},
    "logit": {"max_iter": 300},
    "gbm": {"n_estimators": 30, "max_depth": 3},
    "rf": {"n_estimators": 15, "max_depth": 5, "random_state": 0},
    "ebm": {"outer_bags": 1, "max_rounds": 60, "interactions": 2, "random_state": 0},
    "mlp": {"hidden": (16, 8), "epochs": 3, "batch_size": 256, "random_state": 0},
}


@pytest.fixture(scope="module")
def training():
    registry = make_registry(households=600, seed=3)
    X = household_features(registry["households"], registry["members"], registry["areas"])
    poor = registry["truth"].set_index("IDBDT")["poor"].reindex(X.index).to_numpy()
    return X, poor


@pytest.fixture(scope="module")
def fitted(training):
    X, poor = training
    return {name: make_model(name, SMALL[name]).fit(X, poor) for name in SMALL if name != "mlp"}


def _assert_additive(model, X):
    contrib = feature_contributions(model, X)
    margin = model.decision_function(X)
    np.testing.assert_allclose(contrib.sum(axis=1).to_numpy(), margin, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("name", ["pmt_ols", "logit", "gbm", "rf", "ebm"])
def test_base_plus_contributions_equals_margin(fitted, training, name):
    _assert_additive(fitted[name], training[0])


@pytest.mark.slow
def test_keras_deeplift_is_additive(training, monkeypatch):
    import slrt_ml.explain.deeplift

    X, poor = training
    model = make_model("mlp", SMALL["mlp"]).fit(X, poor)
    _assert_additive(model, X)
    whole = feature_contributions(model, X)
    monkeypatch.setattr(
        slrt_ml.explain.deeplift, "_DEEPLIFT_ROWS", 7
    )  # slices give the same values
    np.testing.assert_allclose(feature_contributions(model, X), whole, atol=1e-9)
    np.testing.assert_allclose(model_margin(model, X), model.decision_function(X), atol=1e-5)
    np.testing.assert_allclose(reason_columns(model, X)["score"], model.decision_function(X),
                               atol=1e-4)  # fmt: skip
    # a background of real households gives another, equally additive, decomposition
    contrib = feature_contributions(model, X.iloc[:50], background=X.iloc[100:108])
    np.testing.assert_allclose(
        contrib.sum(axis=1).to_numpy(), model.decision_function(X.iloc[:50]), atol=1e-4
    )


def test_xgboost_contributions_match_shap_tree_explainer(fitted, training):
    import shap

    model, X = fitted["gbm"], training[0].iloc[:80]
    ours = encoded_contributions(model, X)
    encoded = model.encoder_.transform(X)
    explainer = shap.TreeExplainer(model.booster_)
    theirs = explainer.shap_values(encoded)
    np.testing.assert_allclose(ours.drop(columns=BASE).to_numpy(), theirs, atol=1e-4)
    assert ours[BASE].iloc[0] == pytest.approx(
        float(np.ravel(explainer.expected_value)[0]), abs=1e-4
    )


def test_forest_rescaling_keeps_the_sign_of_tree_shap(fitted, training):
    import shap

    model, X = fitted["rf"], training[0].iloc[:40]
    encoded = model.encoder_.transform(X)
    theirs = np.asarray(shap.TreeExplainer(model.forest_).shap_values(encoded.to_numpy()))[..., 1]
    ours = encoded_contributions(model, X).drop(columns=BASE).to_numpy()
    big = np.abs(theirs) > 1e-6
    assert (np.sign(ours[big]) == np.sign(theirs[big])).all()


def test_one_hot_columns_of_an_item_become_one_contribution(fitted, training):
    model, X = fitted["logit"], training[0].iloc[:30]
    encoded = encoded_contributions(model, X)
    floor_columns = [c for c in encoded.columns if c.startswith("jenis_lantai=")]
    assert len(floor_columns) > 1
    grouped = feature_contributions(model, X)
    np.testing.assert_allclose(grouped["jenis_lantai"], encoded[floor_columns].sum(axis=1))
    table = explain_households(model, X).table
    per_household = table[table["feature"] == "jenis_lantai"].groupby("IDBDT").size()
    assert (per_household == 1).all() and len(per_household) == len(X)


def test_answers_are_the_households_own_in_indonesian(fitted, training):
    X = training[0].copy()
    X["jenis_lantai"] = pd.array(["9"] * len(X), dtype="string")
    X["punya_lemari_es"] = np.float32(0)
    table = explain_households(fitted["gbm"], X.iloc[:5]).table
    floor = table[table["feature"] == "jenis_lantai"]
    assert set(floor["answer"]) == {"Lantai: tanah"}
    assert set(table.loc[table["feature"] == "punya_lemari_es", "answer"]) == {
        "Tidak punya lemari es"
    }
    assert list(table.columns[:2]) == ["IDBDT", "item"]
    assert {"answer", "contribution", "base_value", "model"} <= set(table.columns)


def test_reasons_are_the_largest_positive_contributions(fitted, training):
    model, X = fitted["ebm"], training[0].iloc[:20]
    reasons = reason_columns(model, X, top_k=3)
    table = explain_households(model, X, top_k=3).table
    for idbdt, rows in table.groupby("IDBDT"):
        positive = rows[rows["contribution"] > 0].sort_values("contribution", ascending=False)
        expected = positive["answer"].head(3).tolist()
        got = reasons.loc[idbdt, ["reason_1", "reason_2", "reason_3"]].dropna().tolist()
        assert got == expected
    np.testing.assert_allclose(reasons["score"], model.poverty_score(X), atol=1e-6)


def test_waterfall_plot_shows_base_and_final_score(fitted, training):
    X = training[0].iloc[:3]
    table = explain_households(fitted["logit"], X).table
    figure = plot_waterfall(table, X.index[0], max_items=6)
    ax = figure.axes[0]
    assert len(ax.patches) == 7  # six answers and "other answers"
    assert any("Skor akhir" in t.get_text() for t in ax.get_legend().get_texts())
    with pytest.raises(ValueError, match="not in the explanation table"):
        plot_waterfall(table, "no-such-id")


@pytest.mark.parametrize("name", ["pmt_ols", "logit", "gbm", "rf", "ebm"])
def test_reason_scores_are_the_margin_and_reasons_the_top_positive(fitted, training, name):
    model, X = fitted[name], training[0].iloc[:60]
    reasons = reason_columns(model, X, top_k=4)
    np.testing.assert_allclose(reasons["score"], model.poverty_score(X), atol=1e-4)
    contrib = feature_contributions(model, X).drop(columns=BASE)
    n_positive = (contrib > 0).sum(axis=1).clip(upper=4)
    assert (reasons[[f"reason_{i}" for i in range(1, 5)]].notna().sum(axis=1) == n_positive).all()
