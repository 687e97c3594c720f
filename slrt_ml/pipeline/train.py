"""``slrt-ml train``: grouped cross-validation and final fit of every model into a run folder.

registry (or mapped table) -> :class:`~slrt_ml.targeting.frame.TargetingData` -> grouped
out-of-fold scores and final models (:mod:`slrt_ml.models.cv`) -> ranking summary ->
run folder (models, ``oof_scores.parquet``, feature profile, manifest). Comparing the run
with the reference system is :mod:`slrt_ml.pipeline.compare`.
"""

from __future__ import annotations

import json
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from slrt_ml import __version__
from slrt_ml.config import Config, config_to_dict, load_config
from slrt_ml.data.io import write_table
from slrt_ml.data.mapped_table import read_mapped_table
from slrt_ml.data.mapping import load_mapping, mapping_digest
from slrt_ml.data.registry import load_registry
from slrt_ml.evaluation.compare import pr_auc, roc_auc, spearman_welfare
from slrt_ml.features.drift import feature_profile
from slrt_ml.models import PovertyModel, model_checksums, save_model
from slrt_ml.models.cv import fit_final, grouped_folds, out_of_fold_scores, training_sample
from slrt_ml.models.reference import fitted_reference_scores
from slrt_ml.pipeline.calibration import CALIBRATION_FILE, write_calibration
from slrt_ml.pipeline.mapped_records import example_rows, save_mapped_examples
from slrt_ml.pipeline.policy import write_conformal
from slrt_ml.pipeline.progress import progress as show_progress
from slrt_ml.pipeline.run_folder import RunFolder, write_json
from slrt_ml.targeting.frame import TargetingData, registry_targeting_data
from slrt_ml.targeting.mapped import mapped_targeting_data

__all__ = [
    "TrainingResult",
    "ranking_summary",
    "train",
    "run_training",
    "load_targeting_data",
    "load_mapped_data",
    "resolved_params",
]


def ranking_summary(data: TargetingData, scores: pd.DataFrame) -> pd.DataFrame:
    """Out-of-fold ranking quality per system (and the reference system's own ranking).

    Parameters
    ----------
    data : TargetingData
        Supplies ``poor``, ``welfare`` and the reference system's score.
    scores : DataFrame
        ``IDBDT`` and one out-of-fold score column per model, in ``data.frame`` order.

    Returns
    -------
    DataFrame
        One row per system: ``roc_auc``, ``pr_auc`` and, when welfare is known,
        ``spearman_welfare``.
    """
    frame = data.frame
    rows = []
    systems = {f"{data.reference} (own ranking)": frame[f"{data.reference}_score"].to_numpy()}
    systems |= {c: scores[c].to_numpy() for c in scores.columns if c != "IDBDT"}
    for system, score in systems.items():
        row = {"system": system, "roc_auc": roc_auc(frame["poor"], score),
               "pr_auc": pr_auc(frame["poor"], score)}  # fmt: skip
        if not frame["welfare"].isna().all():
            row["spearman_welfare"] = spearman_welfare(frame["welfare"], score)
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass
class TrainingResult:
    """What :func:`train` wrote and fitted."""

    run_dir: Path
    oof_scores: pd.DataFrame
    summary: pd.DataFrame
    models: dict[str, PovertyModel]
    manifest: dict[str, Any]
    notes: list[str] = field(default_factory=list)  # for the console: sample, missing values


def _train_models(
    data: TargetingData, config: Config, progress: bool
) -> tuple[pd.DataFrame, dict[str, PovertyModel]]:
    folds = grouped_folds(data.groups, config.cv.folds, config.seed, shuffle=config.cv.shuffle)
    oof = pd.DataFrame({"IDBDT": data.frame["IDBDT"].to_numpy()})
    fitted = {}
    with show_progress(progress) as bar:
        for name in config.models:
            task = bar.add_task(f"{name:8s} folds + final fit", total=len(folds) + 1)
            fitted[name] = fit_final(name, data, config)
            bar.advance(task)
            oof[name] = out_of_fold_scores(name, data, folds, config,
                                           lambda t=task: bar.advance(t), final=fitted[name])  # fmt: skip
    return oof, fitted


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
            cwd=Path(__file__).resolve().parent,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


