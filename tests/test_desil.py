"""The desil rule: national deciles of a ranking (own or published), eligible households in 1..k."""

from __future__ import annotations

import numpy as np
import pytest

from slrt_ml.evaluation.reselection import QuotaRule, RankedList, reselected_sums
from slrt_ml.targeting.desil import desil_of_percentile, desil_of_score, select_by_desil
from slrt_ml.targeting.selection import select_by_desil as reexported


def test_desil_of_score_hand_case_and_row_order():
    score = np.array([0.1, 0.9, 0.5, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6, 0.0])
    # poorest first: 0.9 -> desil 1, ..., 0.0 -> desil 10
    assert desil_of_score(score).tolist() == [9, 1, 5, 7, 3, 8, 2, 6, 4, 10]
    order = np.random.default_rng(0).permutation(10)
    ids = np.array([f"id{i}" for i in range(10)])
    assert (desil_of_score(score[order], tiebreak=ids[order]) == desil_of_score(score)[order]).all()


def test_desil_ties_follow_the_tiebreak_key_and_weights_make_population_deciles():
    assert desil_of_score([1.0, 1.0], tiebreak=["b", "a"]).tolist() == [6, 1]
    # a 4-person household ranked first covers the first 40% of persons
    assert desil_of_score([3.0, 2.0, 1.0], weight=[4, 3, 3]).tolist() == [1, 5, 8]


def test_select_by_desil_own_ranking_and_published():
    score = np.arange(20.0)[::-1]  # household 0 poorest
    eligible = np.ones(20, bool)
    eligible[[0, 5]] = False
    chosen = select_by_desil(score, 4, eligible=eligible)
    assert chosen.tolist() == [False, True, True, True, True, False, True, True] + [False] * 12
    assert reexported is select_by_desil
    assert select_by_desil(desil=desil_of_percentile([5, 39, 41, 95]), max_desil=4).tolist() == [
        True, True, False, False,
    ]  # fmt: skip
    with pytest.raises(ValueError, match="either score"):
        select_by_desil(score, 4, desil=np.ones(20))
    with pytest.raises(ValueError, match="1..10"):
        select_by_desil(score, 11)
    with pytest.raises(ValueError, match="Percentile must be 1..100"):
        desil_of_percentile([0, 50])


def test_bootstrap_rule_reproduces_the_full_data_list_and_follows_a_replicate():
    rng = np.random.default_rng(1)
    n = 50
    score, eligible = rng.normal(size=n), rng.random(n) < 0.7
    cluster = np.arange(n) // 5
    chosen = select_by_desil(score, 4, eligible=eligible)
    rule = QuotaRule.from_desil(4, n)
    ranked = RankedList.from_scores(score, np.ones(n, bool))  # every household takes a place
    columns = np.column_stack([eligible.astype(float), eligible * np.arange(n)])
    ones = np.ones((1, 10), np.int64)
    quota = rule.replicate_quota(ones, cluster, np.ones(n, bool))
    sums = reselected_sums(ranked, ones, cluster, quota, columns)[0]
    assert sums[0] == chosen.sum() and sums[1] == pytest.approx(np.flatnonzero(chosen).sum())
    # a replicate drawing only desa 0 twice: the top 40% of its 10 copies = 4 copies
    draw = np.zeros((1, 10), np.int64)
    draw[0, 0] = 2
    quota = rule.replicate_quota(draw, cluster, np.ones(n, bool))
    assert quota[0, 0] == pytest.approx(4.0)
    top = np.argsort(-score[:5], kind="stable")[:2]  # 2 households x 2 copies
    expected = 2 * eligible[top].sum()
    assert reselected_sums(ranked, draw, cluster, quota, columns)[0][0] == expected
