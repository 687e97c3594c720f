"""Prelist scoring end to end: counts add up, rejects readable, scores, no NIK, drift, CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scoring_data import broken_prelist, fitted_models, run_folder, small_registry
from typer.testing import CliRunner

from slrt_ml.cli import app
from slrt_ml.data.io import write_table
from slrt_ml.features.drift import DriftAccumulator, feature_profile, population_stability_index
from slrt_ml.features.households import household_features
from slrt_ml.pipeline.run_folder import RunFolderError
from slrt_ml.pipeline.score import (
    PrelistScorer,
    ScoreOptions,
    load_scoring_models,
    score_prelist,
)
from slrt_ml.pipeline.score_output import RowAccountingError


@pytest.fixture(scope="module")
def registry():
    return small_registry()


@pytest.fixture(scope="module")
def trained():
    return fitted_models()


@pytest.mark.parametrize("sort", [True, False])
def test_every_household_is_scored_or_rejected_with_a_reason(registry, trained, tmp_path, sort):
    hh, _ = broken_prelist(registry, tmp_path, sort=sort)
    models, profile = trained
    result = score_prelist(tmp_path, models, tmp_path / "out.parquet", explain=True, top_k=3,
                           quota=0.3, profile=profile, chunk_size=17, progress=False)  # fmt: skip
    out = pd.read_parquet(result.output)
    rejects = pd.read_csv(result.rejects, dtype=str)
    assert result.n_input == len(hh) == len(out) + len(rejects)
    assert out["IDBDT"].is_unique and not set(out["IDBDT"]) & set(rejects["IDBDT"])
    reasons = dict(zip(rejects["IDBDT"], rejects["reason"], strict=False))
    first = hh["IDBDT"].iloc[0] if sort else registry["prelist_households"]["IDBDT"].iloc[0]
    assert "Lantai" in reasons[first]
    assert rejects["reason"].str.contains("head").any()
    assert rejects["reason"].str.contains("unique").sum() == 2
    assert list(out.columns[:5]) == ["IDBDT", "score", "rank_in_desa", "selected", "priority"]
    assert {"reason_1", "reason_2", "reason_3", "score_logit"} <= set(out.columns)
    assert sorted(out["priority"]) == list(range(1, len(out) + 1))
    assert not (tmp_path / "out.parquet.parts").exists()


def test_scores_equal_the_models_own_scores(registry, trained, tmp_path):
    models, _ = trained
    write_table(registry["prelist_households"], tmp_path / "prelist_households.csv")
    write_table(registry["prelist_members"], tmp_path / "prelist_members.parquet")
    write_table(registry["areas"], tmp_path / "areas.csv")
    result = score_prelist(tmp_path, {"gbm": models["gbm"]}, tmp_path / "o.csv", progress=False)
    out = pd.read_csv(result.output, dtype={"IDBDT": str})
    X = household_features(registry["prelist_households"], registry["prelist_members"],
                           registry["areas"])  # fmt: skip
    expected = pd.Series(models["gbm"].poverty_score(X), index=X.index)
    np.testing.assert_allclose(out["score"], expected.loc[out["IDBDT"]].to_numpy(), rtol=1e-6)
    assert out["selected"].isna().all()  # no quota: nothing selected, priority by score
    assert out.sort_values("priority")["score"].is_monotonic_decreasing


def test_the_scorer_class_gives_the_same_output_as_the_function(registry, trained, tmp_path):
    broken_prelist(registry, tmp_path)
    models, profile = trained
    kwargs = dict(explain=True, top_k=2, quota=0.25, chunk_size=50, progress=False)
    by_function = score_prelist(tmp_path, models, tmp_path / "f.parquet", profile=profile, **kwargs)
    scorer = PrelistScorer(models, profile, ScoreOptions(**kwargs))
    by_class = scorer.score(tmp_path, tmp_path / "c.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(by_class.output),
                                  pd.read_parquet(by_function.output))  # fmt: skip
    assert by_class.summary()["n_scored"] == by_function.summary()["n_scored"]


def test_a_lost_row_is_an_accounting_error_with_the_counts(
    registry, trained, tmp_path, monkeypatch
):
    hh, _ = broken_prelist(registry, tmp_path)
    models, _ = trained
    real, calls = PrelistScorer.score_chunk, {"n": 0}

    def drop_first_row(self, *args, **kwargs):  # in the first chunk only
        scored, rejects, features = real(self, *args, **kwargs)
        calls["n"] += 1
        return (scored.iloc[1:] if calls["n"] == 1 else scored), rejects, features

    monkeypatch.setattr(PrelistScorer, "score_chunk", drop_first_row)
    message = rf"scored {len(hh) - 5} \+ rejected 4 != input {len(hh)} households \(\+1 unaccounted\)"
    with pytest.raises(RowAccountingError, match=message):
        score_prelist(tmp_path, models, tmp_path / "o.csv", chunk_size=1000, progress=False)


def test_no_nik_in_any_output(registry, trained, tmp_path):
    hh, mem = broken_prelist(registry, tmp_path)
    models, profile = trained
    score_prelist(tmp_path, models, tmp_path / "o.csv", explain=True, quota=0.3,
                  profile=profile, progress=False)  # fmt: skip
    niks = set(mem["NIK"].dropna())
    for name in ("o.csv", "o.rejects.csv", "o.drift.csv"):
        text = (tmp_path / name).read_text()
        assert not any(nik in text for nik in niks), name


def test_psi_hand_computed_and_unseen_codes():
    # expected 50/50, actual 25/75: 0.25 ln 2 + 0.25 ln 1.5
    expected = 0.25 * np.log(2) + 0.25 * np.log(1.5)
    assert population_stability_index([0.5, 0.5], [0.25, 0.75]) == pytest.approx(expected)
    profile = feature_profile(pd.DataFrame({"lantai": pd.array(["9", "2"], dtype="string")}))
    drift = DriftAccumulator(profile)
    drift.add(pd.DataFrame({"lantai": pd.array(["9", "9", "77", "2"], dtype="string")}))
    row = drift.report().iloc[0]
    assert row["n_unseen"] == 1 and row["unseen_codes"] == "77"
    # bins 2, 9, unseen: expected .5 .5 0 (floored 1e-4), actual .25 .5 .25
    psi = (0.25 - 0.5) * np.log(0.25 / 0.5) + (0.25 - 1e-4) * np.log(0.25 / 1e-4)
    assert row["psi"] == pytest.approx(psi, abs=1e-5) and row["large_drift"]


def test_models_load_from_a_run_folder_champion_first(trained, tmp_path):
    run = run_folder(tmp_path, *trained)
    models, profile, uri = load_scoring_models(run)
    assert list(models) == ["logit"] and profile == trained[1]  # lowest exclusion error
    assert uri == str(run / "models" / "logit")
    with pytest.raises(RunFolderError, match="not a run folder.*models:/NAME@ALIAS"):
        load_scoring_models(tmp_path / "nowhere")


def test_cli_score_and_explain(registry, trained, tmp_path):
    broken_prelist(registry, tmp_path)
    write_table(registry["households"], tmp_path / "households.parquet")
    write_table(registry["members"], tmp_path / "members.parquet")
    for name in ("siksng", "truth"):
        write_table(registry[name], tmp_path / f"{name}.parquet")
    run = run_folder(tmp_path, *trained)
    quota = tmp_path / "quota.csv"
    desa = (
        registry["areas"][["KDPROP", "KDKAB", "KDKEC", "KDDESA"]].astype(str).agg("".join, axis=1)
    )
    pd.DataFrame({"KDDESA": desa, "quota": 1}).to_csv(quota, index=False)
    runner = CliRunner()
    result = runner.invoke(app, ["score", "--model", str(run), "--prelist", str(tmp_path),
                                 "--out", str(tmp_path / "s.xlsx"), "--explain",
                                 "--quota-file", str(quota), "--no-track"])  # fmt: skip
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "model(s): logit" in text and "input 51 = scored 47 + rejected 4" in text, text
    assert pd.read_excel(tmp_path / "s.xlsx")["selected"].sum() > 0
    ids = ",".join(registry["households"]["IDBDT"].head(2))
    result = runner.invoke(app, ["explain", "--run", str(run), "--data", str(tmp_path),
                                 "--households", ids, "--model", "gbm", "--top-k", "2",
                                 "--out", str(tmp_path / "e.csv"), "--plot",
                                 registry["households"]["IDBDT"].iloc[0]])  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "e.csv")
    assert set(table["model"]) == {"gbm"} and table["IDBDT"].nunique() == 2
    assert (
        tmp_path / f"waterfall_{registry['households']['IDBDT'].iloc[0]}.png"
    ).stat().st_size > 0