#: how the models fill missing feature values (``models._encoding.FeatureEncoder``)
MISSING_FILL = (
    "numeric/binary: the training fold's median for pmt_ols, logit and mlp; kept missing for "
    "gbm, rf and ebm (routed natively); categorical: their own level '__missing__'"
)


def training_block(data: TargetingData, config: Config) -> dict[str, Any]:
    """The manifest's ``training_sample``: who trained, with which weights, who was scored how.

    >>> from slrt_ml.config import Config
    >>> frame = pd.DataFrame({"poor": [1, 0, 1], "labelled": [1, 1, 0],
    ...                       "survey_weight": [2.0, 3.0, 0.0]})
    >>> data = TargetingData(pd.DataFrame(index=range(3)), frame, None, "t", None, True,
    ...                      extra={"survey_weight_column": "truth.survey_weight"})
    >>> block = training_block(data, Config())
    >>> block["labelled"], block["trained_on"], block["survey_weights_used"]
    (2, 2, True)
    """
    rows, _ = training_sample(data, config)
    labelled = data.labelled
    column = data.extra.get("survey_weight_column")
    return {
        "rule": config.train.sample,
        "households": len(data.frame),
        "labelled": int(labelled.sum()),
        "trained_on": int(rows.sum()),
        "survey_weight_column": column,
        "survey_weights_used": config.train.sample == "labelled" and column is not None,
        "scores": "grouped out-of-fold scores for the training sample; households outside it "
        f"({int((~rows).sum())}) never were in training and are scored by the final model "
        "fitted on the whole sample",
    }


def _notes(manifest: dict[str, Any]) -> list[str]:
    block = manifest["training_sample"]
    notes = [
        f"trained on {block['trained_on']:,} of {block['households']:,} households "
        f"({block['labelled']:,} labelled; rule train.sample={block['rule']}); survey weights "
        f"{'used: ' + str(block['survey_weight_column']) if block['survey_weights_used'] else 'not used'}"
    ]
    missing = manifest["dataset"].get("feature_missing") or {}
    if missing:
        shown = ", ".join(f"{c}: {n:,}" for c, n in list(missing.items())[:10])
        notes.append(f"missing feature values ({shown}) filled by the models: {MISSING_FILL}")
    return notes


def _manifest(data: TargetingData, config: Config, summary: pd.DataFrame) -> dict[str, Any]:
    oof_metrics = {
        row["system"]: {k: float(v) for k, v in row.items() if k != "system" and pd.notna(v)}
        for row in summary.to_dict("records")
    }
    return {
        "package_version": __version__,
        "created_with": {"python": platform.python_version(), "machine": platform.machine()},
        "git_commit": _git_commit(),
        "config": config_to_dict(config),
        "seed": config.seed,
        "data_digest": data.digest,
        "codebook_version": data.codebook_version,
        "synthetic": data.synthetic,
        "reference_system": data.reference,
        "features": list(map(str, data.features.columns)),
        "models": list(config.models),
        "oof_metrics": oof_metrics,
        "training_sample": training_block(data, config),
        "dataset": {
            "name": data.name,
            "digest": data.digest,
            "n_households": len(data.frame),
            "columns": list(map(str, data.features.columns)),
            # mapping mode: which YAML and table the run was trained on
            **{k: data.extra[k] for k in ("mapping", "mapping_digest", "table") if k in data.extra},
            "feature_missing": data.extra.get("feature_missing")
            or {str(c): int(n) for c, n in data.features.isna().sum().items() if n > 0},
            "missing_fill": MISSING_FILL,
        },
    }


def resolved_params(model: PovertyModel) -> dict[str, Any]:
    """The model's own parameters after defaults (``get_params``), as JSON-safe values.

    >>> from slrt_ml.models import make_model
    >>> resolved_params(make_model("pmt_ols", {"alpha": 0.5}))["alpha"]
    0.5
    """
    params = model.get_params(deep=False)
    return json.loads(json.dumps(params, default=str, sort_keys=True))


