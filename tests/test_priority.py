"""Verification priority and the per-area decisions of batch scoring: hand-computed cases."""

from __future__ import annotations

import numpy as np

from slrt_ml.targeting.priority import area_decisions, verification_priority


def test_priority_rule_on_a_hand_computed_case():
    # desa A: 4 households, quota 2 (cut-off 2.5); desa B: 2 households, quota 1 (1.5)
    rank = np.array([1, 2, 3, 4, 1, 2])
    quota = np.array([2, 2, 2, 2, 1, 1])
    n = np.array([4, 4, 4, 4, 2, 2])
    # distances 1.5/4, .5/4, .5/4, 1.5/4, .5/2, .5/2 = .375 .125 .125 .375 .25 .25
    assert verification_priority(rank, quota, n).tolist() == [5, 1, 2, 6, 3, 4]
    disagree = np.array([0, 0, 0, 1, 0, 0])  # another model flips the 4th household
    assert verification_priority(rank, quota, n, disagreement=disagree).tolist() == [
        6, 2, 3, 1, 4, 5,
    ]  # fmt: skip


def test_priority_is_numbered_within_each_desa():
    rank = np.array([1, 2, 3, 4, 1, 2])
    quota = np.array([2, 2, 2, 2, 1, 1])
    n = np.array([4, 4, 4, 4, 2, 2])
    area = np.array([0, 0, 0, 0, 1, 1])
    # same distances as above, numbered per desa: A .375 .125 .125 .375 -> 3 1 2 4; B 1 2
    assert verification_priority(rank, quota, n, area=area).tolist() == [3, 1, 2, 4, 1, 2]


def test_without_a_quota_nothing_is_selected_and_priority_follows_the_rank():
    decisions = area_decisions(np.array([0.2, 0.9, 0.5]), np.array([0, 1, 0]), ["a", "b"], None)
    assert decisions.selected is None
    assert decisions.rank_in_area.tolist() == [2, 1, 1]
    assert decisions.priority_in_area.tolist() == [2, 1, 1]
    assert decisions.n_in_area.tolist() == [2, 1, 2]


def test_a_model_that_disagrees_moves_households_forward_only_when_asked():
    score = np.array([0.9, 0.8, 0.7, 0.1])
    area = np.zeros(4, np.int64)
    other = np.array([[0.9], [0.1], [0.2], [0.8]])  # selects the 1st and 4th household
    alone = area_decisions(score, area, ["a"], {"a": 2})
    voted = area_decisions(score, area, ["a"], {"a": 2}, other_scores=other)
    assert alone.selected.tolist() == voted.selected.tolist() == [True, True, False, False]
    # distances to the cut-off 2.5: 1.5/4, .5/4, .5/4, 1.5/4
    assert alone.priority_in_area.tolist() == [3, 1, 2, 4]
    # the 2nd and 4th are disputed, so they come first (closest to the cut-off first)
    assert voted.priority_in_area.tolist() == [4, 1, 3, 2]


def test_a_desa_priority_does_not_depend_on_the_other_desa():
    rng = np.random.default_rng(3)
    score, area = rng.normal(size=30), np.repeat([0, 1, 2], 10)
    full = area_decisions(score, area, ["a", "b", "c"], 0.3)
    alone = area_decisions(score[area == 1], np.zeros(10, np.int64), ["b"], 0.3)
    assert full.priority_in_area[area == 1].tolist() == alone.priority_in_area.tolist()
    for code in range(3):
        assert sorted(full.priority_in_area[area == code]) == list(range(1, 11))
