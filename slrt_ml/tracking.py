"""Experiment tracking and the model registry (MLflow: this, tracking_model and tracking_store).

Every ``train``, ``compare`` and ``score`` run becomes an MLflow run, read from the run
folder (docs/CONTRACTS.md, "Run folder"): :func:`log_training` logs a parent run (config
params, tags, manifest, features, dataset input) with one nested run per model (resolved
hyperparameters, out-of-fold metrics, model folder, a pyfunc model from code,
:mod:`slrt_ml.tracking_model`); :func:`log_comparison` logs ``comparison.csv`` with
interval bounds, adds each model's headline metrics with intervals to its own run, logs the
report, figures and model card (:mod:`slrt_ml.pipeline.model_card`), and registers the
champion (:mod:`slrt_ml.evaluation.champion`) under the alias ``champion`` with the card as
its description; :func:`log_scoring` logs a batch scoring run; :func:`load_registered_model`
loads ``models:/NAME@champion`` back as the in-memory slrt_ml model (so scoring can also
explain it). Metric names are snake_case parts joined by dots (:func:`metric_name`).

Runs go to (:func:`resolve_tracking_uri`) ``--tracking-uri``, else ``$MLFLOW_TRACKING_URI``,
else a local SQLite store ``./mlflow.db`` with artifacts in ``./mlartifacts`` -- set
explicitly, as MLflow 3 would otherwise fall back to its ``./mlruns`` file store. A new
local store is created under a file lock (:mod:`slrt_ml.tracking_store`). Browse::

    mlflow ui --backend-store-uri sqlite:///mlflow.db --default-artifact-root ./mlartifacts

NIK and names never reach MLflow: every param, tag, frame and artifact passes
:func:`slrt_ml.data.privacy.check_no_personal_data` first.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import time
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from slrt_ml import tracking_model
from slrt_ml.data.io import write_table
from slrt_ml.data.privacy import check_no_personal_columns, check_no_personal_data
from slrt_ml.evaluation.champion import select_champion
from slrt_ml.models import PovertyModel
from slrt_ml.pipeline import record_scoring, run_summary
from slrt_ml.pipeline.model_card import card_file_name, comparison_numbers, model_card
from slrt_ml.pipeline.run_folder import RunFolder, read_manifest, write_json
from slrt_ml.quiet import quiet_mlflow
from slrt_ml.tracking_store import experiment_id as _experiment_id
from slrt_ml.tracking_store import prepare_store

# MLflow's INFO lines ("Validating input example ...") off unless verbose; before any import.
quiet_mlflow()

__all__ = [
    "CHAMPION_ALIAS",
    "headline_metrics",
    "metric_name",
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

#: the two languages the registered model's card is written in (English is its description)
CARD_LANGS = ("en", "id")


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


def metric_name(name: str) -> str:
    """A clean MLflow metric name: snake_case parts joined by dots, interval bounds as suffixes.

    >>> metric_name("siksng (own ranking).pr_auc")
    'siksng_own_ranking.pr_auc'
    >>> metric_name("population.pmt_ols.exclusion_error.ci_low")
    'population.pmt_ols.exclusion_error_ci_low'
    """
    name = re.sub(r"\.(ci_low|ci_high)$", r"_\1", name)
    parts = (re.sub(r"[^0-9a-z_]+", "_", part.lower()).strip("_") for part in name.split("."))
    return ".".join(part for part in parts if part)


def _finite_metrics(metrics: Mapping[str, float]) -> dict[str, float]:
    """Clean names, finite values only (MLflow keeps NaN poorly; a missing key says 'undefined')."""
    finite = {
        metric_name(k): float(v)
        for k, v in metrics.items()
        if v is not None and math.isfinite(float(v))
    }
    check_no_personal_data(list(finite), where="metric names")
    return finite


def _log_metrics(metrics: Mapping[str, float], run_id: str | None = None) -> None:
    """Log metrics into ``run_id`` (else the active run), in batches."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    items = list(_finite_metrics(metrics).items())
    for start in range(0, len(items), MAX_BATCH):
        batch = dict(items[start : start + MAX_BATCH])
        if run_id is None:
            mlflow.log_metrics(batch)
            continue
        now = int(time.time() * 1000)
        MlflowClient().log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in batch.items()])


def headline_metrics(comparison: pd.DataFrame, system: str) -> dict[str, float]:
    """One system's rows of ``comparison.csv`` as metrics of its own MLflow run.

    Every metric at equal coverage with its interval: ``exclusion_error``,
    ``exclusion_error_ci_low``, ``exclusion_error_ci_high``, ... for the default view (the
    first), prefixed with the view for the others (``population_exclusion_error``).

    >>> table = pd.DataFrame({"system": ["logit", "logit"], "metric": ["exclusion_error"] * 2,
    ...     "estimate": [0.3, 0.28], "ci_low": [0.2, 0.25], "ci_high": [0.4, 0.31],
    ...     "view": ["survey", "population"]})
    >>> headline_metrics(table, "logit")["population_exclusion_error_ci_high"]
    0.31
    """
    rows = comparison[comparison["system"] == system]
    default = comparison["view"].iloc[0] if "view" in comparison and len(comparison) else None
    metrics: dict[str, float] = {}
    for row in rows.itertuples(index=False):
        view = getattr(row, "view", default)
        name = (
            row.metric if view == default or not isinstance(view, str) else f"{view}_{row.metric}"
        )
        metrics |= {name: row.estimate, f"{name}_ci_low": row.ci_low,
                    f"{name}_ci_high": row.ci_high}  # fmt: skip
    return metrics


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


# --- the pyfunc model (slrt_ml.tracking_model) --------------------------------------------------


