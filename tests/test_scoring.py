"""Batch scoring: counts add up, rejects readable, resume, atomic output, priority, drift, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from slrt_ml.cli import app
from slrt_ml.data.io import write_table
from slrt_ml.data.synth.generator import make_registry
from slrt_ml.features.drift import DriftAccumulator, feature_profile, population_stability_index
from slrt_ml.features.households import household_features
from slrt_ml.models import make_model, save_model
from slrt_ml.pipeline import score as scoring
from slrt_ml.pipeline.score import (
    desa_quota,
    rank_within_area,
    score_prelist,
    verification_priority,
)


@pytest.fixture(scope="module")
def registry():
    return make_registry(households=500, seed=7)


@pytest.fixture(scope="module")
def trained(registry):
    X = household_features(registry["households"], registry["members"], registry["areas"])
    poor = registry["truth"].set_index("IDBDT")["poor"].reindex(X.index).to_numpy()
    gbm = make_model("gbm", {"n_estimators": 20, "max_depth": 3}).fit(X, poor)
    logit = make_model("logit", {"max_iter": 300}).fit(X, poor)
    return {"gbm": gbm, "logit": logit}, feature_profile(X)


def _broken_prelist(registry, folder, *, sort: bool = True):
    hh, mem = registry["prelist_households"].copy(), registry["prelist_members"].copy()
    hh.loc[hh.index[0], "Lantai"] = "77"  # unknown code
    headless = hh["IDBDT"].iloc[1]
    mem = mem[~((mem["IDBDT"] == headless) & (mem["Hub_KRT"] == "1"))]  # missing head
    hh = pd.concat([hh, hh.iloc[[2]]])  # duplicated IDBDT
    if sort:
        hh = hh.sort_values("IDBDT", kind="stable")
    write_table(hh, folder / "prelist_households.parquet")
    write_table(mem, folder / "prelist_members.csv")
    write_table(registry["areas"], folder / "areas.parquet")
    return hh, mem


@pytest.mark.parametrize("sort", [True, False])
def test_every_household_is_scored_or_rejected_with_a_reason(registry, trained, tmp_path, sort):
    hh, _ = _broken_prelist(registry, tmp_path, sort=sort)
    models, profile = trained
    result = score_prelist(tmp_path, models, tmp_path / "out.parquet", explain=True, top_k=3,
                           quota=0.3, profile=profile, chunk_size=17, progress=False)  # fmt: skip
    out = pd.read_parquet(result.output)
    rejects = pd.read_csv(result.rejects, dtype=str)
    assert result.n_input == len(hh) == len(out) + len(rejects)
    assert out["IDBDT"].is_unique and not set(out["IDBDT"]) & set(rejects["IDBDT"])
    reasons = dict(zip(rejects["IDBDT"], rejects["reason"], strict=False))
    assert "Lantai" in reasons[hh["IDBDT"].iloc[0] if sort else registry["prelist_households"]["IDBDT"].iloc[0]]
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


def test_resume_after_a_crash_gives_the_same_output(registry, trained, tmp_path, monkeypatch):
    _broken_prelist(registry, tmp_path)
    models, profile = trained
    kwargs = dict(explain=True, top_k=2, quota=0.25, profile=profile, chunk_size=11, progress=False)
    clean = score_prelist(tmp_path, models, tmp_path / "clean.parquet", **kwargs)
    real, calls = scoring._score_chunk, {"n": 0}

    def crash_on_third(*args, **kw):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("simulated crash")
        return real(*args, **kw)

    monkeypatch.setattr(scoring, "_score_chunk", crash_on_third)
    out = tmp_path / "resumed.parquet"
    with pytest.raises(RuntimeError, match="simulated crash"):
        score_prelist(tmp_path, models, out, **kwargs)
    assert not out.exists()  # atomic: no half-written output
    state = json.loads((tmp_path / "resumed.parquet.parts" / "manifest.json").read_text())
    assert state["done"] == [0, 1]
    monkeypatch.setattr(scoring, "_score_chunk", real)
    resumed = score_prelist(tmp_path, models, out, **kwargs)
    assert resumed.resumed_chunks == 2
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(clean.output))


def test_no_nik_in_any_output(registry, trained, tmp_path):
    hh, mem = _broken_prelist(registry, tmp_path)
    models, profile = trained
    score_prelist(tmp_path, models, tmp_path / "o.csv", explain=True, quota=0.3,
                  profile=profile, progress=False)  # fmt: skip
    niks = set(mem["NIK"].dropna())
    for name in ("o.csv", "o.rejects.csv", "o.drift.csv"):
        text = (tmp_path / name).read_text()
        assert not any(nik in text for nik in niks), name


def test_priority_rule_on_a_hand_computed_case():
    # desa A: 4 households, quota 2 (cut-off 2.5); desa B: 2 households, quota 1 (1.5)
    rank = np.array([1, 2, 3, 4, 1, 2])
    quota = np.array([2, 2, 2, 2, 1, 1])
    n = np.array([4, 4, 4, 4, 2, 2])
    # distances 1.5/4, .5/4, .5/4, 1.5/4, .5/2, .5/2 = .375 .125 .125 .375 .25 .25
    assert verification_priority(rank, quota, n).tolist() == [5, 1, 2, 6, 3, 4]
    disagree = np.array([0, 0, 0, 1, 0, 0])  # another model flips the 4th household
    assert verification_priority(rank, quota, n, disagreement=disagree).tolist() == [
        6, 2, 3, 1, 4, 5,
    ]  # fmt: skip


def test_rank_and_quota():
    assert rank_within_area(np.array([1.0, 3.0, 2.0, 2.0]), np.array([0, 0, 0, 1])).tolist() == [
        3, 1, 2, 1,
    ]  # fmt: skip
    counts = pd.Series({"7311010001": 6, "7311010002": 4})
    assert desa_quota(counts, 0.5).tolist() == [3, 2]
    with pytest.warns(UserWarning, match="not in the quota file"):
        assert desa_quota(counts, {"7311010001": 2}).tolist() == [2, 0]


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


def _run_folder(tmp_path, models, profile):
    run = tmp_path / "run"
    for name, model in models.items():
        save_model(model, run / "models" / name)
    (run / "manifest.json").write_text(json.dumps({"models": list(models)}))
    (run / "feature_profile.json").write_text(json.dumps(profile))
    pd.DataFrame({"system": ["gbm", "logit"], "metric": ["exclusion_error"] * 2,
                  "estimate": [0.4, 0.3], "ci_low": 0, "ci_high": 1}).to_csv(
        run / "comparison.csv", index=False)  # fmt: skip
    return run


def test_cli_score_and_explain(registry, trained, tmp_path):
    _broken_prelist(registry, tmp_path)
    write_table(registry["households"], tmp_path / "households.parquet")
    write_table(registry["members"], tmp_path / "members.parquet")
    for name in ("siksng", "truth"):
        write_table(registry[name], tmp_path / f"{name}.parquet")
    run = _run_folder(tmp_path, *trained)
    quota = tmp_path / "quota.csv"
    desa = registry["areas"][["KDPROP", "KDKAB", "KDKEC", "KDDESA"]].astype(str).agg("".join, axis=1)
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
    assert (tmp_path / f"waterfall_{registry['households']['IDBDT'].iloc[0]}.png").stat().st_size > 0
