"""A run folder in flat form: the params, tags, metrics and dataset schema a tracker records.

Pure functions of the manifest and the comparison table (no tracker is imported here):
:func:`flatten_params` turns the nested config into dotted string params,
:func:`run_tags` picks the reproducibility tags, :func:`oof_metrics` and
:func:`comparison_metrics` name every metric ``<system>.<metric>``, and
:func:`dataset_schema` gives the training data's columns without personal data.
:mod:`slrt_ml.tracking` sends them to MLflow.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from slrt_ml.data.privacy import drop_personal_columns, is_personal_column
from slrt_ml.data.records import canonical_records

__all__ = [
    "MAX_PARAM_LENGTH",
    "comparison_metrics",
    "dataset_schema",
    "flatten_params",
    "oof_metrics",
    "run_tags",
]

MAX_PARAM_LENGTH = 500  # MLflow's historical limit; longer values are cut with a marker


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


def run_tags(manifest: Mapping[str, Any]) -> dict[str, str]:
    """Reproducibility tags of a run: codebook version, seed, versions, data digest, size.

    >>> run_tags({"seed": 7, "codebook_version": "pbdt2015", "dataset": {"n_households": 9}})
    {'slrt.codebook_version': 'pbdt2015', 'slrt.seed': '7', 'slrt.n_households': '9'}
    """
    tags = {
        "slrt.codebook_version": manifest.get("codebook_version"),
        "slrt.seed": manifest.get("seed"),
        "slrt.package_version": manifest.get("package_version"),
        "slrt.data_digest": manifest.get("data_digest"),
        "slrt.git_commit": manifest.get("git_commit"),  # recorded by experiment at training
        "slrt.n_households": manifest.get("dataset", {}).get("n_households"),
    }
    return {k: str(v) for k, v in tags.items() if v is not None}


def oof_metrics(manifest: Mapping[str, Any]) -> dict[str, float]:
    """Out-of-fold metrics of every model as ``<model>.<metric>``.

    >>> oof_metrics({"oof_metrics": {"logit": {"roc_auc": 0.8}}})
    {'logit.roc_auc': 0.8}
    """
    return {
        f"{model}.{metric}": value
        for model, metrics in manifest.get("oof_metrics", {}).items()
        for metric, value in metrics.items()
    }


def comparison_metrics(comparison: pd.DataFrame) -> dict[str, float]:
    """Every row of ``comparison.csv`` as ``<system>.<metric>`` plus ``.ci_low``/``.ci_high``.

    Rows of a view other than the first (the default) are prefixed with it:
    ``population.<system>.<metric>``.

    >>> table = pd.DataFrame({"system": ["logit"], "metric": ["exclusion_error"],
    ...                       "estimate": [0.3], "ci_low": [0.2], "ci_high": [0.4]})
    >>> comparison_metrics(table)
    {'logit.exclusion_error': 0.3, 'logit.exclusion_error.ci_low': 0.2, 'logit.exclusion_error.ci_high': 0.4}
    """
    metrics: dict[str, float] = {}
    default = comparison["view"].iloc[0] if "view" in comparison and len(comparison) else None
    for row in comparison.itertuples(index=False):
        name = f"{row.system}.{row.metric}"
        view = getattr(row, "view", default)
        if isinstance(view, str) and view != default:
            name = f"{view}.{name}"
        metrics[name] = row.estimate
        metrics[f"{name}.ci_low"] = row.ci_low
        metrics[f"{name}.ci_high"] = row.ci_high
    return metrics


def dataset_schema(manifest: Mapping[str, Any], frame: pd.DataFrame | None) -> pd.DataFrame:
    """The training data to describe, without personal columns.

    ``frame`` itself when given; else an empty frame with the manifest's dataset columns
    (or its features) in the canonical household dtypes.
    """
    if frame is not None:
        return drop_personal_columns(frame)
    columns = manifest.get("dataset", {}).get("columns") or manifest.get("features", [])
    kept = [str(c) for c in columns if not is_personal_column(c)]
    empty = pd.DataFrame({c: pd.Series([], dtype="string") for c in kept})
    return canonical_records(empty, "household")
