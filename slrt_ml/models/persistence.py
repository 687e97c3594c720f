"""Saving and loading fitted models: one folder per model, written atomically.

A folder holds ``model.joblib`` (the scikit-learn side, pickled by joblib), one
``<attribute>.keras`` file per Keras network (never pickled) and ``model.json`` (model
name, class, package version, Keras files).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import joblib

from slrt_ml import __version__

from ._base import PovertyModel

__all__ = ["load_model", "save_model"]

_MODEL_FILE = "model.joblib"
_INFO_FILE = "model.json"


def save_model(model: PovertyModel, folder: str | Path) -> Path:
    """Save a fitted model to ``folder`` (created; replaced if it holds a saved model).

    Writes ``model.joblib`` (the scikit-learn side), one ``<attribute>.keras`` file per
    Keras network (never pickled) and ``model.json`` (model name, class, package
    version). The folder is written under a temporary name and renamed, so a crash leaves
    no half-saved model.

    Parameters
    ----------
    model : PovertyModel
        A fitted model.
    folder : str or Path
        The model's folder (e.g. ``RUN/models/<name>``).

    Returns
    -------
    Path
        ``folder``.

    Raises
    ------
    FileExistsError
        ``folder`` exists, is not empty and holds no saved model.
    """
    folder = Path(folder)
    staging = folder.with_name(f".{folder.name}.saving")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    keras_attributes = getattr(model, "_keras_attributes", ())
    for attribute in keras_attributes:
        getattr(model, attribute).save(staging / f"{attribute}.keras")
    joblib.dump(_without(model, keras_attributes), staging / _MODEL_FILE)
    info = {
        "name": model.name,
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "slrt_ml_version": __version__,
        "keras_files": [f"{a}.keras" for a in keras_attributes],
    }
    (staging / _INFO_FILE).write_text(json.dumps(info, indent=2))
    _replace_folder(staging, folder)
    return folder


def load_model(folder: str | Path) -> PovertyModel:
    """Load a model written by :func:`save_model`; scores are identical to the saved one.

    Parameters
    ----------
    folder : str or Path
        A folder written by :func:`save_model`.

    Returns
    -------
    PovertyModel
        The fitted model, Keras networks restored.

    Raises
    ------
    FileNotFoundError
        ``folder`` holds no ``model.json``.
    """
    folder = Path(folder)
    info_path = folder / _INFO_FILE
    if not info_path.is_file():
        raise FileNotFoundError(
            f"no saved model in {folder}: {_INFO_FILE} is missing; "
            "pass a folder written by slrt_ml.models.save_model (e.g. RUN/models/<name>)"
        )
    info = json.loads(info_path.read_text())
    model = joblib.load(folder / _MODEL_FILE)
    for file_name in info.get("keras_files", []):
        import keras

        setattr(
            model, file_name.removesuffix(".keras"), keras.saving.load_model(folder / file_name)
        )
    return model


def _without(model: PovertyModel, attributes: tuple[str, ...]) -> PovertyModel:
    """A shallow copy of ``model`` without the given (Keras) attributes, for pickling."""
    state = {k: v for k, v in model.__dict__.items() if k not in attributes}
    copy = type(model).__new__(type(model))
    copy.__dict__.update(state)
    return copy


def _replace_folder(staging: Path, folder: Path) -> None:
    if folder.exists():
        if not (folder / _INFO_FILE).is_file() and any(folder.iterdir()):
            shutil.rmtree(staging)
            raise FileExistsError(
                f"{folder} exists and is not a saved model; choose an empty or new folder"
            )
        shutil.rmtree(folder)
    staging.rename(folder)
