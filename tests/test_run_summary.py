"""A run folder in flat form: params, tags and metric names for the tracker."""

from __future__ import annotations

import pandas as pd
from tracking_data import COMPARISON  # tests/ is on sys.path

from slrt_ml.pipeline import run_summary


def test_flatten_params_dots_nested_keys_and_cuts_long_values():
    flat = run_summary.flatten_params({"cv": {"folds": 5, "inner": {"a": None}}, "note": "x" * 600})
    assert flat["cv.folds"] == "5" and flat["cv.inner.a"] == "null"
    assert len(flat["note"]) == 500 and flat["note"].endswith("...")


def test_comparison_metrics_has_three_per_row():
    metrics = run_summary.comparison_metrics(COMPARISON)
    assert len(metrics) == 3 * len(COMPARISON)
    assert metrics["pmt_ols.exclusion_error.ci_low"] == 0.21


def test_run_tags_leave_out_what_the_manifest_lacks():
    assert run_summary.run_tags({"seed": 0}) == {"slrt.seed": "0"}


def test_dataset_schema_drops_personal_columns():
    frame = pd.DataFrame({"IDBDT": ["H1"], "NIK": ["x"], "Lantai": ["9"]})
    assert run_summary.dataset_schema({}, frame).columns.tolist() == ["IDBDT", "Lantai"]
    empty = run_summary.dataset_schema({"dataset": {"columns": ["NIK", "Luas_lantai"]}}, None)
    assert empty.columns.tolist() == ["Luas_lantai"] and empty["Luas_lantai"].dtype == "float64"


def test_comparison_metrics_prefix_views_other_than_the_default():
    import pandas as pd

    from slrt_ml.pipeline.run_summary import comparison_metrics

    table = pd.DataFrame({"system": ["logit", "logit"], "metric": ["exclusion_error"] * 2,
                          "estimate": [0.3, 0.4], "ci_low": [0.2, 0.3], "ci_high": [0.4, 0.5],
                          "view": ["survey", "population"]})  # fmt: skip
    metrics = comparison_metrics(table)
    assert metrics["logit.exclusion_error"] == 0.3
    assert metrics["population.logit.exclusion_error"] == 0.4
