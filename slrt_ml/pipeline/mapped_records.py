"""Scoring rows of a mapped household table with a fitted model, as the logged MLflow model does.

A run trained on a mapped table (``slrt-ml train --mapping``) keeps a copy of its dataset
mapping (``mapping.yaml``, read with ``yaml.safe_load``) and a few example rows of the
table (``example_rows.parquet``: the id and the mapped feature columns only). The logged
pyfunc model of such a run takes rows of the table as they are on disk and returns
``<id>, score``; :func:`score_rows` is what it runs, and :func:`example_scores` checks a
saved model can do it before anything is logged.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from slrt_ml.data.io import atomic_path, write_table
from slrt_ml.data.mapped_table import mapped_features
from slrt_ml.data.mapping import DatasetMapping, load_mapping
from slrt_ml.models import PovertyModel, load_model
from slrt_ml.pipeline.run_folder import RunFolder

__all__ = [
    "EXAMPLE_ROWS",
    "MAPPING_FILE",
    "example_rows",
    "example_scores",
    "run_examples",
    "save_mapped_examples",
    "score_rows",
]

MAPPING_FILE = "mapping.yaml"
EXAMPLE_ROWS = "example_rows.parquet"
N_EXAMPLES = 5


def example_rows(table: pd.DataFrame, mapping: DatasetMapping, n: int = N_EXAMPLES) -> pd.DataFrame:
    """The first ``n`` rows of a mapped table, id and feature columns only (no label, no weights).

    >>> from slrt_ml.data.mapping import mapping_from_dict
    >>> m = mapping_from_dict({"name": "t", "id": "hh", "label": "poor",
    ...     "features": {"numeric": ["rooms"]}, "reference": {"selected": "ref"}}, source="t.yaml")
    >>> example_rows(pd.DataFrame({"hh": ["a", "b"], "rooms": [1, 2], "poor": [0, 1],
    ...                            "ref": [0, 1]}), m, n=1)
      hh  rooms
    0  a      1
    """
    columns = list(dict.fromkeys([mapping.id, *mapping.features.columns]))
    return table[columns].head(n).reset_index(drop=True)


def save_mapped_examples(run: RunFolder, mapping_source: str | Path, rows: pd.DataFrame) -> None:
    """Copy the mapping YAML into the run folder and write the example rows beside it."""
    with atomic_path(run.root / MAPPING_FILE) as tmp:
        shutil.copyfile(mapping_source, tmp)
    write_table(rows, run.root / EXAMPLE_ROWS)


def score_rows(model: PovertyModel, rows: pd.DataFrame, mapping: DatasetMapping) -> pd.DataFrame:
    """``<id>, score`` (higher = poorer) for rows of a mapped table, in the order of ``rows``.

    Raises
    ------
    slrt_ml.data.mapping.MappingError
        A mapped column is missing or a value does not fit its kind (naming the column).
    """
    features = mapped_features(rows, mapping)
    scores = model.poverty_score(features)
    return pd.DataFrame(
        {mapping.id: features.index.astype(str).to_numpy(object), "score": scores.astype("float64")}
    )


def run_examples(run: RunFolder) -> tuple[pd.DataFrame, DatasetMapping] | None:
    """The run's example rows and mapping, or None when the run is not a mapped-table run."""
    mapping, rows = run.root / MAPPING_FILE, run.root / EXAMPLE_ROWS
    if not (mapping.is_file() and rows.is_file()):
        return None
    return pd.read_parquet(rows), load_mapping(mapping)


def example_scores(
    run: RunFolder, name: str, rows: pd.DataFrame, mapping: DatasetMapping
) -> pd.DataFrame:
    """Score the example rows with the saved model ``name``, as the pyfunc model will.

    Raises
    ------
    FileNotFoundError
        When the model folder is missing.
    ValueError
        When the model cannot score the rows (the message names the model folder).
    """
    model_dir = run.model_dir(name)
    if not model_dir.is_dir():
        raise FileNotFoundError(f"{model_dir}: model {name!r} is in the manifest but not saved")
    try:
        return score_rows(load_model(model_dir), rows, mapping)
    except (KeyError, ValueError) as error:
        raise ValueError(
            f"{model_dir}: cannot score the example rows of {run.root / EXAMPLE_ROWS} through "
            f"{run.root / MAPPING_FILE}: {error}"
        ) from error
