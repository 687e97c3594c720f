"""Experiment tracking and the model registry (MLflow). The only module that imports mlflow.

Every ``train``, ``compare`` and ``score`` run becomes an MLflow run, read from the run
folder the experiment writes (see ``docs/CONTRACTS.md``, "Run folder"):

- :func:`log_training` -- a parent run (flattened config as params, tags, manifest and
  feature list, the dataset input) with one nested run per model holding its out-of-fold
  metrics, its saved model folder and a pyfunc model that scores raw registry records;
- :func:`log_comparison` -- every metric of ``comparison.csv`` with its interval bounds,
  the report and figures; registers the model with the lowest exclusion error at SIKS-NG's
  quota and points the alias ``champion`` at it;
- :func:`log_scoring` -- counts, rates and output files of a batch scoring run;
- :func:`load_registered_model` -- ``models:/slrt-ml-pkh@champion`` back as the in-memory
  slrt_ml model (so scoring can also explain it).

Where runs go (:func:`resolve_tracking_uri`): the ``--tracking-uri`` argument, else the
``MLFLOW_TRACKING_URI`` environment variable (e.g. ``http://127.0.0.1:5000`` for a
server), else a local SQLite store ``./mlflow.db`` in the working folder with artifacts in
``./mlartifacts`` beside it -- no server needed. The URI is always set explicitly: MLflow
3's ``./mlruns`` file store is in maintenance mode, and an existing ``./mlruns`` folder
would silently become the default. To browse local runs::

    mlflow ui --backend-store-uri sqlite:///mlflow.db --default-artifact-root ./mlartifacts

Registry record format (what the logged pyfunc model takes): one row per household with
the codebook's household columns (codes as strings) plus a ``members`` column holding a
JSON string -- the list of that household's member records, without NIK. Build it with
:func:`registry_records`; the model rebuilds the household and member tables, computes
the features itself and returns ``IDBDT, score`` (higher = poorer)::

    model = mlflow.pyfunc.load_model("models:/slrt-ml-pkh@champion")
    scores = model.predict(registry_records(households, members))

Personal data: NIK and names never reach MLflow. Every parameter, tag, frame and artifact
file passes :func:`check_no_personal_data` first, which refuses a column named like NIK or
a name, and any 16-digit string shaped like a NIK (without ever printing it).
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

import numpy as np
import pandas as pd

__all__ = [
    "CHAMPION_ALIAS",
    "DEFAULT_EXPERIMENT",
    "DEFAULT_REGISTERED_MODEL",
    "PersonalDataError",
    "check_no_personal_data",
    "flatten_params",
    "load_registered_model",
    "log_comparison",
    "log_scoring",
    "log_training",
    "registry_records",
    "resolve_tracking_uri",
    "select_champion",
]

DEFAULT_EXPERIMENT = "slrt-ml"
DEFAULT_REGISTERED_MODEL = "slrt-ml-pkh"
CHAMPION_ALIAS = "champion"
SIKSNG_SYSTEM = "siksng"
MLFLOW_JSON = "mlflow.json"
# Optional in a run folder: the registry's areas table, so the logged model can rebuild
# area features (perkotaan) from raw records.
AREAS_FILE = "areas.parquet"
MAX_PARAM_LENGTH = 500  # MLflow's historical limit; longer values are cut with a marker
MAX_BATCH = 100  # params or tags per log_batch call

_PERSONAL_COLUMN = re.compile(r"^(nik|nik_?art|nik_?krt|no_?kk|nama(_\w+)?|nm_?(art|krt))$", re.I)
# PPKKCC region (province 11-94) + day (01-31, women +40) + month + year + 4-digit serial.
_NIK_PATTERN = r"(?:1[1-9]|[2-9]\d)\d{4}(?:[0-2]\d|3[01]|[4-6]\d|7[01])(?:0[1-9]|1[0-2])\d{6}"
_NIK_TEXT = re.compile(rf"(?<![\w.]){_NIK_PATTERN}(?![\w.])")
_NIK_BYTES = re.compile(rf"(?<![\w.]){_NIK_PATTERN}(?![\w.])".encode())
_METRIC_NAME_BAD = re.compile(r"[^\w\-./ ]")


# --- personal-data guard ------------------------------------------------------------------


class PersonalDataError(ValueError):
    """Something about to be logged to MLflow holds a NIK or a name."""


def _refuse(where: str, what: str) -> None:
    raise PersonalDataError(
        f"{where}: refusing to log to MLflow: {what}. NIK and names never go to MLflow; "
        "drop the column (registry_records drops NIK) or log IDBDT / a salted hash instead."
    )


def _check_columns(columns: Any, where: str) -> None:
    personal = [str(c) for c in columns if _PERSONAL_COLUMN.match(str(c))]
    if personal:
        _refuse(where, f"personal column(s) {personal}")


def _text_has_nik(values: pd.Series) -> pd.Series:
    return values.astype("string").str.contains(_NIK_TEXT, regex=True).fillna(False)


def _check_frame(frame: pd.DataFrame, where: str) -> None:
    _check_columns([*frame.columns, *frame.index.names], where)
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_integer_dtype(values):
            values = values[values.abs() >= 10**15]
        elif pd.api.types.is_float_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        hits = int(_text_has_nik(values).sum())
        if hits:
            _refuse(where, f"column {column!r} has {hits} value(s) shaped like a NIK")


def _check_mapping(mapping: Mapping, where: str) -> None:
    _check_columns(mapping.keys(), where)
    for key, value in mapping.items():
        check_no_personal_data(value, where=f"{where}[{key!r}]")


def check_no_personal_data(obj: Any, *, where: str = "value") -> None:
    """Raise :class:`PersonalDataError` if ``obj`` holds a NIK or a name column.

    ``obj`` may be a DataFrame, a mapping (params, tags, a manifest), a list, a string,
    a number, or a :class:`~pathlib.Path` to a file (scanned as bytes). A NIK is a column
    named ``NIK`` (or ``no_kk``, ``nama``, ...) or any 16-digit string with a NIK's shape
    (province 11-94, birth day 01-31 or 41-71, month 01-12). The message names where
    and which column, never the value.

    >>> check_no_personal_data({"seed": 7, "data_digest": "9f2c01ab"})
    >>> check_no_personal_data(pd.DataFrame({"IDBDT": ["H1"], "NIK": ["x"]}), where="example")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    slrt_ml.tracking.PersonalDataError: example: refusing to log to MLflow: personal column(s) ['NIK']. ...
    >>> check_no_personal_data({"note": "id 7311024507880001"}, where="tags")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    slrt_ml.tracking.PersonalDataError: tags['note']: refusing to log to MLflow: a string shaped like a NIK. ...
    """
    if isinstance(obj, pd.DataFrame):
        _check_frame(obj, where)
    elif isinstance(obj, Mapping):
        _check_mapping(obj, where)
    elif isinstance(obj, Path):
        _check_file(obj, where)
    elif isinstance(obj, list | tuple | set):
        for i, item in enumerate(obj):
            check_no_personal_data(item, where=f"{where}[{i}]")
    elif isinstance(obj, str | int | np.integer) and not isinstance(obj, bool):
        if _NIK_TEXT.search(str(obj)):
            _refuse(where, "a string shaped like a NIK")


def _check_file(path: Path, where: str) -> None:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if file.suffix == ".parquet":
            _check_frame(pd.read_parquet(file), f"{where}: {file.name}")
        elif _NIK_BYTES.search(file.read_bytes()):
            _refuse(f"{where}: {file.name}", "a string shaped like a NIK")
        elif file.suffix in (".csv", ".json"):
            _check_columns(_header_names(file), f"{where}: {file.name}")


def _header_names(file: Path) -> list[str]:
    if file.suffix == ".csv":
        return list(pd.read_csv(file, nrows=0).columns)
    names: list[str] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            names.extend(str(k) for k in node)
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    with contextlib.suppress(ValueError):
        collect(json.loads(file.read_text()))
    return names


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


def _local_artifact_root(tracking_uri: str) -> str | None:
    if not tracking_uri.startswith("sqlite:///"):
        return None
    database = Path(tracking_uri.removeprefix("sqlite:///"))
    return (database.parent / "mlartifacts").as_uri()


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
        yield resolved
    finally:
        if previous is not None:  # else keep ours: an empty URI would mean the ./mlruns store
            mlflow.set_tracking_uri(previous)
        if previous_env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = previous_env


def _experiment_id(name: str, tracking_uri: str) -> str:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri)
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    root = _local_artifact_root(tracking_uri)
    location = f"{root}/{name}" if root else None
    return client.create_experiment(name, artifact_location=location)


# --- params, tags, metrics ----------------------------------------------------------------


def flatten_params(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested config -> ``{"dotted.key": "value"}``, values cut to MLflow's 500 characters.

    Lists and empty sections are written as JSON so they stay visible.

    >>> flatten_params({"seed": 7, "cv": {"folds": 5}, "models": ["logit", "gbm"], "gbm": {}})
    {'seed': '7', 'cv.folds': '5', 'models': '["logit", "gbm"]', 'gbm': '{}'}
    """
    flat: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten_params(value, prefix=f"{name}."))
            continue
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        if len(text) > MAX_PARAM_LENGTH:
            text = text[: MAX_PARAM_LENGTH - 3] + "..."
        flat[name] = text
    return flat


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


