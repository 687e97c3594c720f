"""Experiment tracking and the model registry (MLflow); only this and tracking_store import it.

Every ``train``, ``compare`` and ``score`` run becomes an MLflow run, read from the run
folder (docs/CONTRACTS.md, "Run folder"): :func:`log_training` logs a parent run (config
params, tags, manifest, features, dataset input) with one nested run per model (its
out-of-fold metrics, model folder and a pyfunc model scoring raw registry records,
:mod:`slrt_ml.data.records`); :func:`log_comparison` logs ``comparison.csv`` with interval
bounds, the report and figures, and registers the champion
(:mod:`slrt_ml.evaluation.champion`) under the alias ``champion``; :func:`log_scoring`
logs a batch scoring run; :func:`load_registered_model` loads ``models:/NAME@champion``
back as the in-memory slrt_ml model (so scoring can also explain it).

Runs go to (:func:`resolve_tracking_uri`) ``--tracking-uri``, else ``$MLFLOW_TRACKING_URI``,
else a local SQLite store ``./mlflow.db`` with artifacts in ``./mlartifacts`` -- set
explicitly, as MLflow 3 would otherwise fall back to its ``./mlruns`` file store. Browse::

    mlflow ui --backend-store-uri sqlite:///mlflow.db --default-artifact-root ./mlartifacts

A new local SQLite store is created under a file lock (:mod:`slrt_ml.tracking_store`),
so two runs starting at once on a fresh ``mlflow.db`` both succeed.

NIK and names never reach MLflow: every param, tag, frame and artifact passes
:func:`slrt_ml.data.privacy.check_no_personal_data` first.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import re
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from slrt_ml.data.io import write_table
from slrt_ml.data.privacy import check_no_personal_columns, check_no_personal_data
from slrt_ml.evaluation.champion import select_champion
from slrt_ml.models import PovertyModel, load_model
from slrt_ml.pipeline import record_scoring, run_summary
from slrt_ml.pipeline.run_folder import RunFolder, read_manifest, write_json
from slrt_ml.quiet import quiet_mlflow
from slrt_ml.tracking_store import experiment_id as _experiment_id
from slrt_ml.tracking_store import prepare_store

# MLflow's INFO lines ("Validating input example ...") off unless verbose; before any import.
quiet_mlflow()

__all__ = [
    "CHAMPION_ALIAS",
    "DEFAULT_EXPERIMENT",
    "DEFAULT_REGISTERED_MODEL",
    "load_registered_model",
    "log_comparison",
    "log_scoring",
    "log_training",
    "resolve_tracking_uri",
]

DEFAULT_EXPERIMENT = "slrt-ml"
DEFAULT_REGISTERED_MODEL = "slrt-ml-pkh"
CHAMPION_ALIAS = "champion"
MAX_BATCH = 100  # params or tags per log_batch call

_METRIC_NAME_BAD = re.compile(r"[^\w\-./ ]")


# --- where runs go ------------------------------------------------------------------------


def resolve_tracking_uri(uri: str | None = None) -> str:
    """The tracking URI to use: ``uri``, else ``$MLFLOW_TRACKING_URI``, else local SQLite.

    The local store is ``sqlite:///<absolute working folder>/mlflow.db`` (artifacts go to
    ``mlartifacts/`` beside it); a server is any ``http(s)://`` URI.

    >>> resolve_tracking_uri("http://127.0.0.1:5000")
    'http://127.0.0.1:5000'
    >>> resolve_tracking_uri(None).startswith("sqlite:///") or "MLFLOW_TRACKING_URI" in os.environ
    True
    """
    if uri:
        return uri
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    return f"sqlite:///{Path.cwd().resolve() / 'mlflow.db'}"


@contextlib.contextmanager
def _tracking(uri: str | None) -> Iterator[str]:
    """Point the fluent MLflow API at ``uri`` for the block, then restore the previous state.

    ``mlflow.set_tracking_uri`` also exports ``MLFLOW_TRACKING_URI``; the variable is put
    back as it was, so a later default (``uri=None``) is not silently redirected.
    """
    # Progress bars of artifact downloads would interleave with our own console output.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    resolved = resolve_tracking_uri(uri)
    previous = mlflow.get_tracking_uri() if mlflow.tracking.is_tracking_uri_set() else None
    previous_env = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(resolved)
    try:
        prepare_store(resolved)  # a new SQLite store: schema created once, under a lock
        yield resolved
    finally:
        if previous is not None:  # else keep ours: an empty URI would mean the ./mlruns store
            mlflow.set_tracking_uri(previous)
        if previous_env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = previous_env


# --- params, tags, metrics, artifacts ----------------------------------------------------------------


def _log_params_and_tags(run_id: str, params: Mapping[str, str], tags: Mapping[str, str]) -> None:
    from mlflow import MlflowClient
    from mlflow.entities import Param, RunTag

    check_no_personal_data(dict(params), where="params")
    check_no_personal_data(dict(tags), where="tags")
    client = MlflowClient()
    items = [Param(k, str(v)) for k, v in params.items()]
    for start in range(0, len(items), MAX_BATCH):
        client.log_batch(run_id, params=items[start : start + MAX_BATCH])
    tag_items = [RunTag(k, str(v)) for k, v in tags.items()]
    for start in range(0, len(tag_items), MAX_BATCH):
        client.log_batch(run_id, tags=tag_items[start : start + MAX_BATCH])


def _log_metrics(metrics: Mapping[str, float]) -> None:
    """Log finite metrics (MLflow keeps NaN poorly across stores; a missing key says 'undefined')."""
    import mlflow

    finite = {
        _METRIC_NAME_BAD.sub("_", k): float(v)
        for k, v in metrics.items()
        if v is not None and math.isfinite(float(v))
    }
    check_no_personal_data(list(finite), where="metric names")
    items = list(finite.items())
    for start in range(0, len(items), MAX_BATCH):
        mlflow.log_metrics(dict(items[start : start + MAX_BATCH]))


def _log_artifact(path: Path, artifact_path: str | None = None) -> None:
    import mlflow

    check_no_personal_data(path, where=f"artifact {path}")
    if path.is_dir():
        mlflow.log_artifacts(str(path), artifact_path)
    else:
        mlflow.log_artifact(str(path), artifact_path)


# --- run folder ---------------------------------------------------------------------------


def _read_manifest(folder: RunFolder) -> dict[str, Any]:
    """The run's manifest, with the keys logging needs."""
    manifest = read_manifest(folder.root)
    missing = [k for k in ("config", "models", "features") if k not in manifest]
    if missing:
        raise ValueError(
            f"{folder.manifest}: manifest lacks key(s) {missing}; re-run `slrt-ml train`."
        )
    return manifest


