"""The desil rule: national deciles of a ranking (own or published), eligible households in 1..k."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slrt_ml.evaluation.bootstrap import jackknife_draws, replicate_confusion
from slrt_ml.evaluation.compare import compare, compare_systems
from slrt_ml.evaluation.reselection import QuotaRule, rule_sums
from slrt_ml.evaluation.systems import systems_from_frame
from slrt_ml.targeting.desil import desil_of_percentile, desil_of_score, select_by_desil
from slrt_ml.targeting.selection import select_by_desil as reexported
from tests.test_evaluation import targeting_frame


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


def test_a_published_desil_may_be_missing_but_not_out_of_range():
    assert select_by_desil(desil=[1.0, np.nan, 4.0], max_desil=4).tolist() == [True, False, True]
    message = r"whole numbers 1..10 \(or missing\); got e.g. \[0, 'x'\]"
    with pytest.raises(ValueError, match=message):
        select_by_desil(desil=[1, 0, "x"], max_desil=4)


def _chosen_by_rule(score, k, eligible, cluster, draws, weight=None, tie=None):
    """Each household's selected copies under the desil rule, replicate by replicate."""
    rule = QuotaRule.from_desil(k, len(score), weight)
    return rule_sums(rule, score, draws, cluster, np.eye(len(score)), eligible, tie=tie)


@pytest.mark.parametrize("n", [20, 23, 57, 200])
@pytest.mark.parametrize("weighted", [False, True])
def test_reselection_with_every_household_once_is_the_full_data_desil_list(n, weighted):
    rng = np.random.default_rng(n)
    score = np.round(rng.normal(size=n), 1)  # ties, broken by the key
    eligible = rng.random(n) < 0.7
    weight = rng.uniform(0.5, 30.0, n) if weighted else None
    cluster = np.arange(n) % 7
    tie = rng.permutation(n)
    for k in (1, 4, 10):
        chosen = select_by_desil(score, k, eligible=eligible, weight=weight, tiebreak=tie)
        again = _chosen_by_rule(score, k, eligible, cluster, np.ones((1, 7), np.int64), weight, tie)
        np.testing.assert_array_equal(again[0], chosen.astype(float))


@pytest.mark.parametrize("weighted", [False, True])
def test_each_jackknife_leave_out_re_ranks_the_remaining_households(weighted):
    rng = np.random.default_rng(5)
    n = 61
    score, eligible = rng.normal(size=n), rng.random(n) < 0.6
    weight = rng.uniform(1.0, 20.0, n) if weighted else None
    cluster = rng.integers(0, 6, n)
    draws = jackknife_draws(6)
    sums = _chosen_by_rule(score, 4, eligible, cluster, draws, weight)
    for j, draw in enumerate(draws):
        kept = draw[cluster] == 1
        expected = np.zeros(n)
        expected[kept] = select_by_desil(score[kept], 4, eligible=eligible[kept],
                                         weight=None if weight is None else weight[kept])  # fmt: skip
        np.testing.assert_array_equal(sums[j], expected)


def test_a_replicate_counts_each_copy_of_a_household():
    score = np.arange(10.0)[::-1]  # household 0 poorest; desa 0 = households 0-4
    cluster = np.arange(10) // 5
    draw = np.array([[2, 0]])  # desa 0 twice: 10 copies, desil 1-4 = the first 4 copies
    sums = _chosen_by_rule(score, 4, np.ones(10, bool), cluster, draw)
    assert sums[0].tolist() == [2, 2] + [0] * 8
    draw = np.array([[1, 2]])  # 15 copies: cut-off 6 -> households 0-4 (5) + one copy of 5
    sums = _chosen_by_rule(score, 4, np.ones(10, bool), cluster, draw)
    assert sums[0].tolist() == [1] * 5 + [1, 0, 0, 0, 0]


def _hand_frame() -> pd.DataFrame:
    """20 households, 4 desa of 5; model a ranks h00 poorest ... h19; model b ranks
    h01, h03, h10, h11, h00, h14, h02, h15 first, then the rest in id order."""
    ids = [f"h{i:02d}" for i in range(20)]
    first_b = [1, 3, 10, 11, 0, 14, 2, 15]
    order_b = first_b + [i for i in range(20) if i not in first_b]
    score_b = np.empty(20)
    score_b[order_b] = np.arange(20.0)[::-1]
    return pd.DataFrame({
        "IDBDT": ids, "cluster": [f"d{i // 5}" for i in range(20)],
        "eligible": [0 if i in (2, 5, 12) else 1 for i in range(20)],
        "target": [1 if i in (0, 1, 3, 4, 7, 10, 16) else 0 for i in range(20)],
        "siksng_selected": [1 if i in (0, 1, 8) else 0 for i in range(20)],
        "siksng_score": np.arange(20.0),
        "siksng_desil": [1, 5, 2, 6, 3, 1, 9, 4, 7, 2, 8, 10, 3, 4, 5, 6, 7, 8, 9, 10],
        "a": np.arange(20.0)[::-1], "b": score_b,
    })  # fmt: skip


