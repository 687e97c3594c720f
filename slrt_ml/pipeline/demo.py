"""The main job, end to end, on the embedded synthetic registry (``slrt-ml demo``).

generate -> validate -> train (grouped CV, six models) -> compare with SIKS-NG at its quota
(with intervals) -> MLflow (training, comparison, registered champion) -> explain ->
score the prelist -> one summary. Every number it prints comes from synthetic data.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from slrt_ml import tracking
from slrt_ml.config import Config, load_config
from slrt_ml.data.io import write_table
from slrt_ml.data.synth.generator import generate_registry
from slrt_ml.evaluation.compare import Comparison
from slrt_ml.explain.api import explain_households
from slrt_ml.models import load_model
from slrt_ml.pipeline.compare import compare_and_write, rewrite_report
from slrt_ml.pipeline.run_folder import RunFolder
from slrt_ml.pipeline.score import load_scoring_models, score_prelist
from slrt_ml.pipeline.train import load_targeting_data, train
from slrt_ml.preflight import check_output_folder, check_tracking_uri
from slrt_ml.targeting.frame import TargetingData

__all__ = ["DemoResult", "run_demo", "DEMO_HOUSEHOLDS"]

DEMO_HOUSEHOLDS = 20_000
DEMO_SEED = 2024


@dataclass
class DemoResult:
    """Paths and headline numbers of one demo run."""

    out: Path
    data_dir: Path
    run_dir: Path
    report: Path
    scored: Path
    explanations: Path
    summary: pd.DataFrame  # one row per system: errors at SIKS-NG's quota with intervals
    scoring: dict[str, Any]
    champion: str
    quota: int  # households every system selects: as many as SIKS-NG did
    tracking_uri: str | None
    registered_as: str | None  # the registered model name (alias "champion"), when tracked
    mlflow_runs: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def headline_table(comparison: Comparison) -> pd.DataFrame:
    """Exclusion and inclusion error with 95% intervals, one row per system.

    Returns
    -------
    DataFrame
        ``system``, ``exclusion_error``, ``inclusion_error`` and their ``*_ci`` as text.
    """
    table = comparison.table
    rows = []
    for system in comparison.systems:
        row: dict[str, Any] = {"system": system}
        for metric in ("exclusion_error", "inclusion_error"):
            hit = table[(table["system"] == system) & (table["metric"] == metric)].iloc[0]
            row[metric] = float(hit["estimate"])
            row[f"{metric}_ci"] = f"[{hit['ci_low']:.3f}, {hit['ci_high']:.3f}]"
        rows.append(row)
    return pd.DataFrame(rows)


class _Clock:
    def __init__(self) -> None:
        self._now = time.perf_counter
        self.timings: dict[str, float] = {}

    def lap(self, name: str, started: float) -> None:
        self.timings[name] = round(self._now() - started, 1)

    def start(self) -> float:
        return self._now()


def _champion_list(run: RunFolder, champion: str) -> pd.Series:
    """IDBDT -> whether the champion listed the household, in the comparison's default view
    (``selections.parquet``: the survey sample when the registry has one)."""
    lists = pd.read_parquet(run.selections, columns=["IDBDT", "system", "selected"])
    chosen = lists[lists["system"] == champion]
    return pd.Series(chosen["selected"].to_numpy(bool), index=chosen["IDBDT"].astype("string"))


def _explain_sample(run: RunFolder, data: TargetingData, champion: str, n: int = 200) -> Path:
    """Exact explanations of ``n`` households the comparison measured, reasons pointing the
    way of the champion's decision (toward poorer if listed, toward richer if not)."""
    model = load_model(run.model_dir(champion))
    listed = _champion_list(run, champion)
    ids = data.features.index.astype("string")
    sample = data.features[ids.isin(listed.index)].head(n)
    selected = listed.reindex(sample.index.astype("string")).to_numpy(bool)
    explanation = explain_households(model, sample, model_name=champion, selected=selected)
    return write_table(explanation.table, run.explanations)


