"""Tests of slrt_ml.models: the encoder, the six poverty models, the factory, save/load."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score
from sklearn.utils.estimator_checks import estimator_checks_generator

from slrt_ml.models import (
    MODEL_NAMES,
    FeatureEncoder,
    load_model,
    make_model,
    save_model,
)

# Small settings so every family fits the synthetic frame in a second or two.
FAST = {
    "pmt_ols": {},
    "logit": {},
    "gbm": {"n_estimators": 60, "max_depth": 3},
    "rf": {"n_estimators": 40, "max_depth": 8, "min_samples_leaf": 5},
    "ebm": {"outer_bags": 1, "interactions": 2, "max_rounds": 300, "learning_rate": 0.1},
    "mlp": {"hidden": (16, 8), "epochs": 8, "batch_size": 256, "learning_rate": 0.01},
}
SKLEARN_FAMILIES = [n for n in MODEL_NAMES if n != "mlp"]
EXACT_CONTRIBUTIONS = ["pmt_ols", "logit", "gbm", "ebm"]


def registry_frame(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Households with 3 numeric and 2 string features; poor by a known rule plus noise.

    Returns the features, the poor label (0/1, 30% poor) and the desa code of each row.
    """
    rng = np.random.default_rng(seed)
    desa = rng.integers(0, 30, n)
    floor = rng.choice(["1", "2", "6", "9"], n, p=[0.1, 0.3, 0.3, 0.3])
    X = pd.DataFrame(
        {
            "floor_area_pc": rng.gamma(3.0, 5.0, n).astype(np.float32),
            "n_children": rng.poisson(1.5, n).astype(np.float32),
            "has_motorcycle": rng.integers(0, 2, n).astype(np.float32),
            "Lantai": pd.array(floor, dtype="string"),
            "KDDESA": pd.array([f"{d:03d}" for d in desa], dtype="string"),
        }
    )
    desa_effect = np.linspace(-1.0, 1.0, 30)[desa]
    latent = (
        1.5 * (floor == "9")
        - 0.1 * X["floor_area_pc"].to_numpy()
        + 0.7 * X["n_children"].to_numpy()
        - 1.2 * X["has_motorcycle"].to_numpy()
        + desa_effect
        + rng.logistic(0.0, 0.5, n)
    )
    poor = (latent > np.quantile(latent, 0.7)).astype(int)
    return X, poor, desa.astype(str)


@pytest.fixture(scope="module")
def households():
    X, poor, desa = registry_frame(3000)
    train = np.arange(3000) < 2000
    return X[train], poor[train], desa[train], X[~train], poor[~train]


@pytest.fixture(scope="module")
def fitted(households):
    X, y, desa, _, _ = households
    return {
        name: make_model(name, {**FAST[name], "random_state": 0}).fit(X, y)
        for name in SKLEARN_FAMILIES
    }


# --- FeatureEncoder ----------------------------------------------------------------------------


def small_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area_m2": np.array([10.0, 20.0, 30.0, 40.0], dtype=np.float32),
            "Lantai": pd.array(["9", "9", "2", "7"], dtype="string"),
        }
    )


def test_encoder_onehot_by_hand():
    encoder = FeatureEncoder(min_frequency=1).fit(small_frame())
    out = encoder.transform(small_frame())
    assert out.columns.tolist() == ["area_m2", "Lantai=2", "Lantai=7", "Lantai=9"]
    assert out["Lantai=9"].tolist() == [1.0, 1.0, 0.0, 0.0]
    assert (out.dtypes == np.float32).all()
    assert encoder.sources_ == {
        "area_m2": "area_m2",
        "Lantai=2": "Lantai",
        "Lantai=7": "Lantai",
        "Lantai=9": "Lantai",
    }


def test_encoder_unseen_level_is_all_zero_without_pooling():
    encoder = FeatureEncoder(min_frequency=1).fit(small_frame())
    unseen = small_frame().assign(Lantai=pd.array(["4"] * 4, dtype="string"))
    out = encoder.transform(unseen)
    assert out.filter(like="Lantai=").to_numpy().sum() == 0


