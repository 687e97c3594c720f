"""The pretrained model in models/: shipped complete, scores without training, rebuilds the same.

``models/pkh_synthetic`` is built by ``make model`` (slrt_ml.pipeline.pretrained) from the
embedded synthetic registry in ``data/``. The slow test rebuilds it into a temporary folder
and checks the rebuilt model scores the sample prelist exactly as the shipped one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from slrt_ml.data.registry import load_prelist
from slrt_ml.features.households import household_features
from slrt_ml.pipeline.model_card import LANGS, card_file_name, comparison_numbers, model_card
from slrt_ml.pipeline.pretrained import MAX_BYTES, PRETRAINED_NAME, build_pretrained, folder_bytes
from slrt_ml.pipeline.score import load_scoring_models
from slrt_ml.tracking_model import is_model_folder, load_model_folder

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "models" / PRETRAINED_NAME
DATA = ROOT / "data"
INTERVAL = re.compile(r"\d\.\d{3} \[-?\d\.\d{3}, -?\d\.\d{3}\]")


def _prelist_scores(folder: Path) -> pd.Series:
    """Scores of the sample prelist by the folder's model, loaded as `slrt-ml score` loads it."""
    models, _, _ = load_scoring_models(folder)
    (model,) = models.values()
    households, members = load_prelist(DATA)
    areas = pd.read_parquet(DATA / "areas.parquet")
    features = household_features(households, members, areas)
    return pd.Series(model.poverty_score(features), index=features.index)


def test_the_shipped_folder_is_small_and_complete():
    assert is_model_folder(SHIPPED)
    assert folder_bytes(SHIPPED) < MAX_BYTES
    names = {p.relative_to(SHIPPED).as_posix() for p in SHIPPED.rglob("*") if p.is_file()}
    assert {"MLmodel", "MODEL_CARD.md", "MODEL_CARD.id.md", "manifest.json",
            "models/pmt_ols/model.json", "models/pmt_ols/state.skops"} <= names  # fmt: skip
    # data, never code: no pickle of any kind; the only Python file is MLflow's loader stub
    assert not [n for n in names if n.endswith((".pkl", ".pickle", ".joblib"))]
    assert [n for n in names if n.endswith(".py")] == ["slrt_ml_pyfunc.py"]
    flavor = yaml.safe_load((SHIPPED / "MLmodel").read_text())["flavors"]["python_function"]
    assert flavor["loader_module"] == "mlflow.pyfunc.loaders.code_model"
    assert flavor["artifacts"]["model"]["path"] == "models/pmt_ols"
    manifest = json.loads((SHIPPED / "manifest.json").read_text())
    assert manifest["synthetic"] is True and manifest["models"] == ["pmt_ols"]


@pytest.mark.parametrize("lang", LANGS)
def test_the_shipped_cards_have_data_metrics_with_intervals_use_and_misuse(lang):
    card = (SHIPPED / card_file_name(lang)).read_text(encoding="utf-8")
    synthetic, use, misuse = {
        "en": ("Synthetic data", "## Intended use", "## Must not be used for"),
        "id": ("Data sintetis", "## Kegunaan", "## Tidak boleh dipakai untuk"),
    }[lang]
    assert synthetic in card and use in card and misuse in card and "2,000" in card
    # exclusion and inclusion error of the model and SIKS-NG, each view, with intervals
    assert len(INTERVAL.findall(card)) >= 2 * 2 * 2
    comparison = comparison_numbers(pd.read_csv(SHIPPED / "comparison.csv"))
    row = comparison.query("system == 'pmt_ols' and metric == 'exclusion_error'").iloc[0]
    assert f"{row.estimate:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}]" in card


def test_the_shipped_model_scores_the_prelist_without_training():
    scores = _prelist_scores(SHIPPED)
    assert len(scores) == 200 and np.isfinite(scores).all() and scores.std() > 0
    # the same model, read through its MLmodel file (as for a registry URI)
    direct = load_model_folder(SHIPPED)
    households, members = load_prelist(DATA)
    features = household_features(households, members, pd.read_parquet(DATA / "areas.parquet"))
    np.testing.assert_array_equal(direct.poverty_score(features), scores.to_numpy())


