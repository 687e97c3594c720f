"""Poverty models: baselines and a Keras network behind one scikit-learn style interface.

Every model fits on the ``features.household_features`` frame and a 0/1 poor label, and
offers ``predict_proba`` (n, 2), ``predict``, ``decision_function`` (its margin:
log-odds, or minus the prediction for the OLS proxy-means test) and ``poverty_score``
(higher = poorer). ``encoder_`` is the fitted :class:`FeatureEncoder`; its ``sources_``
maps encoded columns back to feature columns. ``pmt_ols``, ``logit``, ``gbm`` and ``ebm``
also give exact per-household contributions (``model.contributions(X)``).

>>> sorted(MODEL_NAMES)
['ebm', 'gbm', 'logit', 'mlp', 'pmt_ols', 'rf']
>>> make_model("gbm", {"max_depth": 3}).max_depth
3
>>> make_model("gbm", {"depth": 3})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: model 'gbm' has no parameter 'depth' (did you mean 'max_depth'?); ...
"""

from __future__ import annotations

import difflib
import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._base import PovertyModel
from ._encoding import FeatureEncoder
from .ebm import ExplainableBoostingModel
from .linear import PMTOLS, LogitModel
from .mlp import MLPModel
from .trees import GradientBoostingModel, RandomForestModel

__all__ = [
    "MODEL_NAMES",
    "MODELS",
    "FeatureEncoder",
    "PovertyModel",
    "PMTOLS",
    "LogitModel",
    "GradientBoostingModel",
    "RandomForestModel",
    "ExplainableBoostingModel",
    "MLPModel",
    "make_model",
    "save_model",
    "load_model",
]

MODELS: dict[str, type[PovertyModel]] = {
    cls.name: cls
    for cls in (
        PMTOLS,
        LogitModel,
        GradientBoostingModel,
        RandomForestModel,
        ExplainableBoostingModel,
        MLPModel,
    )
}
MODEL_NAMES: tuple[str, ...] = tuple(MODELS)

_MODEL_FILE = "model.joblib"
_INFO_FILE = "model.json"


def make_model(name: str, params: Mapping[str, Any] | None = None) -> PovertyModel:
    """A new, unfitted model by name, with parameters (e.g. from a YAML config) set.

    Unknown names and unknown parameter keys raise ``ValueError`` naming them and the
    valid choices.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(MODEL_NAMES)}")
    model = MODELS[name]()
    valid = model.get_params(deep=False)
    for key in params or {}:
        if key not in valid:
            raise ValueError(_unknown_param_message(name, key, sorted(valid)))
    return model.set_params(**dict(params or {}))


def _unknown_param_message(name: str, key: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"model {name!r} has no parameter {key!r}{hint}; its parameters: {', '.join(valid)}"


def save_model(model: PovertyModel, folder: str | Path) -> Path:
    """Save a fitted model to ``folder`` (created; replaced if it holds a saved model).

    Writes ``model.joblib`` (the scikit-learn side), one ``<attribute>.keras`` file per
    Keras network (never pickled) and ``model.json`` (model name, class, package
    version). The folder is written under a temporary name and renamed, so a crash leaves
    no half-saved model.
    """
    import joblib

    from slrt_ml import __version__

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
    """Load a model written by :func:`save_model`; scores are identical to the saved one."""
    import joblib

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
