"""Quota units (households, persons, budget): parsing, weighted selection, the bootstrap."""

from __future__ import annotations

import numpy as np
import pytest

from slrt_ml.evaluation.compare import compare
from slrt_ml.evaluation.reselection import QuotaRule, RankedList, reselected_counts
from slrt_ml.pipeline.compare import QuotaError, _parse_quota
from slrt_ml.targeting.quota import Quota, parse_quota
from slrt_ml.targeting.selection import quota_from, select_under_quota
from tests.test_evaluation import targeting_frame


def test_parse_quota_reads_every_form_and_names_the_fix():
    assert parse_quota("siksng") == Quota("siksng", "households")
    assert parse_quota("pmt_scorecard", reference_names=("pmt_scorecard",)).amount == "siksng"
    assert parse_quota("5000") == Quota(5000, "households")
    assert parse_quota("0.2") == Quota(0.2, "households")
    assert parse_quota("persons:0.2") == Quota(0.2, "persons")
    assert parse_quota("budget:5e9") == Quota(5_000_000_000, "budget")
    assert parse_quota("budget:2.5e9") == Quota(2_500_000_000, "budget")
    assert parse_quota("budget:siksng") == Quota("siksng", "budget")
    with pytest.raises(ValueError, match="unknown unit 'people'.*households, persons, budget"):
        parse_quota("people:0.2")
    with pytest.raises(ValueError, match="not understood.*'persons:0.2'"):
        parse_quota("lots")
    with pytest.raises(ValueError, match="neither a whole count nor a share"):
        parse_quota("persons:2.5")
    with pytest.raises(QuotaError, match="--quota: quota 'x'"):
        _parse_quota("x")


def test_weighted_selection_takes_households_while_the_amount_fits():
    score = [5.0, 4.0, 3.0, 2.0, 1.0]
    persons = [3, 4, 1, 2, 6]
    # cumulative persons in score order: 3, 7, 8, 10, 16 -> a quota of 8 takes the first 3
    assert select_under_quota(score, 8, unit_weight=persons).tolist() == [1, 1, 1, 0, 0]
    # 9 still takes 3: the fourth (2 persons) would make 10
    assert select_under_quota(score, 9, unit_weight=persons).tolist() == [1, 1, 1, 0, 0]
    # per area: a = rows 0, 1, 2 (quota 4 -> 3 persons then 4 does not fit), b = rows 3, 4
    chosen = select_under_quota(score, None, area=list("aaabb"), area_quota={"a": 4, "b": 8},
                                unit_weight=persons)  # fmt: skip
    assert chosen.tolist() == [1, 0, 0, 1, 1]


def test_unit_weights_equal_no_weights():
    rng = np.random.default_rng(3)
    score, listed = rng.normal(size=200), rng.random(200) < 0.3
    ones = np.ones(200)
    quota = quota_from(listed, "siksng")
    np.testing.assert_array_equal(
        select_under_quota(score, quota, tiebreak=np.arange(200)),
        select_under_quota(score, float(quota), tiebreak=np.arange(200), unit_weight=ones),
    )
    assert quota_from(listed, "siksng", unit_weight=ones) == quota
    assert quota_from(listed, 0.25, unit_weight=ones) == pytest.approx(50.0)


def test_quota_from_in_a_unit_is_the_weight_of_the_list_or_the_eligible_share():
    listed, weight = np.array([1, 0, 1, 0]), np.array([2.0, 3.0, 4.0, 1.0])
    assert quota_from(listed, "siksng", unit_weight=weight) == 6.0
    assert quota_from(listed, 0.5, unit_weight=weight, eligible=[1, 1, 0, 0]) == 2.5
    per_area = quota_from(listed, "siksng", area=["a", "a", "b", "b"], unit_weight=weight)
    assert per_area.to_dict() == {"a": 2.0, "b": 4.0}


def test_replicate_with_multiplicity_one_reproduces_the_weighted_rule():
    rng = np.random.default_rng(0)
    n = 300
    cluster, score = rng.integers(0, 20, n), rng.normal(size=n)
    persons, target = rng.integers(1, 7, n).astype(float), rng.random(n) < 0.3
    listed = rng.random(n) < 0.25
    amount = quota_from(listed, "siksng", unit_weight=persons)
    chosen = select_under_quota(score, amount, unit_weight=persons)
    rule = QuotaRule.from_reference(listed, unit_weight=persons)
    draws = np.ones((1, 20), np.int64)
    quota = rule.replicate_quota(draws, cluster, np.ones(n, bool))
    ranked = RankedList.from_scores(score, np.ones(n, bool))
    tp, all_ = reselected_counts(ranked, draws, cluster, quota, target, np.ones(n),
                                 unit_weight=persons)  # fmt: skip
    assert tp[0] == (target & chosen).sum() and all_[0] == chosen.sum()


@pytest.fixture(scope="module")
def frame():
    frame = targeting_frame(n=1500, n_clusters=40)
    frame["pkh_benefit"] = np.random.default_rng(1).integers(9, 60, len(frame)) * 100_000.0
    return frame


def test_persons_and_budget_quotas_hold_the_reference_amount(frame):
    for unit, column in (("persons", "persons"), ("budget", "pkh_benefit")):
        result = compare(frame, ["good"], quota=f"{unit}:siksng", bootstrap=30, seed=0)
        chosen = result.selections.pivot(index="IDBDT", columns="system", values="selected")
        amount = frame.set_index("IDBDT")[column].astype(float)
        listed, model = (chosen["siksng"] * amount).sum(), (chosen["good"] * amount).sum()
        assert listed - amount.max() <= model <= listed  # equal in that unit, within one household
        assert result.quota == pytest.approx(listed)
        ee = result.table.set_index(["system", "metric"]).loc[("good", "exclusion_error")]
        assert ee["ci_low"] <= ee["estimate"] <= ee["ci_high"]


def test_budget_quota_without_benefits_is_refused(frame):
    with pytest.raises(ValueError, match="`pkh_benefit` column.*Rupiah a year"):
        compare(frame.drop(columns="pkh_benefit"), ["good"], quota="budget:siksng", bootstrap=0)


def test_parse_quota_reads_the_desil_rule():
    rule = parse_quota("desil:4")
    assert rule == Quota(4, "households", kind="desil") and rule.is_desil and rule.max_desil == 4
    assert str(rule) == "desil:4" and parse_quota(rule) is rule
    assert parse_quota("desil:10").max_desil == 10 and parse_quota(" desil:1 ").max_desil == 1
    assert not parse_quota("0.4").is_desil and parse_quota("0.4").max_desil is None


@pytest.mark.parametrize(
    ("quota", "message"),
    [("desil:0", r"'desil:0'.*whole number 1..10.*got '0'"),
     ("desil:11", r"'desil:11'.*whole number 1..10.*got '11'"),
     ("desil:x", r"'desil:x'.*whole number 1..10.*'x' is not a number"),
     ("desil:4.5", r"whole number 1..10.*got '4.5'"),
     ("desil:", "is not a number"),
     ("persons:desil:4", "written 'desil:K'.*not persons or Rupiah"),
     ("desil", "written 'desil:K'")],
)  # fmt: skip
def test_a_bad_desil_rule_says_what_is_allowed(quota, message):
    with pytest.raises(ValueError, match=message):
        parse_quota(quota)
    with pytest.raises(QuotaError, match="--quota: .*" + message):
        _parse_quota(quota)
