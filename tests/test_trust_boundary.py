"""Model folders are data: `score`, the registry loader and the pyfunc never run a pickle.

Each test plants a pickle whose loading would create a marker file, in the place a run
folder or a registered model keeps its model, and checks it is refused and the marker
never appears.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from scoring_data import fitted_models, run_folder
from test_persistence import _TouchesMarker, write_pickled_folder
from typer.testing import CliRunner

from slrt_ml import tracking
from slrt_ml.cli import app
from slrt_ml.models import UnsafeModelError
from slrt_ml.pipeline.score import load_scoring_models


@pytest.fixture
def crafted_run(tmp_path):
    """A run folder whose champion (logit) folder holds a code-running pickle."""
    run = run_folder(tmp_path, *fitted_models())
    marker = tmp_path / "pwned"
    for item in (run / "models" / "logit").iterdir():
        item.unlink()
    write_pickled_folder(run / "models" / "logit", _TouchesMarker(marker))
    return run, marker


def test_score_refuses_a_pickled_model_folder_without_running_it(crafted_run, tmp_path):
    run, marker = crafted_run
    args = ["score", "--model", run, "--prelist", tmp_path, "--out", tmp_path / "o.csv"]
    result = CliRunner().invoke(app, [str(a) for a in [*args, "--no-track"]])
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "pickled model" in text and "--trust-pickle" in text
    assert not marker.exists()
    assert not (tmp_path / "o.csv").exists()


def test_trust_pickle_is_passed_through_to_the_loader(crafted_run):
    run, marker = crafted_run
    with pytest.raises(UnsafeModelError):
        load_scoring_models(run)
    assert not marker.exists()
    # opting in runs the pickle: the marker proves the flag reaches joblib
    load_scoring_models(run, model_names=["logit"], trust_pickle=True)
    assert marker.exists()


def test_a_model_folder_changed_after_training_is_refused(tmp_path):
    models, profile = fitted_models()
    run = run_folder(tmp_path, models, profile)
    from slrt_ml.models import model_checksums

    manifest = {"models": ["logit"], "model_sha256": {"logit": {"model.json": "0" * 64}}}
    (run / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(UnsafeModelError, match="model.json: sha256 .* the run manifest"):
        load_scoring_models(run)
    manifest["model_sha256"]["logit"] = model_checksums(run / "models" / "logit")
    (run / "manifest.json").write_text(json.dumps(manifest))
    assert list(load_scoring_models(run)[0]) == ["logit"]


def _registered_copy(tmp_path: Path, marker: Path) -> Path:
    """What MLflow downloads for a registered slrt_ml model, with a crafted model folder."""
    local = tmp_path / "download"
    write_pickled_folder(local / "artifacts" / "model", _TouchesMarker(marker))
    mlmodel = "flavors:\n  python_function:\n    artifacts:\n      model:\n"
    (local / "MLmodel").write_text(mlmodel + "        path: artifacts/model\n")
    return local


def test_a_registry_uri_with_a_pickled_model_is_refused(tmp_path, monkeypatch):
    import mlflow

    marker = tmp_path / "pwned"
    local = _registered_copy(tmp_path, marker)
    monkeypatch.setattr(mlflow.artifacts, "download_artifacts", lambda **_: str(local))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with pytest.raises(UnsafeModelError, match="--trust-pickle"):
        tracking.load_registered_model("models:/slrt-ml-pkh@champion", tracking_uri=uri)
    assert not marker.exists()


def test_the_pyfunc_loads_its_model_folder_with_the_safe_loader(tmp_path):
    marker = tmp_path / "pwned"
    local = _registered_copy(tmp_path, marker)
    context = SimpleNamespace(artifacts={"model": str(local / "artifacts" / "model")})
    with pytest.raises(UnsafeModelError):
        tracking.PovertyPyfunc().load_context(context)
    assert not marker.exists()
