"""save_model / load_model: data-only files, checksums, identical scores, clear errors."""

from __future__ import annotations

import copy
import hashlib
import json

import joblib
import numpy as np
import pandas as pd
import pytest

from slrt_ml.explain import feature_contributions
from slrt_ml.models import UnsafeModelError, load_model, make_model, model_checksums, save_model

#: tiny settings: each family fits in well under a second (mlp: a few seconds)
TINY = {
    "pmt_ols": {},
    "logit": {},
    "gbm": {"n_estimators": 8, "random_state": 0},
    "rf": {"n_estimators": 8, "random_state": 0},
    "ebm": {"outer_bags": 1, "max_rounds": 30, "interactions": 1, "random_state": 0},
    "mlp": {"epochs": 2, "hidden": (8,), "random_state": 0},
}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 240
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "lantai": pd.array(rng.choice(["1", "2", "9"], n), dtype="string"),
        }
    )
    X.loc[[3, 7], "a"] = np.nan  # trees keep NaN: the default direction must survive loading
    poor = (
        X["a"].fillna(0) + 0.5 * (X["lantai"] == "9").astype(float) + 0.3 * rng.normal(size=n)
    ) > 0.5
    return X, poor.astype(int).to_numpy()


@pytest.fixture(scope="module")
def fitted(data):
    X, poor = data
    return make_model("logit").fit(X, poor)


FAMILIES = [pytest.param(name, marks=pytest.mark.slow) if name == "mlp" else name for name in TINY]


@pytest.mark.parametrize("name", FAMILIES)
def test_saved_and_loaded_model_scores_exactly_as_in_memory(name, data, tmp_path):
    X, poor = data
    model = make_model(name, TINY[name]).fit(X, poor)
    folder = save_model(model, tmp_path / name)
    assert not (folder / "model.joblib").exists()  # no pickle written
    loaded = load_model(folder, checksums=model_checksums(folder))
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.poverty_score(X), model.poverty_score(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize("name", ["pmt_ols", "logit", "gbm", "rf", "ebm"])
def test_exact_explanations_of_a_loaded_model_equal_the_in_memory_ones(name, data, tmp_path):
    X, poor = data
    model = make_model(name, TINY[name]).fit(X, poor)
    loaded = load_model(save_model(model, tmp_path / name))
    after = feature_contributions(loaded, X.iloc[:40])
    pd.testing.assert_frame_equal(after, feature_contributions(model, X.iloc[:40]))
    # still exact: each row sums to the loaded model's margin
    np.testing.assert_allclose(after.sum(axis=1), loaded.decision_function(X.iloc[:40]), atol=1e-4)


def test_saved_folder_lists_every_file_with_its_sha256(fitted, tmp_path):
    folder = save_model(fitted, tmp_path / "logit")
    assert sorted(p.name for p in folder.iterdir()) == ["model.json", "state.skops"]
    info = json.loads((folder / "model.json").read_text())
    assert info["name"] == "logit" and info["format"] == 2 and info["saved_apart"] == {}
    digest = hashlib.sha256((folder / "state.skops").read_bytes()).hexdigest()
    assert info["sha256"] == {"state.skops": digest}
    assert set(model_checksums(folder)) == {"model.json", "state.skops"}


def test_gbm_booster_is_saved_in_xgboost_format(data, tmp_path):
    X, poor = data
    folder = save_model(make_model("gbm", TINY["gbm"]).fit(X, poor), tmp_path / "gbm")
    assert (folder / "booster_.ubj").is_file()
    info = json.loads((folder / "model.json").read_text())
    assert info["saved_apart"] == {"booster_": {"kind": "xgboost", "file": "booster_.ubj"}}


def test_a_changed_file_is_refused(fitted, tmp_path):
    folder = save_model(fitted, tmp_path / "logit")
    state = folder / "state.skops"
    state.write_bytes(state.read_bytes() + b"\0")
    with pytest.raises(UnsafeModelError, match=r"state.skops: sha256 .* differs .* model.json"):
        load_model(folder)


def test_checksums_from_the_run_manifest_are_checked(fitted, tmp_path):
    folder = save_model(fitted, tmp_path / "logit")
    recorded = model_checksums(folder)
    info = json.loads((folder / "model.json").read_text())
    (folder / "model.json").write_text(json.dumps({**info, "slrt_ml_version": "edited"}))
    with pytest.raises(UnsafeModelError, match="model.json: sha256 .* the run manifest"):
        load_model(folder, checksums=recorded)


class NotAModelPart:
    """A type no saved slrt_ml model holds."""


def test_a_state_naming_an_untrusted_type_is_refused_before_building_it(fitted, tmp_path):
    model = copy.copy(fitted)
    model.extra_ = NotAModelPart()
    folder = save_model(model, tmp_path / "logit")
    with pytest.raises(UnsafeModelError, match="not on slrt_ml's trusted list.*NotAModelPart"):
        load_model(folder)


class _TouchesMarker:
    """Unpickling this object creates a marker file: proof that loading ran code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (type(self.marker).touch, (self.marker,))


def write_pickled_folder(folder, payload) -> None:
    """A model folder as slrt_ml wrote them before format 2: model.json + model.joblib."""
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(payload, folder / "model.joblib")
    info = {"name": "logit", "class": "slrt_ml.models.linear.LogitModel", "keras_files": []}
    (folder / "model.json").write_text(json.dumps(info))


def test_a_pickled_folder_is_refused_without_running_its_code(tmp_path):
    marker = tmp_path / "pwned"
    write_pickled_folder(tmp_path / "logit", _TouchesMarker(marker))
    with pytest.raises(UnsafeModelError, match="pickled model.*Retrain.*--trust-pickle"):
        load_model(tmp_path / "logit")
    assert not marker.exists()


def test_trust_pickle_loads_an_old_pickled_folder(fitted, data, tmp_path):
    write_pickled_folder(tmp_path / "logit", fitted)
    loaded = load_model(tmp_path / "logit", trust_pickle=True)
    np.testing.assert_array_equal(loaded.poverty_score(data[0]), fitted.poverty_score(data[0]))


def test_saving_again_replaces_the_saved_model(fitted, tmp_path):
    save_model(fitted, tmp_path / "m")
    save_model(fitted, tmp_path / "m")
    assert not (tmp_path / ".m.saving").exists()


def test_a_folder_that_is_not_a_saved_model_is_not_overwritten(fitted, tmp_path):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="is not a saved model"):
        save_model(fitted, tmp_path / "other")
    assert (tmp_path / "other" / "notes.txt").read_text() == "keep me"


def test_loading_a_folder_without_a_model_names_the_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="model.json is missing"):
        load_model(tmp_path)
