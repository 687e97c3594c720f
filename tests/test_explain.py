"""Explanations: additivity for every family, exactness against shap, grouping, labels."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from slrt_ml.data.synth.generator import make_registry
from slrt_ml.explain import (
    BASE,
    encoded_contributions,
    explain_households,
    feature_contributions,
    feature_hierarchy,
    model_margin,
    plot_waterfall,
    reason_columns,
    waterfall_bars,
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
    assert list(table.columns[:3]) == ["IDBDT", "block", "item"]
    assert {"answer", "contribution", "base_value", "model"} <= set(table.columns)
    assert set(table.loc[table["feature"] == "jenis_lantai", "item"]) == {"Jenis lantai terluas"}
    assert set(table.loc[table["feature"] == "kecamatan", "block"]) == {"location"}


def _item_reasons(rows: pd.DataFrame, toward: str, k: int) -> list[str]:
    """Expected reasons from the tidy table: items summed, location left out, each worded
    by its largest contribution toward ``toward``."""
    sign = 1.0 if toward == "poorer" else -1.0
    rows = rows[rows["block"] != "location"].assign(signed=sign * rows["contribution"])
    totals = rows.groupby("item")["signed"].sum()
    totals = totals[totals > 0].sort_values(ascending=False, kind="stable").head(k)
    best = rows.sort_values("signed", ascending=False, kind="stable").drop_duplicates("item")
    return best.set_index("item").loc[totals.index, "answer"].tolist()


@pytest.mark.parametrize("name", ["ebm", "gbm"])
def test_reasons_are_the_items_pushing_toward_the_decision(fitted, training, name):
    model, X = fitted[name], training[0].iloc[:20]
    selected = np.arange(len(X)) % 3 == 0
    result = explain_households(model, X, top_k=3, selected=selected)
    assert (result.reasons["reasons_toward"] == np.where(selected, "poorer", "richer")).all()
    for idbdt, rows in result.table.groupby("IDBDT"):
        toward = result.reasons.loc[idbdt, "reasons_toward"]
        got = result.reasons.loc[idbdt, ["reason_1", "reason_2", "reason_3"]].dropna().tolist()
        assert got == _item_reasons(rows, toward, 3)
    np.testing.assert_allclose(result.reasons["score"], model.poverty_score(X), atol=1e-5)
    # without a decision every household keeps its reasons toward poorer (as before)
    plain = reason_columns(model, X, top_k=3)
    assert (plain["reasons_toward"] == "poorer").all()


def test_location_is_never_a_reason(fitted, training):
    X = training[0].iloc[:60]
    for selected in (None, False):
        reasons = reason_columns(fitted["logit"], X, top_k=8, selected=selected)
        words = reasons.filter(like="reason_").stack().astype(str)
        assert not words.str.contains("Kecamatan|Kabupaten|perkotaan|perdesaan").any()


def test_waterfall_plot_draws_every_bar_from_base_to_score(fitted, training):
    X = training[0].iloc[:3]
    table = explain_households(fitted["logit"], X).table
    figure = plot_waterfall(table, X.index[0], max_items=6)
    ax = figure.axes[0]
    bars = waterfall_bars(table, X.index[0], max_items=6)
    assert len(ax.patches) == len(bars) >= 6 + 1  # named items, block remainders, location
    assert [t.get_text() for t in ax.get_yticklabels()] == bars["label"].tolist()
    assert any("Skor akhir" in t.get_text() for t in ax.get_legend().get_texts())
    english = plot_waterfall(table, X.index[0], lang="en").axes[0]
    assert any("Final score" in t.get_text() for t in english.get_legend().get_texts())
    with pytest.raises(ValueError, match="not in the explanation table"):
        plot_waterfall(table, "no-such-id")


@pytest.mark.parametrize("name", ["pmt_ols", "gbm", "ebm", "logit", "rf"])
def test_waterfall_of_a_real_model_adds_up_and_names_more_than_any_remainder(
    fitted, training, name
):
    model, X = fitted[name], training[0].iloc[:12]
    result = explain_households(model, X)
    margin = model.decision_function(X)
    for (i, idbdt), max_items in itertools.product(enumerate(X.index), [1, 4, 10]):
        bars = waterfall_bars(result.table, idbdt, max_items=max_items)
        total = bars.attrs["base"] + bars["value"].sum()
        assert np.isclose(total, result.reasons.loc[idbdt, "score"], rtol=0, atol=1e-9)
        assert np.isclose(total, margin[i], rtol=0, atol=1e-4)  # float32 models
        named = bars.loc[bars["kind"] == "item", "value"].abs()
        remainders = bars.loc[bars["kind"] == "block", "value"].abs()
        assert len(named) >= min(max_items, 1) and (remainders <= named.max()).all()
        assert (bars["kind"] == "location").sum() == 1
        assert not bars.loc[bars["kind"] != "location", "block"].eq("location").any()
        assert bars["n_items"].sum() <= result.table["item"].nunique()


@pytest.mark.parametrize("name", ["pmt_ols", "logit", "gbm", "rf", "ebm"])
def test_reason_scores_are_the_margin_and_reasons_the_top_positive(fitted, training, name):
    model, X = fitted[name], training[0].iloc[:60]
    reasons = reason_columns(model, X, top_k=4)
    np.testing.assert_allclose(reasons["score"], model.poverty_score(X), atol=1e-4)
    contrib = feature_contributions(model, X).drop(columns=BASE)
    hierarchy = feature_hierarchy(list(contrib.columns))
    items = contrib.drop(columns=hierarchy.location).to_numpy() @ np.delete(
        hierarchy.item_matrix(), [list(contrib.columns).index(f) for f in hierarchy.location], 0
    )
    n_positive = (items > 0).sum(axis=1).clip(max=4)
    assert (reasons[[f"reason_{i}" for i in range(1, 5)]].notna().sum(axis=1) == n_positive).all()
