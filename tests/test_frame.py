"""The targeting frame of a registry (slrt_ml.targeting.frame)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from slrt_ml.data.synth.generator import make_registry
from slrt_ml.features import FORBIDDEN_COLUMNS, FeatureError, pkh_components
from slrt_ml.features.components import pkh_benefit
from slrt_ml.pipeline.in_memory import validate_registry
from slrt_ml.targeting.frame import frame_digest, registry_targeting_data, targeting_frame
from slrt_ml.targeting.labels import LabelError


@pytest.fixture(scope="module")
def registry():
    return validate_registry(make_registry(households=600, seed=11))


@pytest.fixture(scope="module")
def data(registry):
    return registry_targeting_data(registry)


def test_targeting_frame_defines_target_as_poor_and_eligible_now(data):
    frame = data.frame
    assert len(frame) == len(data.features)
    assert (frame["IDBDT"].to_numpy() == data.features.index.to_numpy()).all()
    expected = (frame["poor"] == 1) & (frame["eligible_now"] == 1)
    assert (frame["target"].astype(bool) == expected).all()
    assert frame["siksng_selected"].sum() > 0
    assert frame["cluster"].str.len().eq(10).all()  # KDPROP+KDKAB+KDKEC+KDDESA


def test_no_truth_or_siksng_column_reaches_the_features(data):
    leaked = set(data.features.columns) & (FORBIDDEN_COLUMNS | {"target", "eligible", "poor"})
    assert not leaked
    assert not any(c in data.features.columns for c in ("welfare_pc", "pkh_eligible", "desil"))


def test_urban_flag_is_the_areas_classification_and_the_features_rule(registry, data):
    keys = ["KDPROP", "KDKAB", "KDKEC", "KDDESA"]
    merged = registry.households[keys].merge(registry.areas, on=keys, how="left")
    expected = (merged["Klasifikasi"] == "1").to_numpy(dtype="int8")
    np.testing.assert_array_equal(data.frame["urban"].to_numpy(), expected)
    np.testing.assert_array_equal(
        data.frame["urban"].to_numpy(), data.features["perkotaan"].to_numpy()
    )
    assert 0 < expected.sum() < len(expected)  # both kinds of desa occur


def test_urban_flag_is_zero_without_areas(registry):
    components = pkh_components(registry.members)
    frame = targeting_frame(dataclasses.replace(registry, areas=None), components)
    assert frame["urban"].eq(0).all() and frame["urban"].dtype == "int8"


def test_a_desa_missing_from_areas_is_an_error_naming_it(registry):
    first = registry.households.iloc[0]
    desa = first["KDPROP"] + first["KDKAB"] + first["KDKEC"] + first["KDDESA"]
    codes = registry.areas[["KDPROP", "KDKAB", "KDKEC", "KDDESA"]].astype(str).agg("".join, axis=1)
    partial = dataclasses.replace(registry, areas=registry.areas[codes != desa])
    with pytest.raises(FeatureError, match=f"desa of the households are missing.*{desa}"):
        targeting_frame(partial, pkh_components(registry.members))


def test_training_needs_truth_and_siksng(registry):
    with pytest.raises(ValueError, match="need truth"):
        registry_targeting_data(dataclasses.replace(registry, truth=None))


def test_frame_digest_depends_on_content_not_identity(data):
    assert frame_digest(data.features) == frame_digest(data.features.copy())
    assert frame_digest(data.features) != frame_digest(data.features.iloc[1:])
    assert len(data.digest) == 16


# --- survey columns, symmetric eligibility, the label guard ----------------------------------


def _with_truth(registry, **columns):
    truth = registry.truth[["IDBDT", "welfare_pc", "poor"]].copy()
    for name, values in columns.items():
        truth[name] = values
    return dataclasses.replace(registry, truth=truth)


def test_without_survey_columns_every_household_is_labelled_with_weight_one(registry):
    frame = registry_targeting_data(_with_truth(registry)).frame
    assert frame["labelled"].eq(1).all() and frame["labelled"].dtype == "int8"
    assert frame["survey_weight"].eq(1.0).all() and frame["survey_weight"].dtype == "float64"
    np.testing.assert_array_equal(frame["eligible_now"], frame["eligible"])
    np.testing.assert_array_equal(frame["target"], frame["poor"] & frame["eligible"])


def test_hand_made_truth_sets_target_sample_and_weights(registry):
    n = len(registry.truth)
    eligible = registry_targeting_data(_with_truth(registry)).frame["eligible"].to_numpy()
    eligible_now = 1 - eligible  # every household changed: the truth's current state
    in_survey = np.arange(n) % 3 == 0
    weight = np.where(in_survey, 1.0 + np.arange(n) % 7, np.nan)
    data = registry_targeting_data(_with_truth(
        registry, eligible_now=eligible_now, in_survey=in_survey.astype(int), survey_weight=weight
    ))  # fmt: skip
    frame = data.frame
    np.testing.assert_array_equal(frame["eligible"], eligible)  # what systems can see: unchanged
    np.testing.assert_array_equal(frame["eligible_now"], eligible_now)
    np.testing.assert_array_equal(frame["target"], frame["poor"].to_numpy() & eligible_now)
    np.testing.assert_array_equal(frame["labelled"], in_survey.astype("int8"))
    np.testing.assert_array_equal(frame["survey_weight"], np.where(in_survey, weight, 0.0))
    np.testing.assert_array_equal(data.labelled, in_survey)
    np.testing.assert_array_equal(data.sample_weight, np.where(in_survey, weight, 0.0))
    assert data.extra["survey_weight_column"] == "truth.survey_weight"


def test_in_survey_without_weights_gives_equal_weights_to_the_sample(registry):
    in_survey = (np.arange(len(registry.truth)) % 2).astype(int)
    frame = registry_targeting_data(_with_truth(registry, in_survey=in_survey)).frame
    np.testing.assert_array_equal(frame["survey_weight"], in_survey.astype(float))


@pytest.mark.parametrize("bad", [0.0, -2.0, np.inf, np.nan])
def test_a_surveyed_household_needs_a_positive_finite_weight(registry, bad):
    weight = np.ones(len(registry.truth))
    weight[4] = bad
    broken = _with_truth(registry, in_survey=1, survey_weight=weight)
    idbdt = registry.truth["IDBDT"].iloc[4]
    with pytest.raises(ValueError, match=rf"'survey_weight' must be a positive finite.*{idbdt}"):
        registry_targeting_data(broken)


def test_in_survey_must_be_zero_or_one(registry):
    with pytest.raises(ValueError, match="'in_survey' must be 0/1"):
        registry_targeting_data(_with_truth(registry, in_survey=2))


def test_pkh_benefit_is_the_component_benefit_of_each_household(registry, data):
    expected = pkh_benefit(pkh_components(registry.members))
    got = data.frame.set_index("IDBDT")["pkh_benefit"]
    np.testing.assert_array_equal(got, expected.reindex(got.index).fillna(0.0))
    assert (got[data.frame.set_index("IDBDT")["eligible"] == 0] == 0).all()
    assert (got[data.frame.set_index("IDBDT")["eligible"] == 1] >= 900_000).all()


def test_a_one_class_label_is_an_error_naming_the_column(registry):
    with pytest.raises(LabelError, match=r"truth: label 'poor' has one class.*logs"):
        registry_targeting_data(_with_truth(registry, poor=1))  # e.g. log welfare vs a level line


def test_the_label_guard_counts_only_the_labelled_households_weighted(registry):
    n = len(registry.truth)
    poor = (np.arange(n) % 4 == 0).astype(int)
    in_survey = np.ones(n, dtype=int)
    weight = np.where(poor == 1, 0.001, 100.0)  # weighted prevalence ~ 0.0003%
    with pytest.raises(LabelError, match=r"prevalence outside \[1%, 99%\]"):
        registry_targeting_data(_with_truth(registry, poor=poor, in_survey=in_survey,
                                            survey_weight=weight))  # fmt: skip
    # the same label on unlabelled households only does not count
    only_unlabelled_poor = _with_truth(registry, poor=poor, in_survey=1 - poor)
    with pytest.raises(LabelError, match="one class"):
        registry_targeting_data(only_unlabelled_poor)


def test_gap_decomposition_of_the_metadata_reaches_extra(registry):
    meta = {**(registry.metadata or {}), "gap_decomposition": [{"step": "quota", "share": 0.1}]}
    data = registry_targeting_data(dataclasses.replace(registry, metadata=meta))
    assert data.extra["gap_decomposition"] == [{"step": "quota", "share": 0.1}]
