"""Scoring a mapped household table (bring your own table: ``slrt-ml score --mapping``).

Mapped tables are small, so the table is read and scored in memory, not streamed: rows
with a missing or repeated id, a missing cluster or an invalid feature value are
rejected, the rest are scored by the same code as the prelist
(:mod:`slrt_ml.pipeline.score_output`) and ranked, selected and prioritised
(:mod:`slrt_ml.targeting.priority`) by the run's selection rule: one national ranking,
unless per-area quotas were asked for (``by``, or a quota per cluster). A mapping whose
features differ from the models' is refused.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from slrt_ml.data.io import write_table
from slrt_ml.data.mapped_table import mapped_features, mapped_rejects, read_mapped_table
from slrt_ml.data.mapping import DatasetMapping, load_mapping
from slrt_ml.explain import mapped_location
from slrt_ml.features.drift import DriftAccumulator
from slrt_ml.pipeline.score_output import (
    NO_PROFILE_NOTE,
    ScoringResult,
    check_row_accounting,
    drift_notes,
    empty_scores,
    extra_score_columns,
    model_scores,
    output_frame,
    sibling_path,
)
from slrt_ml.pipeline.score_run import ScoreRun
from slrt_ml.targeting.priority import area_decisions

__all__ = ["FeatureMismatchError", "check_run_features", "score_table"]


class FeatureMismatchError(ValueError):
    """The mapping's feature columns are not the ones the run's models were trained on."""


def _area_column(mapping: DatasetMapping, by: str | None) -> str | None:
    """The column of the per-area quotas: ``KDDESA`` = the cluster, ``KDKEC``/``KDKAB`` =
    the mapped area (else the cluster); ``None`` = one national ranking."""
    if by is None:
        return None
    column = mapping.areas.get(by, mapping.cluster) if by != "KDDESA" else mapping.cluster
    return None if not column or column == mapping.id else column


def _mapped_areas(valid: pd.DataFrame, column: str | None) -> tuple[np.ndarray, list[str]]:
    """Area codes per household: the quota column's values, or one area (``"all"``) when
    there is none (a quota per household would select by rounding)."""
    if column is None:
        return np.zeros(len(valid), np.int64), ["all"]
    codes, names = pd.factorize(valid[column].astype("string").reset_index(drop=True))
    return codes.astype(np.int64), [str(n) for n in names]


def check_run_features(mapping: DatasetMapping, models: Mapping[str, Any]) -> None:
    """Refuse a mapping whose feature columns differ from those the models were fitted on.

    Raises
    ------
    FeatureMismatchError
        Naming the mapping, the model and the features missing on either side.
    """
    mapped = [str(c) for c in mapping.features.columns]
    for name, model in models.items():
        seen = getattr(model, "feature_names_in_", None)
        if seen is None:
            continue
        seen = [str(c) for c in seen]
        if sorted(seen) != sorted(mapped):
            missing = [c for c in seen if c not in mapped]
            unknown = [c for c in mapped if c not in seen]
            raise FeatureMismatchError(
                f"{mapping.source}: its features differ from those model {name!r} was trained "
                f"on; missing from the mapping: {missing}; not in the run: {unknown}. Score "
                "with the mapping the run was trained with (manifest.json: dataset.mapping)"
            )


def _table_drift(
    features: pd.DataFrame, profile: dict | None, path: Path
) -> tuple[Path | None, list[str]]:
    if not profile:
        return None, [NO_PROFILE_NOTE]
    drift = DriftAccumulator(profile)
    drift.add(features)
    report = drift.report()
    return write_table(report, path), drift_notes(report, unseen=False)


def _split_rejects(
    frame: pd.DataFrame, mapping: DatasetMapping
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(valid rows, rejects ``<id>, reason``) of the mapped table."""
    reasons = mapped_rejects(frame, mapping)
    ok = reasons.isna().to_numpy()
    rejects = pd.DataFrame({mapping.id: frame[mapping.id].astype("string").to_numpy()[~ok],
                            "reason": reasons[~ok].to_numpy()})  # fmt: skip
    return frame[ok].reset_index(drop=True), rejects