def _run_tags(manifest: Mapping[str, Any]) -> dict[str, str]:
    tags = {
        "slrt.codebook_version": manifest.get("codebook_version"),
        "slrt.seed": manifest.get("seed"),
        "slrt.package_version": manifest.get("package_version"),
        "slrt.data_digest": manifest.get("data_digest"),
        "slrt.git_commit": manifest.get("git_commit"),  # recorded by experiment at training
        "slrt.n_households": manifest.get("dataset", {}).get("n_households"),
    }
    return {k: str(v) for k, v in tags.items() if v is not None}


# --- run folder ---------------------------------------------------------------------------


def _read_manifest(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no manifest.json; log_training reads a run folder written by "
            "`slrt-ml train --out RUN` (slrt_ml.pipeline.train)."
        )
    manifest = json.loads(path.read_text())
    missing = [k for k in ("config", "models", "features") if k not in manifest]
    if missing:
        raise ValueError(f"{path}: manifest lacks key(s) {missing}; re-run `slrt-ml train`.")
    return manifest


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    from slrt_ml.data.io import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True))


def _read_mlflow_json(run_dir: Path) -> dict[str, Any]:
    path = run_dir / MLFLOW_JSON
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no MLflow record of the training run; call log_training(run_dir) "
            "(or `slrt-ml train` with tracking enabled) before logging the comparison."
        )
    return json.loads(path.read_text())