def test_encoder_rare_and_unseen_levels_share_other():
    # "2" and "7" are seen once each: below min_frequency=2 they become __other__
    encoder = FeatureEncoder(min_frequency=2).fit(small_frame())
    assert encoder.categories_["Lantai"] == ["9", "__other__"]
    new = small_frame().assign(Lantai=pd.array(["9", "2", "4", pd.NA], dtype="string"))
    out = encoder.transform(new)
    assert out["Lantai=9"].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert out["Lantai=__other__"].tolist() == [0.0, 1.0, 1.0, 1.0]


def test_encoder_ordinal_codes_reserve_zero_for_other():
    encoder = FeatureEncoder(mode="ordinal", min_frequency=1).fit(small_frame())
    new = small_frame().assign(Lantai=pd.array(["2", "7", "9", "5"], dtype="string"))
    assert encoder.transform(new)["Lantai"].tolist() == [1.0, 2.0, 3.0, 0.0]
    assert encoder.cardinalities_ == {"Lantai": 4}


def test_encoder_standardises_with_weights():
    weights = np.array([1.0, 0.0, 0.0, 1.0])  # only 10 and 40 count: mean 25, sd 15
    encoder = FeatureEncoder(standardize=True, min_frequency=1)
    out = encoder.fit(small_frame(), sample_weight=weights).transform(small_frame())
    assert encoder.means_["area_m2"] == pytest.approx(25.0)
    assert encoder.scales_["area_m2"] == pytest.approx(15.0)
    assert out["area_m2"].tolist() == pytest.approx([-1.0, -1 / 3, 1 / 3, 1.0], rel=1e-6)


def test_encoder_fills_missing_numbers_with_training_median():
    encoder = FeatureEncoder(min_frequency=1).fit(small_frame())
    new = small_frame().assign(area_m2=[np.nan, 1.0, 2.0, 3.0])
    assert encoder.transform(new)["area_m2"].iloc[0] == 25.0


def test_encoder_names_missing_columns():
    encoder = FeatureEncoder().fit(small_frame())
    with pytest.raises(ValueError, match=r"columns seen in fit but missing now: \['Lantai'\]"):
        encoder.transform(small_frame().drop(columns="Lantai"))


def test_encoder_takes_categoricals_from_dtypes():
    frame = small_frame().assign(code_obj=["a", "b", "a", "b"], flag=[0, 1, 0, 1])
    encoder = FeatureEncoder(min_frequency=1).fit(frame)
    assert encoder.categorical_columns_ == ["Lantai", "code_obj"]
    assert encoder.numeric_columns_ == ["area_m2", "flag"]


def test_encoder_rejects_unknown_mode():
    with pytest.raises(ValueError, match="mode must be 'onehot' or 'ordinal', got 'dummy'"):
        FeatureEncoder(mode="dummy").fit(small_frame())


def test_encoder_keeps_the_index():
    frame = small_frame().set_axis(["B1", "B2", "B3", "B4"])
    assert FeatureEncoder().fit(frame).transform(frame).index.tolist() == ["B1", "B2", "B3", "B4"]


# --- make_model ----------------------------------------------------------------------------------


def test_make_model_unknown_name_lists_the_names():
    with pytest.raises(ValueError, match="unknown model 'xgb'; known models: pmt_ols, logit, gbm"):
        make_model("xgb")


def test_make_model_unknown_param_names_the_key():
    with pytest.raises(ValueError, match="model 'rf' has no parameter 'trees'.*n_estimators"):
        make_model("rf", {"trees": 10})


def test_make_model_sets_params():
    model = make_model("logit", {"C": 0.5, "class_weight": "balanced"})
    assert model.get_params()["C"] == 0.5
    assert model.get_params()["class_weight"] == "balanced"


# --- every scikit-learn family -----------------------------------------------------------------


@pytest.mark.parametrize("name", SKLEARN_FAMILIES)
def test_model_learns_the_rule(name, households, fitted):
    _, _, _, X_test, y_test = households
    assert roc_auc_score(y_test, fitted[name].poverty_score(X_test)) > 0.75


@pytest.mark.parametrize("name", SKLEARN_FAMILIES)
def test_higher_score_is_poorer(name, households, fitted):
    _, _, _, X_test, y_test = households
    score = fitted[name].poverty_score(X_test)
    assert score[y_test == 1].mean() > score[y_test == 0].mean()
    # the poorest kind of household scores above the richest kind
    poorest = X_test.iloc[:1].assign(floor_area_pc=2.0, n_children=5.0, has_motorcycle=0.0)
    richest = poorest.assign(
        floor_area_pc=60.0,
        n_children=0.0,
        has_motorcycle=1.0,
        Lantai=pd.array(["1"], dtype="string"),
    )
    assert fitted[name].poverty_score(poorest)[0] > fitted[name].poverty_score(richest)[0]


