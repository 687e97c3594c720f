"""The MLflow model of a fitted slrt_ml model: the pyfunc, its files, and loading it back safely.

The pyfunc is logged *from code* (MLflow's models-from-code): the model folder holds a
three-line Python file that builds :class:`PovertyPyfunc` from the installed package, and
the fitted model as data (:mod:`slrt_ml.models.persistence`: skops, UBJ, Keras files with
their sha256). Nothing is cloudpickled. Two kinds of input, chosen by what the run folder
holds:

- a registry run: raw registry records (:mod:`slrt_ml.data.records`) -> ``IDBDT, score``;
  the registry's areas table is embedded when present (area features need it);
- a mapped-table run (``mapping.yaml`` + ``example_rows.parquet``,
  :mod:`slrt_ml.pipeline.mapped_records`): rows of the household table -> ``<id>, score``.

:func:`load_model_folder` reads an MLflow model folder back as the in-memory slrt_ml model
(``slrt-ml score`` and :func:`slrt_ml.tracking.load_registered_model` use it): it reads
``MLmodel`` with ``yaml.safe_load`` and the model with :func:`slrt_ml.models.load_model`,
so no code from the folder runs.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from slrt_ml.data.io import atomic_path
from slrt_ml.data.privacy import check_no_personal_data
from slrt_ml.models import PovertyModel, load_model
from slrt_ml.pipeline import mapped_records, record_scoring
from slrt_ml.pipeline.run_folder import RunFolder
from slrt_ml.quiet import quiet_mlflow

# MLflow's INFO lines ("Validating input example ...") off unless verbose; before any import.
quiet_mlflow()

__all__ = [
    "MLMODEL",
    "ModelInputs",
    "is_model_folder",
    "load_model_folder",
    "log_pyfunc",
    "model_artifact",
    "model_inputs",
    "register_champion",
    "save_pyfunc",
]

MLMODEL = "MLmodel"
CODE_FILE = "slrt_ml_pyfunc.py"
MAX_DESCRIPTION = 5000  # characters MLflow's SQL stores keep of a description
MODEL_CODE = """\
# MLflow models-from-code: the model is built from the installed slrt_ml package; the
# fitted model itself is data (skops/ubj/keras files with their sha256), never a pickle.
import mlflow
from slrt_ml.tracking_model import PovertyPyfunc

mlflow.models.set_model(PovertyPyfunc())
"""


@functools.cache
def _pyfunc_class() -> type:
    import mlflow.pyfunc

    from slrt_ml.data.mapping import load_mapping

    class PovertyPyfunc(mlflow.pyfunc.PythonModel):
        """Scores registry records, or rows of a mapped table, with a saved slrt_ml model."""

        def load_context(self, context: Any) -> None:
            self.model = load_model(context.artifacts["model"])
            areas = context.artifacts.get("areas")
            self.areas = pd.read_parquet(areas) if areas else None
            mapping = context.artifacts.get("mapping")
            self.mapping = load_mapping(mapping) if mapping else None

        def predict(
            self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
        ) -> pd.DataFrame:
            """Records or table rows (DataFrame) -> one row per household: id, score."""
            if self.mapping is not None:
                return mapped_records.score_rows(self.model, model_input, self.mapping)
            return record_scoring.score_records(self.model, model_input, self.areas)

    PovertyPyfunc.__module__ = __name__
    return PovertyPyfunc


def __getattr__(name: str) -> Any:
    # The class subclasses mlflow's PythonModel, so it is built on first use (keeping
    # `import slrt_ml` free of mlflow); the lookup by name keeps it importable for loading.
    if name == "PovertyPyfunc":
        return _pyfunc_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --- what a run's pyfunc takes ---------------------------------------------------------------


@dataclass(frozen=True)
class ModelInputs:
    """Example input of a run's pyfunc, and the files the pyfunc embeds (name -> path)."""

    example: pd.DataFrame
    artifacts: dict[str, Path]
    mapping: Any = None  # the DatasetMapping of a mapped-table run

    def example_output(self, folder: RunFolder, name: str) -> pd.DataFrame:
        """The saved model ``name`` scores the example (so only working models are logged)."""
        if self.mapping is not None:
            return mapped_records.example_scores(folder, name, self.example, self.mapping)
        return record_scoring.example_scores(folder, name, self.example)


def model_inputs(folder: RunFolder) -> ModelInputs | None:
    """The run's pyfunc input: mapped-table rows, else registry records, else None (warned)."""
    mapped = mapped_records.run_examples(folder)
    if mapped is not None:
        rows, mapping = mapped
        check_no_personal_data(rows, where="input example")
        return ModelInputs(rows, {"mapping": folder.root / mapped_records.MAPPING_FILE}, mapping)
    records = record_scoring.example_records(folder)  # warns when the run has none
    if records is None:
        return None
    check_no_personal_data(records, where="input example")
    areas = record_scoring.areas_path(folder)
    return ModelInputs(records, {"areas": areas} if areas.is_file() else {})


def _requirements() -> list[str]:
    import mlflow

    import slrt_ml

    return [f"mlflow=={mlflow.__version__}", f"slrt-ml=={slrt_ml.__version__}"]


def _model_options(folder: RunFolder, name: str, inputs: ModelInputs, output: pd.DataFrame,
                   code: Path) -> dict[str, Any]:  # fmt: skip
    from mlflow.models import infer_signature

    artifacts = {"model": str(folder.model_dir(name))}
    artifacts |= {key: str(path) for key, path in inputs.artifacts.items()}
    return {
        "python_model": str(code),
        "artifacts": artifacts,
        "signature": infer_signature(inputs.example, output),
        "input_example": inputs.example,
        "pip_requirements": _requirements(),
    }


