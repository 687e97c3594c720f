"""``slrt-ml train``: grouped CV and final fit into a run folder (slrt_ml.pipeline.train)."""

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
from slrt_ml.models import load_model
from slrt_ml.pipeline.run_folder import RunFolder, read_manifest
from slrt_ml.pipeline.train import load_targeting_data, train

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


def test_run_folder_has_one_out_of_fold_score_per_household_and_model(trained, data):
    run = RunFolder(trained.run_dir)
    oof = pd.read_parquet(run.oof_scores)
    assert list(oof.columns) == ["IDBDT", "pmt_ols", "logit"]
    assert oof["IDBDT"].tolist() == data.frame["IDBDT"].tolist()
    assert oof[["pmt_ols", "logit"]].notna().all().all()
    manifest = read_manifest(run.root)
    assert manifest["models"] == ["pmt_ols", "logit"]
    assert manifest["dataset"]["digest"] == data.digest
    assert manifest["synthetic"] is True
    assert (run.root / "feature_profile.json").is_file()


def test_manifest_is_written_as_indented_json_in_insertion_order(trained):
    text = RunFolder(trained.run_dir).manifest.read_text(encoding="utf-8")
    assert text == json.dumps(trained.manifest, indent=2, default=str)


def test_out_of_fold_models_rank_better_than_chance(trained):
    # trained on the surveyed households only (~15% of 1,200), ranked over all of them
    models = trained.summary.set_index("system")
    assert (models.loc[["pmt_ols", "logit"], "roc_auc"] > 0.6).all()


def test_manifest_records_the_training_sample_and_survey_weights(trained, data):
    block = trained.manifest["training_sample"]
    labelled = int(data.labelled.sum())
    assert 0 < labelled < len(data.frame)
    assert (block["rule"], block["households"], block["labelled"], block["trained_on"]) == (
        "labelled",
        len(data.frame),
        labelled,
        labelled,
    )
    assert block["survey_weight_column"] == "truth.survey_weight"
    assert block["survey_weights_used"] is True
    assert f"({len(data.frame) - labelled})" in block["scores"]
    assert any("survey weights used" in note for note in trained.notes)


def test_reloaded_models_reproduce_their_scores(trained, data):
    for name, fitted in trained.models.items():
        again = load_model(RunFolder(trained.run_dir).model_dir(name))
        np.testing.assert_allclose(
            again.poverty_score(data.features), fitted.poverty_score(data.features), rtol=1e-9
        )


def test_cli_train_then_compare(registry_dir, tmp_path):
    config = tmp_path / "fast.yaml"
    config.write_text("cv: {folds: 3}\ncompare: {bootstrap: 30}\n")
    runner = CliRunner()
    run = tmp_path / "run"
    trained = runner.invoke(app, ["train", "--data", str(registry_dir), "--out", str(run),
                                  "--config", str(config), "--models", "pmt_ols", "--no-track"])  # fmt: skip
    assert trained.exit_code == 0, trained.output
    assert "roc_auc" in trained.output
    compared = runner.invoke(app, ["compare", "--run", str(run), "--data", str(registry_dir),
                                   "--bootstrap", "30", "--config", str(config), "--no-track"])  # fmt: skip
    assert compared.exit_code == 0, compared.output
    assert RunFolder(run).comparison.is_file() and RunFolder(run).report_html.is_file()


def test_cli_train_reports_bad_data_without_traceback(registry_dir, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in registry_dir.iterdir():
        (broken / path.name).write_bytes(path.read_bytes())
    households = pd.read_parquet(broken / "households.parquet")
    households.loc[0, "Lantai"] = "11"
    households.to_parquet(broken / "households.parquet")
    result = CliRunner().invoke(app, ["train", "--data", str(broken), "--out",
                                      str(tmp_path / "run"), "--models", "logit", "--no-track"])  # fmt: skip
    assert result.exit_code == 1
    assert "Lantai" in result.output and "Traceback" not in result.output
