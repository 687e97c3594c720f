"""Selections under a quota: hand-computed cases, ties, per-area quotas, ranks, invariants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slrt_ml.targeting import selection
from slrt_ml.targeting.selection import (
    QuotaShortfallWarning,
    RankSelectionMismatch,
    desa_quota,
    largest_remainder,
    quota_from,
    rank_and_select,
    rank_within_area,
    select_under_quota,
)


def test_overall_selection_takes_highest_eligible_scores():
    score = [0.9, 0.8, 0.1, 0.7, 0.5, 0.3]
    eligible = [1, 0, 1, 1, 1, 1]  # 0.8 is the second-best score but not eligible
    selected = select_under_quota(score, 3, eligible=eligible)
    assert selected.tolist() == [True, False, False, True, True, False]


def test_ties_break_by_key_ascending_then_row_order():
    score = [1.0, 1.0, 1.0, 0.0]
    assert select_under_quota(score, 1, tiebreak=["c", "a", "b", "d"]).tolist() == [
        False,
        True,
        False,
        False,
    ]
    assert select_under_quota(score, 2).tolist() == [True, True, False, False]


def test_row_order_does_not_change_the_selection_with_idbdt_tiebreak():
    rng = np.random.default_rng(1)
    n = 500
    frame = pd.DataFrame(
        {
            "IDBDT": [f"id{i:05d}" for i in range(n)],
            "score": rng.integers(0, 20, n).astype(float),  # many ties on purpose
            "area": rng.choice(["a", "b", "c"], n),
        }
    )
    quota = quota_from(np.zeros(n), 0.3, area=frame["area"])
    base = select_under_quota(frame["score"], quota, area=frame["area"], tiebreak=frame["IDBDT"])
    order = rng.permutation(n)
    shuffled = frame.iloc[order]
    again = select_under_quota(
        shuffled["score"], quota, area=shuffled["area"], tiebreak=shuffled["IDBDT"]
    )
    assert np.array_equal(again, base[order])


def test_per_area_selection_ranks_within_each_area():
    score = [9.0, 8.0, 7.0, 1.0, 2.0, 3.0]
    area = ["a", "a", "a", "b", "b", "b"]
    selected = select_under_quota(score, {"a": 1, "b": 2}, area=area)
    # overall the three best are all in desa a; per area, b keeps its own two places
    assert selected.tolist() == [True, False, False, False, True, True]


def test_per_area_quota_must_cover_every_area():
    with pytest.raises(ValueError, match=r"no quota for 1 areas, e.g. \['b'\]"):
        select_under_quota([1.0, 2.0], None, area=["a", "b"], area_quota={"a": 1})


def test_quota_and_area_quota_must_agree():
    with pytest.raises(ValueError, match="quota 3 differs from the sum of area_quota 2"):
        select_under_quota([1.0, 2.0], 3, area=["a", "b"], area_quota={"a": 1, "b": 1})


def test_shortfall_selects_every_eligible_and_warns():
    with pytest.warns(
        QuotaShortfallWarning, match="1 selections have fewer eligible households than their quota"
    ):
        selected = select_under_quota([3.0, 2.0, 1.0], 3, eligible=[1, 0, 1])
    assert selected.tolist() == [True, False, True]


def test_shortfall_per_area_names_count_of_areas():
    with pytest.warns(QuotaShortfallWarning, match=r"1 areas .* \(1 places left empty\)"):
        selected = select_under_quota(
            [3.0, 2.0, 1.0], {"a": 2, "b": 1}, area=["a", "b", "b"], eligible=[1, 1, 1]
        )
    assert selected.tolist() == [True, True, False]


def test_missing_score_is_an_error():
    with pytest.raises(ValueError, match=r"score has 1 missing values \(rows \[1\]\)"):
        select_under_quota([1.0, np.nan], 1)


def test_largest_remainder_hand_computed():
    # exact shares 10 * (5, 3, 2) / 10 -> 5, 3, 2; 7 * (5, 3, 2)/10 = 3.5, 2.1, 1.4 -> 3, 2, 1 + 1 to a
    base = pd.Series({"a": 5, "b": 3, "c": 2})
    assert largest_remainder(10, base).tolist() == [5, 3, 2]
    assert largest_remainder(7, base).tolist() == [4, 2, 1]


@pytest.mark.parametrize("how", [0.1, 0.37, 0.5, 1.0, 17, 250])
def test_per_area_quotas_sum_to_the_overall_quota(how):
    rng = np.random.default_rng(7)
    area = rng.choice([f"73110{k:02d}" for k in range(13)], 400)
    eligible = rng.random(400) < 0.7
    n_eligible = pd.Series(eligible.astype(int)).groupby(area).sum()
    per_area = quota_from(np.zeros(400), how, area=area, n_eligible=n_eligible)
    overall = quota_from(np.zeros(400), how, n_eligible=int(eligible.sum()))
    assert int(per_area.sum()) == overall
    assert (per_area <= n_eligible.reindex(per_area.index)).all()


def test_siksng_quota_counts_its_list_overall_and_per_area():
    selected = [1, 1, 0, 1, 0]
    assert quota_from(selected, "siksng") == 3
    assert quota_from(selected, "siksng", area=["x", "y", "y", "y", "x"]).to_dict() == {
        "x": 1,
        "y": 2,
    }


def test_share_rounds_half_up():
    assert quota_from(np.zeros(10), 0.25) == 3  # 2.5 -> 3
    assert quota_from(np.zeros(10), 0.05) == 1  # 0.5 -> 1


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("half", "quota 'half' is not understood"),
        (1.5, r"quota share 1.5 must be in \(0, 1\]"),
        (11, r"quota 11 households is outside 0..10"),
    ],
)
def test_bad_quota_rules_are_errors(how, message):
    with pytest.raises(ValueError, match=message):
        quota_from(np.zeros(10), how)


def test_quota_strings_from_the_command_line_are_parsed():
    assert quota_from(np.zeros(10), "4") == 4
    assert quota_from(np.zeros(10), "0.3") == 3


def test_rank_and_quota():
    assert rank_within_area(np.array([1.0, 3.0, 2.0, 2.0]), np.array([0, 0, 0, 1])).tolist() == [
        3, 1, 2, 1,
    ]  # fmt: skip
    counts = pd.Series({"7311010001": 6, "7311010002": 4})
    assert desa_quota(counts, 0.5).tolist() == [3, 2]
    with pytest.warns(UserWarning, match="not in the quota file"):
        assert desa_quota(counts, {"7311010001": 2}).tolist() == [2, 0]
    with pytest.raises(ValueError, match=r"quota share must be in \[0, 1\], got 1.5"):
        desa_quota(counts, 1.5)


def test_rank_and_selection_agree_or_the_mismatch_is_counted(monkeypatch):
    score, area = np.array([0.9, 0.1, 0.5]), np.array([0, 0, 1])
    rank, selected = rank_and_select(score, area, np.array([1, 1]))
    assert rank.tolist() == [1, 2, 1] and selected.tolist() == [True, False, True]
    assert rank_and_select(score, area, None)[1] is None
    monkeypatch.setattr(selection, "select_under_quota", lambda s, *a, **k: np.ones(len(s), bool))
    with pytest.raises(RankSelectionMismatch, match="disagree for 1 of 3 households"):
        rank_and_select(score, area, np.array([1, 1]))


def test_a_zero_quota_splits_into_zeros_even_over_no_areas():
    """Found by the fuzz suite: a prelist whose every row is rejected has no areas."""
    import pandas as pd

    from slrt_ml.targeting.selection import desa_quota, largest_remainder

    assert largest_remainder(0, pd.Series([], dtype="int64")).tolist() == []
    assert largest_remainder(0, pd.Series({"a": 0, "b": 0})).tolist() == [0, 0]
    assert desa_quota(pd.Series([], dtype="int64"), 0.3).tolist() == []
    with pytest.raises(ValueError, match="base sums to 0"):
        largest_remainder(3, pd.Series({"a": 0}))