def log_pyfunc(name: str, folder: RunFolder, inputs: ModelInputs, output: pd.DataFrame) -> str:
    """Log the pyfunc model of the saved model ``name`` into the active run; returns its URI."""
    import mlflow

    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*integer column", category=UserWarning)
        code = Path(tmp) / CODE_FILE
        code.write_text(MODEL_CODE)
        info = mlflow.pyfunc.log_model(
            name=name, **_model_options(folder, name, inputs, output, code)
        )
    return info.model_uri


def save_pyfunc(folder: RunFolder, name: str) -> Path:
    """Make the run folder ``folder`` an MLflow model folder of its saved model ``name``.

    MLflow's files (``MLmodel``, the code file, environment files, input examples) are
    added beside the run folder's own; ``MLmodel``'s artifacts point at the run folder's
    files (``models/<name>``, ``areas.parquet`` or ``mapping.yaml``) instead of copies, so
    the folder is both a run folder for ``slrt-ml score --model`` and an MLflow model for
    ``mlflow.pyfunc.load_model``. Returns the ``MLmodel`` path.

    Raises
    ------
    ValueError
        When the run has neither example registry records nor mapped example rows.
    """
    # Progress bars of MLflow's artifact copies would interleave with our console output.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow
    import yaml

    inputs = model_inputs(folder)
    if inputs is None:
        raise ValueError(f"{folder.root}: no example records or rows to build the model from")
    output = inputs.example_output(folder, name)
    local = {"model": folder.model_dir(name), **inputs.artifacts}
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*integer column", category=UserWarning)
        code, staging = Path(tmp) / CODE_FILE, Path(tmp) / "model"
        code.write_text(MODEL_CODE)
        mlflow.pyfunc.save_model(str(staging), **_model_options(folder, name, inputs, output, code))
        mlmodel = yaml.safe_load((staging / MLMODEL).read_text(encoding="utf-8"))
        flavor = mlmodel["flavors"]["python_function"]
        for key, entry in flavor["artifacts"].items():
            entry["path"] = entry["uri"] = local[key].relative_to(folder.root).as_posix()
        flavor["model_code_path"] = CODE_FILE  # MLflow joins its base name to the folder
        shutil.rmtree(staging / "artifacts")
        for path in sorted(staging.iterdir()):
            if path.name != MLMODEL:
                shutil.move(str(path), str(folder.root / path.name))
    target = folder.root / MLMODEL
    with atomic_path(target) as tmp_file:
        tmp_file.write_text(yaml.safe_dump(mlmodel, sort_keys=False), encoding="utf-8")
    return target


def register_champion(
    name: str, model_uri: str, register_as: str, run_id: str, card: str, alias: str = "champion"
) -> str:
    """Register ``model_uri`` under ``register_as`` with ``alias`` and the model card as the
    version's description (cut to MLflow's 5,000 characters); returns the version number."""
    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient()
    version = mlflow.register_model(
        model_uri, register_as, tags={"slrt.model": name, "slrt.compare_run_id": run_id}
    )
    client.set_registered_model_alias(register_as, alias, version.version)
    if len(card) > MAX_DESCRIPTION:  # the full card stays an artifact of the compare run
        card = card[: MAX_DESCRIPTION - 80] + f"\n\n(cut; full card: MODEL_CARD.md of run {run_id})"
    client.update_model_version(register_as, version.version, description=card)
    client.update_registered_model(
        register_as,
        description=(
            "PKH poverty-targeting model trained with slrt_ml. The alias @champion is the "
            "simplest model whose exclusion error at equal coverage is within noise of the "
            f"best (now {name}, version {version.version}). Each version's description is its "
            "model card: data, metrics with 95% intervals, intended use and limits; "
            "MODEL_CARD.md (English) and MODEL_CARD.id.md (Indonesian) are artifacts of the "
            f"compare run {run_id}."
        ),
    )
    return str(version.version)


# --- loading back, without running the folder's code ------------------------------------------


def is_model_folder(path: str | Path) -> bool:
    """Whether ``path`` is an MLflow model folder (it holds an ``MLmodel`` file)."""
    return (Path(path) / MLMODEL).is_file()


def model_artifact(path: str | Path) -> Path:
    """The saved slrt_ml model folder an MLflow model folder's ``MLmodel`` points at.

    Raises
    ------
    ValueError
        When ``MLmodel`` has no ``model`` artifact (not an slrt_ml model) or points outside
        the folder.
    """
    import yaml

    root = Path(path)
    mlmodel = yaml.safe_load((root / MLMODEL).read_text(encoding="utf-8")) or {}
    artifacts = mlmodel.get("flavors", {}).get("python_function", {}).get("artifacts") or {}
    if "model" not in artifacts:
        raise ValueError(
            f"{root / MLMODEL}: not an slrt_ml model (no 'model' artifact in its "
            "python_function flavor); log it with slrt_ml.tracking or build it with `make model`"
        )
    model_dir = (root / str(artifacts["model"]["path"])).resolve()
    if not model_dir.is_relative_to(root.resolve()):
        raise ValueError(
            f"{root / MLMODEL}: the 'model' artifact path {artifacts['model']['path']!r} "
            "leaves the model folder; refusing to load it"
        )
    return model_dir


def load_model_folder(path: str | Path, *, trust_pickle: bool = False) -> PovertyModel:
    """The in-memory slrt_ml model of an MLflow model folder (no code from the folder runs)."""
    return load_model(model_artifact(path), trust_pickle=trust_pickle)