@pytest.mark.parametrize("name", SKLEARN_FAMILIES)
def test_probabilities_and_predictions_agree(name, households, fitted):
    _, _, _, X_test, _ = households
    model = fitted[name]
    proba = model.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_array_equal(model.predict(X_test), (proba[:, 1] >= 0.5).astype(int))
    margin = model.decision_function(X_test)
    assert ((margin > 0) == (proba[:, 1] > 0.5))[np.abs(margin) > 1e-6].all()


@pytest.mark.parametrize("name", SKLEARN_FAMILIES)
def test_same_random_state_same_scores(name, households, fitted):
    X, y, _, X_test, _ = households
    again = make_model(name, {**FAST[name], "random_state": 0}).fit(X, y)
    np.testing.assert_array_equal(again.poverty_score(X_test), fitted[name].poverty_score(X_test))


@pytest.mark.parametrize("name", SKLEARN_FAMILIES)
def test_save_and_load_give_identical_scores(name, households, fitted, tmp_path):
    _, _, _, X_test, _ = households
    folder = save_model(fitted[name], tmp_path / name)
    loaded = load_model(folder)
    assert type(loaded) is type(fitted[name])
    np.testing.assert_array_equal(loaded.poverty_score(X_test), fitted[name].poverty_score(X_test))


@pytest.mark.parametrize("name", SKLEARN_FAMILIES)
def test_unit_weights_equal_no_weights(name, households, fitted):
    X, y, _, X_test, _ = households
    weighted = make_model(name, {**FAST[name], "random_state": 0})
    weighted.fit(X, y, sample_weight=np.ones(len(y)))
    np.testing.assert_allclose(
        weighted.poverty_score(X_test), fitted[name].poverty_score(X_test), rtol=1e-6, atol=1e-6
    )


@pytest.mark.parametrize("name", ["pmt_ols", "logit"])
def test_integer_weights_equal_repeated_households(name, households):
    X, y, _, X_test, _ = households
    repeats = np.where(np.arange(len(y)) % 3 == 0, 2, 1)
    weighted = make_model(name, {"min_frequency": 1}).fit(X, y, sample_weight=repeats)
    repeated = make_model(name, {"min_frequency": 1}).fit(
        X.iloc[np.repeat(np.arange(len(y)), repeats)], np.repeat(y, repeats)
    )
    np.testing.assert_allclose(
        weighted.poverty_score(X_test), repeated.poverty_score(X_test), rtol=1e-3, atol=1e-3
    )


def test_integer_weights_equal_repeated_households_for_gbm_without_subsampling(households):
    # rf (bootstrap rows) and ebm (bagged, with an internal validation split) draw different
    # rows when rows are repeated than when weighted, so only a weight *effect* is checked
    X, y, _, X_test, _ = households
    params = {**FAST["gbm"], "subsample": 1.0, "colsample_bytree": 1.0, "min_frequency": 1,
              "random_state": 0}  # fmt: skip
    repeats = np.where(np.arange(len(y)) % 3 == 0, 2, 1)
    weighted = make_model("gbm", params).fit(X, y, sample_weight=repeats)
    rows = np.repeat(np.arange(len(y)), repeats)
    repeated = make_model("gbm", params).fit(X.iloc[rows], y[rows])
    np.testing.assert_allclose(
        weighted.poverty_score(X_test), repeated.poverty_score(X_test), rtol=1e-5, atol=1e-5
    )


def test_integer_weights_equal_repeated_households_on_the_welfare_target(households):
    X, y, _, X_test, _ = households
    log_welfare = np.linspace(-1.0, 1.0, len(y)) - 0.8 * y  # a continuous target
    repeats = np.where(np.arange(len(y)) % 3 == 0, 3, 1)
    weighted = make_model("pmt_ols", {"min_frequency": 1}).fit(X, log_welfare,
                                                               sample_weight=repeats)  # fmt: skip
    rows = np.repeat(np.arange(len(y)), repeats)
    repeated = make_model("pmt_ols", {"min_frequency": 1}).fit(X.iloc[rows], log_welfare[rows])
    np.testing.assert_allclose(
        weighted.poverty_score(X_test), repeated.poverty_score(X_test), rtol=1e-6, atol=1e-6
    )


