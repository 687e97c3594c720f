"""Small conveniences for notebooks: the CLI's stages on tables held in memory.

The CLI reads a registry folder and writes a run folder. In a notebook it is often handier
to keep everything in memory: validate the tables :func:`slrt_ml.data.synth.generator.make_registry`
returned (or your own frames), build the :class:`~slrt_ml.targeting.frame.TargetingData`,
score households out of fold and compare them with SIKS-NG at equal coverage, without
touching disk. Every function here calls the same code as the CLI
(:mod:`slrt_ml.data.registry`, :mod:`slrt_ml.targeting.frame`, :mod:`slrt_ml.models.cv`,
:mod:`slrt_ml.evaluation.compare`).

>>> from slrt_ml.data.synth.generator import make_registry
>>> data = targeting_data(make_registry(households=300, seed=1))
>>> scores = cross_validated_scores(data, ["logit"], folds=3)
>>> list(scores.columns)
['IDBDT', 'logit']
>>> comparison = compare_scores(data, scores, bootstrap=20)
>>> comparison.systems
['siksng', 'logit']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from slrt_ml.config import config_from_dict
from slrt_ml.data.codebook import DEFAULT_VERSION
from slrt_ml.data.registry import Registry, load_registry, validate_tables
from slrt_ml.evaluation.compare import Comparison
from slrt_ml.evaluation.reference import compare_with_reference
from slrt_ml.evaluation.systems import available_views
from slrt_ml.models.cv import grouped_folds, out_of_fold_scores
from slrt_ml.targeting.frame import TargetingData, registry_targeting_data

__all__ = ["validate_registry", "targeting_data", "cross_validated_scores", "compare_scores"]

_REQUIRED_TABLES = ("households", "members")
_OPTIONAL_TABLES = ("areas", "siksng", "truth")


def validate_registry(tables: Mapping[str, Any], *, version: str = DEFAULT_VERSION) -> Registry:
    """Validate registry tables held in memory; returns an :class:`slrt_ml.data.registry.Registry`.

    ``tables`` maps table names (``households``, ``members`` and optionally ``areas``,
    ``siksng``, ``truth``; other keys such as ``prelist_*`` are ignored, ``metadata`` is
    kept) to DataFrames, e.g. the output of :func:`slrt_ml.data.synth.generator.make_registry`.

    Raises
    ------
    KeyError
        When ``households`` or ``members`` is missing.
    slrt_ml.data.schema.SchemaError
        Every problem of every table at once, as :func:`slrt_ml.data.registry.load_registry`
        raises for a folder.

    >>> import pandas as pd
    >>> validate_registry({"households": pd.DataFrame()})
    Traceback (most recent call last):
    ...
    KeyError: "validate_registry needs the tables 'households' and 'members'; got ['households'] (pass the dict make_registry returns, or your own frames under these names)"
    """
    missing = [name for name in _REQUIRED_TABLES if name not in tables]
    if missing:
        raise KeyError(
            "validate_registry needs the tables 'households' and 'members'; "
            f"got {sorted(map(str, tables))} (pass the dict make_registry returns, "
            "or your own frames under these names)"
        )
    present = {
        kind: tables[kind]
        for kind in _REQUIRED_TABLES + _OPTIONAL_TABLES
        if tables.get(kind) is not None
    }
    validated = validate_tables(present, version=version)
    return Registry(
        households=validated["households"], members=validated["members"],
        areas=validated.get("areas"), siksng=validated.get("siksng"),
        truth=validated.get("truth"), metadata=dict(tables.get("metadata") or {}),
        folder=Path("registry"),
    )  # fmt: skip


def targeting_data(source: str | Path | Registry | Mapping[str, Any], *,
                   elderly_age: int = 60) -> TargetingData:  # fmt: skip
    """The :class:`~slrt_ml.targeting.frame.TargetingData` of a registry, from wherever it is.

    ``source`` is a registry folder (read and validated by
    :func:`slrt_ml.data.registry.load_registry`), an already loaded
    :class:`slrt_ml.data.registry.Registry`, or a dict of tables (validated by
    :func:`validate_registry`). Training and comparison need ``siksng`` and ``truth``.

    Raises
    ------
    TypeError
        When ``source`` is none of these.
    """
    if isinstance(source, str | Path):
        registry = load_registry(source)
    elif isinstance(source, Registry):
        registry = source
    elif isinstance(source, Mapping):
        registry = validate_registry(source)
    else:
        raise TypeError(
            f"targeting_data takes a folder path, a Registry or a dict of tables, "
            f"not {type(source).__name__}"
        )
    return registry_targeting_data(registry, elderly_age=elderly_age)


def cross_validated_scores(
    data: TargetingData,
    models: Sequence[str] = ("logit",),
    *,
    folds: int = 5,
    seed: int = 2024,
    model_params: Mapping[str, Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """Out-of-fold poverty scores (higher = poorer): ``IDBDT`` + one column per model.

    Folds are grouped by desa (``data.groups``), exactly as ``slrt-ml train`` does, so
    every household is scored by a model that never saw its village. Nothing is written;
    use :func:`slrt_ml.pipeline.train.train` for a run folder with the fitted models.
    """
    config = config_from_dict({
        "seed": seed, "models": list(models), "cv": {"folds": folds},
        "model_params": {k: dict(v) for k, v in (model_params or {}).items()},
    })  # fmt: skip
    splits = grouped_folds(data.groups, folds, seed)
    scores = pd.DataFrame({"IDBDT": data.frame["IDBDT"].to_numpy()})
    for name in config.models:
        scores[name] = out_of_fold_scores(name, data, splits, config)
    return scores


def _score_columns(
    data: TargetingData, scores: pd.DataFrame | Mapping[str, Any]
) -> dict[str, np.ndarray]:
    if isinstance(scores, pd.DataFrame) and "IDBDT" in scores.columns:
        ids = data.frame["IDBDT"].astype("string").to_numpy()
        if not np.array_equal(scores["IDBDT"].astype("string").to_numpy(), ids):
            raise ValueError(
                "scores['IDBDT'] is not in the order of data.frame['IDBDT']; "
                "align them first (scores.set_index('IDBDT').loc[data.frame['IDBDT']])"
            )
        scores = scores.drop(columns="IDBDT")
    columns = {str(name): np.asarray(values, dtype=float) for name, values in scores.items()}
    for name, values in columns.items():
        if len(values) != len(data.frame):
            raise ValueError(
                f"score {name!r} has {len(values)} values but the data has "
                f"{len(data.frame)} households; pass one score per household, in data.frame order"
            )
    return columns


def compare_scores(
    data: TargetingData,
    scores: pd.DataFrame | Mapping[str, Any],
    *,
    quota: str | int | float = "siksng",
    by: str | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
    weight: str = "household",
    views: list[str] | None = None,
) -> Comparison:
    """Compare score columns with the reference system (SIKS-NG) at equal coverage.

    ``views``: default the survey view when the data has a survey sample (plus the
    population view on synthetic data), as ``slrt-ml compare``; ``["population"]`` for
    every household.

    ``scores``: a frame like :func:`cross_validated_scores` returns (``IDBDT`` in
    ``data.frame`` order + one column per system) or a dict name -> one score per
    household. Returns the evaluation's :class:`~slrt_ml.evaluation.compare.Comparison`, as
    ``slrt-ml compare`` computes it (paired bootstrap over desa).

    Raises
    ------
    ValueError
        When the scores are not one per household in ``data.frame`` order.
    """
    columns = _score_columns(data, scores)
    frame = data.frame.assign(**columns)
    comparison = compare_with_reference(
        frame, list(columns), reference=data.reference,
        extra_slices=data.extra.get("slices", ()), quota=quota, by=by,
        bootstrap=bootstrap, seed=seed, weight=weight,
        views=views if views is not None else available_views(frame, population=data.synthetic),
    )  # fmt: skip
    comparison.gap_decomposition = data.extra.get("gap_decomposition")
    return comparison