def _read_mlflow_json(folder: RunFolder) -> dict[str, Any]:
    path = folder.mlflow_json
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no MLflow record of the training run; call log_training(run_dir) "
            "(or `slrt-ml train` with tracking enabled) before logging the comparison."
        )
    return json.loads(path.read_text())


# --- the pyfunc model ---------------------------------------------------------------------


@functools.cache
def _pyfunc_class() -> type:
    import mlflow.pyfunc

    class PovertyPyfunc(mlflow.pyfunc.PythonModel):
        """Scores registry records (:mod:`slrt_ml.data.records`) with a saved slrt_ml model."""

        def load_context(self, context: Any) -> None:
            self.model = load_model(context.artifacts["model"])
            areas = context.artifacts.get("areas")
            self.areas = pd.read_parquet(areas) if areas else None

        def predict(
            self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
        ) -> pd.DataFrame:
            """Score registry records (DataFrame) -> one row per household."""
            return record_scoring.score_records(self.model, model_input, self.areas)

    PovertyPyfunc.__module__ = __name__
    return PovertyPyfunc


def __getattr__(name: str) -> Any:
    # The pyfunc class subclasses mlflow's PythonModel, so it is built on first use to keep
    # `import slrt_ml` free of mlflow; the lookup by name keeps it importable for loading.
    if name == "PovertyPyfunc":
        return _pyfunc_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_MODEL_CODE = """\
import mlflow
from slrt_ml.tracking import PovertyPyfunc

mlflow.models.set_model(PovertyPyfunc())
"""


def _requirements() -> list[str]:
    import mlflow

    import slrt_ml

    return [f"mlflow=={mlflow.__version__}", f"slrt-ml=={slrt_ml.__version__}"]


def _log_pyfunc(name: str, folder: RunFolder, records: pd.DataFrame, output: pd.DataFrame) -> str:
    """Log the pyfunc model of one saved model; returns its model URI."""
    import mlflow
    from mlflow.models import infer_signature

    artifacts = {"model": str(folder.model_dir(name))}
    if record_scoring.areas_path(folder).is_file():
        artifacts["areas"] = str(record_scoring.areas_path(folder))
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        # Integer columns of the registry are never missing after validation.
        warnings.filterwarnings("ignore", message=".*integer column", category=UserWarning)
        code = Path(tmp) / "slrt_ml_pyfunc.py"
        code.write_text(_MODEL_CODE)
        info = mlflow.pyfunc.log_model(
            name=name,
            python_model=str(code),
            artifacts=artifacts,
            signature=infer_signature(records, output),
            input_example=records,
            pip_requirements=_requirements(),
        )
    return info.model_uri