# --- registry records and the pyfunc model ------------------------------------------------


def _plain_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """Strings as Python ``str`` objects, integers without NA as int64 (signature friendly)."""
    out = {}
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_integer_dtype(values):
            has_na = values.isna().any()
            out[column] = values.astype("float64" if has_na else "int64")
        elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            out[column] = values.astype("float64")
        else:
            out[column] = values.astype(object).where(values.notna(), None)
    return pd.DataFrame(out, index=frame.index)


def _json_value(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _members_json(members: pd.DataFrame) -> pd.Series:
    """One JSON list of member records per IDBDT (NoART order), without IDBDT and personal columns."""
    personal = [c for c in members.columns if _PERSONAL_COLUMN.match(str(c))]
    kept = members.drop(columns=personal)
    if "NoART" in kept.columns:
        kept = kept.sort_values(["IDBDT", "NoART"], kind="stable")
    columns = [c for c in kept.columns if c != "IDBDT"]
    grouped: dict[str, list[dict[str, Any]]] = {}
    ids = kept["IDBDT"].astype(str).tolist()
    rows = zip(*(kept[c].tolist() for c in columns), strict=True) if columns else []
    for household, row in zip(ids, rows, strict=False):
        record = {c: _json_value(v) for c, v in zip(columns, row, strict=True)}
        grouped.setdefault(household, []).append(record)
    return pd.Series(
        {k: json.dumps(v, ensure_ascii=False) for k, v in grouped.items()}, dtype=object
    )


def registry_records(households: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Households and members as one frame: the input of the logged pyfunc model.

    One row per household with its columns (codes as strings) plus ``members``, a JSON
    list of its member records. NIK (and any name column) is dropped; a household
    without members gets ``"[]"``.

    >>> hh = pd.DataFrame({"IDBDT": ["H1", "H2"], "Lantai": ["9", "2"]})
    >>> art = pd.DataFrame({"IDBDT": ["H1", "H1"], "NoART": [2, 1],
    ...                     "NIK": ["7311024507880001", "7311020101800002"], "Umur": [7, 41]})
    >>> records = registry_records(hh, art)
    >>> records["members"].tolist()
    ['[{"NoART": 1, "Umur": 41}, {"NoART": 2, "Umur": 7}]', '[]']
    """
    if "IDBDT" not in households.columns or "IDBDT" not in members.columns:
        raise KeyError("registry_records: households and members both need an IDBDT column")
    flat = households.reset_index(drop=True)
    flat = flat.drop(columns=[c for c in flat.columns if _PERSONAL_COLUMN.match(str(c))])
    records = _plain_dtypes(flat)
    by_household = _members_json(members)
    records["members"] = records["IDBDT"].map(by_household).fillna("[]").astype(object)
    return records


def _canonical(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Cast a records frame to the canonical dtypes of docs/CONTRACTS.md (codebook kinds)."""
    from slrt_ml.data.codebook import get_codebook
    from slrt_ml.data.schema import canonical_dtypes

    return canonical_dtypes(frame, get_codebook().table(table), text=True)


def records_to_tables(records: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reverse of :func:`registry_records`: households and members with canonical dtypes."""
    from slrt_ml.data.codebook import get_codebook

    if "members" not in records.columns:
        raise KeyError(
            "registry records need a 'members' column (JSON list of member records); "
            "build the input with slrt_ml.tracking.registry_records(households, members)"
        )
    households = _canonical(records.drop(columns=["members"]).reset_index(drop=True), "household")
    rows = [
        {**member, "IDBDT": household}
        for household, text in zip(households["IDBDT"], records["members"], strict=True)
        for member in json.loads(text or "[]")
    ]
    member_columns = [c for c in get_codebook().member if c != "NIK"]
    members = pd.DataFrame.from_records(rows, columns=None if rows else member_columns)
    ordered = [c for c in member_columns if c in members.columns]
    members = members[ordered + [c for c in members.columns if c not in ordered]]
    return households, _canonical(members, "member")


def _score_records(model: Any, records: pd.DataFrame, areas: pd.DataFrame | None) -> pd.DataFrame:
    """Features built from raw records, scored by an in-memory slrt_ml model."""
    from slrt_ml.features.households import household_features

    households, members = records_to_tables(records)
    features = household_features(households, members, areas)
    scores = pd.Series(model.poverty_score(features), index=features.index.astype(str))
    ids = households["IDBDT"].astype(str)
    return pd.DataFrame(
        {"IDBDT": ids.astype(object), "score": scores.reindex(ids).to_numpy("float64")}
    )


@functools.cache
def _pyfunc_class() -> type:
    import mlflow.pyfunc

    class PovertyPyfunc(mlflow.pyfunc.PythonModel):
        """Scores registry records (see :func:`registry_records`) with a saved slrt_ml model."""

        def load_context(self, context: Any) -> None:
            from slrt_ml.models import load_model

            self.model = load_model(context.artifacts["model"])
            areas = context.artifacts.get("areas")
            self.areas = pd.read_parquet(areas) if areas else None

        def predict(
            self, context: Any, model_input: pd.DataFrame, params: Any = None
        ) -> pd.DataFrame:
            return _score_records(self.model, model_input, self.areas)

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


def _example_records(run_dir: Path) -> pd.DataFrame | None:
    """Example registry records of the run, or None for a run without them (mapping mode)."""
    paths = [run_dir / "example_households.parquet", run_dir / "example_members.parquet"]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        warnings.warn(
            f"{run_dir}: no {missing}, so no registry-record (pyfunc) model is logged and "
            "none can be registered; PBDT runs of `slrt-ml train` write these files.",
            stacklevel=3,
        )
        return None
    records = registry_records(pd.read_parquet(paths[0]), pd.read_parquet(paths[1]))
    check_no_personal_data(records, where="input example")
    return records


def _example_scores(run_dir: Path, name: str, records: pd.DataFrame) -> pd.DataFrame:
    """Score the example records with a saved model, as the pyfunc will; a clear error if it cannot."""
    from slrt_ml.models import load_model

    model_dir = run_dir / "models" / name
    if not model_dir.is_dir():
        raise FileNotFoundError(f"{model_dir}: model {name!r} is in the manifest but not saved")
    areas_path = run_dir / AREAS_FILE
    areas = pd.read_parquet(areas_path) if areas_path.is_file() else None
    try:
        return _score_records(load_model(model_dir), records, areas)
    except (KeyError, ValueError) as error:
        hint = (
            ""
            if areas is not None
            else (
                f" If the model uses area features (perkotaan), save the registry's areas table "
                f"as {areas_path} so the logged model can rebuild them."
            )
        )
        raise ValueError(
            f"{model_dir}: cannot score the example registry records: {error}.{hint}"
        ) from error


def _log_pyfunc(name: str, run_dir: Path, records: pd.DataFrame, output: pd.DataFrame) -> str:
    """Log the pyfunc model of one saved model; returns its model URI."""
    import mlflow
    from mlflow.models import infer_signature

    artifacts = {"model": str(run_dir / "models" / name)}
    if (run_dir / AREAS_FILE).is_file():
        artifacts["areas"] = str(run_dir / AREAS_FILE)
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


def _dataset_frame(manifest: Mapping[str, Any], frame: pd.DataFrame | None) -> pd.DataFrame:
    if frame is not None:
        return frame.drop(columns=[c for c in frame.columns if _PERSONAL_COLUMN.match(str(c))])
    columns = manifest.get("dataset", {}).get("columns") or manifest.get("features", [])
    kept = [str(c) for c in columns if not _PERSONAL_COLUMN.match(str(c))]
    empty = pd.DataFrame({c: pd.Series([], dtype="string") for c in kept})
    return _canonical(empty, "household")


def _log_dataset(manifest: Mapping[str, Any], frame: pd.DataFrame | None) -> None:
    """Record the training data as an MLflow dataset input: name, digest, schema (no rows)."""
    import mlflow

    info = manifest.get("dataset", {})
    frame = _dataset_frame(manifest, frame)
    # Only the schema and row count reach MLflow, so the column names are what is checked.
    _check_columns(frame.columns, "dataset schema")
    dataset = mlflow.data.from_pandas(
        frame,
        name=str(info.get("name", "registry")),
        digest=str(info.get("digest") or manifest.get("data_digest") or "")[:36] or None,
    )
    mlflow.log_input(dataset, context="training")


def _parent_metrics(manifest: Mapping[str, Any]) -> dict[str, float]:
    return {
        f"{model}.{metric}": value
        for model, metrics in manifest.get("oof_metrics", {}).items()
        for metric, value in metrics.items()
    }


def _log_model_run(
    name: str,
    run_dir: Path,
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
        params = flatten_params(manifest["config"].get("model_params", {}).get(name) or {})
        tags = {**_run_tags(manifest), "slrt.model": name, "slrt.stage": "train"}
        _log_params_and_tags(run.info.run_id, {"model": name, **params}, tags)
        _log_metrics(manifest.get("oof_metrics", {}).get(name, {}))
        _log_artifact(run_dir / "models" / name, "model_folder")
        model_uri = None if records is None else _log_pyfunc(name, run_dir, records, output)
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
    artifacts and a pyfunc model scoring :func:`registry_records` (it embeds
    ``run_dir/areas.parquet`` when present, needed if the models use area features).
    Every model first scores ``example_households/members.parquet``, so nothing is logged
    for a model that could not score raw records. Writes ``run_dir/mlflow.json``
    (tracking URI, experiment id, parent run id, per model its run id and model URI) and
    returns the parent run id. ``areas`` (the registry's areas table) is saved as
    ``run_dir/areas.parquet`` first when the folder has none.
    """
    import mlflow

    run_dir = Path(run_dir)
    manifest = _read_manifest(run_dir)
    if areas is not None and not (run_dir / AREAS_FILE).is_file():
        from slrt_ml.data.io import write_table

        write_table(areas, run_dir / AREAS_FILE)
    check_no_personal_data(manifest, where=f"{run_dir / 'manifest.json'}")
    records = _example_records(run_dir)
    outputs = {
        name: None if records is None else _example_scores(run_dir, name, records)
        for name in manifest["models"]
    }
    with _tracking(tracking_uri) as uri:
        experiment_id = _experiment_id(experiment, uri)
        with mlflow.start_run(experiment_id=experiment_id, run_name=run_dir.name) as parent:
            _log_params_and_tags(
                parent.info.run_id,
                flatten_params(manifest["config"]),
                {
                    **_run_tags(manifest),
                    "slrt.stage": "train",
                    "slrt.run_dir": str(run_dir.resolve()),
                },
            )
            _log_metrics(_parent_metrics(manifest))
            _log_artifact(run_dir / "manifest.json")
            mlflow.log_text("\n".join(manifest["features"]) + "\n", "features.txt")
            _log_dataset(manifest, dataset_frame)
            models = {n: _log_model_run(n, run_dir, manifest, records, outputs[n]) for n in outputs}
    record = {
        "tracking_uri": uri,
        "experiment_id": experiment_id,
        "parent_run_id": parent.info.run_id,
        "models": models,
    }
    _write_json(run_dir / MLFLOW_JSON, record)
    return parent.info.run_id


# --- comparison and the registry ----------------------------------------------------------


def select_champion(comparison: pd.DataFrame, models: list[str] | None = None) -> str:
    """The model with the lowest exclusion error at SIKS-NG's quota; ties by inclusion error.

    SIKS-NG itself is never the champion; ``models`` restricts the candidates (those with
    a logged model). Remaining ties go to the first name in alphabetical order.

    >>> rows = pd.DataFrame({"system": ["siksng", "logit", "gbm", "siksng", "logit", "gbm"],
    ...     "metric": ["exclusion_error"] * 3 + ["inclusion_error"] * 3,
    ...     "estimate": [0.5, 0.3, 0.3, 0.5, 0.35, 0.32]})
    >>> select_champion(rows)
    'gbm'
    """
    wide = comparison.pivot_table(
        index="system", columns="metric", values="estimate", aggfunc="first"
    )
    if "exclusion_error" not in wide.columns:
        raise ValueError("comparison.csv has no exclusion_error rows; run `slrt-ml compare` again")
    candidates = wide.drop(index=[SIKSNG_SYSTEM], errors="ignore")
    if models is not None:
        candidates = candidates[candidates.index.isin(models)]
    candidates = candidates.dropna(subset=["exclusion_error"])
    if candidates.empty:
        raise ValueError(f"no model with an exclusion_error estimate among {models}")
    ranked = candidates.assign(
        inclusion_error=candidates.get("inclusion_error", pd.Series(0.0, index=candidates.index)),
        name=candidates.index,
    ).sort_values(["exclusion_error", "inclusion_error", "name"], na_position="last")
    return str(ranked.index[0])


def _comparison_metrics(comparison: pd.DataFrame) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for row in comparison.itertuples(index=False):
        name = f"{row.system}.{row.metric}"
        metrics[name] = row.estimate
        metrics[f"{name}.ci_low"] = row.ci_low
        metrics[f"{name}.ci_high"] = row.ci_high
    return metrics


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

    run_dir = Path(run_dir)
    training = _read_mlflow_json(run_dir)
    comparison = pd.read_csv(run_dir / "comparison.csv")
    champion = select_champion(comparison, list(training["models"]))
    with _tracking(tracking_uri or training.get("tracking_uri")):
        with mlflow.start_run(
            experiment_id=training["experiment_id"], run_name=f"{run_dir.name}-compare"
        ) as run:
            tags = {
                "slrt.stage": "compare",
                "slrt.training_run_id": training["parent_run_id"],
                "slrt.champion": champion,
            }
            _log_params_and_tags(run.info.run_id, {"champion": champion}, tags)
            _log_metrics(_comparison_metrics(comparison))
            for path in sorted(
                [
                    run_dir / "comparison.csv",
                    run_dir / "report.html",
                    *run_dir.glob("*.png"),
                    *run_dir.glob("*.md"),
                ]
            ):
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
    params = flatten_params({**others, "output_path": str(output_path), "model_uri": model_uri})
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


def load_registered_model(uri: str, *, tracking_uri: str | None = None) -> Any:
    """The in-memory slrt_ml model behind a registry URI such as ``models:/slrt-ml-pkh@champion``.

    Downloads the logged model and loads its saved model folder with
    :func:`slrt_ml.models.load_model`, so the caller can score *and* explain it.
    """
    import mlflow
    import yaml

    from slrt_ml.models import load_model

    with _tracking(tracking_uri):
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    mlmodel = yaml.safe_load((local / "MLmodel").read_text())
    artifacts = mlmodel.get("flavors", {}).get("python_function", {}).get("artifacts", {})
    if "model" not in artifacts:
        raise ValueError(f"{uri}: not an slrt_ml model (no 'model' artifact in its MLmodel file)")
    return load_model(local / artifacts["model"]["path"])
