"""Mondrian split-conformal sets for "poor": coverage per group, persistence, score columns."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from slrt_ml.evaluation.conformal import MondrianConformal, coverage_by_group, set_labels
from slrt_ml.pipeline.policy import (
    ConformalMissingError,
    attach_conformal,
    calibration_rows,
    conformal_columns,
    household_groups,
)
from slrt_ml.targeting.frame import TargetingData


def simulated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Groups with different score quality, so one pooled threshold would miss per group."""
    rng = np.random.default_rng(seed)
    groups = rng.choice(["a", "b", "c"], n)
    noise = np.where(groups == "a", 0.5, np.where(groups == "b", 1.5, 3.0))
    latent = rng.normal(size=n)
    poor = (latent > 0.6).astype(int)
    prob = 1 / (1 + np.exp(-(latent - 0.6) * 3 + rng.normal(size=n) * noise))
    return prob, poor, groups


def coverage_sd(alpha: float, n_cal: float, n_test: float) -> float:
    """SD of one group's held-out coverage: the calibration quantile's (Beta) and the
    held-out share's (binomial), both about ``sqrt(alpha (1 - alpha) / n)``."""
    return float(np.sqrt(alpha * (1 - alpha) * (1 / n_test + 1 / (n_cal + 2))))


def test_coverage_per_group_is_near_nominal_on_held_out_data():
    prob, poor, groups = simulated(12_000, 0)
    cal = MondrianConformal().fit(prob, poor, groups)
    test_prob, test_poor, test_groups = simulated(12_000, 1)
    sets = cal.predict_set(test_prob, test_groups, alpha=0.1)
    table = coverage_by_group(sets, test_poor, test_groups).set_index("group")
    for group in ("a", "b", "c"):
        n_cal = (groups == group).sum()
        tolerance = 4 * coverage_sd(0.1, n_cal, table.loc[group, "n"])  # 4 SD: ~0.027
        assert abs(table.loc[group, "coverage"] - 0.9) < tolerance, table
    # the noisy group needs more two-label sets than the clean one
    assert table.loc["c", "needs_verification"] > table.loc["a", "needs_verification"]
    # one pooled threshold would not give each group its coverage (why Mondrian)
    pooled = MondrianConformal().fit(prob, poor, np.zeros(len(prob)))
    flat = pooled.predict_set(test_prob, np.zeros(len(test_prob)), alpha=0.1)
    spread = coverage_by_group(flat, test_poor, test_groups).set_index("group")["coverage"]
    assert spread["c"] < 0.9 - 4 * coverage_sd(0.1, len(prob), table.loc["c", "n"]), spread


def test_coverage_averaged_over_calibration_draws_matches_the_guarantee():
    """Split-conformal without smoothing: averaged over calibration draws, a group's
    coverage is between ``1 - alpha`` and ``1 - alpha + 1/(n + 1)`` (n calibration
    households of the group; exchangeable data with a known truth)."""
    n_cal, n_test, draws, alpha = 39, 200, 150, 0.1  # (n + 1)(1 - alpha) = 36: exact
    covered = {"a": [], "b": [], "c": []}
    rng = np.random.default_rng(7)
    for _ in range(draws):
        prob, poor, groups = simulated(3 * (n_cal + n_test), int(rng.integers(1 << 31)))
        order = np.argsort(groups, kind="stable")  # each group: n_cal calibration households
        first = np.zeros(len(prob), bool)
        for group in covered:
            first[order[groups[order] == group][:n_cal]] = True
        cal = MondrianConformal().fit(prob[first], poor[first], groups[first])
        sets = cal.predict_set(prob[~first], groups[~first], alpha=alpha)
        hit = sets[np.arange(len(sets)), poor[~first]]
        for group in covered:
            covered[group].append(hit[groups[~first] == group].mean())
    for values in covered.values():
        # the SD of the mean over draws, from its own replicates
        margin = 4 * np.std(values) / np.sqrt(draws)
        assert 1 - alpha - margin < np.mean(values) < 1 - alpha + 1 / (n_cal + 1) + margin


def test_round_trip_through_json_gives_the_same_sets_and_unseen_groups_pool():
    prob, poor, groups = simulated(600, 2)
    cal = MondrianConformal().fit(prob, poor, groups)
    again = MondrianConformal.from_dict(json.loads(json.dumps(cal.to_dict())))
    test_prob, _, test_groups = simulated(300, 3)
    test_groups[:10] = "unseen"
    np.testing.assert_array_equal(
        cal.predict_set(test_prob, test_groups, alpha=0.2),
        again.predict_set(test_prob, test_groups, alpha=0.2),
    )


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="prob_poor must be probabilities"):
        MondrianConformal().fit(np.array([1.5]), np.array([1]), np.array(["a"]))
    with pytest.raises(ValueError, match="poor must be 0/1"):
        MondrianConformal().fit(np.array([0.5]), np.array([2]), np.array(["a"]))
    with pytest.raises(ValueError, match="alpha must be in"):
        MondrianConformal().fit(np.array([0.5]), np.array([1]), ["a"]).predict_set(
            np.array([0.5]), ["a"], alpha=1.0
        )