def _save_run(run: RunFolder, data: TargetingData, oof: pd.DataFrame,
              fitted: dict[str, PovertyModel], manifest: dict[str, Any]) -> None:  # fmt: skip
    run.root.mkdir(parents=True, exist_ok=True)
    # the parameters each model really used (config values plus defaults), for tracking
    manifest["model_params"] = {name: resolved_params(model) for name, model in fitted.items()}
    for name, model in fitted.items():  # checksums let `score` tell a changed model folder
        manifest.setdefault("model_sha256", {})[name] = model_checksums(
            save_model(model, run.model_dir(name))
        )
    write_table(oof, run.oof_scores)
    write_calibration(run.root / CALIBRATION_FILE, oof, data.poor)  # probabilities at scoring
    write_json(feature_profile(data.features), run.root / "feature_profile.json")
    if data.extra.get("areas") is not None:  # area features (urban/rural) need it at scoring
        write_table(data.extra["areas"], run.root / "areas.parquet")
    if data.example_records is not None:
        write_table(data.example_records[0], run.root / "example_households.parquet")
        write_table(data.example_records[1], run.root / "example_members.parquet")
    if data.extra.get("example_rows") is not None:  # mapped table: what its pyfunc scores
        save_mapped_examples(run, data.extra["mapping"], data.extra["example_rows"])
    write_json(manifest, run.manifest)


def train(data: TargetingData, out: str | Path, config: Config | None = None,
          *, progress: bool = True) -> TrainingResult:  # fmt: skip
    """Grouped CV + final fit of every configured model; writes the run folder ``out``.

    Parameters
    ----------
    data : TargetingData
        Features, labels and groups (:func:`load_targeting_data`, :func:`load_mapped_data`).
    out : str or Path
        The run folder to write (created when missing).
    config : Config, optional
        Models, their parameters, folds and seed; the packaged default when omitted.
    progress : bool
        Show a progress bar per model.

    Returns
    -------
    TrainingResult
        The run folder, out-of-fold scores, ranking summary, fitted models and manifest.
    """
    config = config or load_config()
    oof, fitted = _train_models(data, config, progress)
    summary = ranking_summary(data, oof)
    manifest = _manifest(data, config, summary)
    run = RunFolder(out)
    _save_run(run, data, oof, fitted, manifest)
    write_conformal(run.root, data)  # conformal.json: what `score --conformal` reads
    return TrainingResult(run.root, oof, summary, fitted, manifest, _notes(manifest))


def load_targeting_data(data_dir: str | Path, config: Config | None = None) -> TargetingData:
    """Read and validate a registry folder, then build its :class:`TargetingData`.

    Raises
    ------
    slrt_ml.data.schema.SchemaError
        When a table of the registry is invalid (every problem at once).
    """
    config = config or load_config()
    registry = load_registry(data_dir)
    return registry_targeting_data(registry, elderly_age=config.features.elderly_age)


def run_training(data_dir: str | Path, out: str | Path, config: Config | None = None,
                 *, progress: bool = True) -> TrainingResult:  # fmt: skip
    """``slrt-ml train``: validate the registry, build features, fit every model."""
    return train(load_targeting_data(data_dir, config), out, config, progress=progress)


def load_mapped_data(table_path: str | Path | None, mapping_path: str | Path) -> TargetingData:
    """Any household table through its dataset mapping (``slrt-ml train --mapping``).

    ``table_path`` (CSV, Parquet or Excel) defaults to the mapping's own ``table``. The
    mapping's path and content digest go to ``extra`` and from there to the run manifest.
    """
    mapping = load_mapping(mapping_path)
    table = read_mapped_table(mapping, table_path)
    data = mapped_targeting_data(table, mapping, fit_reference=fitted_reference_scores)
    data.extra |= {"mapping_digest": mapping_digest(mapping),
                   "table": str(table_path or mapping.table)}  # fmt: skip
    data.extra["example_rows"] = example_rows(table, mapping)  # for the logged pyfunc model
    return data