@pytest.mark.slow
def test_mlflow_loads_the_shipped_folder_and_scores_registry_records():
    import mlflow

    from slrt_ml.data.records import registry_records

    households, members = load_prelist(DATA)
    scored = mlflow.pyfunc.load_model(str(SHIPPED)).predict(registry_records(households, members))
    expected = _prelist_scores(SHIPPED)
    assert scored["IDBDT"].tolist() == expected.index.astype(str).tolist()
    np.testing.assert_allclose(scored["score"].to_numpy(), expected.to_numpy(), rtol=1e-12)


@pytest.mark.slow
def test_make_model_rebuilds_the_same_scores_and_estimates(tmp_path):
    rebuilt = build_pretrained(DATA, tmp_path / PRETRAINED_NAME, bootstrap=20)
    np.testing.assert_array_equal(_prelist_scores(rebuilt), _prelist_scores(SHIPPED))
    # point estimates do not depend on the bootstrap; intervals follow the evaluation code of
    # the day the folder was built (`make model` again after changing it)
    columns = ["system", "metric", "view", "estimate"]
    shipped = comparison_numbers(pd.read_csv(SHIPPED / "comparison.csv"))[columns]
    pd.testing.assert_frame_equal(
        comparison_numbers(pd.read_csv(rebuilt / "comparison.csv"))[columns], shipped
    )
    assert folder_bytes(rebuilt) < MAX_BYTES


def test_a_model_folder_pointing_outside_itself_is_refused(tmp_path):
    (tmp_path / "MLmodel").write_text(
        yaml.safe_dump({"flavors": {"python_function": {"artifacts": {"model": {"path": "../x"}}}}})
    )
    with pytest.raises(ValueError, match="leaves the model folder"):
        load_model_folder(tmp_path)
    (tmp_path / "MLmodel").write_text(yaml.safe_dump({"flavors": {"sklearn": {}}}))
    with pytest.raises(ValueError, match="not an slrt_ml model"):
        load_model_folder(tmp_path)


# --- the card itself, on a hand-set table ------------------------------------------------------

TABLE = pd.DataFrame(
    [("siksng", "exclusion_error", 0.5, 0.42, 0.58), ("pmt_ols", "exclusion_error", 0.3, 0.21, 0.39),
     ("pmt_ols", "exclusion_error_diff_vs_siksng", -0.2, -0.31, -0.09),
     ("pmt_ols", "roc_auc", 0.8, np.nan, np.nan)],
    columns=["system", "metric", "estimate", "ci_low", "ci_high"],
)  # fmt: skip
MANIFEST = {"synthetic": False, "reference_system": "siksng", "features": ["a", "b"],
            "model_params": {"pmt_ols": {"alpha": 0.001}},
            "dataset": {"name": "registry", "n_households": 1234}}  # fmt: skip


def test_the_card_puts_each_estimate_beside_its_interval():
    card = model_card(MANIFEST, TABLE, "pmt_ols")
    assert "| exclusion error (target not selected / target) | 0.300 [0.210, 0.390] | " \
           "0.500 [0.420, 0.580] |" in card  # fmt: skip
    assert "| `exclusion_error_diff_vs_siksng` | -0.200 [-0.310, -0.090] | |" in card
    assert "| ROC-AUC (ranking of the poor) | 0.800 | – |" in card  # no interval, no reference
    assert "`alpha=0.001`" in card and "1,234" in card
    assert "Synthetic" not in card and "synthetic data" not in card  # real data: no such claims


def test_the_indonesian_card_and_an_unknown_language():
    card = model_card({**MANIFEST, "synthetic": True}, TABLE, "pmt_ols", lang="id")
    assert "kesalahan eksklusi" in card and "Data sintetis" in card
    with pytest.raises(ValueError, match="use one of en, id"):
        model_card(MANIFEST, TABLE, "pmt_ols", lang="fr")


@pytest.mark.slow
def test_the_readme_quickstart_scores_the_sample_prelist(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from slrt_ml.cli import app

    monkeypatch.chdir(tmp_path)
    args = ["score", "--model", str(SHIPPED), "--prelist", str(DATA), "--out", "x.xlsx"]
    result = CliRunner().invoke(app, [*args, "--no-track"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "x.xlsx.manifest.json").read_text())
    assert (manifest["input_rows"], manifest["scored_rows"]) == (200, 200)