def test_set_labels_and_scoring_columns(tmp_path):
    labels, verify = set_labels(np.array([[1, 1], [0, 1]]))
    assert labels.tolist() == ["not_poor|poor", "poor"] and verify.tolist() == [True, False]
    prob, poor, _ = simulated(400, 4)
    features = pd.DataFrame({"kecamatan": ["7311010"] * 400, "perkotaan": [1.0] * 400})
    cal = MondrianConformal().fit(prob, poor, household_groups(features, "kecamatan"))
    (tmp_path / "conformal.json").write_text(json.dumps(
        {"group_by": "kecamatan", "models": {"gbm": cal.to_dict()}}))  # fmt: skip

    class Model:
        pass

    models = {"gbm": Model()}
    assert conformal_columns(models["gbm"], prob, features) is None
    attach_conformal(models, tmp_path, 0.1)
    columns = conformal_columns(models["gbm"], prob, features)
    assert set(columns) == {"prediction_set", "needs_verification"}
    assert len(columns["prediction_set"]) == 400
    with pytest.raises(ConformalMissingError, match="does not calibrate model 'logit'"):
        attach_conformal({"logit": Model()}, tmp_path, 0.1)
    with pytest.raises(ConformalMissingError, match="conformal.json is missing"):
        attach_conformal(models, tmp_path / "none", 0.1)


def test_score_conformal_flag_adds_the_columns(tmp_path):
    from typer.testing import CliRunner

    from slrt_ml.cli import app
    from slrt_ml.config import config_from_dict
    from slrt_ml.data.registry import load_registry
    from slrt_ml.data.synth.generator import generate_registry
    from slrt_ml.pipeline.policy import probabilities, write_conformal
    from slrt_ml.pipeline.run_folder import load_run
    from slrt_ml.pipeline.train import train
    from slrt_ml.targeting.frame import registry_targeting_data

    generate_registry(tmp_path / "reg", households=800, seed=4)
    data = registry_targeting_data(load_registry(tmp_path / "reg"))
    config = config_from_dict({"models": ["logit"], "cv": {"folds": 3}})
    run = train(data, tmp_path / "run", config, progress=False).run_dir
    # train calibrates every model on the households it never trained on (synthetic truth),
    # with the final model's probabilities: the same kind as `score` gives new households
    payload = json.loads((run / "conformal.json").read_text())
    unseen = ~data.labelled
    assert 0 < unseen.sum() < len(unseen)
    assert payload["scores"] == "final" and payload["households"] == unseen.sum()
    probs = probabilities(run, load_run(run)[1])["logit"]
    groups = household_groups(data.features, "kecamatan")
    expected = MondrianConformal().fit(probs[unseen], data.poor[unseen], groups[unseen])
    assert payload["models"]["logit"] == json.loads(json.dumps(expected.to_dict()))
    (run / "conformal.json").unlink()  # an older run folder has none
    args = ["score", "--model", str(run), "--prelist", str(tmp_path / "reg"), "--no-track"]
    missing = CliRunner().invoke(
        app, [*args, "--out", str(tmp_path / "a.csv"), "--conformal", "0.1"]
    )
    assert missing.exit_code == 1 and "conformal.json is missing" in missing.output
    write_conformal(run, data)
    out = tmp_path / "scored.csv"
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--conformal", "0.1"])
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out)
    assert set(scored["prediction_set"].fillna("")) <= {"poor", "not_poor", "not_poor|poor", ""}
    verify = scored["prediction_set"].fillna("").isin(["not_poor|poor", ""])
    assert (scored["needs_verification"].astype(bool) == verify).all()
    plain = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "plain.csv")])
    assert plain.exit_code == 0 and "prediction_set" not in pd.read_csv(tmp_path / "plain.csv")


def targeting(labelled: list[int], synthetic: bool) -> TargetingData:
    frame = pd.DataFrame({"poor": np.arange(len(labelled)) % 2, "labelled": labelled})
    return TargetingData(pd.DataFrame(index=frame.index), frame, None, "t", None, synthetic)


def test_calibration_uses_only_households_the_final_model_never_saw():
    labelled = [1] * 10 + [0] * 30
    synthetic = targeting(labelled, synthetic=True)
    trained = synthetic.labelled
    rows, kind = calibration_rows(synthetic, trained)
    assert kind == "final" and rows.tolist() == [False] * 10 + [True] * 30
    half = np.arange(40) % 2 == 0  # a calibration half: only its unseen households
    rows, kind = calibration_rows(synthetic, trained, rows=half)
    assert kind == "final" and (rows == half & ~trained).all()
    # out-of-fold scores on request: the training sample, never an unseen household
    rows, kind = calibration_rows(synthetic, trained, scores="out_of_fold")
    assert kind == "out_of_fold" and (rows == trained).all()
    # real data with a survey: unlabelled households have no known label
    real = targeting(labelled, synthetic=False)
    rows, kind = calibration_rows(real, real.labelled)
    assert kind == "out_of_fold" and (rows == real.labelled).all()
    # every household trained on (train.sample=all): out-of-fold, all of them
    rows, kind = calibration_rows(synthetic, np.ones(40, bool))
    assert kind == "out_of_fold" and rows.all()
    with pytest.raises(ValueError, match="conformal scores must be one of"):
        calibration_rows(synthetic, trained, scores="mixed")
