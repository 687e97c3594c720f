"""``slrt-ml compare``: a run against SIKS-NG at equal coverage (slrt_ml.pipeline.compare)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from slrt_ml.config import config_from_dict
from slrt_ml.data.synth.generator import make_registry
from slrt_ml.evaluation.compare import metrics_from_selections
from slrt_ml.evaluation.report import console_table
from slrt_ml.pipeline.compare import (
    QuotaError,
    _parse_quota,
    load_run,
    run_comparison,
    write_comparison,
)
from slrt_ml.pipeline.in_memory import targeting_data
from slrt_ml.pipeline.model_card import model_card
from slrt_ml.pipeline.run_folder import RunFolderError
from slrt_ml.pipeline.train import train
from slrt_ml.targeting.desil import select_by_desil

FAST = config_from_dict({"models": ["pmt_ols", "logit"], "cv": {"folds": 3}})


@pytest.fixture(scope="module")
def data():
    return targeting_data(make_registry(households=1_200, seed=11))


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    return train(data, tmp_path_factory.mktemp("run") / "run", FAST, progress=False)


def test_comparison_is_reproducible_from_selections(trained, data):
    comparison = run_comparison(trained.run_dir, data, bootstrap=50, seed=1)
    paths = write_comparison(trained.run_dir, comparison, synthetic=True)
    table = pd.read_csv(paths["comparison"])
    assert list(table.columns[:5]) == ["system", "metric", "estimate", "ci_low", "ci_high"]
    table = table[table["view"] == comparison.view]  # selections.parquet holds the first view
    selections = pd.read_parquet(paths["selections"])
    again = metrics_from_selections(selections)  # its survey_weight column weights the metrics
    merged = table.merge(again, on=["system", "metric"], suffixes=("", "_again"))
    point = merged[merged["metric"].isin(["exclusion_error", "inclusion_error"])]
    assert len(point) == 2 * 3  # siksng + two models
    np.testing.assert_allclose(point["estimate"], point["estimate_again"])
    weighted = (
        (selections["selected"] * selections["survey_weight"]).groupby(selections["system"]).sum()
    )
    largest = selections["survey_weight"].max()
    for model in ("pmt_ols", "logit"):  # equal coverage, in survey-weighted households
        assert weighted["siksng"] - largest <= weighted[model] <= weighted["siksng"]
    assert "data:image/png;base64," in paths["report"].read_text()
    assert paths["markdown"].name == "report.md"


def test_compare_refuses_a_run_trained_on_other_data(trained):
    other = targeting_data(make_registry(households=600, seed=12))
    with pytest.raises(ValueError, match="trained on data with digest"):
        run_comparison(trained.run_dir, other, bootstrap=10)


def test_load_run_names_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(RunFolderError, match="manifest.json is missing"):
        load_run(tmp_path)


def test_load_run_gives_the_manifest_and_scores(trained):
    manifest, oof = load_run(trained.run_dir)
    assert manifest["models"] == ["pmt_ols", "logit"]
    assert list(oof.columns) == ["IDBDT", "pmt_ols", "logit"]


@pytest.mark.parametrize(
    ("quota", "expected"),
    [("siksng", "siksng"), ("5000", 5000), ("0.2", 0.2), (0.5, 0.5), (7, 7),
     ("persons:0.2", 0.2), ("budget:siksng", "siksng")],
)  # fmt: skip
def test_quota_is_the_reference_a_count_or_a_share(quota, expected):
    assert _parse_quota(quota).amount == expected


@pytest.mark.parametrize(
    ("quota", "message"),
    [("many", "a count .*a share"), ("1.5", r"neither a whole count nor a share in \(0, 1\]")],
)
def test_a_bad_quota_names_what_is_allowed(quota, message):
    with pytest.raises(QuotaError, match=message):
        _parse_quota(quota)


def test_compare_with_the_desil_rule_says_so_and_shows_each_list_size(trained, data, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(trained.run_dir, run_dir)
    quota = config_from_dict({"compare": {"quota": "desil:4"}}).compare.quota
    comparison = run_comparison(run_dir, data, quota=quota, bootstrap=20, seed=0)
    paths = write_comparison(run_dir, comparison, synthetic=True)
    table = pd.read_csv(paths["comparison"])
    assert (table["rule"] == "desil:4").all() and set(table["view"]) == {"survey", "population"}
    # the default (survey) view: its labelled rows, ranked with their survey weights
    frame = data.frame[data.frame["labelled"] == 1].reset_index(drop=True)
    eligible = frame["eligible"].to_numpy(dtype=bool)
    weight = frame["survey_weight"].to_numpy(dtype=float)
    lists = {"siksng": eligible & (frame["siksng_desil"] <= 4).to_numpy()}
    for model in ("pmt_ols", "logit"):
        score = frame[["IDBDT"]].merge(pd.read_parquet(run_dir / "oof_scores.parquet"))[model]
        lists[model] = select_by_desil(score, 4, eligible=eligible, weight=weight,
                                       tiebreak=frame["IDBDT"].to_numpy(dtype=object))  # fmt: skip
    chosen = pd.read_parquet(paths["selections"]).pivot(
        index="IDBDT", columns="system", values="selected").reindex(frame["IDBDT"])  # fmt: skip
    survey = table[table["view"] == "survey"].groupby("system")["list_size"].first()
    for system, listed in lists.items():
        np.testing.assert_array_equal(chosen[system].to_numpy(dtype=bool), listed)
        assert survey[system] == pytest.approx(weight[listed].sum())
    assert survey.nunique() == 3  # lists differ in size: not equal coverage
    report = paths["markdown"].read_text()
    assert "desil 1-4 of its own national ranking" in report and "List sizes" in report
    assert "not a comparison at equal coverage" in report
    assert "at equal coverage" not in report.split("\n")[0]  # the title names the rule
    manifest, _ = load_run(run_dir)
    assert "## Metrics under the desil:4 rule" in model_card(manifest, table, "logit")
    title = str(console_table(comparison).title)
    assert title.startswith("Desil 1-4 rule, not equal coverage")
    assert "SIKS-NG lists its eligible households in its published desil 1-4" in title


def test_desil_rule_with_per_area_quotas_is_refused(trained, data):
    with pytest.raises(ValueError, match="--quota desil:4 ranks every household nationally"):
        run_comparison(trained.run_dir, data, quota="desil:4", by="KDKEC", bootstrap=0)
