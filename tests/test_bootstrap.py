"""The re-applying paired bootstrap equals resampling desa by hand and re-running the rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slrt_ml.evaluation import bootstrap as _bootstrap
from slrt_ml.evaluation.compare import (
    SELECTION_METRICS,
    compare,
    exclusion_error,
    inclusion_error,
    pr_auc,
    roc_auc,
    spearman_welfare,
)
from slrt_ml.evaluation.ranking_replicates import ScoreRanking, WelfareRanking
from slrt_ml.evaluation.reselection import QuotaRule, RankedList, reselected_counts
from slrt_ml.evaluation.systems import systems_from_frame
from slrt_ml.targeting.selection import quota_from, select_under_quota
from tests.test_evaluation import targeting_frame


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return targeting_frame(n=1200, n_clusters=40, seed=21)


def _resampled_rows(codes: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Row indices of one replicate, each desa's households repeated as often as it was drawn."""
    members = [np.flatnonzero(codes == k) for k in range(len(draws))]
    return np.concatenate([np.tile(members[k], draws[k]) for k in range(len(draws))])


@pytest.mark.parametrize("by", [None, "KDKEC", "KDDESA"])
@pytest.mark.parametrize("weight", ["household", "person"])
def test_reselection_equals_resampling_by_hand(frame, by, weight):
    area_column = "cluster" if by == "KDDESA" else by
    data = systems_from_frame(frame, ["good", "coarse"], "siksng", area_column, weight, "siksng")
    draws = _bootstrap.cluster_multiplicities(40, 4, np.random.default_rng(5))
    counts = _bootstrap.replicate_confusion(data, draws)
    listed = frame["siksng_selected"].to_numpy()
    area = None if by is None else frame[area_column].astype("string").to_numpy()
    for b in range(len(draws)):
        rows = _resampled_rows(data.cluster, draws[b])
        sample = frame.iloc[rows]
        area_b = None if area is None else area[rows]
        quota = quota_from(listed[rows], "siksng", area=area_b)
        weights = data.weights[rows]
        for s, name in enumerate(["siksng", "good", "coarse"]):
            chosen = listed[rows].astype(bool) if name == "siksng" else select_under_quota(
                sample[name].to_numpy(), quota, eligible=sample["eligible"].to_numpy(),
                area=area_b, tiebreak=sample["IDBDT"].to_numpy(),
            )  # fmt: skip
            target = sample["target"].to_numpy()
            expected = exclusion_error(target, chosen, sample_weight=weights)
            got = SELECTION_METRICS["exclusion_error"](*counts[b, s])
            assert got == pytest.approx(expected, abs=1e-12), (name, b)
            expected = inclusion_error(target, chosen, sample_weight=weights)
            assert SELECTION_METRICS["inclusion_error"](*counts[b, s]) == pytest.approx(expected)


@pytest.mark.parametrize("quota", ["siksng", 400, 0.2])
@pytest.mark.parametrize("by", [None, "KDKEC"])
def test_drawing_every_desa_once_reproduces_the_point_estimates(frame, quota, by):
    data = systems_from_frame(frame, ["good", "coarse"], quota, by, "person", "siksng")
    once = _bootstrap.replicate_confusion(data, np.ones((1, 40), np.int64))[0]
    fixed = _bootstrap.replicate_confusion(data, np.ones((1, 40), np.int64), reselect=False)[0]
    np.testing.assert_allclose(once, fixed, rtol=1e-12)


def test_a_rate_quota_selects_a_fraction_at_the_boundary():
    # one desa drawn twice, one once: 3 copies of 4 eligible-household lists at rate 1/2
    rule = QuotaRule.from_rate(np.array([2]), np.ones(4, bool))
    cluster = np.array([0, 0, 1, 1])
    draws = np.array([[2, 1], [1, 1]])
    quota = rule.replicate_quota(draws, cluster, np.ones(4, bool))
    assert quota[:, 0].tolist() == [3.0, 2.0]
    ranked = RankedList.from_scores(np.array([1.0, 4.0, 3.0, 2.0]), np.ones(4, bool))
    target = np.array([1.0, 1.0, 0.0, 0.0])
    tp, chosen = reselected_counts(ranked, draws, cluster, quota, target, np.ones(4))
    # replicate 0: household 1 (score 4) twice, then one copy of household 2 (score 3)
    assert tp.tolist() == [2.0, 1.0] and chosen.tolist() == [3.0, 2.0]
    tp, chosen = reselected_counts(ranked, draws, cluster, quota * 1.25, target, np.ones(4))
    assert chosen.tolist() == [3.75, 2.5] and tp.tolist() == [2.0, 1.0]