def _survey_weights(X: pd.DataFrame) -> np.ndarray:
    """Unequal expansion factors: households with a motorcycle count 20 times."""
    return np.where(X["has_motorcycle"].to_numpy() == 1, 20.0, 1.0)


@pytest.mark.parametrize("name", SKLEARN_FAMILIES)
def test_survey_weights_change_every_family_s_fit(name, households, fitted):
    X, y, _, X_test, _ = households
    weighted = make_model(name, {**FAST[name], "random_state": 0})
    weighted.fit(X, y, sample_weight=_survey_weights(X))
    assert not np.allclose(weighted.poverty_score(X_test), fitted[name].poverty_score(X_test))


@pytest.mark.parametrize("name", EXACT_CONTRIBUTIONS)
def test_contributions_add_up_to_the_margin(name, households, fitted):
    _, _, _, X_test, _ = households
    model = fitted[name]
    by_feature = model.contributions(X_test)
    assert by_feature.columns.tolist() == [*X_test.columns, "__base__"]
    np.testing.assert_allclose(by_feature.sum(axis=1), model.decision_function(X_test), atol=1e-4)
    by_column = model.contributions(X_test, by="encoded")
    np.testing.assert_allclose(by_column.sum(axis=1), by_feature.sum(axis=1), atol=1e-4)


def test_contributions_reject_unknown_grouping(households, fitted):
    with pytest.raises(ValueError, match="must be 'feature' or 'encoded', got 'term'"):
        fitted["logit"].contributions(households[3], by="term")


def test_missing_feature_column_is_named(households, fitted):
    X_test = households[3].drop(columns=["KDDESA"])
    with pytest.raises(ValueError, match=r"missing now: \['KDDESA'\]"):
        fitted["gbm"].poverty_score(X_test)


def test_unseen_desa_still_scores(households, fitted):
    X_test = households[3].assign(KDDESA=pd.array(["999"] * len(households[3]), dtype="string"))
    for model in fitted.values():
        assert np.isfinite(model.poverty_score(X_test)).all()


def test_forest_threads_over_rows_give_single_thread_votes(households, fitted):
    many = pd.concat([households[3]] * 12)  # 12,000 rows: predicted in two threads
    forest = fitted["rf"]
    single = forest.forest_.predict_proba(forest.encoder_.transform(many))[:, 1]
    np.testing.assert_array_equal(forest.predict_proba(many)[:, 1], single)


def test_one_class_label_is_an_error(households):
    X, y, _, _, _ = households
    with pytest.raises(ValueError, match="exactly two classes .* got 1 class"):
        make_model("logit").fit(X, np.zeros(len(y), dtype=int))


def test_unfitted_model_raises_not_fitted(households):
    with pytest.raises(NotFittedError):
        make_model("gbm").poverty_score(households[3])


# --- pmt_ols: welfare mode -------------------------------------------------------------------------


def test_pmt_on_log_welfare_predicts_it_and_scores_minus_it(households):
    X, _, _, X_test, _ = households
    rule = lambda frame: 0.5 - 0.02 * frame["floor_area_pc"] - 0.3 * frame["n_children"]  # noqa: E731
    noise = np.random.default_rng(1).normal(0.0, 0.1, len(X))
    model = make_model("pmt_ols").fit(X, (rule(X) + noise).to_numpy(np.float64))
    assert model.target_kind_ == "welfare"
    assert model.residual_sigma_ == pytest.approx(0.1, rel=0.1)
    prediction = model.regression_.predict(model.encoder_.transform(X_test).to_numpy(np.float64))
    np.testing.assert_allclose(prediction, rule(X_test), atol=0.05)
    np.testing.assert_allclose(model.poverty_score(X_test), -prediction)
    np.testing.assert_allclose(
        model.predict_proba(X_test)[:, 1], norm.cdf(-prediction / model.residual_sigma_)
    )


