"""First use of a new SQLite MLflow store: safe when two runs start at once."""

from __future__ import annotations

import subprocess
import sys

from slrt_ml.tracking_store import experiment_id, local_artifact_root, sqlite_database

_FIRST_USE = """
import sys
from slrt_ml import tracking

with tracking._tracking(sys.argv[1]) as uri:
    print(tracking._experiment_id("race", uri))
"""


def test_two_processes_creating_one_new_sqlite_store_both_succeed(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", _FIRST_USE, uri],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err[-2000:] for _, err in outputs]
    # both found or made the same experiment
    ids = {out.strip().splitlines()[-1] for out, _ in outputs}
    assert len(ids) == 1
    assert (tmp_path / "mlflow.db.lock").exists()


def test_experiment_id_gets_or_creates_with_artifacts_beside_the_store(tmp_path):
    from mlflow import MlflowClient

    from slrt_ml.tracking_store import prepare_store

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    prepare_store(uri)
    first = experiment_id("slrt-test", uri)
    assert experiment_id("slrt-test", uri) == first
    location = MlflowClient(uri).get_experiment(first).artifact_location
    assert location == f"{local_artifact_root(uri)}/slrt-test"
    assert location.startswith((tmp_path / "mlartifacts").as_uri())


def test_only_local_sqlite_uris_get_a_lock():
    assert sqlite_database("http://127.0.0.1:5000") is None
    assert sqlite_database("sqlite:///:memory:") is None
    assert sqlite_database("sqlite:///relative/mlflow.db").as_posix() == "relative/mlflow.db"