def run_demo(
    out: str | Path = "demo_output",
    *,
    households: int = DEMO_HOUSEHOLDS,
    seed: int = DEMO_SEED,
    config: Config | None = None,
    tracking_uri: str | None = None,
    track: bool = True,
    progress: bool = True,
    lang: str = "en",
) -> DemoResult:
    """Run the whole job into ``out`` (registry, run folder, scored prelist).

    Parameters
    ----------
    out : str or Path
        Folder for ``registry/``, ``run/`` and ``prelist_scored.csv``.
    households, seed : int
        Size and seed of the synthetic registry (the seed also seeds training).
    config : Config, optional
        Models and settings; the packaged default when omitted.
    tracking_uri : str, optional
        MLflow tracking URI (default: a local store, see :mod:`slrt_ml.tracking`).
    track : bool
        Log training, comparison and scoring to MLflow.
    progress : bool
        Show progress bars.
    lang : {"en", "id"}
        Language of the report.

    Returns
    -------
    DemoResult
        Paths, headline numbers, the champion and timings.

    Raises
    ------
    slrt_ml.preflight.PreflightError
        Before any work, when ``out`` cannot be written or the tracking URI is unusable.
    """
    config = dataclasses.replace(config or load_config(), seed=seed)
    out = Path(out)
    check_output_folder(out)  # a wrong folder or tracking URI fails now, not after training
    if track:
        check_tracking_uri(tracking.resolve_tracking_uri(tracking_uri))
    data_dir, run_dir = out / "registry", out / "run"
    clock = _Clock()

    t = clock.start()
    generate_registry(data_dir, households=households, seed=seed)
    clock.lap("synth", t)

    t = clock.start()
    data = load_targeting_data(data_dir, config)  # validates every table
    clock.lap("validate_and_features", t)

    t = clock.start()
    train(data, run_dir, config, progress=progress)
    clock.lap("train", t)

    t = clock.start()
    paths, comparison = compare_and_write(
        run_dir,
        data,
        quota=config.compare.quota,
        by=config.compare.by,
        bootstrap=config.compare.bootstrap,
        seed=config.seed,
        weight=config.compare.weight,
        explain=False,  # the report is written again below, with explanations and the prelist
    )
    clock.lap("compare", t)

    runs: dict[str, str] = {}
    if track:
        t = clock.start()
        runs["train"] = tracking.log_training(
            run_dir, tracking_uri=tracking_uri, experiment=config.tracking.experiment
        )
        runs["compare"] = tracking.log_comparison(
            run_dir, tracking_uri=tracking_uri, register_as=config.tracking.registered_model_name
        )
        clock.lap("mlflow", t)

    models, profile, model_uri = load_scoring_models(run_dir)
    champion = next(iter(models))

    t = clock.start()
    explanations = _explain_sample(RunFolder(run_dir), data, champion)
    clock.lap("explain", t)

    t = clock.start()
    scored = score_prelist(
        data_dir,
        models,
        out / "prelist_scored.csv",
        explain=True,
        top_k=config.scoring.top_k,
        quota=config.scoring.quota_share or 0.2,
        profile=profile,
        progress=progress,
    )
    clock.lap("score", t)
    t = clock.start()
    paths |= rewrite_report(run_dir, data, comparison, lang=lang, scored=scored.output)
    clock.lap("report", t)
    if track:
        runs["score"] = tracking.log_scoring(
            scored.summary(),
            scored.output,
            tracking_uri=tracking_uri,
            model_uri=model_uri,
            experiment=config.tracking.experiment,
        )

    return DemoResult(
        out=out,
        data_dir=data_dir,
        run_dir=run_dir,
        report=paths["report"],
        scored=scored.output,
        explanations=explanations,
        summary=headline_table(comparison),
        scoring=scored.summary(),
        champion=champion,
        quota=int(np.asarray(comparison.quota).sum()),
        registered_as=config.tracking.registered_model_name if track else None,
        tracking_uri=tracking.resolve_tracking_uri(tracking_uri) if track else None,
        mlflow_runs=runs,
        timings=clock.timings,
    )
