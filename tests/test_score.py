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
    assert list(out.columns[:9]) == ["KDKEC", "NMKEC", "KDDESA", "NMDESA", "desa_code", "IDBDT",
                                     "prob_poor", "percentile_in_desa", "rank_in_desa"]  # fmt: skip
    assert {"reason_1", "reason_2", "reason_3", "score_logit"} <= set(out.columns)
    for _, desa in out.groupby("desa_code"):  # verification order numbered within each desa
        assert desa["priority_in_desa"].tolist() == list(range(1, len(desa) + 1))
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
    np.testing.assert_allclose(out["margin"], expected.loc[out["IDBDT"]].to_numpy(), rtol=1e-6)
    assert out["selected"].isna().all()  # no quota: nothing selected, priority by score
    for _, desa in out.groupby("desa_code"):  # no quota: the priority is the rank
        assert (desa["priority_in_desa"] == desa["rank_in_desa"]).all()
        assert desa["prob_poor"].is_monotonic_decreasing


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
    message = (
        rf"scored {len(hh) - 5} \+ rejected 4 != input {len(hh)} households \(\+1 unaccounted\)"
    )
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
    sheets = pd.read_excel(tmp_path / "s.xlsx", sheet_name=None)
    households = pd.concat([f for name, f in sheets.items() if name not in ("Ringkasan", "Desa")])
    assert households["Terpilih"].eq("Ya").sum() > 0
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


def _bad_id_prelist(registry, folder):
    """Duplicated, blank, malformed (formula) ids, Jumlah_ART = inf and an unknown desa."""
    hh, mem = registry["prelist_households"].copy(), registry["prelist_members"]
    hh["IDBDT"] = hh["IDBDT"].astype(object)
    hh["Jumlah_ART"] = hh["Jumlah_ART"].astype(float)
    hh.loc[hh.index[0], "IDBDT"] = '=HYPERLINK("http://x","y")'
    hh.loc[hh.index[1], "IDBDT"] = "  "
    hh.loc[hh.index[2], "IDBDT"] = "٧٣٠١"  # Arabic-Indic digits
    hh = pd.concat([hh, hh.iloc[[5, 5]]])  # one id three times
    hh.loc[hh.index[7], "Jumlah_ART"] = np.inf
    hh.loc[hh.index[8], "KDDESA"] = "999"  # not in the areas table
    write_table(hh, folder / "prelist_households.csv")
    write_table(mem, folder / "prelist_members.csv")
    write_table(registry["areas"], folder / "areas.csv")
    return hh


@pytest.mark.parametrize("chunk_size", [7, 1000])
def test_rows_on_disk_add_up_with_duplicated_blank_and_malformed_ids(
    registry, trained, tmp_path, chunk_size
):
    hh = _bad_id_prelist(registry, tmp_path)
    models, profile = trained
    result = score_prelist(tmp_path, models, tmp_path / "out.csv", quota=0.3, profile=profile,
                           chunk_size=chunk_size, progress=False)  # fmt: skip
    out = pd.read_csv(result.output, dtype=str, keep_default_na=False)
    rejects = pd.read_csv(result.rejects, dtype=str, keep_default_na=False)
    assert len(out) + len(rejects) == len(hh) == result.n_input
    assert len(rejects) == 8  # one row per rejected input row: 3 bad ids, 3 copies, inf, desa
    reasons = "\n".join(rejects["reason"])
    assert (
        "id format" in reasons and "not empty" in reasons and "desa in the areas table" in reasons
    )
    assert "finite" in reasons or "Jumlah_ART: whole number ('inf')" in reasons
    assert rejects["reason"].str.contains("unique").sum() == 3
    assert not rejects["IDBDT"].str.startswith("=").any()  # neutralised for spreadsheets
    assert "'=HYPERLINK" in rejects["IDBDT"].tolist()[0]


def test_an_all_rejected_prelist_writes_every_reject_and_exits_3(registry, trained, tmp_path):
    models, profile = trained
    prelist = tmp_path / "prelist"
    prelist.mkdir()
    hh = registry["prelist_households"].assign(Lantai="77")  # every row breaks the code list
    write_table(hh, prelist / "prelist_households.csv")
    write_table(registry["prelist_members"], prelist / "prelist_members.csv")
    write_table(registry["areas"], prelist / "areas.csv")  # the models use the urban flag
    result = score_prelist(prelist, models, tmp_path / "out.csv", progress=False)
    assert result.n_scored == 0 and len(pd.read_csv(result.rejects)) == len(hh)
    assert len(pd.read_csv(result.output)) == 0
    run = run_folder(tmp_path, models, profile)
    cli = CliRunner().invoke(app, ["score", "--model", str(run), "--prelist", str(prelist),
                                   "--out", str(tmp_path / "cli.csv"), "--no-track"])  # fmt: skip
    assert cli.exit_code == 3, cli.output
    assert "no household could be scored" in cli.output
    assert len(pd.read_csv(tmp_path / "cli.rejects.csv")) == len(hh)


def test_a_header_only_prelist_writes_empty_files_and_exits_3(registry, trained, tmp_path):
    models, profile = trained
    prelist = tmp_path / "prelist"
    prelist.mkdir()
    write_table(registry["prelist_households"].iloc[:0], prelist / "prelist_households.csv")
    write_table(registry["prelist_members"].iloc[:0], prelist / "prelist_members.csv")
    write_table(registry["areas"], prelist / "areas.csv")  # the models use the urban flag
    result = score_prelist(prelist, models, tmp_path / "out.parquet", progress=False)
    assert (result.n_input, result.n_scored, result.n_rejected) == (0, 0, 0)
    assert len(pd.read_parquet(result.output)) == 0 and len(pd.read_csv(result.rejects)) == 0
    run = run_folder(tmp_path, models, profile)
    cli = CliRunner().invoke(app, ["score", "--model", str(run), "--prelist", str(prelist),
                                   "--out", str(tmp_path / "cli.csv"), "--no-track"])  # fmt: skip
    assert cli.exit_code == 3, cli.output


@pytest.mark.parametrize(
    "damage", ["empty", "garbage", "renamed_id", "colon_delimited", "repeated_header"]
)
def test_a_broken_prelist_file_is_a_one_line_error_naming_the_file(
    registry, trained, tmp_path, damage
):
    models, profile = trained
    prelist = tmp_path / "prelist"
    prelist.mkdir()
    hh = registry["prelist_households"]
    path = prelist / "prelist_households.csv"
    write_table(hh, path)
    write_table(registry["prelist_members"], prelist / "prelist_members.csv")
    text = path.read_text()
    broken = {
        "empty": "",
        "garbage": "\x00\x01PK\x03\x04 not a table",
        "renamed_id": text.replace("IDBDT", "ID_BDT", 1),
        "colon_delimited": text.replace(",", ":"),
        "repeated_header": text.replace("KDKAB", "KDPROP", 1),
    }[damage]
    path.write_text(broken)
    run = run_folder(tmp_path, models, profile)
    cli = CliRunner().invoke(app, ["score", "--model", str(run), "--prelist", str(prelist),
                                   "--out", str(tmp_path / "o.csv"), "--no-track"])  # fmt: skip
    assert cli.exit_code == 1, cli.output
    assert (
        "Traceback" not in cli.output
        and cli.exception is None
        or isinstance(cli.exception, SystemExit)
    )
    assert "prelist_households.csv" in cli.output