def test_quota_shortfall_in_an_area_does_not_spill_into_the_next():
    rule = QuotaRule.from_reference(np.array([1, 1, 1, 0]), np.array([0, 0, 1, 1]), 2)
    eligible = np.array([True, False, True, True])
    cluster = np.array([0, 0, 1, 1])
    draws = np.array([[1, 1]])
    quota = rule.replicate_quota(draws, cluster, eligible)
    assert quota.tolist() == [[2.0, 1.0]]  # area 0 has one eligible household for 2 places
    ranked = RankedList.from_scores(np.array([1.0, 5.0, 3.0, 2.0]), eligible, rule.area)
    _, chosen = reselected_counts(
        ranked, draws, cluster, quota, np.ones(4), np.ones(4), eligible, rule.area
    )
    assert chosen.tolist() == [2.0]


def test_ranking_replicates_equal_the_metrics_on_resampled_rows(frame):
    codes = pd.factorize(frame["cluster"], sort=True)[0]
    draws = _bootstrap.cluster_multiplicities(40, 3, np.random.default_rng(8))
    target = frame["target"].to_numpy().astype(bool)
    welfare = frame["welfare"].to_numpy(float).copy()
    welfare[::7] = np.nan
    weights = frame["persons"].to_numpy(float)
    for name in ("good", "coarse"):  # coarse has many ties
        score = frame[name].to_numpy(float)
        auc = ScoreRanking.from_scores(score, target, weights).replicates(draws, codes)
        rho = WelfareRanking.from_scores(score, welfare, weights).replicates(draws, codes)
        for b in range(3):
            rows = _resampled_rows(codes, draws[b])
            w = weights[rows]
            assert auc["roc_auc"][b] == pytest.approx(
                roc_auc(target[rows], score[rows], sample_weight=w)
            )
            assert auc["pr_auc"][b] == pytest.approx(
                pr_auc(target[rows], score[rows], sample_weight=w)
            )
            expected = spearman_welfare(welfare[rows], score[rows], sample_weight=w)
            assert rho[b] == pytest.approx(expected)


def test_ranking_replicates_are_capped_at_large_sizes():
    assert _bootstrap.ranking_replicate_count(1000, 2_000) == 1000
    assert _bootstrap.ranking_replicate_count(1000, 10_000_000) == _bootstrap.MIN_RANKING_REPLICATES


def test_fixed_selections_are_still_available_for_comparison(frame):
    data = systems_from_frame(frame, ["good"], "siksng", None, "household", "siksng")
    draws = _bootstrap.cluster_multiplicities(40, 50, np.random.default_rng(1))
    again = _bootstrap.replicate_confusion(data, draws)
    fixed = _bootstrap.replicate_confusion(data, draws, reselect=False)
    np.testing.assert_allclose(again[:, 0], fixed[:, 0])  # the reference's list is given
    assert not np.allclose(again[:, 1], fixed[:, 1])  # the model's list is re-selected
    # re-selected lists always hold exactly the replicate's quota
    listed = _bootstrap.replicate_totals(draws, _bootstrap.cluster_totals(
        data.cluster, 40, [frame["siksng_selected"].to_numpy(float)]))[:, 0]  # fmt: skip
    np.testing.assert_allclose(again[:, 1, 0] + again[:, 1, 2], listed)


def test_compare_with_a_count_quota_keeps_the_coverage_rate(frame):
    result = compare(frame, ["good"], quota=300, bootstrap=100, seed=2)
    row = result.table.set_index(["system", "metric"]).loc[("good", "coverage")]
    # a count quota is a coverage rate on a resample: coverage varies only with eligibility
    assert row["ci_high"] - row["ci_low"] < 0.05
    assert row["ci_low"] <= row["estimate"] <= row["ci_high"]