def test_pmt_on_labels_is_a_linear_probability_model(fitted, households):
    model = fitted["pmt_ols"]
    X_test = households[3]
    prediction = model.regression_.predict(model.encoder_.transform(X_test).to_numpy(np.float64))
    assert model.target_kind_ == "label"
    np.testing.assert_allclose(model.predict_proba(X_test)[:, 1], np.clip(prediction, 0, 1))
    np.testing.assert_allclose(model.decision_function(X_test), prediction - 0.5)


# --- scikit-learn's estimator checks ---------------------------------------------------------------

_WEIGHT_EQUIVALENCE = "check_sample_weight_equivalence_on_dense_data"


def _expected_failures(model) -> dict[str, str]:
    """Checks that do not fit a DataFrame-with-categoricals poverty model, and why."""
    if model.name == "pmt_ols":  # solved in float64: weights equal repeated rows exactly
        failures = {}
    elif model.name == "logit":
        failures = {
            _WEIGHT_EQUIVALENCE: "weights equal repeated rows only up to float32 rounding (the "
            "encoder's output is float32 by contract); test_integer_weights_equal_repeated_"
            "households checks it at 1e-3 for the linear models"
        }
    else:
        failures = {
            _WEIGHT_EQUIVALENCE: "bootstrap/row subsampling draws different rows when rows are "
            "repeated than when weighted, so the fits are not equal"
        }
    if model.name == "pmt_ols":
        failures["check_classifiers_regression_target"] = (
            "pmt_ols accepts a continuous target by design: log(welfare_pc / poverty_line)"
        )
    return failures


def _check_settings(name: str):
    params = {**FAST[name], "min_frequency": 1, "random_state": 0}
    if name in ("gbm", "rf"):
        params["n_estimators"] = 10
    if name == "ebm":
        params.update(interactions=0, max_rounds=50)
    return make_model(name, params)


def _estimator_checks():
    """scikit-learn's checks, less the array-API one (these models take pandas frames)."""
    for name in SKLEARN_FAMILIES:
        model = _check_settings(name)
        expected = _expected_failures(model)
        for item in estimator_checks_generator(
            model, expected_failed_checks=expected, mark="xfail"
        ):
            # expected failures come wrapped in pytest.param(..., marks=xfail)
            (estimator, check), marks = getattr(item, "values", item), getattr(item, "marks", ())
            check_name = getattr(check, "func", check).__name__
            if check_name != "check_array_api_input":
                yield pytest.param(estimator, check, marks=marks, id=f"{name}-{check_name}")


@pytest.mark.parametrize(("estimator", "check"), list(_estimator_checks()))
def test_scikit_learn_compatible(estimator, check):
    check(estimator)


# --- mlp (Keras; slow: TensorFlow import and training) ---------------------------------------------


@pytest.fixture(scope="module")
def fitted_mlp(households):
    X, y, desa, _, _ = households
    return make_model("mlp", {**FAST["mlp"], "random_state": 0}).fit(X, y, groups=desa)


@pytest.mark.slow
def test_mlp_learns_the_rule_and_scores_higher_for_poorer(households, fitted_mlp):
    _, _, _, X_test, y_test = households
    score = fitted_mlp.poverty_score(X_test)
    assert roc_auc_score(y_test, score) > 0.75
    proba = fitted_mlp.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(fitted_mlp.predict(X_test), (proba[:, 1] >= 0.5).astype(int))
    assert 1 <= fitted_mlp.n_epochs_ <= FAST["mlp"]["epochs"]
    assert "val_loss" in fitted_mlp.history_


@pytest.mark.slow
def test_mlp_same_random_state_same_scores(households, fitted_mlp):
    X, y, desa, X_test, _ = households
    again = make_model("mlp", {**FAST["mlp"], "random_state": 0}).fit(X, y, groups=desa)
    np.testing.assert_allclose(
        again.poverty_score(X_test), fitted_mlp.poverty_score(X_test), rtol=1e-5, atol=1e-5
    )


@pytest.mark.slow
def test_mlp_save_and_load_give_identical_scores(households, fitted_mlp, tmp_path):
    X_test = households[3]
    folder = save_model(fitted_mlp, tmp_path / "mlp")
    assert (folder / "network_.keras").is_file()
    loaded = load_model(folder)
    np.testing.assert_array_equal(loaded.poverty_score(X_test), fitted_mlp.poverty_score(X_test))
    assert fitted_mlp.network_ is not None  # saving does not strip the fitted model


