"""Scoring raw registry records with a fitted model, as the logged MLflow model does.

:func:`score_records` rebuilds the household and member tables from registry records
(:mod:`slrt_ml.data.records`), computes the features and scores them. A run folder
written by ``slrt-ml train`` holds example records (``example_households.parquet``,
``example_members.parquet``) and, for models using area features (perkotaan), the
registry's areas table (``areas.parquet``); :func:`example_scores` scores the examples
with a saved model so the tracking stage logs only models that can score raw records.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from slrt_ml.data.records import records_to_tables, registry_records
from slrt_ml.features.households import household_features
from slrt_ml.models import PovertyModel, load_model
from slrt_ml.pipeline.run_folder import RunFolder

__all__ = [
    "AREAS_FILE",
    "EXAMPLE_HOUSEHOLDS",
    "EXAMPLE_MEMBERS",
    "areas_path",
    "example_records",
    "example_scores",
    "score_records",
]

# Optional in a run folder: the registry's areas table, so the logged model can rebuild
# area features (perkotaan) from raw records.
AREAS_FILE = "areas.parquet"
EXAMPLE_HOUSEHOLDS = "example_households.parquet"
EXAMPLE_MEMBERS = "example_members.parquet"


def areas_path(run: RunFolder) -> Path:
    """Where a run folder keeps the registry's areas table (``areas.parquet``)."""
    return run.root / AREAS_FILE


def score_records(
    model: PovertyModel, records: pd.DataFrame, areas: pd.DataFrame | None
) -> pd.DataFrame:
    """Features built from registry records, scored by an in-memory slrt_ml model.

    Parameters
    ----------
    model : PovertyModel
        A fitted model.
    records : DataFrame
        Registry records (:func:`slrt_ml.data.records.registry_records`).
    areas : DataFrame or None
        The registry's areas table, needed for area features.

    Returns
    -------
    DataFrame
        ``IDBDT, score`` in the order of ``records`` (higher = poorer).
    """
    households, members = records_to_tables(records)
    features = household_features(households, members, areas)
    scores = pd.Series(model.poverty_score(features), index=features.index.astype(str))
    ids = households["IDBDT"].astype(str)
    return pd.DataFrame(
        {"IDBDT": ids.astype(object), "score": scores.reindex(ids).to_numpy("float64")}
    )


def example_records(run: RunFolder) -> pd.DataFrame | None:
    """Example registry records of the run, or None (with a warning) for a run without them.

    Runs on a mapped table (mapping mode) have no example records, so no pyfunc model.
    """
    paths = [run.root / EXAMPLE_HOUSEHOLDS, run.root / EXAMPLE_MEMBERS]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        warnings.warn(
            f"{run.root}: no {missing}, so no registry-record (pyfunc) model is logged and "
            "none can be registered; PBDT runs of `slrt-ml train` write these files.",
            stacklevel=3,
        )
        return None
    return registry_records(pd.read_parquet(paths[0]), pd.read_parquet(paths[1]))


def example_scores(run: RunFolder, name: str, records: pd.DataFrame) -> pd.DataFrame:
    """Score the example records with the saved model ``name``, as the pyfunc model will.

    Raises
    ------
    FileNotFoundError
        When the model folder is missing.
    ValueError
        When the model cannot score the records, with a hint about ``areas.parquet``
        if the run folder has none.
    """
    model_dir = run.model_dir(name)
    if not model_dir.is_dir():
        raise FileNotFoundError(f"{model_dir}: model {name!r} is in the manifest but not saved")
    areas_file = areas_path(run)
    areas = pd.read_parquet(areas_file) if areas_file.is_file() else None
    try:
        return score_records(load_model(model_dir), records, areas)
    except (KeyError, ValueError) as error:
        hint = (
            ""
            if areas is not None
            else (
                f" If the model uses area features (perkotaan), save the registry's areas table "
                f"as {areas_file} so the logged model can rebuild them."
            )
        )
        raise ValueError(
            f"{model_dir}: cannot score the example registry records: {error}.{hint}"
        ) from error