def score_table(
    table: str | Path | pd.DataFrame,
    mapping: DatasetMapping | str | Path,
    models: Mapping[str, Any],
    out: str | Path,
    *,
    explain: bool = False,
    top_k: int = 5,
    quota: Mapping[str, int] | float | None = None,
    profile: dict | None = None,
    by: str | None = None,
) -> ScoringResult:
    """Score a household table through its dataset mapping (``slrt-ml score --mapping``).

    Only the id, the cluster and the feature columns are needed (no label, no
    reference). Output columns: ``<id>, prob_poor, percentile_in_area, rank_in_area,
    selected, priority_in_area, reasons_toward, reason_1..k`` (+ ``score_<model>``,
    ``margin``; :func:`slrt_ml.pipeline.score_output.output_frame`), written atomically; rejects go to
    ``<out stem>.rejects.csv`` (``<id>, reason``), the drift report to
    ``<out stem>.drift.csv``.

    Parameters
    ----------
    table : str, Path or DataFrame
        A file (CSV/Parquet/xlsx) or a frame.
    mapping : DatasetMapping, str or Path
        The mapping or its YAML path.
    models : mapping
        Name -> fitted model; the first one scores and explains, the others vote for the
        verification priority.
    out : str or Path
        Output file.
    explain : bool
        Add the main model's exact top-``top_k`` reasons.
    top_k : int
        Reasons per household.
    quota : mapping, float or None
        A share, or cluster -> count (per-area quotas: ranks within each cluster).
    profile : dict, optional
        The training feature profile, for the drift report.
    by : {None, "KDDESA", "KDKEC", "KDKAB"}
        The run's selection rule (config ``compare.by``): ``None`` = one national ranking
        (a share of all households), else a share within each cluster (``KDDESA``) or
        mapped area. One area when that column is unmapped or is the household id.

    Returns
    -------
    ScoringResult

    Raises
    ------
    RowAccountingError
        When scored + rejected rows do not add up to the table's rows (a bug).
    FeatureMismatchError
        When the mapping's features differ from the models' (listing the differences).
    """
    started, out = time.perf_counter(), Path(out)
    mapping = mapping if hasattr(mapping, "features") else load_mapping(mapping)
    check_run_features(mapping, models)
    frame = table if isinstance(table, pd.DataFrame) else read_mapped_table(mapping, table)
    valid, rejects = _split_rejects(frame, mapping)
    features = mapped_features(valid, mapping)
    extra = extra_score_columns(models)
    if features.empty:
        scored = empty_scores(extra, explain, top_k).drop(columns="desa").set_index("IDBDT")
    else:
        scored = model_scores(features, models, explain, top_k, labels=mapping.labels,
                              location=mapped_location(mapping))  # fmt: skip
    per_area = by if by is not None or not isinstance(quota, Mapping) else "KDDESA"
    area, names = _mapped_areas(valid, _area_column(mapping, per_area))
    decisions = area_decisions(scored["score"].to_numpy(np.float64), area, names, quota)
    scored = scored.rename_axis("IDBDT").reset_index().assign(desa=area)
    output = output_frame(scored, decisions, 0, len(scored), top_k, explain)
    output = output.rename(columns={"IDBDT": mapping.id, "rank_in_desa": "rank_in_area",
                                    "priority_in_desa": "priority_in_area",
                                    "percentile_in_desa": "percentile_in_area"})  # fmt: skip
    check_row_accounting(len(output), len(rejects), len(frame))
    targets = {"output": out, "rejects": sibling_path(out, "rejects"),
               "drift": sibling_path(out, "drift")}  # fmt: skip
    with ScoreRun(out) as run:  # one run owns <out>; the files are published as one set
        run.clean_leftovers([p.name for p in targets.values()])
        write_table(output, run.staged(out))
        write_table(rejects, run.staged(targets["rejects"]))
        drift_path, notes = _table_drift(features, profile, run.staged(targets["drift"]))
        if drift_path is None:
            targets["drift"].unlink(missing_ok=True)
            targets["drift"] = None
        run.publish(targets, {"input_rows": len(frame), "scored_rows": len(output),
                              "rejected_rows": len(rejects), "models": list(models),
                              "mapping": mapping.name})  # fmt: skip
    return ScoringResult(out, targets["rejects"], targets["drift"], len(frame), len(output),
                         len(rejects), 0, time.perf_counter() - started, 0, notes)  # fmt: skip
