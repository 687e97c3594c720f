"""The stage order: registry -> targeting data -> grouped CV -> run folder -> comparison."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from slrt_ml.cli import app
from slrt_ml.config import config_from_dict
from slrt_ml.data.synth.generator import generate_registry
from slrt_ml.features.households import FORBIDDEN_COLUMNS
from slrt_ml.models import load_model
from slrt_ml.pipeline.train import (
    grouped_folds,
    load_targeting_data,
    run_comparison,
    train,
    write_comparison,
)

FAST = config_from_dict(
    {"models": ["pmt_ols", "logit"], "cv": {"folds": 3}, "compare": {"bootstrap": 50}}
)


@pytest.fixture(scope="module")
def registry_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("registry")
    generate_registry(folder, households=1_200, seed=11)
    return folder


@pytest.fixture(scope="module")
def data(registry_dir):
    return load_targeting_data(registry_dir, FAST)


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    return train(data, tmp_path_factory.mktemp("run") / "run", FAST, progress=False)


def test_targeting_frame_defines_target_as_poor_and_eligible(data):
    frame = data.frame
    assert len(frame) == len(data.features)
    assert (frame["IDBDT"].to_numpy() == data.features.index.to_numpy()).all()
    expected = (frame["poor"] == 1) & (frame["eligible"] == 1)
    assert (frame["target"].astype(bool) == expected).all()
    assert frame["siksng_selected"].sum() > 0
    assert frame["cluster"].str.len().eq(10).all()  # KDPROP+KDKAB+KDKEC+KDDESA


def test_no_truth_or_siksng_column_reaches_the_features(data):
    leaked = set(data.features.columns) & (FORBIDDEN_COLUMNS | {"target", "eligible", "poor"})
    assert not leaked
    assert not any(c in data.features.columns for c in ("welfare_pc", "pkh_eligible", "desil"))


def test_grouped_folds_never_split_a_desa(data):
    folds = grouped_folds(data.groups, 3, seed=0)
    seen = np.concatenate([test for _, test in folds])
    assert sorted(seen) == list(range(len(data.groups)))
    for train_idx, test_idx in folds:
        assert not set(data.groups[train_idx]) & set(data.groups[test_idx])


def test_grouped_folds_need_enough_desa():
    with pytest.raises(ValueError, match="at least 5 desa"):
        grouped_folds(np.array(["a", "a", "b"]), 5, seed=0)


def test_run_folder_has_one_out_of_fold_score_per_household_and_model(trained, data):
    oof = pd.read_parquet(trained.run_dir / "oof_scores.parquet")
    assert list(oof.columns) == ["IDBDT", "pmt_ols", "logit"]
    assert oof["IDBDT"].tolist() == data.frame["IDBDT"].tolist()
    assert oof[["pmt_ols", "logit"]].notna().all().all()
    manifest = json.loads((trained.run_dir / "manifest.json").read_text())
    assert manifest["models"] == ["pmt_ols", "logit"]
    assert manifest["dataset"]["digest"] == data.digest
    assert manifest["synthetic"] is True
    assert (trained.run_dir / "feature_profile.json").is_file()


def test_out_of_fold_models_rank_better_than_chance(trained):
    models = trained.summary.set_index("system")
    assert (models.loc[["pmt_ols", "logit"], "roc_auc"] > 0.7).all()


def test_reloaded_models_reproduce_their_scores(trained, data):
    for name, fitted in trained.models.items():
        again = load_model(trained.run_dir / "models" / name)
        np.testing.assert_allclose(
            again.poverty_score(data.features), fitted.poverty_score(data.features), rtol=1e-9
        )


def test_comparison_is_reproducible_from_selections(trained, data):
    from slrt_ml.evaluation.compare import metrics_from_selections

    comparison = run_comparison(trained.run_dir, data, bootstrap=50, seed=1)
    paths = write_comparison(trained.run_dir, comparison, synthetic=True)
    table = pd.read_csv(paths["comparison"])
    again = metrics_from_selections(pd.read_parquet(paths["selections"]))
    merged = table.merge(again, on=["system", "metric"], suffixes=("", "_again"))
    point = merged[merged["metric"].isin(["exclusion_error", "inclusion_error"])]
    assert len(point) == 2 * 3  # siksng + two models
    np.testing.assert_allclose(point["estimate"], point["estimate_again"])
    selected = comparison.selections.groupby("system")["selected"].sum()
    assert selected["pmt_ols"] == selected["logit"] == selected["siksng"]  # equal coverage
    assert "data:image/png;base64," in paths["report"].read_text()


def test_compare_refuses_a_run_trained_on_other_data(trained, tmp_path):
    other = tmp_path / "other"
    generate_registry(other, households=600, seed=12)
    with pytest.raises(ValueError, match="trained on data with digest"):
        run_comparison(trained.run_dir, load_targeting_data(other, FAST), bootstrap=10)


def test_cli_train_then_compare(registry_dir, tmp_path):
    config = tmp_path / "fast.yaml"
    config.write_text("cv: {folds: 3}\ncompare: {bootstrap: 30}\n")
    runner = CliRunner()
    run = tmp_path / "run"
    trained = runner.invoke(app, ["train", "--data", str(registry_dir), "--out", str(run),
                                  "--config", str(config), "--models", "pmt_ols", "--no-track"])
    assert trained.exit_code == 0, trained.output
    assert "roc_auc" in trained.output
    compared = runner.invoke(app, ["compare", "--run", str(run), "--data", str(registry_dir),
                                   "--bootstrap", "30", "--config", str(config), "--no-track"])
    assert compared.exit_code == 0, compared.output
    assert (run / "comparison.csv").is_file() and (run / "report.html").is_file()


def test_cli_train_reports_bad_data_without_traceback(registry_dir, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in registry_dir.iterdir():
        (broken / path.name).write_bytes(path.read_bytes())
    households = pd.read_parquet(broken / "households.parquet")
    households.loc[0, "Lantai"] = "11"
    households.to_parquet(broken / "households.parquet")
    result = CliRunner().invoke(app, ["train", "--data", str(broken), "--out",
                                      str(tmp_path / "run"), "--models", "logit", "--no-track"])
    assert result.exit_code == 1
    assert "Lantai" in result.output and "Traceback" not in result.output