def test_desil_rule_by_hand_on_twenty_households():
    frame = _hand_frame()
    result = compare(frame.sample(frac=1, random_state=3), ["a", "b"], quota="desil:4",
                     bootstrap=0)  # fmt: skip
    chosen = result.selections.pivot(index="IDBDT", columns="system", values="selected")
    listed = {name: sorted(int(i[1:]) for i in chosen.index[chosen[name] == 1]) for name in chosen}
    # desil 1-4 of 20 households = the 8 poorest by each ranking (ineligible: 2, 5, 12)
    assert listed["a"] == [0, 1, 3, 4, 6, 7]  # 0-7 without 2, 5
    assert listed["b"] == [0, 1, 3, 10, 11, 14, 15]  # its first 8 without 2
    # SIKS-NG: published desil <= 4 (0, 2, 4, 5, 7, 9, 12, 13) and eligible
    assert listed["siksng"] == [0, 4, 7, 9, 13]
    assert result.reference_list == "published desil" and str(result.quota_rule) == "desil:4"
    assert result.list_sizes == {"siksng": 5.0, "a": 6.0, "b": 7.0}
    # target 0, 1, 3, 4, 7, 10, 16 (7 households)
    expected = {  # (exclusion error, inclusion error)
        "a": (2 / 7, 1 / 6),  # hits 0, 1, 3, 4, 7; misses 10, 16; 6 is not target
        "b": (3 / 7, 3 / 7),  # hits 0, 1, 3, 10; 11, 14, 15 are not target
        "siksng": (4 / 7, 2 / 5),  # hits 0, 4, 7; 9, 13 are not target
    }
    for system, (ee, ie) in expected.items():
        assert result.estimate(system, "exclusion_error") == pytest.approx(ee)
        assert result.estimate(system, "inclusion_error") == pytest.approx(ie)
    table = result.table
    assert (table["rule"] == "desil:4").all()
    assert table.set_index(["system", "metric"]).loc[("b", "coverage"), "list_size"] == 7
    # without a published desil the reference keeps its given list
    given = compare(frame.drop(columns="siksng_desil"), ["a"], quota="desil:4", bootstrap=0)
    assert given.reference_list == "given" and given.list_sizes["siksng"] == 3


def test_desil_rule_refuses_per_area_ranking_and_a_bad_published_desil():
    frame = _hand_frame()
    with pytest.raises(ValueError, match="ranks every household nationally.*leave --by out"):
        compare(frame.assign(KDKEC="7311010"), ["a"], quota="desil:4", by="KDKEC", bootstrap=0)
    bad = frame.assign(siksng_desil=[11] + [1] * 19)
    with pytest.raises(ValueError, match="column 'siksng_desil'.*1..10.*\\[11\\]"):
        compare(bad, ["a"], quota="desil:4", bootstrap=0)


@pytest.fixture(scope="module")
def survey_frame():
    frame = targeting_frame(n=1200, n_clusters=30, seed=4)
    rng = np.random.default_rng(4)
    frame["siksng_desil"] = rng.integers(1, 11, len(frame))
    frame["labelled"] = (rng.random(len(frame)) < 0.5).astype(int)
    frame["survey_weight"] = np.where(frame["labelled"] == 1, rng.uniform(1, 9, len(frame)), 0.0)
    return frame


def test_intervals_re_select_and_the_full_draw_reproduces_the_lists(survey_frame):
    for view in ("survey", "population"):
        data = systems_from_frame(survey_frame, ["good", "coarse"], "desil:4", None,
                                  "household", "siksng", view)  # fmt: skip
        ones = np.ones((1, int(data.cluster.max()) + 1), np.int64)
        counts = replicate_confusion(data, ones)[0]
        for s, name in enumerate(data.scores):
            chosen, t, w = data.selected[name], data.target, data.weights
            full = [(w * (t & chosen)).sum(), (w * (t & ~chosen)).sum(),
                    (w * (~t & chosen)).sum(), (w * (~t & ~chosen)).sum()]  # fmt: skip
            np.testing.assert_allclose(counts[s], full, rtol=1e-12, atol=1e-9)
        fixed = replicate_confusion(data, jackknife_draws(ones.shape[1]), reselect=False)
        moved = replicate_confusion(data, jackknife_draws(ones.shape[1]))
        assert not np.allclose(fixed[:, 1], moved[:, 1])  # models re-selected in leave-outs
        np.testing.assert_allclose(fixed[:, 0], moved[:, 0])  # SIKS-NG's list stays


def test_desil_comparison_has_intervals_in_both_views_and_lists_of_their_own_size(survey_frame):
    result = compare(survey_frame, ["good", "coarse"], quota="desil:4", bootstrap=60, seed=0)
    assert [c.view for c in result.views()] == ["survey", "population"]
    for view in result.views():
        sizes = view.list_sizes
        assert len(set(sizes.values())) == 3  # not equal coverage
        rows = view.table[view.table["metric"].isin(["exclusion_error", "inclusion_error"])]
        assert ((rows["ci_low"] <= rows["estimate"] + 1e-12)
                & (rows["estimate"] <= rows["ci_high"] + 1e-12)).all()  # fmt: skip
    population = result.other_views[0]
    model = select_by_desil(survey_frame["good"], 4, eligible=survey_frame["eligible"],
                            tiebreak=survey_frame["IDBDT"].to_numpy(dtype=object))  # fmt: skip
    assert population.list_sizes["good"] == model.sum()
    # the same intervals from the written selections (population view)
    again = compare_systems(population.selections, survey_frame, bootstrap=60, seed=0,
                            quota="desil:4")  # fmt: skip
    mine = population.table.drop(columns=["rule", "list_size"]).set_index(["system", "metric"])
    theirs = again.set_index(["system", "metric"]).loc[mine.index]
    np.testing.assert_allclose(theirs["estimate"], mine["estimate"])
    errors = [m for m in mine.index if m[1].startswith(("exclusion_error", "inclusion_error"))]
    for bound in ("ci_low", "ci_high"):  # jackknife-t: no random draw, the same re-selection
        np.testing.assert_allclose(theirs.loc[errors, bound], mine.loc[errors, bound])
