"""The Costa Rica real-data run: every model against a fitted PMT scorecard.

:func:`costa_rica_data` fetches and aggregates the public data
(:mod:`slrt_ml.data.datasets`) and applies its mapping; :func:`costa_rica_run` trains the
models with grouped cross-validation, compares them with the scorecard at equal coverage
and writes the run folder; :func:`comparison_summary` and :func:`summary_markdown` give the
one-table summary the CLI prints and the notebook shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from slrt_ml.config import Config, config_from_dict
from slrt_ml.data.datasets import (
    COSTA_RICA_MAPPING,
    costa_rica_households,
    read_costa_rica_members,
)
from slrt_ml.data.mapping import load_mapping
from slrt_ml.evaluation.compare import Comparison
from slrt_ml.models.reference import fitted_reference_scores
from slrt_ml.pipeline.compare import run_comparison, write_comparison
from slrt_ml.pipeline.run_folder import write_json
from slrt_ml.pipeline.train import train
from slrt_ml.targeting.frame import TargetingData
from slrt_ml.targeting.mapped import mapped_targeting_data

__all__ = [
    "COSTA_RICA_MODELS",
    "COSTA_RICA_MODEL_PARAMS",
    "comparison_summary",
    "costa_rica_config",
    "costa_rica_data",
    "costa_rica_run",
    "summary_markdown",
]

COSTA_RICA_MODELS = ("pmt_ols", "logit", "gbm", "ebm")
#: small settings for 2,988 households on 2 cores (the defaults are sized for registries)
COSTA_RICA_MODEL_PARAMS: dict[str, dict[str, Any]] = {
    "gbm": {"n_estimators": 200, "max_depth": 3},
    "rf": {"n_estimators": 200, "min_samples_leaf": 5},
    "ebm": {"interactions": 5, "outer_bags": 2, "max_rounds": 1000},
    "mlp": {"hidden": [64, 32], "epochs": 30, "batch_size": 256, "patience": 4},
}
COSTA_RICA_TITLE = "Costa Rica households: models and the PMT scorecard at equal coverage"
#: where the run folder keeps the data's provenance (sha256, headless households, reference)
COSTA_RICA_INFO = "costa_rica.json"
SUMMARY_METRICS = (
    "exclusion_error",
    "inclusion_error",
    "mistargeting",
    "targeting_differential",
    "roc_auc",
    "pr_auc",
)


def costa_rica_data(
    train_csv: str | Path | None = None,
    *,
    cache: str | Path | None = None,
    mapping: str | Path | None = None,
) -> tuple[TargetingData, dict[str, Any]]:
    """The Costa Rica data as :class:`~slrt_ml.targeting.frame.TargetingData`, and its info.

    Fetches (or reads ``train_csv``), aggregates to households, applies the mapping
    (default ``configs/datasets/costa_rica.yaml``) and fits the reference PMT scorecard.

    Parameters
    ----------
    train_csv
        The competition's ``train.csv``; default: the registry wheel (sha256 verified).
    cache
        The cache folder (default ``$SLRT_ML_CACHE`` or ``~/.cache/slrt_ml``).
    mapping
        A dataset mapping YAML instead of the shipped one.

    Returns
    -------
    (TargetingData, dict)
        The data (its ``extra["costa_rica"]`` is the info) and the info: source, sha256,
        people, households, headless households, mixed targets, poor households.
    """
    members, source = read_costa_rica_members(train_csv, cache=cache)
    households, info = costa_rica_households(members)
    spec = load_mapping(mapping or COSTA_RICA_MAPPING)
    data = mapped_targeting_data(households, spec, fit_reference=fitted_reference_scores)
    info = {**source, **info, "poor_households": int(data.frame["poor"].sum())}
    data.extra["costa_rica"] = info
    return data, info


def costa_rica_config(
    models: tuple[str, ...] | list[str] = COSTA_RICA_MODELS,
    *,
    folds: int = 5,
    seed: int = 2024,
    model_params: dict[str, dict] | None = None,
) -> Config:
    """Training settings for the Costa Rica run (grouped CV; households are the clusters)."""
    params = {**COSTA_RICA_MODEL_PARAMS, **(model_params or {})}
    return config_from_dict(
        {
            "seed": seed,
            "models": list(models),
            "cv": {"folds": folds},
            "model_params": {m: params.get(m, {}) for m in models},
            "tracking": {"enabled": False},
        }
    )


def _save_comparison(run_dir: Path, comparison: Comparison, info: dict[str, Any]) -> None:
    """The run folder's comparison files and reports (real data: no synthetic banner)."""
    write_comparison(run_dir, comparison, synthetic=False, title=COSTA_RICA_TITLE)  # + slices.csv
    write_json(info, run_dir / COSTA_RICA_INFO)


