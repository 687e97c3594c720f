"""Tracking: the train -> compare -> score flow in MLflow, and its errors.

The flow runs twice: against the default local store (SQLite in a temporary working
folder) and against a real ``mlflow server`` (tests/mlflow_server.py). Run folders are
written by ``slrt_ml.pipeline.train.train`` with real fitted ``logit`` and ``pmt_ols`` models.
"""

from __future__ import annotations

import json
import re
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tracking_data import COMPARISON, make_registry  # tests/ is on sys.path

from slrt_ml import tracking
from slrt_ml.data.privacy import PersonalDataError
from slrt_ml.data.records import registry_records
from slrt_ml.pipeline.record_scoring import AREAS_FILE
from slrt_ml.pipeline.run_folder import RunFolder


def _write_compare_outputs(run_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    COMPARISON.to_csv(run_dir / "comparison.csv", index=False)
    (run_dir / "report.html").write_text("<html><body>exclusion error by system</body></html>")
    (run_dir / "summary.md").write_text(
        "| system | exclusion_error |\n|---|---|\n| logit | 0.30 |\n"
    )
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0.05, 0.6], [0.7, 0.2])
    fig.savefig(run_dir / "coverage_curve.png")
    plt.close(fig)


@pytest.fixture(scope="module")
def registry() -> types.SimpleNamespace:
    return make_registry()


@pytest.fixture(scope="module")
def trained_run(registry, tmp_path_factory) -> Path:
    """A run folder written by pipeline.train.train (real logit and pmt_ols) plus compare outputs."""
    from slrt_ml.config import config_from_dict
    from slrt_ml.pipeline.train import train
    from slrt_ml.targeting.frame import registry_targeting_data

    run_dir = tmp_path_factory.mktemp("runs") / "run-1"
    data = registry_targeting_data(registry)
    config = config_from_dict({"seed": 11, "models": ["logit", "pmt_ols"], "cv": {"folds": 2}})
    train(data, run_dir, config, progress=False)
    registry.areas.to_parquet(run_dir / AREAS_FILE)
    _write_compare_outputs(run_dir)
    return run_dir


def _copy_run(run_dir: Path, dest: Path) -> Path:
    import shutil

    return Path(shutil.copytree(run_dir, dest / run_dir.name))


# --- unit tests ----------------------------------------------------------------------------