def _log_dataset(manifest: Mapping[str, Any], frame: pd.DataFrame | None) -> None:
    """Record the training data as an MLflow dataset input: name, digest, schema (no rows)."""
    import mlflow

    info = manifest.get("dataset", {})
    frame = run_summary.dataset_schema(manifest, frame)
    # Only the schema and row count reach MLflow, so the column names are what is checked.
    check_no_personal_columns(frame.columns, "dataset schema")
    dataset = mlflow.data.from_pandas(
        frame,
        name=str(info.get("name", "registry")),
        digest=str(info.get("digest") or manifest.get("data_digest") or "")[:36] or None,
    )
    mlflow.log_input(dataset, context="training")


def _log_model_run(
    name: str,
    folder: RunFolder,
    manifest: Mapping,
    records: pd.DataFrame | None,
    output: pd.DataFrame | None,
) -> dict:
    import mlflow

    # experiment_id explicitly: a nested run otherwise lands in the default experiment "0".
    parent = mlflow.active_run()
    with mlflow.start_run(
        run_name=name, nested=True, experiment_id=parent.info.experiment_id
    ) as run:
        params = run_summary.flatten_params(
            manifest["config"].get("model_params", {}).get(name) or {}
        )
        tags = {**run_summary.run_tags(manifest), "slrt.model": name, "slrt.stage": "train"}
        _log_params_and_tags(run.info.run_id, {"model": name, **params}, tags)
        _log_metrics(manifest.get("oof_metrics", {}).get(name, {}))
        _log_artifact(folder.model_dir(name), "model_folder")
        model_uri = None if records is None else _log_pyfunc(name, folder, records, output)
        mlflow.set_tag("slrt.model_uri", str(model_uri))
    return {"run_id": run.info.run_id, "model_uri": model_uri}


def log_training(
    run_dir: str | os.PathLike[str],
    *,
    tracking_uri: str | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
    dataset_frame: pd.DataFrame | None = None,
    areas: pd.DataFrame | None = None,
) -> str:
    """Log a training run folder: a parent run and one nested run per model.

    Parent: the config flattened to dotted params, tags (codebook version, seed, package
    version, git commit, data digest), out-of-fold metrics as ``<model>.<metric>``,
    ``manifest.json`` and ``features.txt`` artifacts, and the dataset input (schema of
    ``dataset_frame`` without personal columns, else of the manifest's dataset columns).
    Nested runs: the model's params and out-of-fold metrics, ``models/<name>/`` as
    artifacts and a pyfunc model scoring registry records (it embeds
    ``run_dir/areas.parquet`` when present, needed if the models use area features).
    Every model first scores ``example_households/members.parquet``, so nothing is logged
    for a model that could not score raw records. Writes ``run_dir/mlflow.json``
    (tracking URI, experiment id, parent run id, per model its run id and model URI) and
    returns the parent run id. ``areas`` (the registry's areas table) is saved as
    ``run_dir/areas.parquet`` first when the folder has none.
    """
    import mlflow

    folder = RunFolder(run_dir)
    manifest = _read_manifest(folder)
    if areas is not None and not record_scoring.areas_path(folder).is_file():
        write_table(areas, record_scoring.areas_path(folder))
    check_no_personal_data(manifest, where=str(folder.manifest))
    records = record_scoring.example_records(folder)
    if records is not None:
        check_no_personal_data(records, where="input example")
    outputs = {
        name: None if records is None else record_scoring.example_scores(folder, name, records)
        for name in manifest["models"]
    }
    with _tracking(tracking_uri) as uri:
        experiment_id = _experiment_id(experiment, uri)
        with mlflow.start_run(experiment_id=experiment_id, run_name=folder.root.name) as parent:
            _log_params_and_tags(
                parent.info.run_id,
                run_summary.flatten_params(manifest["config"]),
                {
                    **run_summary.run_tags(manifest),
                    "slrt.stage": "train",
                    "slrt.run_dir": str(folder.root.resolve()),
                },
            )
            _log_metrics(run_summary.oof_metrics(manifest))
            _log_artifact(folder.manifest)
            mlflow.log_text("\n".join(manifest["features"]) + "\n", "features.txt")
            _log_dataset(manifest, dataset_frame)
            models = {n: _log_model_run(n, folder, manifest, records, outputs[n]) for n in outputs}
    record = {
        "tracking_uri": uri,
        "experiment_id": experiment_id,
        "parent_run_id": parent.info.run_id,
        "models": models,
    }
    write_json(record, folder.mlflow_json, sort_keys=True)
    return parent.info.run_id


# --- comparison and the registry ----------------------------------------------------------


