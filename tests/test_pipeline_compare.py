"""``slrt-ml compare``: a run against SIKS-NG at equal coverage (slrt_ml.pipeline.compare)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slrt_ml.config import config_from_dict
from slrt_ml.data.synth.generator import make_registry
from slrt_ml.evaluation.compare import metrics_from_selections
from slrt_ml.pipeline.compare import (
    QuotaError,
    _parse_quota,
    load_run,
    run_comparison,
    write_comparison,
)
from slrt_ml.pipeline.in_memory import targeting_data
from slrt_ml.pipeline.run_folder import RunFolderError
from slrt_ml.pipeline.train import train

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
