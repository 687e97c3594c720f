"""Welfare and budget curves: CRRA and budget definitions as cider's, on a hand-computed case."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slrt_ml.evaluation.welfare import (
    CRRA_UNIT,
    WelfareInputs,
    crra_utility,
    fgt,
    social_welfare,
    welfare_curves,
    welfare_inputs,
)


def cider_utility(var1, var2, transfer_size, p, rho):
    """cider/targeting.py ``Targeting.utility`` (Global-Policy-Lab/cider), restated: sort by
    the proxy ascending (lower = poorer), target the first int(p/100 * N) records, sum
    ((var1 + benefits)**(1-rho))/(1-rho)."""
    data = pd.DataFrame({"var1": var1, "var2": var2}).sort_values("var2", ascending=True)
    k = int((p / 100) * len(data))
    benefits = np.r_[np.ones(k), np.zeros(len(data) - k)] * transfer_size
    return float((((data["var1"] + benefits) ** (1 - rho)) / (1 - rho)).sum())


def hand_inputs(**changes) -> WelfareInputs:
    # welfare 1000..4000 Rp per capita per month = 1..4 CRRA units; one person each
    values = dict(
        welfare=np.array([1000.0, 2000.0, 3000.0, 4000.0]),
        persons=np.ones(4),
        poverty_line=np.full(4, 2500.0),
        benefit=np.full(4, 12_000.0),  # Rp 12,000 a year = Rp 1,000 a month = one unit
        eligible=np.ones(4, bool),
        weight=np.ones(4),
        cluster=np.arange(4),
        tie=np.arange(4),
        reference="siksng",
        reference_selected=np.array([True, False, False, True]),
        scores={"m": np.array([4.0, 3.0, 2.0, 1.0])},
    )
    values.update(changes)
    return WelfareInputs(**values)


def table(curves, system, rule, metric, share=None):
    rows = curves[(curves.system == system) & (curves.rule == rule) & (curves.metric == metric)]
    if share is not None:
        rows = rows[np.isclose(rows["share"], share)]
    assert len(rows) == 1, rows
    return float(rows["estimate"].iloc[0])


def test_crra_and_fgt_hand_values():
    assert crra_utility(np.array([2.0]), 3).tolist() == [-0.125]
    assert crra_utility(np.array([np.e]), 1).tolist() == [1.0]
    # incomes 1, 3 -> 2, 3 after a transfer of 1 to the first: -(1/2 + 1/3)
    assert social_welfare(np.array([1.0, 3.0]), np.array([1.0, 0.0]), rho=2) == pytest.approx(
        -5 / 6
    )
    assert fgt(np.array([2000.0, 3000.0]), 2500.0, 2) == pytest.approx(0.2**2 / 2)
    with pytest.raises(ValueError, match="consumption > 0"):
        crra_utility(np.array([0.0, 1.0]), 2)


def test_budget_curve_matches_hand_and_cider():
    curves = welfare_curves(hand_inputs(), shares=(0.5,), bootstrap=0)
    # budget = SIKS-NG's list: 2 x 12,000 = 24,000 a year; 50% of 4 households -> 2 get
    # 12,000 a year (one unit a month): m picks households 0 and 1 -> consumption 2, 3, 3, 4
    assert table(curves, "m", "uniform", "crra_rho2", 0.5) == pytest.approx(-17 / 48)
    assert table(curves, "m", "uniform", "crra_rho3", 0.5) == pytest.approx(
        -(1 / 4 + 2 / 9 + 1 / 16) / 2 / 4
    )
    assert table(curves, "m", "uniform", "crra_rho1", 0.5) == pytest.approx(
        np.log([2, 3, 3, 4]).mean()
    )
    for rho in (2, 3, 5):  # cider's sum over records equals our mean x N on the same inputs
        cider = cider_utility(np.array([1.0, 2, 3, 4]), -np.array([4.0, 3, 2, 1]), 1.0, 50, rho)
        assert table(curves, "m", "uniform", f"crra_rho{rho}", 0.5) * 4 == pytest.approx(cider)
    assert table(curves, "m", "uniform", "ede_rho2", 0.5) == pytest.approx(48 / 17 * CRRA_UNIT)
    # after: 2000, 3000, 3000, 4000 against a line of 2500
    assert table(curves, "m", "uniform", "fgt0", 0.5) == pytest.approx(0.25)
    assert table(curves, "m", "uniform", "fgt1", 0.5) == pytest.approx(0.2 / 4)
    assert table(curves, "m", "uniform", "fgt2", 0.5) == pytest.approx(0.04 / 4)
    assert table(curves, "none", "none", "fgt1") == pytest.approx((0.6 + 0.2) / 4)
    # universal: 24,000 / 4 = 6,000 a year = half a unit a month each
    assert table(curves, "universal", "uniform", "crra_rho2") == pytest.approx(
        -np.mean(1 / np.array([1.5, 2.5, 3.5, 4.5]))
    )


def test_pkh_schedule_gives_each_selected_household_its_entitlement():
    benefit = np.array([24_000.0, 12_000.0, 12_000.0, 12_000.0])
    curves = welfare_curves(hand_inputs(benefit=benefit), shares=(), bootstrap=0)
    # SIKS-NG (0, 3) costs 36,000: household 0 gets 2 units, household 3 one -> 3, 2, 3, 5
    assert table(curves, "siksng", "pkh_schedule", "crra_rho2") == pytest.approx(
        -(1 / 3 + 1 / 2 + 1 / 3 + 1 / 5) / 4
    )
    # m within 36,000: households 0 (24,000) and 1 (12,000) -> 3, 3, 3, 4
    assert table(curves, "m", "pkh_schedule", "crra_rho2") == pytest.approx(-(3 / 3 + 1 / 4) / 4)
    row = curves[(curves.system == "m") & (curves.rule == "pkh_schedule")].iloc[0]
    assert row["share"] == pytest.approx(0.5) and row["transfer"] == pytest.approx(18_000)


def test_intervals_cover_the_estimate_and_weights_matter():
    rng = np.random.default_rng(0)
    n = 400
    inputs = hand_inputs(
        welfare=rng.lognormal(8, 0.5, n), persons=rng.integers(1, 6, n).astype(float),
        poverty_line=np.full(n, 3000.0), benefit=np.full(n, 24_000.0),
        eligible=rng.random(n) < 0.8, weight=np.ones(n), cluster=np.arange(n) // 10,
        tie=np.arange(n), reference_selected=rng.random(n) < 0.2,
        scores={"m": rng.normal(size=n)},
    )  # fmt: skip
    curves = welfare_curves(inputs, shares=(0.2,), bootstrap=50, seed=1)
    assert (curves["ci_low"] <= curves["estimate"] + 1e-12).all()
    assert (curves["estimate"] <= curves["ci_high"] + 1e-12).all()
    assert (curves["ci_high"] > curves["ci_low"]).any()
    persons = welfare_curves(
        WelfareInputs(**{**inputs.__dict__, "weight": inputs.persons}), shares=(0.2,), bootstrap=0
    )
    assert table(persons, "none", "none", "fgt0") != pytest.approx(
        table(curves, "none", "none", "fgt0")
    )


def test_welfare_inputs_from_frame_names_missing_columns():
    frame = pd.DataFrame({"IDBDT": ["a", "b"], "cluster": [0, 1], "eligible": [1, 1],
                          "welfare": [1000.0, np.nan], "persons": [2, 3], "pkh_benefit": [1.0, 2.0],
                          "siksng_selected": [1, 0], "siksng_score": [2.0, 1.0], "m": [0.1, 0.2]})  # fmt: skip
    inputs = welfare_inputs(frame, ["m"])
    assert len(inputs.welfare) == 1 and list(inputs.scores) == ["siksng", "m"]
    with pytest.raises(ValueError, match=r"\['gbm'\]"):
        welfare_inputs(frame, ["gbm"])


def test_policy_curves_of_a_run_folder(tmp_path):
    from slrt_ml.config import config_from_dict
    from slrt_ml.data.synth.generator import make_registry
    from slrt_ml.evaluation.report_policy import policy_html, policy_markdown
    from slrt_ml.pipeline.in_memory import targeting_data
    from slrt_ml.pipeline.policy import write_policy_curves
    from slrt_ml.pipeline.train import train

    data = targeting_data(make_registry(households=800, seed=11))
    config = config_from_dict({"models": ["logit"], "cv": {"folds": 3}})
    run = train(data, tmp_path / "run", config, progress=False).run_dir
    paths = write_policy_curves(run, data, bootstrap=20)
    curves = pd.read_csv(paths["welfare_curves"])
    assert set(curves["rule"]) == {"none", "pkh_schedule", "uniform"}
    assert {"siksng", "logit", "none", "universal"} <= set(curves["system"])
    schedule = curves[(curves.rule == "pkh_schedule") & (curves.metric == "fgt0")]
    baseline = table(curves, "none", "none", "fgt0")
    assert (schedule["estimate"] <= baseline + 1e-12).all()  # transfers never add poverty
    verification = pd.read_csv(paths["verification_curve"])
    assert set(verification["order"]) == {"priority_rule", "conformal_first", "random"}
    assert "Verification visits" in policy_markdown(curves, verification)
    assert "data:image/png;base64" in policy_html(curves, verification)


def test_paired_differences_against_the_reference():
    benefit = np.array([24_000.0, 12_000.0, 12_000.0, 12_000.0])
    curves = welfare_curves(hand_inputs(benefit=benefit), shares=(), bootstrap=0)
    diff = table(curves, "m", "pkh_schedule", "crra_rho2_diff_vs_siksng")
    expected = -(3 / 3 + 1 / 4) / 4 + (1 / 3 + 1 / 2 + 1 / 3 + 1 / 5) / 4
    assert diff == pytest.approx(expected)
    assert not (curves["metric"].str.contains("_diff_vs_") & (curves["system"] == "siksng")).any()