def _register_champion(name: str, model_uri: str, register_as: str, run_id: str) -> str:
    import mlflow
    from mlflow import MlflowClient

    version = mlflow.register_model(
        model_uri, register_as, tags={"slrt.model": name, "slrt.compare_run_id": run_id}
    )
    MlflowClient().set_registered_model_alias(register_as, CHAMPION_ALIAS, version.version)
    return str(version.version)


def log_comparison(
    run_dir: str | os.PathLike[str],
    *,
    tracking_uri: str | None = None,
    register_as: str | None = DEFAULT_REGISTERED_MODEL,
) -> str:
    """Log ``comparison.csv`` (every metric with its CI bounds), report and figures; register the champion.

    Metrics are named ``<system>.<metric>``, ``<system>.<metric>.ci_low`` and ``.ci_high``.
    The run is tagged with the training run id (``slrt.training_run_id``). The champion
    (:func:`select_champion`) is registered as ``register_as`` with alias ``champion``
    (``register_as=None`` skips registration). Returns the comparison run id.
    """
    import mlflow

    folder = RunFolder(run_dir)
    training = _read_mlflow_json(folder)
    comparison = pd.read_csv(folder.comparison)
    champion = select_champion(comparison, list(training["models"]))
    with _tracking(tracking_uri or training.get("tracking_uri")):
        with mlflow.start_run(
            experiment_id=training["experiment_id"], run_name=f"{folder.root.name}-compare"
        ) as run:
            tags = {
                "slrt.stage": "compare",
                "slrt.training_run_id": training["parent_run_id"],
                "slrt.champion": champion,
            }
            _log_params_and_tags(run.info.run_id, {"champion": champion}, tags)
            _log_metrics(run_summary.comparison_metrics(comparison))
            figures = [*folder.root.glob("*.png"), *folder.root.glob("*.md")]
            for path in sorted([folder.comparison, folder.report_html, *figures]):
                if path.is_file():
                    _log_artifact(path)
            if register_as and training["models"][champion].get("model_uri") is None:
                warnings.warn(f"{champion}: no logged pyfunc model to register", stacklevel=2)
            elif register_as:
                model_uri = training["models"][champion]["model_uri"]
                version = _register_champion(champion, model_uri, register_as, run.info.run_id)
                mlflow.set_tags(
                    {"slrt.registered_model": register_as, "slrt.registered_version": version}
                )
    return run.info.run_id


# --- scoring --------------------------------------------------------------------------------


def log_scoring(
    summary: Mapping[str, Any],
    output_path: str | os.PathLike[str],
    *,
    tracking_uri: str | None = None,
    model_uri: str | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
) -> str:
    """Log a batch scoring run: numbers in ``summary`` as metrics, the rest as params.

    ``summary`` holds counts and rates (e.g. ``n_input, n_scored, n_rejected``); keys
    ending in ``_path`` name further output files, logged as artifacts like the scored
    file at ``output_path`` (IDBDT and scores only; refused if it holds a NIK).
    Returns the run id.
    """
    import mlflow

    check_no_personal_data(dict(summary), where="scoring summary")
    numbers = {
        k: v for k, v in summary.items() if isinstance(v, int | float) and not isinstance(v, bool)
    }
    others = {k: v for k, v in summary.items() if k not in numbers}
    outputs = [
        Path(output_path),
        *(Path(v) for k, v in others.items() if k.endswith("_path") and v),
    ]
    params = run_summary.flatten_params(
        {**others, "output_path": str(output_path), "model_uri": model_uri}
    )
    with _tracking(tracking_uri) as uri:
        with mlflow.start_run(
            experiment_id=_experiment_id(experiment, uri), run_name="score"
        ) as run:
            _log_params_and_tags(
                run.info.run_id, params, {"slrt.stage": "score", "slrt.model_uri": str(model_uri)}
            )
            _log_metrics(numbers)
            for path in outputs:
                if path.is_file():
                    _log_artifact(path, "outputs")
    return run.info.run_id


def load_registered_model(
    uri: str, *, tracking_uri: str | None = None, trust_pickle: bool = False
) -> PovertyModel:
    """The in-memory slrt_ml model behind a registry URI such as ``models:/slrt-ml-pkh@champion``.

    Downloads the logged model and loads its saved model folder with the safe
    :func:`slrt_ml.models.load_model` (no code from the registry runs; a pickled folder
    only with ``trust_pickle=True``), so the caller can score *and* explain it.
    """
    import mlflow
    import yaml

    with _tracking(tracking_uri):
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    mlmodel = yaml.safe_load((local / "MLmodel").read_text())
    artifacts = mlmodel.get("flavors", {}).get("python_function", {}).get("artifacts", {})
    if "model" not in artifacts:
        raise ValueError(f"{uri}: not an slrt_ml model (no 'model' artifact in its MLmodel file)")
    return load_model(local / artifacts["model"]["path"], trust_pickle=trust_pickle)
