"""Saving and loading fitted models: one folder per model, data only, written atomically.

A model folder is data, never code: loading it runs no code stored in it. It holds

- ``state.skops``: the model object without its networks and boosters, in skops' format.
  Loading it rebuilds only types on an explicit list (:data:`TRUSTED_TYPES`: the model
  classes, the encoder, scikit-learn's and interpret's estimators); anything else is
  refused before a single object is built.
- ``<attribute>.ubj``: each XGBoost booster, in XGBoost's own binary JSON format;
- ``<attribute>.keras``: each Keras network, loaded with ``safe_mode=True`` (no lambdas);
- ``model.json``: model name, class, package version, format and the sha256 of every
  file above. :func:`load_model` checks them (and, if given, the checksums the run
  manifest recorded, :func:`model_checksums`) before it reads anything.

Folders from before this format hold a pickle (``model.joblib``); unpickling can run
arbitrary code, so :func:`load_model` refuses them unless ``trust_pickle=True``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from slrt_ml import __version__
from slrt_ml.quiet import import_keras

from ._base import PovertyModel
from ._encoding import FeatureEncoder
from .factory import MODELS

__all__ = [
    "TRUSTED_TYPES",
    "UnsafeModelError",
    "load_model",
    "model_checksums",
    "save_model",
]

_INFO_FILE = "model.json"
_STATE_FILE = "state.skops"
_PICKLE_FILE = "model.joblib"
#: version of the folder layout; 1 = the old pickle (``model.joblib``)
FORMAT = 2
#: suffix of the file each kind of separately saved attribute goes to
_SUFFIX = {"xgboost": ".ubj", "keras": ".keras"}

#: Types skops may rebuild besides its own defaults (builtins, numpy, scikit-learn
#: estimators): ours and the two library types the families hold. Nothing else loads.
TRUSTED_TYPES: tuple[str, ...] = tuple(
    sorted(
        {f"{cls.__module__}.{cls.__qualname__}" for cls in (*MODELS.values(), FeatureEncoder)}
        | {
            "sklearn.tree._tree.Tree",
            "interpret.glassbox._ebm._ebm.ExplainableBoostingClassifier",
        }
    )
)


class UnsafeModelError(ValueError):
    """A model folder that cannot be loaded safely: a pickle, a changed file, a foreign type."""


def save_model(model: PovertyModel, folder: str | Path) -> Path:
    """Save a fitted model to ``folder`` (created; replaced if it holds a saved model).

    Writes ``state.skops``, one ``<attribute>.ubj`` per XGBoost booster, one
    ``<attribute>.keras`` per Keras network and ``model.json`` (with each file's sha256).
    The folder is written under a temporary name and renamed, so a crash leaves no
    half-saved model.

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
    import skops.io

    folder = Path(folder)
    staging = folder.with_name(f".{folder.name}.saving")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    apart = dict(getattr(model, "_saved_apart", {}))
    files = {}
    for attribute, kind in apart.items():
        files[attribute] = f"{attribute}{_SUFFIX[kind]}"
        _save_apart(getattr(model, attribute), kind, staging / files[attribute])
    skops.io.dump(_without(model, tuple(apart)), staging / _STATE_FILE)
    info = {
        "name": model.name,
        "class": _type_name(type(model)),
        "slrt_ml_version": __version__,
        "format": FORMAT,
        "state": _STATE_FILE,
        "saved_apart": {a: {"kind": k, "file": files[a]} for a, k in apart.items()},
        "sha256": {p.name: _sha256(p) for p in sorted(staging.iterdir())},
    }
    (staging / _INFO_FILE).write_text(json.dumps(info, indent=2))
    _replace_folder(staging, folder)
    return folder


def load_model(
    folder: str | Path,
    *,
    checksums: Mapping[str, str] | None = None,
    trust_pickle: bool = False,
) -> PovertyModel:
    """Load a model written by :func:`save_model`; scores are identical to the saved one.

    Parameters
    ----------
    folder : str or Path
        A folder written by :func:`save_model`.
    checksums : mapping, optional
        File name -> sha256 recorded elsewhere (the run manifest's ``model_sha256``);
        every listed file must match, ``model.json`` included.
    trust_pickle : bool, default False
        Load an old folder holding a pickle (``model.joblib``). Unpickling runs whatever
        code the file names: pass True only for a folder you or someone you trust wrote.

    Returns
    -------
    PovertyModel
        The fitted model, boosters and networks restored.

    Raises
    ------
    FileNotFoundError
        ``folder`` holds no ``model.json``.
    UnsafeModelError
        The folder holds a pickle and ``trust_pickle`` is False; a file's sha256 differs
        from the recorded one; or the state names a type outside :data:`TRUSTED_TYPES`.
    """
    folder = Path(folder)
    info_path = folder / _INFO_FILE
    if not info_path.is_file():
        raise FileNotFoundError(
            f"no saved model in {folder}: {_INFO_FILE} is missing; "
            "pass a folder written by slrt_ml.models.save_model (e.g. RUN/models/<name>)"
        )
    _check_files(folder, checksums or {}, "the run manifest")
    info = json.loads(info_path.read_text())
    if info.get("format", 1) < FORMAT:
        return _load_pickle(folder, info, trust_pickle)
    _check_files(folder, info.get("sha256", {}), _INFO_FILE)
    model = _load_state(folder / info["state"])
    for attribute, saved in info.get("saved_apart", {}).items():
        setattr(model, attribute, _load_apart(saved["kind"], folder / saved["file"]))
    return model


def model_checksums(folder: str | Path) -> dict[str, str]:
    """File name -> sha256 of every file of a saved model folder, ``model.json`` included.

    The training run records these in its manifest, so :func:`load_model` can tell a
    model folder changed after training.
    """
    return {p.name: _sha256(p) for p in sorted(Path(folder).iterdir()) if p.is_file()}


# -- the parts ---------------------------------------------------------------------------------


def _save_apart(value: Any, kind: str, path: Path) -> None:
    if kind == "xgboost":
        value.save_model(path)
    elif kind == "keras":
        value.save(path)
    else:  # a family declared a kind this module does not know: a programming error
        raise TypeError(f"cannot save attribute of kind {kind!r}; known: {sorted(_SUFFIX)}")


def _load_apart(kind: str, path: Path) -> Any:
    if kind == "xgboost":
        from xgboost import XGBClassifier

        booster = XGBClassifier()
        booster.load_model(path)
        return booster
    if kind == "keras":
        keras = import_keras()  # quietly: see slrt_ml.quiet

        return keras.saving.load_model(path, safe_mode=True)
    raise UnsafeModelError(f"{path}: unknown saved kind {kind!r}; known: {sorted(_SUFFIX)}")


def _load_state(path: Path) -> PovertyModel:
    import skops.io

    untrusted = sorted(set(skops.io.get_untrusted_types(file=path)) - set(TRUSTED_TYPES))
    if untrusted:
        raise UnsafeModelError(
            f"{path} names types that are not on slrt_ml's trusted list: {untrusted[:10]}; "
            "a model folder written by slrt_ml.models.save_model holds none. Retrain with "
            "`slrt-ml train` rather than loading this folder."
        )
    model = skops.io.load(path, trusted=list(TRUSTED_TYPES))
    if not isinstance(model, PovertyModel):
        raise UnsafeModelError(f"{path} holds a {type(model).__name__}, not an slrt_ml model")
    return model


def _load_pickle(folder: Path, info: Mapping[str, Any], trust_pickle: bool) -> PovertyModel:
    if not trust_pickle:
        version = info.get("slrt_ml_version", "(unknown version)")
        raise UnsafeModelError(
            f"{folder} holds a pickled model ({_PICKLE_FILE}, old format, slrt_ml {version}); "
            "loading a pickle can run any code it contains, so it is refused. Retrain with "
            "`slrt-ml train` to save the model as data, or, only if you trust whoever wrote "
            "this folder, pass --trust-pickle (load_model(..., trust_pickle=True))."
        )
    import joblib

    model = joblib.load(folder / _PICKLE_FILE)
    for file_name in info.get("keras_files", []):
        keras = import_keras()  # quietly: see slrt_ml.quiet

        network = keras.saving.load_model(folder / file_name, safe_mode=True)
        setattr(model, file_name.removesuffix(".keras"), network)
    return model


# -- helpers ------------------------------------------------------------------------------


def _check_files(folder: Path, expected: Mapping[str, str], where: str) -> None:
    for name, digest in expected.items():
        path = folder / name
        if not path.is_file():
            raise UnsafeModelError(f"{path}: listed in {where} but missing; retrain the model")
        actual = _sha256(path)
        if actual != digest:
            raise UnsafeModelError(
                f"{path}: sha256 {actual[:16]}... differs from {digest[:16]}... recorded in "
                f"{where}; the file changed after training. Retrain with `slrt-ml train` "
                "or restore the original run folder."
            )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _type_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _without(model: PovertyModel, attributes: tuple[str, ...]) -> PovertyModel:
    """A shallow copy of ``model`` without the attributes saved apart."""
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