def test_resolve_tracking_uri_argument_then_env_then_local_sqlite(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking.resolve_tracking_uri(None) == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://example:5000")
    assert tracking.resolve_tracking_uri(None) == "http://example:5000"
    assert tracking.resolve_tracking_uri("http://other:1") == "http://other:1"


def test_log_comparison_needs_the_training_record(tmp_path):
    COMPARISON.to_csv(tmp_path / "comparison.csv", index=False)
    with pytest.raises(FileNotFoundError, match="call log_training"):
        tracking.log_comparison(tmp_path, tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")


def test_log_training_refuses_a_manifest_with_a_nik(trained_run, tmp_path):
    run_dir = _copy_run(trained_run, tmp_path)
    manifest = json.loads(RunFolder(run_dir).manifest.read_text())
    manifest["config"]["note"] = "7311024507880001"
    RunFolder(run_dir).manifest.write_text(json.dumps(manifest))
    with pytest.raises(PersonalDataError, match=r"manifest\.json\['config'\]\['note'\]"):
        tracking.log_training(run_dir, tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert not (tmp_path / "mlflow.db").exists()


def test_log_training_without_areas_says_where_to_put_them(trained_run, tmp_path):
    run_dir = _copy_run(trained_run, tmp_path)
    (run_dir / AREAS_FILE).unlink()
    with pytest.raises(ValueError, match=r"perkotaan.*areas\.parquet"):
        tracking.log_training(run_dir, tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert not (tmp_path / "mlflow.db").exists()


@pytest.mark.slow
def test_run_without_example_records_logs_but_registers_nothing(trained_run, tmp_path):
    from mlflow import MlflowClient

    run_dir = _copy_run(trained_run, tmp_path)
    for name in ("example_households.parquet", "example_members.parquet"):
        (run_dir / name).unlink()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with pytest.warns(UserWarning, match="no registry-record"):
        tracking.log_training(run_dir, tracking_uri=uri)
    record = json.loads(RunFolder(run_dir).mlflow_json.read_text())
    assert {m["model_uri"] for m in record["models"].values()} == {None}
    with pytest.warns(UserWarning, match="no logged pyfunc model to register"):
        tracking.log_comparison(run_dir, tracking_uri=uri, register_as="slrt-none")
    assert MlflowClient(uri).search_registered_models() == []


# --- the full flow against a store --------------------------------------------------------


def _run_flow(run_dir: Path, registry, tracking_uri: str | None) -> dict[str, str]:
    dataset = registry.households.drop(columns=["Percentile"])
    parent = tracking.log_training(
        run_dir, tracking_uri=tracking_uri, dataset_frame=dataset, areas=registry.areas
    )
    compare = tracking.log_comparison(run_dir, tracking_uri=tracking_uri, register_as="slrt-test")
    scores = run_dir / "scores.csv"
    pd.DataFrame({"IDBDT": ["H00001", "H00002"], "score": [0.7, 0.2]}).to_csv(scores, index=False)
    summary = {"n_input": 2, "n_scored": 2, "n_rejected": 0, "scored_share": 1.0, "quota": "siksng"}
    score = tracking.log_scoring(
        summary, scores, tracking_uri=tracking_uri, model_uri="models:/slrt-test@champion"
    )
    return {"parent": parent, "compare": compare, "score": score}


def _check_training_run(client, run_ids: dict[str, str], run_dir: Path) -> None:
    parent = client.get_run(run_ids["parent"])
    assert parent.data.params["cv.folds"] == "2" and parent.data.params["seed"] == "11"
    assert parent.data.tags["slrt.codebook_version"] == "pbdt2015"
    assert (
        parent.data.tags["slrt.data_digest"]
        == json.loads(RunFolder(run_dir).manifest.read_text())["data_digest"]
    )
    assert 0.5 < parent.data.metrics["logit.roc_auc"] <= 1.0
    names = {a.path for a in client.list_artifacts(run_ids["parent"])}
    assert {"manifest.json", "features.txt"} <= names
    (dataset_input,) = parent.inputs.dataset_inputs
    schema = json.loads(dataset_input.dataset.schema)["mlflow_colspec"]
    assert "Lantai" in {c["name"] for c in schema} and "NIK" not in {c["name"] for c in schema}
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{run_ids['parent']}'"
    )
    assert sorted(r.data.tags["slrt.model"] for r in children) == ["logit", "pmt_ols"]
    for child in children:
        assert 0.5 < child.data.metrics["oof_roc_auc"] <= 1.0
        assert any(a.path == "model_folder" for a in client.list_artifacts(child.info.run_id))
        # resolved hyperparameters: the config's seed reached the model, defaults are filled
        assert child.data.params["random_state"] == "11"
        assert child.data.params["min_frequency"] == "10"
    by_model = {r.data.tags["slrt.model"]: r for r in children}
    assert by_model["pmt_ols"].data.params["alpha"] == "0.001"
    assert by_model["logit"].data.params["C"] == "1.0"


def _check_comparison_run(client, run_ids: dict[str, str]) -> None:
    run = client.get_run(run_ids["compare"])
    metrics = run.data.metrics
    assert (
        metrics["pmt_ols.exclusion_error"] == 0.30
        and metrics["pmt_ols.exclusion_error_ci_low"] == 0.21
    )
    assert "siksng.inclusion_error_ci_low" not in metrics  # NaN bounds are left out
    assert len(metrics) == 6 * 3 - 2
    assert run.data.tags["slrt.training_run_id"] == run_ids["parent"]
    names = {a.path for a in client.list_artifacts(run_ids["compare"])}
    assert {"comparison.csv", "report.html", "coverage_curve.png", "summary.md"} <= names
    assert {"MODEL_CARD.md", "MODEL_CARD.id.md"} <= names
    version = client.get_model_version_by_alias("slrt-test", "champion")
    assert version.tags["slrt.model"] == "pmt_ols"
    # the registered model and its version describe themselves: the card is the description
    assert "@champion" in client.get_registered_model("slrt-test").description
    assert "# Model card: pmt_ols" in version.description
    assert "| 0.300 [0.210, 0.390] | 0.500 [0.420, 0.580] |" in version.description
    assert "## Must not be used for" in version.description


def _check_headline_metrics(client, run_dir: Path) -> None:
    """Each model run carries its metrics at equal coverage with intervals (COMPARISON)."""
    record = json.loads(RunFolder(run_dir).mlflow_json.read_text())
    logit = client.get_run(record["models"]["logit"]["run_id"]).data.metrics
    assert (logit["exclusion_error"], logit["exclusion_error_ci_low"],
            logit["exclusion_error_ci_high"]) == (0.30, 0.22, 0.38)  # fmt: skip
    assert logit["inclusion_error_ci_high"] == 0.41
    pmt = client.get_run(record["models"]["pmt_ols"]["run_id"]).data.metrics
    assert (pmt["inclusion_error"], pmt["inclusion_error_ci_low"]) == (0.31, 0.24)
    assert not any(name.startswith("siksng") for name in pmt)


#: what MLflow shows a reviewer: snake_case words, dots between parts, no spaces or brackets
VALID_METRIC = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")


def _check_metric_names(client, run_ids: dict[str, str]) -> None:
    experiment_id = client.get_run(run_ids["parent"]).info.experiment_id
    names = {m for run in client.search_runs([experiment_id]) for m in run.data.metrics}
    assert "siksng_own_ranking.roc_auc" in names  # was "siksng _own ranking_.roc_auc"
    assert [n for n in names if not VALID_METRIC.match(n)] == []


def _check_champion_scores(registry, run_dir: Path, tracking_uri: str) -> None:
    import mlflow

    from slrt_ml.features.households import household_features
    from slrt_ml.models import load_model

    in_memory = load_model(RunFolder(run_dir).model_dir("pmt_ols"))
    expected = in_memory.poverty_score(
        household_features(registry.households, registry.members, registry.areas)
    )
    mlflow.set_tracking_uri(tracking_uri)
    pyfunc = mlflow.pyfunc.load_model("models:/slrt-test@champion")
    scored = pyfunc.predict(registry_records(registry.households, registry.members))
    assert scored["IDBDT"].tolist() == registry.households["IDBDT"].tolist()
    np.testing.assert_allclose(scored["score"].to_numpy(), expected, rtol=1e-6)
    loaded = tracking.load_registered_model("models:/slrt-test@champion", tracking_uri=tracking_uri)
    assert type(loaded).__name__ == type(in_memory).__name__
    np.testing.assert_allclose(
        loaded.poverty_score(household_features(registry.households, registry.members, registry.areas)),
        expected)  # fmt: skip


def _logged_text(client, run_ids: dict[str, str], dest: Path) -> list[str]:
    """Everything logged by the runs: params, tags, metric names, dataset inputs, artifact bytes."""
    import mlflow

    texts = []
    experiment_id = client.get_run(run_ids["parent"]).info.experiment_id
    for run in client.search_runs([experiment_id]):
        texts += [
            json.dumps(run.data.params),
            json.dumps(run.data.tags),
            json.dumps(list(run.data.metrics)),
        ]
        texts += [
            f"{d.dataset.schema} {d.dataset.source} {d.dataset.profile}"
            for d in run.inputs.dataset_inputs
        ]
        folder = mlflow.artifacts.download_artifacts(
            run_id=run.info.run_id, artifact_path="", dst_path=str(dest / run.info.run_id)
        )
        texts += [p.read_bytes().decode("latin-1") for p in Path(folder).rglob("*") if p.is_file()]
    for model in client.search_logged_models([experiment_id]):
        folder = mlflow.artifacts.download_artifacts(
            f"models:/{model.model_id}", dst_path=str(dest / model.model_id)
        )
        texts += [p.read_bytes().decode("latin-1") for p in Path(folder).rglob("*") if p.is_file()]
    return texts


def _check_no_nik_logged(client, registry, run_ids: dict[str, str], dest: Path) -> None:
    niks = set(registry.members["NIK"])
    texts = _logged_text(client, run_ids, dest)
    assert len(texts) > 20  # the scan really saw the artifacts
    found = {m for text in texts for m in re.findall(r"\d{16}", text)} & niks
    assert not found, f"{len(found)} NIK(s) reached MLflow"
    assert not any(re.search(r'"NIK"', text) for text in texts)


def _check_flow(
    registry, run_dir: Path, run_ids: dict[str, str], tracking_uri: str, tmp_path: Path
) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri)
    _check_training_run(client, run_ids, run_dir)
    _check_comparison_run(client, run_ids)
    _check_headline_metrics(client, run_dir)
    _check_metric_names(client, run_ids)
    score = client.get_run(run_ids["score"])
    assert score.data.metrics["n_rejected"] == 0 and score.data.params["quota"] == "siksng"
    assert [a.path for a in client.list_artifacts(run_ids["score"], "outputs")] == [
        "outputs/scores.csv"
    ]
    _check_champion_scores(registry, run_dir, tracking_uri)
    _check_no_nik_logged(client, registry, run_ids, tmp_path / "download")


@pytest.mark.slow
def test_flow_in_the_default_local_store(registry, trained_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    run_dir = _copy_run(trained_run, tmp_path)
    (run_dir / AREAS_FILE).unlink()  # given to log_training instead
    run_ids = _run_flow(run_dir, registry, tracking_uri=None)
    assert (tmp_path / "mlflow.db").is_file() and (tmp_path / "mlartifacts").is_dir()
    assert not (tmp_path / "mlruns").exists()
    record = json.loads(RunFolder(run_dir).mlflow_json.read_text())
    assert record["parent_run_id"] == run_ids["parent"] and set(record["models"]) == {
        "logit",
        "pmt_ols",
    }
    _check_flow(registry, run_dir, run_ids, tracking.resolve_tracking_uri(None), tmp_path)


@pytest.fixture(scope="session")
def mlflow_server_uri(tmp_path_factory):
    from mlflow_server import mlflow_server  # tests/ is on sys.path (pytest prepend mode)

    with mlflow_server(tmp_path_factory.mktemp("mlflow-server")) as uri:
        yield uri


@pytest.mark.slow
@pytest.mark.mlflow_server
def test_flow_against_a_real_mlflow_server(
    registry, trained_run, mlflow_server_uri, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    run_dir = _copy_run(trained_run, tmp_path)
    run_ids = _run_flow(run_dir, registry, tracking_uri=mlflow_server_uri)
    assert not (tmp_path / "mlflow.db").exists()
    _check_flow(registry, run_dir, run_ids, mlflow_server_uri, tmp_path)


# --- a run on a mapped household table ------------------------------------------------------

MAPPED_YAML = """\
name: survey
id: hh
label: poor
cluster: village
reference: {name: pmt_scorecard, fit: pmt_ols, folds: 3, seed: 1}
features: {numeric: [rooms], binary: [tv], categorical: [roof]}
"""


@pytest.fixture(scope="module")
def mapped_run(tmp_path_factory) -> Path:
    """A run trained by pipeline.train on a mapped CSV table (logit, pmt_ols), compared."""
    from mapping_cases import survey_table

    from slrt_ml.config import config_from_dict
    from slrt_ml.pipeline.compare import compare_and_write
    from slrt_ml.pipeline.train import load_mapped_data, train

    folder = tmp_path_factory.mktemp("mapped")
    survey_table().to_csv(folder / "survey.csv", index=False)
    (folder / "survey.yaml").write_text(MAPPED_YAML)
    data = load_mapped_data(folder / "survey.csv", folder / "survey.yaml")
    config = config_from_dict({"seed": 3, "models": ["logit", "pmt_ols"], "cv": {"folds": 2}})
    train(data, folder / "run", config, progress=False)
    compare_and_write(folder / "run", data, quota="reference", bootstrap=20, seed=0)
    return folder / "run"


@pytest.mark.slow
def test_a_mapped_table_run_logs_a_pyfunc_and_registers_a_champion(mapped_run, tmp_path):
    import mlflow
    from mlflow import MlflowClient

    from slrt_ml.data.mapped_table import mapped_features, read_mapped_table
    from slrt_ml.data.mapping import load_mapping
    from slrt_ml.models import load_model

    run_dir = _copy_run(mapped_run, tmp_path)
    assert (run_dir / "mapping.yaml").is_file() and (run_dir / "example_rows.parquet").is_file()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracking.log_training(run_dir, tracking_uri=uri)
    tracking.log_comparison(run_dir, tracking_uri=uri, register_as="slrt-mapped")
    record = json.loads(RunFolder(run_dir).mlflow_json.read_text())
    assert all(m["model_uri"] for m in record["models"].values())
    version = MlflowClient(uri).get_model_version_by_alias("slrt-mapped", "champion")
    champion = version.tags["slrt.model"]
    assert "pmt_scorecard" in version.description  # the card names the mapped reference

    mapping = load_mapping(run_dir / "mapping.yaml")
    rows = read_mapped_table(mapping, mapped_run.parent / "survey.csv")
    expected = load_model(RunFolder(run_dir).model_dir(champion)).poverty_score(
        mapped_features(rows, mapping)
    )
    mlflow.set_tracking_uri(uri)
    pyfunc = mlflow.pyfunc.load_model("models:/slrt-mapped@champion")
    scored = pyfunc.predict(rows[["hh", "rooms", "tv", "roof"]])
    assert scored["hh"].tolist() == rows["hh"].astype(str).tolist()
    np.testing.assert_allclose(scored["score"].to_numpy(), expected, rtol=1e-6)
    loaded = tracking.load_registered_model("models:/slrt-mapped@champion", tracking_uri=uri)
    np.testing.assert_allclose(loaded.poverty_score(mapped_features(rows, mapping)), expected)