def __getattr__(name: str) -> Any:
    # Models logged before tracking_model existed load ``slrt_ml.tracking.PovertyPyfunc``.
    if name == "PovertyPyfunc":
        return tracking_model.PovertyPyfunc
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


def _model_params(manifest: Mapping[str, Any], name: str) -> dict[str, str]:
    """The model's resolved parameters (``manifest.model_params``), else the config's."""
    resolved = (manifest.get("model_params") or {}).get(name)
    if resolved is None:  # runs trained before resolved parameters were recorded
        resolved = manifest["config"].get("model_params", {}).get(name) or {}
    return run_summary.flatten_params(resolved)


def _log_model_run(
    name: str,
    folder: RunFolder,
    manifest: Mapping,
    inputs: tracking_model.ModelInputs | None,
    output: pd.DataFrame | None,
) -> dict:
    import mlflow

    # experiment_id explicitly: a nested run otherwise lands in the default experiment "0".
    parent = mlflow.active_run()
    with mlflow.start_run(
        run_name=name, nested=True, experiment_id=parent.info.experiment_id
    ) as run:
        tags = {**run_summary.run_tags(manifest), "slrt.model": name, "slrt.stage": "train"}
        _log_params_and_tags(run.info.run_id, {"model": name, **_model_params(manifest, name)},
                             tags)  # fmt: skip
        oof = manifest.get("oof_metrics", {}).get(name, {})
        _log_metrics({f"oof_{metric}": value for metric, value in oof.items()})
        _log_artifact(folder.model_dir(name), "model_folder")
        model_uri = None
        if inputs is not None:
            model_uri = tracking_model.log_pyfunc(name, folder, inputs, output)
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
    Nested runs: the model's resolved hyperparameters (``manifest.model_params``), its
    out-of-fold metrics as ``oof_<metric>``, ``models/<name>/`` as artifacts and a pyfunc
    model (:mod:`slrt_ml.tracking_model`) scoring registry records (it embeds
    ``run_dir/areas.parquet`` when present, needed if the models use area features) or, for
    a mapped-table run, rows of the table (it embeds ``mapping.yaml``). Every model first
    scores the run's example records or rows, so nothing is logged for a model that could
    not score them; :func:`log_comparison` adds the headline metrics. Writes ``run_dir/mlflow.json``
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
    inputs = tracking_model.model_inputs(folder)  # None (warned): no pyfunc can be logged
    outputs = {
        name: None if inputs is None else inputs.example_output(folder, name)
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
            models = {n: _log_model_run(n, folder, manifest, inputs, outputs[n]) for n in outputs}
    record = {
        "tracking_uri": uri,
        "experiment_id": experiment_id,
        "parent_run_id": parent.info.run_id,
        "models": models,
    }
    write_json(record, folder.mlflow_json, sort_keys=True)
    return parent.info.run_id


# --- comparison and the registry ----------------------------------------------------------


def _log_headlines(training: Mapping[str, Any], comparison: pd.DataFrame) -> None:
    """Every model run gets its own metrics at equal coverage with intervals."""
    for name, record in training["models"].items():
        if record.get("run_id"):
            _log_metrics(headline_metrics(comparison, name), run_id=record["run_id"])


def log_comparison(
    run_dir: str | os.PathLike[str],
    *,
    tracking_uri: str | None = None,
    register_as: str | None = DEFAULT_REGISTERED_MODEL,
) -> str:
    """Log ``comparison.csv`` (every metric with its CI bounds), report, figures, model card;
    register the champion.

    Compare run metrics are named ``<system>.<metric>`` with ``_ci_low``/``_ci_high``
    (other views than the default prefixed: ``population.<system>.<metric>``); each model's
    training run also gets its own rows (:func:`headline_metrics`: ``exclusion_error``,
    ``exclusion_error_ci_low``, ...). The run is tagged with the training run id
    (``slrt.training_run_id``) and holds the champion's model card (``MODEL_CARD.md``,
    ``MODEL_CARD.id.md``). The champion (:func:`select_champion`) is registered as
    ``register_as`` with alias ``champion`` and the card as its version description
    (``register_as=None`` skips registration). Returns the comparison run id.
    """
    import mlflow

    folder = RunFolder(run_dir)
    training = _read_mlflow_json(folder)
    manifest = _read_manifest(folder)
    comparison = comparison_numbers(pd.read_csv(folder.comparison))
    champion = select_champion(comparison, list(training["models"]))
    cards = {lang: model_card(manifest, comparison, champion, lang=lang) for lang in CARD_LANGS}
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
            _log_headlines(training, comparison)
            figures = [*folder.root.glob("*.png"), *folder.root.glob("*.md")]
            for path in sorted([folder.comparison, folder.report_html, *figures]):
                if path.is_file():
                    _log_artifact(path)
            for lang, card in cards.items():
                check_no_personal_data(card, where="model card")
                mlflow.log_text(card, card_file_name(lang))
            if register_as and training["models"][champion].get("model_uri") is None:
                warnings.warn(f"{champion}: no logged pyfunc model to register", stacklevel=2)
            elif register_as:
                model_uri = training["models"][champion]["model_uri"]
                version = tracking_model.register_champion(
                    champion, model_uri, register_as, run.info.run_id, cards["en"]
                )
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
    :func:`slrt_ml.models.load_model` (:func:`slrt_ml.tracking_model.load_model_folder`: no
    code from the registry runs; a pickled folder only with ``trust_pickle=True``), so the
    caller can score *and* explain it.
    """
    import mlflow

    with _tracking(tracking_uri):
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    try:
        return tracking_model.load_model_folder(local, trust_pickle=trust_pickle)
    except ValueError as error:  # same type (UnsafeModelError stays one), the URI in front
        raise type(error)(f"{uri}: {error}") from None
