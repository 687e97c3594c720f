"""The targeting frame of a registry (slrt_ml.targeting.frame)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from slrt_ml.data.synth.generator import make_registry
from slrt_ml.features import FORBIDDEN_COLUMNS, FeatureError, pkh_components
from slrt_ml.pipeline.in_memory import validate_registry
from slrt_ml.targeting.frame import frame_digest, registry_targeting_data, targeting_frame


@pytest.fixture(scope="module")
def registry():
    return validate_registry(make_registry(households=600, seed=11))


@pytest.fixture(scope="module")
def data(registry):
    return registry_targeting_data(registry)


def test_targeting_frame_defines_target_as_poor_and_eligible(data):
    frame = data.frame
    assert len(frame) == len(data.features)
    assert (frame["IDBDT"].to_numpy() == data.features.index.to_numpy()).all()
    expected = (frame["poor"] == 1) & (frame["eligible"] == 1)
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