def costa_rica_run(
    out: str | Path,
    *,
    train_csv: str | Path | None = None,
    models: tuple[str, ...] | list[str] = COSTA_RICA_MODELS,
    bootstrap: int = 1000,
    folds: int = 5,
    seed: int = 2024,
    weight: str = "household",
    cache: str | Path | None = None,
    model_params: dict[str, dict] | None = None,
    progress: bool = False,
) -> Comparison:
    """Fetch, aggregate, train ``models`` with grouped CV, compare with the PMT scorecard.

    Every model selects as many households as the scorecard (the number of poor
    households) and is measured against the poor label with paired bootstrap intervals
    (``bootstrap`` replicates; households are the clusters). Writes the run folder ``out``
    (models, ``oof_scores.parquet``, ``comparison.csv``, ``selections.parquet``,
    ``report.md``, ``report.html``, ``slices.csv``, ``costa_rica.json``) and returns the
    :class:`~slrt_ml.evaluation.compare.Comparison`.
    """
    data, info = costa_rica_data(train_csv, cache=cache)
    config = costa_rica_config(models, folds=folds, seed=seed, model_params=model_params)
    train(data, out, config, progress=progress)
    comparison = run_comparison(
        out, data, quota="reference", bootstrap=bootstrap, seed=seed, weight=weight
    )
    reference = {k: v for k, v in data.extra.items() if k != "costa_rica"}
    _save_comparison(Path(out), comparison, {**info, "reference": reference})
    return comparison


def _cell(row: pd.Series) -> str:
    if pd.isna(row["ci_low"]):
        return f"{row['estimate']:.3f}"
    return f"{row['estimate']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]"


def comparison_summary(
    table: pd.DataFrame,
    reference: str = "pmt_scorecard",
    metrics: tuple[str, ...] = SUMMARY_METRICS,
) -> pd.DataFrame:
    """One row per system: each metric as ``estimate [ci_low, ci_high]``, and the
    exclusion-error difference from the reference (model minus reference) with its interval.

    >>> table = pd.DataFrame({"system": ["ref", "m", "m"],
    ...     "metric": ["exclusion_error", "exclusion_error", "exclusion_error_diff_vs_ref"],
    ...     "estimate": [0.5, 0.4, -0.1], "ci_low": [0.45, 0.35, -0.15],
    ...     "ci_high": [0.55, 0.45, -0.05]})
    >>> comparison_summary(table, "ref", ("exclusion_error",)).to_dict("records")[1]
    {'system': 'm', 'exclusion_error': '0.400 [0.350, 0.450]', 'exclusion_error_diff_vs_ref': '-0.100 [-0.150, -0.050]'}
    """
    wanted = [*metrics, f"exclusion_error_diff_vs_{reference}"]
    rows = table[table["metric"].isin(wanted)].assign(cell=lambda t: t.apply(_cell, axis=1))
    wide = rows.pivot(index="system", columns="metric", values="cell")
    order = list(dict.fromkeys(table["system"]))
    wide = wide.reindex(index=order, columns=[m for m in wanted if m in wide.columns])
    return wide.fillna("").reset_index().rename_axis(columns=None)


def summary_markdown(summary: pd.DataFrame) -> str:
    """A pipe table (GitHub markdown) of a small frame.

    >>> print(summary_markdown(pd.DataFrame({"system": ["logit"], "auc": ["0.81"]})))
    | system | auc |
    |---|---|
    | logit | 0.81 |
    """
    lines = [
        "| " + " | ".join(map(str, summary.columns)) + " |",
        "|" + "---|" * len(summary.columns),
    ]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in summary.itertuples(index=False)]
    return "\n".join(lines)
