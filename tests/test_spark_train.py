"""Training on Spark (docs/SPARK.md, "Training on Spark") against the local trainer.

One synthetic registry (500 households, 59 of them surveyed with survey weights) is
written as Parquet; the local path (``load_targeting_data`` + ``fit_final``) and the Spark
path (``training_table`` + ``fit_gbm_spark`` / ``fit_sampled``) train on it.

Tolerances. With one XGBoost worker, xgboost.spark builds the same quantile sketch and
histograms from the same rows in the same order with the same seed, so the booster is
the local one: margins are compared exactly. With two workers, each worker draws its own
rows for ``subsample < 1`` (different random streams), so the trees differ by design;
without row/column sampling the only difference left is the order in which the workers'
gradient histograms are summed (allreduce), which changes sums by float rounding
(~1e-7 relative) and could flip a split only on an exact tie of gains: margins are
compared to 1e-6. Contributions + base = margin is checked to 1e-6: the tabulated
TreeSHAP sums in float64, XGBoost's margin is float32 (for 20 trees of margins below ~8,
float32 rounding stays below 1e-6).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from slrt_ml.config import load_config
from slrt_ml.data.io import write_table
from slrt_ml.data.synth.generator import make_registry
from slrt_ml.models import load_model, make_model, save_model
from slrt_ml.models.cv import fit_model, training_sample
from slrt_ml.pipeline.train import load_targeting_data

PANDAS3 = "ignore:PySpark does not yet fully support pandas:FutureWarning"
pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.filterwarnings(PANDAS3)]

GBM = {"n_estimators": 20, "max_depth": 3, "random_state": 3}
NO_SAMPLING = GBM | {"subsample": 1.0, "colsample_bytree": 1.0}


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    folder = tmp_path_factory.mktemp("registry")
    tables = make_registry(households=500, seed=7)
    for name in ("households", "members", "truth", "siksng", "areas"):
        write_table(tables[name], folder / f"{name}.parquet")
    return folder


@pytest.fixture(scope="module")
def local_data(registry):
    return load_targeting_data(registry)


@pytest.fixture(scope="module")
def table(registry, spark):
    from slrt_ml.spark.train_table import training_table

    return training_table(registry, spark=spark)  # labelled households, survey weights


@pytest.fixture(scope="module")
def table_all(registry, spark):
    from slrt_ml.spark.train_table import training_table

    return training_table(registry, spark=spark, sample_rule="all")


def _local_gbm(data, params):
    rows, weight = training_sample(data, load_config())
    model = make_model("gbm", params)
    return fit_model(model, data.features[rows], data.poor[rows], data.groups[rows], weight[rows])


@pytest.fixture(scope="module")
def two_workers(table):
    from slrt_ml.spark.train import fit_gbm_spark

    return fit_gbm_spark(table, make_model("gbm", NO_SAMPLING), num_workers=2)


def test_table_has_the_local_features_and_weights(table, local_data):
    frame = table.frame.toPandas().sort_values("_pos").reset_index(drop=True)
    assert frame["IDBDT"].tolist() == local_data.frame["IDBDT"].tolist()
    assert table.features == list(local_data.features.columns)
    numeric = [c for c in table.features if c not in table.categorical]
    np.testing.assert_array_equal(frame[numeric].to_numpy(np.float32),
                                  local_data.features[numeric].to_numpy(np.float32))  # fmt: skip
    for c in table.categorical:
        assert frame[c].tolist() == local_data.features[c].astype(object).tolist(), c
    _, weight = training_sample(local_data, load_config())
    np.testing.assert_array_equal(frame["_weight"].to_numpy(), weight)
    assert frame["_desa"].tolist() == local_data.groups.tolist()
    assert table.n_train == int(local_data.labelled.sum()) < table.n_households == 500


def test_one_worker_reproduces_the_local_gbm_exactly(table, local_data):
    from slrt_ml.spark.train import fit_gbm_spark

    local = _local_gbm(local_data, GBM)  # subsample 0.8, colsample 0.8: the defaults
    spark_model = fit_gbm_spark(table, make_model("gbm", GBM), num_workers=1)
    assert spark_model.encoder_.categories_ == local.encoder_.categories_
    assert list(spark_model.encoder_.sources_) == list(local.encoder_.sources_)
    X = local_data.features
    np.testing.assert_array_equal(spark_model.decision_function(X), local.decision_function(X))
    np.testing.assert_array_equal(spark_model.contributions(X).to_numpy(),
                                  local.contributions(X).to_numpy())  # fmt: skip


def test_two_workers_close_to_the_local_gbm(two_workers, local_data):
    local = _local_gbm(local_data, NO_SAMPLING)
    X = local_data.features
    np.testing.assert_allclose(two_workers.decision_function(X), local.decision_function(X),
                               rtol=0, atol=1e-6)  # fmt: skip


def test_exact_reasons_of_the_spark_booster_are_additive(two_workers, local_data):
    from slrt_ml.explain.treeshap import tree_contributions

    X = local_data.features
    encoded = two_workers.encoder_.transform(X)
    values, base, columns = tree_contributions(two_workers, encoded)
    assert columns == list(two_workers.encoder_.sources_)
    margin = two_workers.decision_function(X)
    assert np.ptp(margin) > 0.5  # a model that ranks, not a constant
    np.testing.assert_allclose(base + values.sum(axis=1), margin, rtol=0, atol=1e-6)
    by_feature = two_workers.contributions(X)
    np.testing.assert_allclose(by_feature.sum(axis=1).to_numpy(), margin, rtol=0, atol=1e-6)


def test_spark_gbm_saves_and_loads_through_the_toolkit(two_workers, local_data, tmp_path):
    folder = save_model(two_workers, tmp_path / "gbm")
    assert (folder / "booster_.ubj").is_file() and not list(folder.glob("*.joblib"))
    loaded = load_model(folder)
    X = local_data.features
    np.testing.assert_array_equal(loaded.decision_function(X), two_workers.decision_function(X))
    np.testing.assert_array_equal(loaded.contributions(X).to_numpy(),
                                  two_workers.contributions(X).to_numpy())  # fmt: skip


def _drawn(table, size, seed, strata="kecamatan"):
    from slrt_ml.spark.train_sample import stratified_sample

    sample, info = stratified_sample(table, size, strata=strata, seed=seed)
    frame = sample.select("IDBDT", "_kec", "_desa", "_ipw").toPandas()
    return frame.sort_values("IDBDT").reset_index(drop=True), info


def test_sample_is_stratified_weighted_and_deterministic(table_all):
    frame, info = _drawn(table_all, 100, seed=1)
    population = table_all.frame.select("IDBDT", "_kec").toPandas()
    sizes = population["_kec"].value_counts()
    assert set(frame["_kec"]) == set(sizes.index)  # every stratum present
    assert info["path"] == "sample-then-train" and info["drawn"] == len(frame) < 500
    assert abs(len(frame) - 100) <= len(sizes)  # the proportional rule, up to rounding
    per_stratum = frame.groupby("_kec")["_ipw"].sum()
    np.testing.assert_allclose(per_stratum.reindex(sizes.index), sizes.to_numpy(), rtol=1e-12)
    assert frame["_ipw"].sum() == pytest.approx(500, rel=1e-12)
    again, _ = _drawn(table_all, 100, seed=1)
    assert again["IDBDT"].tolist() == frame["IDBDT"].tolist()
    other, _ = _drawn(table_all, 100, seed=2)
    assert other["IDBDT"].tolist() != frame["IDBDT"].tolist()
    # the draw does not depend on how the data is partitioned
    shuffled = dataclasses.replace(table_all, frame=table_all.frame.repartition(7))
    assert _drawn(shuffled, 100, seed=1)[0]["IDBDT"].tolist() == frame["IDBDT"].tolist()


def test_sample_by_desa_keeps_every_desa(table_all):
    frame, info = _drawn(table_all, 50, seed=0, strata="desa")
    population = table_all.frame.select("_desa").toPandas()["_desa"]
    assert set(frame["_desa"]) == set(population) and info["n_strata"] == population.nunique()
    assert frame["_ipw"].sum() == pytest.approx(len(population), rel=1e-12)


def test_sample_then_train_fits_the_local_trainer(table, table_all, local_data):
    from slrt_ml.spark.train import fit_sampled

    # training sample (59 households) <= sample size: all collected, the local fit
    model, info = fit_sampled(table, make_model("logit", {"max_iter": 300}), sample_size=1000)
    rows, weight = training_sample(local_data, load_config())
    local = fit_model(make_model("logit", {"max_iter": 300}), local_data.features[rows],
                      local_data.poor[rows], local_data.groups[rows], weight[rows])  # fmt: skip
    assert info["path"] == "all-then-train" and info["drawn"] == table.n_train
    X = local_data.features
    np.testing.assert_allclose(model.decision_function(X), local.decision_function(X),
                               rtol=0, atol=1e-9)  # fmt: skip
    sampled, info = fit_sampled(table_all, make_model("logit", {"max_iter": 300}),
                                sample_size=200, strata="kecamatan", seed=4)  # fmt: skip
    assert info["path"] == "sample-then-train" and info["drawn"] < 500
    assert np.isfinite(sampled.decision_function(X)).all()


def test_cli_train_engine_spark_writes_a_run_that_scores(registry, spark, tmp_path):
    import json

    from typer.testing import CliRunner

    from slrt_ml.cli import app
    from slrt_ml.pipeline.score import load_scoring_models

    config = tmp_path / "config.yaml"
    config.write_text("model_params:\n  gbm: {n_estimators: 10, max_depth: 2}\n"
                      "  logit: {max_iter: 300}\n")  # fmt: skip
    run = tmp_path / "run"
    result = CliRunner().invoke(app, [
        "train", "--data", str(registry), "--out", str(run), "--config", str(config),
        "--models", "gbm,logit", "--engine", "spark", "--master", "local[2]",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["engine"] == "spark" and manifest["models"] == ["gbm", "logit"]
    assert manifest["training_paths"]["gbm"]["path"] == "xgboost.spark"
    assert manifest["training_paths"]["logit"]["path"] == "all-then-train"  # 59 <= 200,000
    models, _, _ = load_scoring_models(run, model_names=["gbm", "logit"])
    assert models["gbm"].max_depth == 2  # the config's parameters reached the fit
    assert len(models["gbm"].booster_.get_booster().get_dump()) == 10
