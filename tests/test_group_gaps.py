"""Survey and population views; errors per group with intervals and the permutation null."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slrt_ml.evaluation.compare import compare, exclusion_error
from slrt_ml.evaluation.group_gaps import SLICE_TABLE_COLUMNS
from tests.test_evaluation import targeting_frame


@pytest.fixture(scope="module")
def frame():
    return targeting_frame(n=2000, n_clusters=50)


def test_unit_survey_weights_equal_no_survey(frame):
    plain = compare(frame, ["good"], bootstrap=40, seed=2)
    flagged = frame.assign(labelled=1, survey_weight=1.0)
    same = compare(flagged, ["good"], bootstrap=40, seed=2)
    assert same.view == plain.view == "population" and not same.other_views
    pd.testing.assert_frame_equal(same.table, plain.table)


def test_survey_view_weights_metrics_and_quota_by_hand():
    # 6 labelled households (weights 1, 3, 2, 2, 1, 1) and 2 unlabelled ones
    frame = pd.DataFrame({
        "IDBDT": [f"h{i}" for i in range(8)], "cluster": ["d1"] * 4 + ["d2"] * 4,
        "eligible": 1, "target": [1, 1, 0, 1, 0, 0, 1, 0],
        "siksng_selected": [1, 0, 1, 0, 0, 0, 1, 0], "siksng_score": np.arange(8.0),
        "model": [6.0, 5.0, 1.0, 4.0, 3.0, 2.0, 0.0, 0.0],
        "labelled": [1, 1, 1, 1, 1, 1, 0, 0], "survey_weight": [1, 3, 2, 2, 1, 1, 0, 0.0],
    })  # fmt: skip
    result = compare(frame, ["model"], bootstrap=0)
    assert [c.view for c in result.views()] == ["survey", "population"]
    # quota: the weight of SIKS-NG's labelled listed households = 1 + 2 = 3
    assert result.quota == pytest.approx(3.0)
    # model order h0 (w1), h1 (w3): 1 + 3 > 3, so only h0 is taken
    chosen = result.selections.set_index(["system", "IDBDT"])["selected"]
    assert chosen["model"].tolist() == [1, 0, 0, 0, 0, 0]
    # weighted target: h0 1 + h1 3 + h3 2 = 6; missed 5 -> EE 5/6
    assert result.estimate("model", "exclusion_error") == pytest.approx(5 / 6)
    # SIKS-NG: selected h0 (target, 1) and h2 (non-target, 2) -> IE 2/3, EE 5/6
    assert result.estimate("siksng", "inclusion_error") == pytest.approx(2 / 3)
    population = result.other_views[0]
    assert population.estimate("siksng", "exclusion_error") == pytest.approx(
        exclusion_error(frame["target"], frame["siksng_selected"])
    )
    table = result.long_table()
    assert list(table.columns) == ["system", "metric", "estimate", "ci_low", "ci_high", "view",
                                   "rule", "list_size"]  # fmt: skip
    assert table["view"].unique().tolist() == ["survey", "population"]
    assert compare(frame, ["model"], bootstrap=0, views=["survey"]).other_views == []


def test_slice_table_has_intervals_and_leaves_unmapped_slicings_out(frame):
    data = frame.assign(tenure=pd.NA, region=np.where(frame["urban"] == 1, "x", pd.NA))
    result = compare(data, ["good"], bootstrap=60, seed=0, slices=["urban", "tenure", "region"])
    table = result.slice_table
    assert list(table.columns) == [*SLICE_TABLE_COLUMNS, "view"]
    assert set(table["slicing"]) == {"urban"}  # tenure: not mapped; region: one group
    groups = table[(table["metric"] == "exclusion_error") & (table["system"] == "good")]
    assert set(groups["group"]) == {"urban", "rural"}
    assert groups["n"].sum() == len(frame)
    assert (
        (groups["ci_low"] <= groups["estimate"]) & (groups["estimate"] <= groups["ci_high"])
    ).all()
    gap = result.slice_gaps.set_index(["system", "slice", "metric"]).loc[
        ("good", "urban", "exclusion_error")
    ]
    assert gap["gap"] == pytest.approx(groups["estimate"].max() - groups["estimate"].min())
    assert 0 <= gap["null"] <= gap["null_high"] and 0 <= gap["p_value"] <= 1


def test_pure_noise_groups_are_not_read_as_a_finding(frame):
    # 25 groups of desa assigned at random: no true difference, yet a large raw gap
    rng = np.random.default_rng(5)
    noise = {c: f"g{rng.integers(0, 25)}" for c in frame["cluster"].unique()}
    data = frame.assign(noise=frame["cluster"].map(noise))
    gaps = compare(data, ["good"], bootstrap=0, slices=["noise"]).slice_gaps
    row = gaps[(gaps["metric"] == "exclusion_error") & (gaps["system"] == "good")].iloc[0]
    assert row["gap"] > 0.2  # the raw largest gap looks like a finding
    assert row["p_value"] > 0.05 and row["gap"] < row["null_high"]  # the null says it is not
    # a real difference is flagged: the good model misses far more of one group on purpose
    flagged = frame.assign(good=np.where(frame["urban"] == 1, frame["good"] - 3.0, frame["good"]))
    real = compare(flagged, ["good"], bootstrap=0, slices=["urban"]).slice_gaps
    real = real[(real["metric"] == "exclusion_error") & (real["system"] == "good")].iloc[0]
    assert real["p_value"] < 0.01 and real["gap"] > real["null_high"]
