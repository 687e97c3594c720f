"""The field output of prelist scoring: areas, order, probability, reasons, Excel, languages."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from scipy.special import expit
from scoring_data import broken_prelist, fitted_models, small_registry

from slrt_ml.explain.api import explain_households
from slrt_ml.explain.reasons import AREA_FEATURES, answer_labels
from slrt_ml.features.households import household_features
from slrt_ml.pipeline.calibration import (
    CalibrationError,
    attach_calibration,
    fit_platt,
    poor_probability,
    read_calibration,
    write_calibration,
)
from slrt_ml.pipeline.field_output import WORDS
from slrt_ml.pipeline.score import score_prelist
from slrt_ml.targeting.priority import area_decisions


@pytest.fixture(scope="module")
def registry():
    return small_registry()


@pytest.fixture(scope="module")
def trained():
    return fitted_models()


@pytest.fixture(scope="module")
def scored(registry, trained, tmp_path_factory):
    """The broken prelist scored once with reasons, a 30% quota and both models."""
    folder = tmp_path_factory.mktemp("prelist")
    hh, _ = broken_prelist(registry, folder)
    models, profile = trained
    result = score_prelist(folder, models, folder / "out.parquet", explain=True, top_k=3,
                           quota=0.3, profile=profile, chunk_size=20, progress=False)  # fmt: skip
    return folder, hh, result, pd.read_parquet(result.output)


def test_rows_carry_area_codes_and_names_in_field_order(registry, scored):
    _, _, _, out = scored
    areas = registry["areas"].assign(
        desa_code=lambda a: (
            a[["KDPROP", "KDKAB", "KDKEC", "KDDESA"]].astype(str).agg("".join, axis=1)
        )
    )
    merged = out.merge(areas, on="desa_code", suffixes=("", "_areas"))
    assert len(merged) == len(out)
    for column in ("KDKEC", "KDDESA", "NMKEC", "NMDESA"):
        assert (merged[column] == merged[f"{column}_areas"]).all(), column
    key = list(zip(out["KDKEC"], out["KDDESA"], out["priority_in_desa"], strict=True))
    assert key == sorted(key)  # by kecamatan, desa, verification order


def test_probability_percentile_and_reasons_follow_the_selection(scored, trained):
    _, _, _, out = scored
    assert out["prob_poor"].between(0, 1).all()
    # gbm without a calibration file: its own probability = expit(margin)
    np.testing.assert_allclose(out["prob_poor"], expit(out["margin"]), rtol=1e-9)
    n = out.groupby("desa_code")["IDBDT"].transform("size")
    assert (out["percentile_in_desa"] == np.ceil(100 * out["rank_in_desa"] / n)).all()
    toward = out["reasons_toward"].to_numpy()
    assert set(toward[out["selected"].to_numpy(bool)]) == {"poorer"}
    assert set(toward[~out["selected"].to_numpy(bool)]) == {"richer"}


def test_reasons_are_own_answers_in_the_direction_of_the_decision(registry, scored, trained):
    folder, _, _, out = scored
    model = trained[0]["gbm"]
    hh, mem = registry["prelist_households"], registry["prelist_members"]
    X = household_features(hh, mem, registry["areas"]).loc[out["IDBDT"]]
    area_answers = {a for f in AREA_FEATURES if f in X.columns
                    for a in answer_labels(f, X[f].to_numpy())}  # fmt: skip
    reasons = out[["reason_1", "reason_2", "reason_3"]]
    assert not set(reasons.stack()) & area_answers
    # the same items as explain_households gives for the same decision, slot by slot
    selected = (out["reasons_toward"] == "poorer").to_numpy()
    expected = explain_households(model, X, top_k=3, selected=selected).reasons
    for slot in (1, 2, 3):
        got = reasons[f"reason_{slot}"].fillna("").to_numpy()
        assert (got == expected[f"reason_{slot}"].fillna("").to_numpy()).all(), slot


def test_area_effect_is_reported_once_per_desa(scored):
    folder, _, _, out = scored
    desa = pd.read_csv(folder / "out.desa.csv", dtype={"KDKEC": str, "KDDESA": str})
    assert desa["desa_code"].is_unique and desa["n_scored"].sum() == len(out)
    assert "area_effect" not in out.columns and desa["area_effect"].notna().all()
    assert set(desa["area_note"]) <= {WORDS["id"]["raises"], WORDS["id"]["lowers"]}


def test_priority_does_not_change_with_extra_models_unless_asked(registry, trained, tmp_path):
    broken_prelist(registry, tmp_path)
    models, _ = trained
    kwargs = dict(quota=0.3, progress=False)
    alone = score_prelist(tmp_path, {"gbm": models["gbm"]}, tmp_path / "a.parquet", **kwargs)
    both = score_prelist(tmp_path, models, tmp_path / "b.parquet", **kwargs)
    voted = score_prelist(tmp_path, models, tmp_path / "v.parquet", priority_models=("logit",),
                          **kwargs)  # fmt: skip
    a, b, v = (pd.read_parquet(r.output).set_index("IDBDT") for r in (alone, both, voted))
    assert (a["priority_in_desa"] == b.loc[a.index, "priority_in_desa"]).all()
    # with a vote: the rule of area_decisions on the logit's scores, household by household
    b = b.sort_index()
    codes, names = pd.factorize(b["desa_code"])
    expected = area_decisions(b["margin"].to_numpy(), codes, list(names), 0.3,
                              other_scores=b[["score_logit"]].to_numpy())  # fmt: skip
    assert (v.loc[b.index, "priority_in_desa"].to_numpy() == expected.priority_in_area).all()
    with pytest.raises(ValueError, match=r"priority models \['rf'\]"):
        score_prelist(tmp_path, models, tmp_path / "x.parquet", priority_models=("rf",), **kwargs)


def test_excel_has_a_sheet_per_kecamatan_and_a_summary_that_adds_up(scored, trained, tmp_path):
    folder, hh, result, out = scored
    models, _ = trained
    xlsx = score_prelist(folder, models, tmp_path / "field.xlsx", explain=True, top_k=2,
                         quota=0.3, progress=False).output  # fmt: skip
    book = load_workbook(xlsx)
    words = WORDS["id"]
    kecamatan = [s for s in book.sheetnames if s not in (words["summary"], words["desa"])]
    assert len(kecamatan) == out["KDKEC"].nunique()
    for name in kecamatan:
        sheet = book[name]
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == sheet.dimensions
        assert sheet.column_dimensions["B"].width > 5
    summary = pd.read_excel(xlsx, sheet_name=words["summary"], dtype={words["KDKEC"]: str})
    total = summary[summary[words["NMKEC"]] == words["total"]].iloc[0]
    assert total[words["n_input"]] == result.n_input == len(hh)
    assert total[words["n_scored"]] == result.n_scored
    assert total[words["n_rejected"]] == result.n_rejected
    assert total[words["n_selected"]] == out["selected"].sum()
    rows = pd.concat([pd.read_excel(xlsx, sheet_name=s, dtype=str) for s in kecamatan])
    assert len(rows) == result.n_scored
    assert set(rows[words["selected"]]) == {"Ya", "Tidak"}  # no empty decision cell
    assert (rows[words["selected"]] == "Ya").sum() == out["selected"].sum()


def test_english_headers_and_reasons(registry, trained, tmp_path):
    broken_prelist(registry, tmp_path)
    models, _ = trained
    result = score_prelist(tmp_path, {"logit": models["logit"]}, tmp_path / "en.xlsx",
                           explain=True, top_k=2, quota=0.3, lang="en", progress=False)  # fmt: skip
    sheets = pd.read_excel(result.output, sheet_name=None)
    assert "Summary" in sheets
    rows = pd.concat(f for name, f in sheets.items() if name not in ("Summary", "Desa"))
    assert {"Verification order in desa", "Probability poor", "Reason 1"} <= set(rows.columns)
    assert set(rows["Selected"]) == {"Yes", "No"}
    reasons = rows["Reason 1"].dropna()
    assert len(reasons) and not reasons.str.contains("Tidak punya|Lantai:").any()
    with pytest.raises(ValueError, match="lang"):
        score_prelist(tmp_path, models, tmp_path / "x.csv", lang="fr", progress=False)


def test_own_probability_of_the_log_odds_families_is_predict_proba(registry, trained):
    X = household_features(registry["households"].head(50), registry["members"],
                           registry["areas"])  # fmt: skip
    for model in trained[0].values():
        margin = model.poverty_score(X)
        np.testing.assert_allclose(poor_probability(model, margin, X),
                                   model.predict_proba(X)[:, 1], atol=1e-6)  # fmt: skip


def test_platt_calibration_recovers_a_known_curve_and_round_trips(tmp_path, trained):
    rng = np.random.default_rng(0)
    margin = rng.normal(size=20_000)
    poor = rng.random(20_000) < expit(2.0 * margin - 1.0)  # true slope 2, intercept -1
    params = fit_platt(margin, poor)
    assert params["slope"] == pytest.approx(2.0, abs=0.1)
    assert params["intercept"] == pytest.approx(-1.0, abs=0.1)
    oof = pd.DataFrame({"IDBDT": np.arange(20_000).astype(str), "gbm": margin})
    write_calibration(tmp_path / "calibration.json", oof, poor.astype(int))
    assert read_calibration(tmp_path)["gbm"]["n"] == 20_000
    model = fitted_models()[0]["gbm"]
    attach_calibration({"gbm": model}, tmp_path)
    try:
        got = poor_probability(model, np.array([0.0, 1.0]), pd.DataFrame())
        np.testing.assert_allclose(got, expit(params["slope"] * np.array([0, 1.0])
                                              + params["intercept"]))  # fmt: skip
    finally:
        del model.poverty_calibration_
    (tmp_path / "calibration.json").write_text(json.dumps({"models": {"gbm": {"method": "exec"}}}))
    with pytest.raises(CalibrationError, match="model 'gbm': expected method 'platt'"):
        read_calibration(tmp_path)


def test_row_accounting_still_holds_with_csv(registry, trained, tmp_path):
    hh, _ = broken_prelist(registry, tmp_path, sort=False)
    result = score_prelist(tmp_path, trained[0], tmp_path / "o.csv", quota=0.3, progress=False)
    out = pd.read_csv(result.output, dtype=str)
    assert result.n_input == len(hh) == len(out) + result.n_rejected
    assert set(out["selected"]) == {"True", "False"}
