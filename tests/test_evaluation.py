"""Metrics (hand-computed), invariants, the paired desa bootstrap and `compare`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix

from slrt_ml.evaluation import bootstrap as _bootstrap
from slrt_ml.evaluation.compare import (
    SELECTION_METRICS,
    agreement_with_reference,
    agreement_with_siksng,
    cgh,
    compare,
    compare_systems,
    confusion_counts,
    coverage,
    coverage_curve,
    coverage_of_target,
    exclusion_error,
    group_breakdown,
    inclusion_error,
    inclusion_rate_nontarget,
    metrics_from_selections,
    mistargeting,
    pr_auc,
    roc_auc,
    spearman_welfare,
    targeting_differential,
)
from slrt_ml.targeting.selection import select_under_quota

# Eight households: 3 in the target group; the list takes 2 of them and 1 non-target.
TARGET = [1, 1, 1, 0, 0, 0, 0, 0]
SELECTED = [1, 1, 0, 1, 0, 0, 0, 0]
PERSONS = [4, 2, 2, 5, 1, 1, 2, 2]

# counts: tp=2, fn=1, fp=1, tn=4 (all 8); with persons tp=6, fn=2, fp=5, tn=6 (all 19)
HAND = {
    exclusion_error: (1 / 3, 2 / 8),
    inclusion_error: (1 / 3, 5 / 11),
    inclusion_rate_nontarget: (1 / 5, 5 / 11),
    mistargeting: (2 / 8, 7 / 19),
    coverage: (3 / 8, 11 / 19),
    coverage_of_target: (2 / 3, 6 / 8),
    targeting_differential: (2 / 3 - 1 / 5, 6 / 8 - 5 / 11),
    cgh: ((2 / 3) / (3 / 8), (6 / 11) / (8 / 19)),
}


@pytest.mark.parametrize("metric", list(HAND), ids=lambda f: f.__name__)
def test_selection_metrics_hand_computed(metric):
    households, persons = HAND[metric]
    assert metric(TARGET, SELECTED) == pytest.approx(households)
    assert metric(TARGET, SELECTED, sample_weight=PERSONS) == pytest.approx(persons)


def test_every_table_metric_has_a_function():
    assert set(SELECTION_METRICS) == {f.__name__ for f in HAND}


def test_roc_auc_hand_computed_with_and_without_weights():
    # pairs (target, non-target): 0.9>0.6, 0.9>0.1, 0.4<0.6, 0.4>0.1 -> 3/4
    assert roc_auc([1, 1, 0, 0], [0.9, 0.4, 0.6, 0.1]) == pytest.approx(0.75)
    # weights 1,2 | 1,1: concordant weight 1+1+2 of 3*2 pairs
    assert roc_auc([1, 1, 0, 0], [0.9, 0.4, 0.6, 0.1], sample_weight=[1, 2, 1, 1]) == pytest.approx(
        4 / 6
    )


def test_pr_auc_hand_computed_with_and_without_weights():
    # recall steps 0.5 at precision 1, 0.5 at precision 2/3
    assert pr_auc([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(0.5 + 0.5 * 2 / 3)
    # weights 2,1,1,1: recall 2/3 at precision 1, then 1/3 at precision 3/4
    assert pr_auc([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], sample_weight=[2, 1, 1, 1]) == pytest.approx(
        2 / 3 + 1 / 4
    )


def test_spearman_welfare_hand_computed_and_sign():
    # ranks of -welfare 4,3,2,1 vs score ranks 4,3,1,2: sum d^2 = 2 -> 1 - 6*2/(4*15)
    assert spearman_welfare([100, 200, 300, 400], [4, 3, 1, 2]) == pytest.approx(0.8)
    assert spearman_welfare([100, 200, 300, 400], [1, 2, 3, 4]) == pytest.approx(-1.0)
    assert np.isnan(spearman_welfare([np.nan] * 3, [1, 2, 3]))


@pytest.mark.parametrize("metric", [roc_auc, pr_auc], ids=lambda f: f.__name__)
def test_integer_weights_equal_repeated_households(metric):
    rng = np.random.default_rng(3)
    target, score, weight = (
        rng.integers(0, 2, 40),
        rng.integers(0, 8, 40).astype(float),
        rng.integers(1, 4, 40),
    )
    repeated = np.repeat(np.arange(40), weight)
    assert metric(target, score, sample_weight=weight) == pytest.approx(
        metric(target[repeated], score[repeated])
    )


def test_weighted_spearman_equals_repeated_households():
    rng = np.random.default_rng(4)
    welfare, score, weight = (
        rng.normal(size=30),
        rng.integers(0, 5, 30).astype(float),
        rng.integers(1, 4, 30),
    )
    repeated = np.repeat(np.arange(30), weight)
    expected = spearman_welfare(welfare[repeated], score[repeated])
    assert spearman_welfare(welfare, score, sample_weight=weight) == pytest.approx(expected)


def test_confusion_counts_match_sklearn_with_weights():
    rng = np.random.default_rng(5)
    target, selected, weight = (
        rng.integers(0, 2, 300),
        rng.integers(0, 2, 300),
        rng.integers(1, 9, 300),
    )
    (tn, fp), (fn, tp) = confusion_matrix(target, selected, labels=[0, 1], sample_weight=weight)
    assert tuple(confusion_counts(target, selected, sample_weight=weight)) == pytest.approx(
        (tp, fn, fp, tn)
    )


@pytest.mark.parametrize("metric", list(HAND), ids=lambda f: f.__name__)
def test_unit_weights_equal_no_weights(metric):
    rng = np.random.default_rng(6)
    target, selected = rng.integers(0, 2, 50), rng.integers(0, 2, 50)
    assert metric(target, selected, sample_weight=np.ones(50)) == metric(target, selected)


def test_equal_coverage_gives_equal_inclusion_and_exclusion_error():
    rng = np.random.default_rng(8)
    target = rng.random(1000) < 0.2
    selected = select_under_quota(rng.random(1000), int(target.sum()))
    assert exclusion_error(target, selected) == pytest.approx(inclusion_error(target, selected))


def test_perfect_score_gives_zero_errors():
    target = np.array([0, 1, 0, 1, 1, 0, 0, 0, 1, 0])
    selected = select_under_quota(target + 0.01 * np.arange(10), int(target.sum()))
    assert exclusion_error(target, selected) == 0 and inclusion_error(target, selected) == 0
    assert mistargeting(target, selected) == 0 and roc_auc(target, target.astype(float)) == 1


def test_random_selection_errors_match_theory():
    # k of n at random: E[exclusion] = 1 - k/n, E[inclusion] = non-target share (hypergeometric)
    rng = np.random.default_rng(9)
    n, k, reps = 200, 50, 2000
    target = np.zeros(n, bool)
    target[:60] = True
    ranks = rng.random((reps, n)).argsort(axis=1).argsort(axis=1)
    errors = np.array(
        [(exclusion_error(target, r < k), inclusion_error(target, r < k)) for r in ranks]
    )
    se = errors.std(axis=0) / np.sqrt(reps)
    assert abs(errors[:, 0].mean() - (1 - k / n)) < 4 * se[0]
    assert abs(errors[:, 1].mean() - 140 / 200) < 4 * se[1]


def test_zero_denominator_is_nan_and_bad_flags_are_errors():
    assert np.isnan(inclusion_error([1, 0], [0, 0]))
    with pytest.raises(ValueError, match=r"target must be 0/1; found 1 other values, e.g. \[2\]"):
        exclusion_error([1, 2], [1, 0])
    with pytest.raises(ValueError, match="target has 2 rows but selected has 3"):
        exclusion_error([1, 0], [1, 0, 0])


def test_coverage_curve_hand_computed_and_matches_selection():
    target, score = [1, 1, 0, 0, 1, 0], [6.0, 1.0, 5.0, 4.0, 3.0, 2.0]
    curve = coverage_curve(target, score, shares=[1 / 3, 0.5])
    # top 2 = {6, 5}: one of three target; top 3 adds 4 (non-target)
    assert curve["selected"].tolist() == [2, 3]
    assert curve["exclusion_error"].tolist() == pytest.approx([2 / 3, 2 / 3])
    assert curve["inclusion_error"].tolist() == pytest.approx([1 / 2, 2 / 3])
    rng = np.random.default_rng(10)
    t, s, e, w = (
        rng.random(400) < 0.3,
        rng.random(400),
        rng.random(400) < 0.8,
        rng.integers(1, 6, 400),
    )
    curve = coverage_curve(t, s, e, sample_weight=w)
    for share, excl in zip(curve["share"], curve["exclusion_error"], strict=True):
        chosen = select_under_quota(s, int(np.floor(share * 400 + 0.5)), eligible=e)
        assert excl == pytest.approx(exclusion_error(t, chosen, sample_weight=w))


def test_group_breakdown_hand_computed_gap():
    result = group_breakdown(TARGET, SELECTED, ["u", "u", "r", "r", "u", "r", "u", "r"])
    assert (
        result.by_group.loc["u", "exclusion_error"] == 0
        and result.by_group.loc["r", "exclusion_error"] == 1
    )
    assert result.gaps.loc["exclusion_error", "gap"] == 1
    assert result.overall["exclusion_error"] == pytest.approx(1 / 3)
    assert result.by_group["households"].sum() == 8


def test_agreement_hand_computed():
    siksng = [1, 1, 1, 0, 0, 0]
    model = [1, 0, 0, 1, 1, 0]
    target = [1, 1, 0, 1, 0, 0]
    table = agreement_with_siksng(siksng, model, target)
    assert table.loc["kept"].tolist() == [1, 1, 0]
    assert table.loc["dropped"].tolist() == [2, 1, 1]
    assert table.loc["added"].tolist() == [2, 1, 1]


def targeting_frame(n: int = 3000, n_clusters: int = 60, seed: int = 0) -> pd.DataFrame:
    """A small targeting frame: latent welfare, a noisy SIKS-NG list and two model scores."""
    rng = np.random.default_rng(seed)
    desa = rng.integers(0, n_clusters, n)
    latent = rng.normal(size=n) + rng.normal(scale=0.5, size=n_clusters)[desa]
    eligible = rng.random(n) < 0.7
    poor = latent < np.quantile(latent, 0.25)
    siksng_score = -latent + rng.normal(scale=1.5, size=n)
    return pd.DataFrame(
        {
            "IDBDT": [f"7311{i:06d}" for i in range(n)],
            "cluster": [f"7311{d // 10:03d}{d:03d}" for d in desa],
            "KDKAB": "7311",
            "KDKEC": [f"7311{d // 10:03d}" for d in desa],
            "eligible": eligible.astype(int),
            "target": (poor & eligible).astype(int),
            "poor": poor.astype(int),
            "welfare": np.exp(13 + 0.4 * latent),
            "persons": rng.integers(1, 8, n),
            "urban": (rng.random(n) < 0.3).astype(int),
            "female_head": (rng.random(n) < 0.2).astype(int),
            "elderly_head": (rng.random(n) < 0.2).astype(int),
            "disabled_member": (rng.random(n) < 0.1).astype(int),
            "siksng_score": siksng_score,
            "siksng_selected": (siksng_score > np.quantile(siksng_score, 0.8)).astype(int),
            "good": -latent + rng.normal(scale=0.5, size=n),
            "coarse": np.round(-latent),  # many ties
        }
    )


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return targeting_frame()


@pytest.fixture(scope="module")
def comparison(frame):
    return compare(frame, ["good", "coarse"], bootstrap=200, seed=1)


def test_compare_selects_at_siksng_coverage_with_ties_by_idbdt(frame, comparison):
    selections = comparison.selections
    counts = selections.groupby("system")["selected"].sum()
    assert (counts == frame["siksng_selected"].sum()).all()
    assert list(selections.columns) == [
        "IDBDT", "system", "score", "eligible", "selected", "target", "survey_weight", "view",
    ]  # fmt: skip
    assert (selections["survey_weight"] == 1.0).all() and (selections["view"] == "population").all()
    coarse = selections[selections["system"] == "coarse"]
    assert not coarse.loc[coarse["selected"] == 1, "eligible"].eq(0).any()
    # siksng's own list is its selection
    siksng = selections[selections["system"] == "siksng"]
    assert siksng["selected"].tolist() == frame["siksng_selected"].tolist()


def test_compare_table_has_estimates_intervals_and_diffs(comparison):
    table = comparison.table.set_index(["system", "metric"])
    good = table.loc[("good", "exclusion_error")]
    siksng = table.loc[("siksng", "exclusion_error")]
    diff = table.loc[("good", "exclusion_error_diff_vs_siksng")]
    assert diff["estimate"] == pytest.approx(good["estimate"] - siksng["estimate"])
    assert diff["ci_high"] < 0  # the less noisy score misses fewer of the target
    selection_rows = comparison.table[
        comparison.table["metric"].str.split("_diff").str[0].isin(SELECTION_METRICS)
    ]
    inside = (selection_rows["ci_low"] <= selection_rows["estimate"] + 1e-12) & (
        selection_rows["estimate"] <= selection_rows["ci_high"] + 1e-12
    )
    assert inside.all()
    for metric in ("roc_auc", "pr_auc", "spearman_welfare"):  # ranking metrics: intervals too
        low, estimate, high = table.loc[("good", metric), ["ci_low", "estimate", "ci_high"]]
        assert low < estimate < high


def test_bootstrap_is_deterministic_with_a_seed(frame, comparison):
    again = compare(frame, ["good", "coarse"], bootstrap=200, seed=1)
    pd.testing.assert_frame_equal(again.table, comparison.table)
    other = compare(frame, ["good", "coarse"], bootstrap=200, seed=np.random.default_rng(2))
    assert not np.allclose(other.table["ci_low"].fillna(0), comparison.table["ci_low"].fillna(0))


def test_vectorised_bootstrap_equals_resampling_desa_by_hand(frame):
    codes, names = pd.factorize(frame["cluster"], sort=True)
    target = frame["target"].to_numpy().astype(bool)
    selected = frame["siksng_selected"].to_numpy().astype(bool)
    columns = [target & selected, target & ~selected, ~target & selected, ~target & ~selected]
    per_cluster = _bootstrap.cluster_totals(codes, len(names), [c.astype(float) for c in columns])
    draws = _bootstrap.cluster_multiplicities(len(names), 3, np.random.default_rng(0))
    totals = _bootstrap.replicate_totals(draws, per_cluster)
    members = [np.flatnonzero(codes == k) for k in range(len(names))]
    for b in range(3):
        rows = np.concatenate([np.tile(members[k], draws[b, k]) for k in range(len(names))])
        by_hand = exclusion_error(target[rows], selected[rows])
        assert SELECTION_METRICS["exclusion_error"](*totals[b]) == pytest.approx(by_hand)


def test_row_order_does_not_change_any_result(frame, comparison):
    shuffled = frame.sample(frac=1.0, random_state=3).reset_index(drop=True)
    again = compare(shuffled, ["good", "coarse"], bootstrap=200, seed=1)
    pd.testing.assert_frame_equal(again.table, comparison.table, rtol=1e-9)
    key = ["system", "IDBDT"]
    a = again.selections.sort_values(key).reset_index(drop=True)
    b = comparison.selections.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_comparison_csv_is_reproducible_from_selections_parquet(frame, comparison, tmp_path):
    comparison.selections.to_parquet(tmp_path / "selections.parquet")
    comparison.table.to_csv(tmp_path / "comparison.csv", index=False)
    selections = pd.read_parquet(tmp_path / "selections.parquet")
    written = pd.read_csv(tmp_path / "comparison.csv")
    alone = metrics_from_selections(selections)
    merged = written.merge(alone, on=["system", "metric"], suffixes=("", "_again"))
    assert len(merged) == len(written)
    rows = ~merged["metric"].str.startswith("spearman_welfare")  # needs welfare from the frame
    np.testing.assert_allclose(
        merged.loc[rows, "estimate_again"], merged.loc[rows, "estimate"], rtol=1e-12
    )
    with_frame = metrics_from_selections(selections, frame)
    np.testing.assert_allclose(with_frame["estimate"], comparison.table["estimate"], rtol=1e-12)
    # intervals too: the same seed gives the same draw of desa
    full = compare_systems(selections, frame, bootstrap=200, seed=1)
    pd.testing.assert_frame_equal(full, comparison.table, rtol=1e-9)


def test_person_weights_are_used_and_differ_from_households(frame):
    persons = compare(frame, ["good"], bootstrap=0, weight="person")
    chosen = persons.selections[persons.selections["system"] == "good"]
    expected = exclusion_error(chosen["target"], chosen["selected"], sample_weight=frame["persons"])
    assert persons.estimate("good", "exclusion_error") == pytest.approx(expected)
    households = compare(frame, ["good"], bootstrap=0)
    assert persons.estimate("good", "exclusion_error") != households.estimate(
        "good", "exclusion_error"
    )


def test_quota_at_target_count_gives_equal_errors_and_perfect_score_none(frame):
    scored = frame.assign(perfect=frame["target"] + 0.0)
    result = compare(scored, ["perfect", "good"], quota=int(frame["target"].sum()), bootstrap=0)
    assert (
        result.estimate("perfect", "exclusion_error") == 0
        and result.estimate("perfect", "inclusion_error") == 0
    )
    assert result.estimate("good", "exclusion_error") == pytest.approx(
        result.estimate("good", "inclusion_error")
    )


def test_per_kecamatan_quota_keeps_each_kecamatan_count(frame):
    result = compare(frame, ["good"], by="KDKEC", bootstrap=0)
    chosen = result.selections[result.selections["system"] == "good"].set_index("IDBDT")
    per_kec = chosen["selected"].groupby(frame.set_index("IDBDT")["KDKEC"]).sum()
    expected = frame.groupby("KDKEC")["siksng_selected"].sum()
    pd.testing.assert_series_equal(per_kec, expected, check_names=False, check_dtype=False)
    assert int(result.quota.sum()) == int(frame["siksng_selected"].sum())


def test_slices_agreement_and_curves_add_up(frame, comparison):
    slices = comparison.slices
    assert set(slices["slice"]) == {
        "urban",
        "female_head",
        "elderly_head",
        "disabled_member",
        "KDKEC",
    }  # KDKAB has one group here: left out, not shown as one group
    assert frame["KDKAB"].nunique() == 1
    urban = slices[(slices["system"] == "good") & (slices["slice"] == "urban")].set_index("group")
    good = comparison.selections[comparison.selections["system"] == "good"]
    is_urban = frame["urban"].to_numpy() == 1
    by_hand = exclusion_error(
        good["target"].to_numpy()[is_urban], good["selected"].to_numpy()[is_urban]
    )
    assert urban.loc["urban", "exclusion_error"] == pytest.approx(by_hand)
    gaps = comparison.slice_gaps.set_index(["system", "slice", "metric"])
    assert gaps.loc[("good", "urban", "exclusion_error"), "gap"] == pytest.approx(
        urban["exclusion_error"].max() - urban["exclusion_error"].min()
    )
    agreement = comparison.agreement.set_index(["system", "change"])["households"]
    listed = frame["siksng_selected"].sum()
    assert agreement[("good", "kept")] + agreement[("good", "dropped")] == listed
    assert agreement[("good", "kept")] + agreement[("good", "added")] == listed
    assert set(comparison.curves["system"]) == {"siksng", "good", "coarse"}


def test_compare_errors_name_the_problem(frame):
    with pytest.raises(ValueError, match=r"missing columns \['siksng_score', 'nope'\]"):
        compare(frame.drop(columns="siksng_score"), ["nope"])
    with pytest.raises(ValueError, match="'siksng' is the reference system"):
        compare(frame, ["siksng"])
    with pytest.raises(ValueError, match="weight must be 'household' or 'person'"):
        compare(frame, ["good"], weight="people")


def _as_reference(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    return frame.rename(
        columns={"siksng_selected": f"{name}_selected", "siksng_score": f"{name}_score"}
    )


def _named_back(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """A table of a comparison against `name` with the reference named siksng again."""
    if "system" in table:
        table = table.assign(system=table["system"].replace({name: "siksng"}))
    if "metric" in table:
        table = table.assign(
            metric=table["metric"].str.replace(f"_diff_vs_{name}", "_diff_vs_siksng")
        )
    return table


@pytest.mark.parametrize("quota", ["siksng", "reference", "scorecard"])
def test_a_reference_of_any_name_gives_the_same_numbers(frame, quota):
    options = {"by": "KDKEC", "bootstrap": 40, "seed": 3, "weight": "person"}
    siksng = compare(frame, ["good", "coarse"], **options)
    renamed = _as_reference(frame, "scorecard")
    other = compare(renamed, ["good", "coarse"], reference="scorecard", quota=quota, **options)
    assert other.reference == "scorecard" and siksng.reference == "siksng"
    assert other.systems == ["scorecard", "good", "coarse"]
    assert "exclusion_error_diff_vs_scorecard" in set(other.table["metric"])
    pd.testing.assert_series_equal(other.quota, siksng.quota)
    for name in ("table", "selections", "curves", "slices", "slice_gaps", "agreement"):
        pd.testing.assert_frame_equal(
            _named_back(getattr(other, name), "scorecard"), getattr(siksng, name), obj=name
        )


def test_reference_named_in_systems_or_missing_is_refused(frame):
    renamed = _as_reference(frame, "scorecard")
    with pytest.raises(ValueError, match="'scorecard' is the reference system"):
        compare(renamed, ["scorecard"], reference="scorecard")
    with pytest.raises(
        ValueError, match=r"missing columns \['scorecard_selected', 'scorecard_score'\]"
    ):
        compare(frame, ["good"], reference="scorecard")


def test_slices_are_the_columns_asked_for():
    # four households in two tenure groups; the reference lists 1 and 3, the model 2 and 3
    frame = pd.DataFrame(
        {
            "IDBDT": ["1", "2", "3", "4"],
            "cluster": ["a", "a", "b", "b"],
            "eligible": 1,
            "target": [1, 0, 1, 1],
            "tenure": ["own", "own", "rent", "rent"],
            "urban": [1, 0, 1, 0],
            "ref_selected": [1, 0, 1, 0],
            "ref_score": [4.0, 1.0, 3.0, 2.0],
            "model": [1.0, 4.0, 3.0, 2.0],
        }
    )
    result = compare(frame, ["model"], reference="ref", slices=["tenure"], bootstrap=0)
    assert set(result.slices["slice"]) == {"tenure"}
    tenure = result.slices.set_index(["system", "group"])["exclusion_error"]
    assert tenure.to_dict() == {("ref", "own"): 0.0, ("ref", "rent"): 0.5,
                                ("model", "own"): 1.0, ("model", "rent"): 0.5}  # fmt: skip
    gap = result.slice_gaps.set_index(["system", "metric"]).loc[("model", "exclusion_error")]
    assert (gap["gap"], gap["highest"], gap["lowest"]) == (0.5, "own", "rent")
    standard = compare(frame, ["model"], reference="ref", bootstrap=0)
    assert set(standard.slices["slice"]) == {"urban"}  # default: the standard columns present
    with pytest.raises(ValueError, match=r"slices \['region'\] are not columns"):
        compare(frame, ["model"], reference="ref", slices=["region"], bootstrap=0)


def test_compare_systems_takes_differences_against_the_named_reference(frame):
    renamed = _as_reference(frame, "scorecard")
    result = compare(renamed, ["good"], reference="scorecard", bootstrap=0)
    again = metrics_from_selections(result.selections, renamed, reference="scorecard")
    pd.testing.assert_frame_equal(again, result.table[["system", "metric", "estimate"]])
    without = metrics_from_selections(result.selections, renamed)  # default reference: siksng
    assert not without["metric"].str.contains("_diff_vs_").any()


def test_agreement_with_reference_is_agreement_with_siksng():
    args = ([1, 1, 1, 0, 0, 0], [1, 0, 0, 1, 1, 0], [1, 1, 0, 1, 0, 0])
    pd.testing.assert_frame_equal(agreement_with_reference(*args), agreement_with_siksng(*args))


def test_roc_auc_matches_sklearn_with_ties_and_weights():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(12)
    target, score, weight = (
        rng.integers(0, 2, 500),
        rng.integers(0, 30, 500).astype(float),
        rng.random(500),
    )
    assert roc_auc(target, score, sample_weight=weight) == pytest.approx(
        roc_auc_score(target, score, sample_weight=weight)
    )
