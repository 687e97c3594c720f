"""Scoring registry records gives the scores of the features built from the tables."""

from __future__ import annotations

import types

import numpy as np
import pytest
from tracking_data import make_registry  # tests/ is on sys.path

from slrt_ml.data.records import registry_records
from slrt_ml.features.households import household_features
from slrt_ml.models import PMTOLS, save_model
from slrt_ml.pipeline import record_scoring
from slrt_ml.pipeline.run_folder import RunFolder


@pytest.fixture(scope="module")
def fitted() -> tuple[types.SimpleNamespace, PMTOLS, np.ndarray]:
    registry = make_registry(120, seed=1)
    features = household_features(registry.households, registry.members, registry.areas)
    model = PMTOLS().fit(features, registry.truth["poor"].to_numpy())
    return registry, model, model.poverty_score(features)


def test_records_score_like_the_tables(fitted):
    registry, model, expected = fitted
    records = registry_records(registry.households, registry.members)
    scored = record_scoring.score_records(model, records, registry.areas)
    assert scored["IDBDT"].tolist() == registry.households["IDBDT"].tolist()
    np.testing.assert_allclose(scored["score"].to_numpy(), expected, rtol=1e-9)


def test_example_scores_from_a_run_folder(fitted, tmp_path):
    registry, model, expected = fitted
    run = RunFolder(tmp_path)
    save_model(model, run.model_dir("pmt_ols"))
    registry.areas.to_parquet(record_scoring.areas_path(run))
    with pytest.warns(UserWarning, match="no registry-record"):
        assert record_scoring.example_records(run) is None
    registry.households.to_parquet(run.root / record_scoring.EXAMPLE_HOUSEHOLDS)
    registry.members.to_parquet(run.root / record_scoring.EXAMPLE_MEMBERS)
    records = record_scoring.example_records(run)
    scored = record_scoring.example_scores(run, "pmt_ols", records)
    np.testing.assert_allclose(scored["score"].to_numpy(), expected, rtol=1e-6)
    with pytest.raises(FileNotFoundError, match="'logit' is in the manifest but not saved"):
        record_scoring.example_scores(run, "logit", records)