@pytest.mark.slow
def test_mlp_head_on_embeddings_reproduces_the_margin(households, fitted_mlp):
    X_test = households[3].iloc[:200]
    encoded = fitted_mlp.encoder_.transform(X_test)
    embedded = fitted_mlp._embed(encoded)
    head_logit = np.asarray(fitted_mlp.head_(embedded, training=False)).ravel()
    np.testing.assert_allclose(head_logit, fitted_mlp.decision_function(X_test), atol=1e-5)
    slices = fitted_mlp.embedding_slices_
    assert list(slices) == ["floor_area_pc", "n_children", "has_motorcycle", "Lantai", "KDDESA"]
    assert max(s.stop for s in slices.values()) == embedded.shape[1]


def test_ebm_early_stopping_bags_hold_out_whole_desa():
    model = make_model("ebm", {"outer_bags": 3, "validation_size": 0.25, "random_state": 0})
    desa = np.repeat(np.array(["001", "002", "003", "004", "005", "006", "007", "008"]), 25)
    bags = model._desa_bags(desa)
    assert bags.shape == (200, 3)
    for bag in bags.T:
        assert set(desa[bag == -1]).isdisjoint(desa[bag == 1])
        assert len(set(desa[bag == -1])) == 2
    assert model._desa_bags(None) is None


def test_ebm_fits_with_desa_groups(households):
    X, y, desa, X_test, y_test = households
    model = make_model("ebm", {**FAST["ebm"], "random_state": 0}).fit(X, y, groups=desa)
    assert roc_auc_score(y_test, model.poverty_score(X_test)) > 0.75


def test_mlp_validation_split_holds_out_whole_desa():
    model = make_model("mlp", {"validation_fraction": 0.25})
    desa = np.repeat(np.array(["001", "002", "003", "004", "005", "006", "007", "008"]), 25)
    train, valid = model._validation_split(len(desa), desa, seed=0)
    assert len(train) + len(valid) == len(desa)
    assert set(desa[train]).isdisjoint(desa[valid])
    assert len(set(desa[valid])) == 2


def test_mlp_scikit_learn_basics(households):
    model = make_model("mlp", {**FAST["mlp"], "random_state": 3})
    assert clone(model).get_params() == model.get_params()
    assert "network_" not in vars(clone(model))
    with pytest.raises(NotFittedError):
        model.predict_proba(households[3])
    with pytest.raises(ValueError, match="model 'mlp' has no parameter 'layers'.*hidden"):
        make_model("mlp", {"layers": [8]})


# --- shared helpers: the seed and the EBM's term split -----------------------------------------


def test_integer_seed_draws_from_a_random_state_and_keeps_integers():
    from slrt_ml.models._base import integer_seed

    assert integer_seed(None) is None and integer_seed(None, default=0) == 0
    assert integer_seed(5) == 5
    first, second = np.random.RandomState(1), np.random.RandomState(1)
    assert integer_seed(first) == integer_seed(second)
    assert integer_seed(first) != integer_seed(np.random.RandomState(1))  # the state advanced


def test_ebm_contributions_split_pair_terms_as_the_split_matrix(households):
    from slrt_ml.models.ebm import term_split_matrix

    X, y, *_ = households
    model = make_model("ebm", {**FAST["ebm"], "random_state": 0}).fit(X.iloc[:600], y[:600])
    encoded = model.encoder_.transform(X.iloc[:50])
    terms = model.ebm_.eval_terms(encoded.to_numpy())
    split = term_split_matrix(model.ebm_.term_features_, encoded.shape[1])
    assert any(len(t) == 2 for t in model.ebm_.term_features_)
    ours = model.contributions(X.iloc[:50], by="encoded").drop(columns="__base__").to_numpy()
    np.testing.assert_allclose(ours, terms @ split, atol=1e-12)


@pytest.mark.slow
def test_mlp_uses_survey_weights(households, fitted_mlp):
    X, y, desa, X_test, _ = households
    weighted = make_model("mlp", {**FAST["mlp"], "random_state": 0})
    weighted.fit(X, y, sample_weight=_survey_weights(X), groups=desa)
    assert not np.allclose(weighted.poverty_score(X_test), fitted_mlp.poverty_score(X_test))
