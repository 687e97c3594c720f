"""save_model / load_model: the folder layout, atomic replacement, clear errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from slrt_ml.models import load_model, make_model, save_model


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    poor = (X["a"] + 0.3 * rng.normal(size=200) > 0.5).astype(int).to_numpy()
    return make_model("logit").fit(X, poor), X


def test_saved_folder_holds_the_model_and_its_description(fitted, tmp_path):
    model, X = fitted
    folder = save_model(model, tmp_path / "logit")
    assert sorted(p.name for p in folder.iterdir()) == ["model.joblib", "model.json"]
    info = json.loads((folder / "model.json").read_text())
    assert info["name"] == "logit" and info["keras_files"] == []
    np.testing.assert_array_equal(load_model(folder).poverty_score(X), model.poverty_score(X))


def test_saving_again_replaces_the_saved_model(fitted, tmp_path):
    model, _ = fitted
    save_model(model, tmp_path / "m")
    save_model(model, tmp_path / "m")
    assert not (tmp_path / ".m.saving").exists()


def test_a_folder_that_is_not_a_saved_model_is_not_overwritten(fitted, tmp_path):
    model, _ = fitted
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="is not a saved model"):
        save_model(model, tmp_path / "other")
    assert (tmp_path / "other" / "notes.txt").read_text() == "keep me"


def test_loading_a_folder_without_a_model_names_the_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="model.json is missing"):
        load_model(tmp_path)
