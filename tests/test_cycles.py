"""Temporal validation: decay per year with intervals, refit policies, the cycles command."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from slrt_ml.cli import app
from slrt_ml.data.synth.cycle_registry import decay_per_year as generator_decay
from slrt_ml.data.synth.cycle_registry import generate_cycles
from slrt_ml.evaluation.decay import (
    CycleCounts,
    DecayInputError,
    cycle_errors,
    decay_per_year,
    leave_out_draws,
    leave_out_groups,
    slope,
)
from slrt_ml.evaluation.report_cycles import cycles_markdown, decay_table
from slrt_ml.pipeline.cycles import cycle_folders, refit_schedule, run_cycles, write_cycles

# pandera imports pyspark when it is installed, and pyspark warns about pandas 3 on import


def _selections(errors_by_cycle: list[list[int]], months: int = 12) -> pd.DataFrame:
    """One target household per cluster and cycle; ``1`` = selected."""
    rows = []
    for cycle, picks in enumerate(errors_by_cycle):
        for k, chosen in enumerate(picks):
            rows.append({"system": "s", "cycle": cycle, "years": cycle * months / 12,
                         "cluster": f"d{k}", "target": 1, "selected": chosen})  # fmt: skip
    return pd.DataFrame(rows)


# --------------------------------------------------------------------- decay, by hand


def test_slope_is_percentage_points_a_year_by_hand():
    # exclusion error 0/4, 1/4, 2/4 at years 0, 1, 2: +25 pp a year
    frame = _selections([[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 0, 0]])
    table = decay_per_year(frame, interval=False)
    assert table.loc[0, "slope_pp_per_year"] == pytest.approx(25.0)
    assert (table.loc[0, "first"], table.loc[0, "last"]) == (0.0, 0.5)
    half_year = decay_per_year(_selections([[1, 1], [1, 0]], months=6), interval=False)
    assert half_year.loc[0, "slope_pp_per_year"] == pytest.approx(100.0)  # 50 pp in 6 months


def test_inclusion_and_mistargeting_have_their_denominators():
    frame = pd.DataFrame({
        "system": "s", "cycle": [0, 0, 0, 0, 1, 1, 1, 1], "years": [0.0] * 4 + [1.0] * 4,
        "cluster": list("abcd") * 2, "target": [1, 1, 0, 0, 1, 1, 0, 0],
        "selected": [1, 1, 0, 0, 1, 0, 1, 0]})  # fmt: skip
    errors = cycle_errors(frame, interval=False).set_index(["metric", "cycle"])["estimate"]
    assert errors[("inclusion_error", 1)] == pytest.approx(0.5)  # 1 non-target of 2 selected
    assert errors[("mistargeting", 1)] == pytest.approx(0.5)  # 2 errors of 4 households
    assert errors[("exclusion_error", 0)] == 0.0


def test_jackknife_interval_brackets_the_estimate_and_is_paired():
    rng = np.random.default_rng(1)
    picks = [list((rng.random(60) > 0.3 + 0.1 * c).astype(int)) for c in range(4)]
    frame = _selections(picks, months=6)
    table = decay_per_year(frame)
    row = table.iloc[0]
    assert row.ci_low < row.slope_pp_per_year < row.ci_high
    again = decay_per_year(frame.sample(frac=1, random_state=0))
    assert again.iloc[0].ci_low == pytest.approx(row.ci_low)  # row order does not matter
    per_cycle = cycle_errors(frame, metrics=("exclusion_error",))
    assert (
        (per_cycle.ci_low <= per_cycle.estimate) & (per_cycle.estimate <= per_cycle.ci_high)
    ).all()


def test_jackknife_interval_by_hand():
    """Three desa, two cycles, one target household per desa and cycle: the paired
    leave-one-desa-out slopes give SE and the t(2) interval computed here by hand."""
    frame = _selections([[1, 1, 1], [0, 1, 1]], months=12)  # EE 0 -> 1/3 in one year
    row = decay_per_year(frame).iloc[0]
    assert row.slope_pp_per_year == pytest.approx(100 / 3)
    leave_outs = np.array([0.0, 50.0, 50.0])  # without d0: EE 0 -> 0; without d1/d2: 0 -> 1/2
    se = np.sqrt(2 / 3 * ((leave_outs - leave_outs.mean()) ** 2).sum())
    half = 4.302652729911275 * se  # t(2) 97.5% quantile
    assert (row.ci_low, row.ci_high) == pytest.approx((100 / 3 - half, 100 / 3 + half))


def test_counts_must_share_leave_out_groups():
    full, one, two = np.array([1.0, 1, 0, 0]), np.ones((3, 4)), np.ones((2, 4))
    items = [CycleCounts("s", 0, 0.0, full, one), CycleCounts("s", 1, 1.0, full, two)]
    with pytest.raises(DecayInputError, match="leave-out replicates differ"):
        decay_per_year(items)
    groups = leave_out_groups([f"d{k:03d}" for k in range(450)])
    assert max(groups.values()) == 199  # at most 200 groups
    draws = leave_out_draws(["d000", "d200", "d001"], groups)
    assert draws.shape == (200, 3) and draws[0].tolist() == [0, 0, 1]


def test_bad_input_names_the_columns():
    with pytest.raises(DecayInputError, match="missing columns \\['cluster'\\]"):
        decay_per_year(_selections([[1]]).drop(columns="cluster"), interval=False)
    bad = _selections([[1, 1], [1, 0]])
    bad.loc[0, "years"] = 9.0
    with pytest.raises(DecayInputError, match="one value per cycle"):
        decay_per_year(bad, interval=False)
    assert np.isnan(slope(np.array([1.0, 1.0]), np.array([0.1, 0.2])))


def test_refit_policies():
    schedule = refit_schedule(5, 2, lambda t, c: 0.5 if c - t >= 3 else 0.0, 0.2)
    assert [t for t, _ in schedule["never"]] == [0] * 5
    assert [t for t, _ in schedule["every_2"]] == [0, 0, 2, 2, 4]
    assert [t for t, _ in schedule["drift"]] == [0, 0, 0, 3, 3]


# ---------------------------------------------------------------- on generated cycles


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    folder = tmp_path_factory.mktemp("panel")
    summary = generate_cycles(folder, 2_500, seed=11, cycles=4)
    return folder, summary


@pytest.fixture(scope="module")
def result(panel):
    return run_cycles(panel[0], models=("pmt_ols", "logit"), bootstrap=60, seed=1)


def test_grid_covers_every_train_and_later_test_cycle(result):
    pairs = set(zip(result.grid["train_cycle"], result.grid["test_cycle"], strict=True))
    assert pairs == {(t, c) for c in range(4) for t in range(c + 1)}
    assert set(result.grid["model"]) == {"pmt_ols", "logit"}
    both = result.grid.dropna(subset=["ci_low"])
    assert len(both) == len(result.grid)
    assert ((both.ci_low <= both.estimate) & (both.estimate <= both.ci_high)).all()


def test_errors_per_cycle_for_every_policy_and_siksng(result):
    errors = result.errors
    assert set(errors["policy"]) == {"never", "every_2", "drift", "published"}
    for policy in ("never", "every_2", "drift"):
        part = errors[(errors.policy == policy) & (errors.metric == "exclusion_error")]
        assert sorted(part["cycle"].unique()) == [0, 1, 2, 3]
        assert set(part["system"]) == {"pmt_ols", "logit"}
    never = errors[(errors.policy == "never")]
    assert (never["train_cycle"] == 0).all()
    published = errors[errors.policy == "published"]
    assert set(published["system"]) == {"siksng"} and published["ci_low"].notna().all()


def test_decay_per_year_with_intervals_for_siksng_and_each_model(result):
    decay = result.decay[result.decay.metric == "exclusion_error"]
    assert {("published", "siksng"), ("never", "pmt_ols"), ("never", "logit")} <= set(
        zip(decay.policy, decay.system, strict=True)
    )
    assert decay[["slope_pp_per_year", "ci_low", "ci_high"]].notna().all().all()
    assert (
        (decay.ci_low <= decay.slope_pp_per_year) & (decay.slope_pp_per_year <= decay.ci_high)
    ).all()


def test_measured_siksng_decay_is_what_the_generator_built_in(result, panel):
    _, summary = panel
    rows = summary["per_cycle"]
    built_exclusion = generator_decay([r["siksng_errors"]["exclusion_error"] for r in rows], 6)
    built_accuracy = summary["decay_pp_per_year"]["siksng_accuracy"]
    decay = result.decay.set_index(["policy", "system", "metric"])
    excl = decay.loc[("published", "siksng", "exclusion_error")]
    mis = decay.loc[("published", "siksng", "mistargeting")]
    assert excl.slope_pp_per_year == pytest.approx(built_exclusion, abs=1e-6)
    assert excl.ci_low <= built_exclusion <= excl.ci_high
    assert mis.slope_pp_per_year == pytest.approx(-built_accuracy, abs=1e-6)  # 1 - accuracy
    assert mis.ci_low <= -built_accuracy <= mis.ci_high


def test_never_refit_pmt_decays_as_the_generators_frozen_list(result, panel):
    # the generator's anchor: accuracy of the cycle-0 list held fixed; the temporal
    # comparison's never-refit PMT (fitted on cycle 0, scoring later records) should age
    # at a rate its interval does not reject
    frozen = -panel[1]["decay_pp_per_year"]["frozen_accuracy"]
    row = result.decay.set_index(["policy", "system", "metric"]).loc[
        ("never", "pmt_ols", "mistargeting")
    ]
    assert frozen > 0 and row.slope_pp_per_year > 0
    assert row.ci_low <= frozen <= row.ci_high


def test_report_fragment_has_tables_and_the_figure(result):
    text = cycles_markdown(result.errors, result.decay, months=result.months)
    assert "## Update cycles" in text and "data:image/png;base64," in text
    assert "| never | pmt_ols | exclusion |" in text
    assert decay_table(result.decay)["system"].str.contains("SIKS-NG").any()


def test_write_and_cli(result, panel, tmp_path):
    paths = write_cycles(result, tmp_path / "direct")
    assert sorted(p.name for p in paths.values()) == sorted(
        ["cycle_grid.csv", "cycle_errors.csv", "cycle_decay.csv", "cycle_refits.csv",
         "cycles.md", "cycles.html"])  # fmt: skip
    back = pd.read_csv(paths["decay"])
    assert len(back) == len(result.decay)
    out = tmp_path / "cli"
    run = CliRunner().invoke(app, ["cycles", "--data", str(panel[0]), "--out", str(out),
                                   "--models", "pmt_ols", "--bootstrap", "10"])  # fmt: skip
    assert run.exit_code == 0, run.output
    assert "siksng" in run.output and "pp a year" in run.output
    assert (out / "cycles.html").read_text().count("<img") == 1


def test_a_folder_without_cycles_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="data synth --out .* --cycles 4"):
        cycle_folders(tmp_path)
    run = CliRunner().invoke(app, ["cycles", "--data", str(tmp_path), "--out", str(tmp_path / "o")])
    assert run.exit_code == 1


def test_decay_counts_reproduce_each_cycles_comparison(result):
    """The decay re-selects every list from its scores; on all households that must give
    the very errors `compare` reported for each cycle (first and last cycle checked)."""
    decay = result.decay.set_index(["policy", "system", "metric"])
    grid = result.grid.set_index(["model", "train_cycle", "test_cycle", "metric"])["estimate"]
    errors = result.errors.set_index(["policy", "system", "cycle", "metric"])["estimate"]
    for metric in ("exclusion_error", "inclusion_error"):
        row = decay.loc[("never", "pmt_ols", metric)]
        assert row["first"] == pytest.approx(grid[("pmt_ols", 0, 0, metric)], abs=1e-12)
        assert row["last"] == pytest.approx(grid[("pmt_ols", 0, 3, metric)], abs=1e-12)
        siksng = decay.loc[("published", "siksng", metric)]
        assert siksng["last"] == pytest.approx(
            errors[("published", "siksng", 3, metric)], abs=1e-12
        )
