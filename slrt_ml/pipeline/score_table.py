"""Scoring a mapped household table (bring your own table: ``slrt-ml score --mapping``).

Mapped tables are small, so the table is read and scored in memory, not streamed: rows
with a missing or repeated id, a missing cluster or an invalid feature value are
rejected, the rest are scored by the same code as the prelist
(:mod:`slrt_ml.pipeline.score_output`) and ranked, selected and prioritised per cluster
(:mod:`slrt_ml.targeting.priority`).
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
from slrt_ml.targeting.priority import area_decisions

__all__ = ["score_table"]


def _mapped_areas(valid: pd.DataFrame, mapping: DatasetMapping) -> tuple[np.ndarray, list[str]]:
    """Area codes per household: the mapped cluster, or one area when the cluster is
    unmapped or is the household itself (a quota per household would select by rounding)."""
    if not mapping.cluster or mapping.cluster == mapping.id:
        return np.zeros(len(valid), np.int64), ["all"]
    codes, names = pd.factorize(valid[mapping.cluster].astype("string").reset_index(drop=True))
    return codes.astype(np.int64), [str(n) for n in names]


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
) -> ScoringResult:
    """Score a household table through its dataset mapping (``slrt-ml score --mapping``).

    Only the id, the cluster and the feature columns are needed (no label, no
    reference). Output columns: ``<id>, score, rank_in_area, selected, priority,
    reason_1..k`` (+ ``score_<model>``), written atomically; rejects go to
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
        A share, or cluster -> count; one area when the cluster is unmapped or is the
        household id.
    profile : dict, optional
        The training feature profile, for the drift report.

    Returns
    -------
    ScoringResult

    Raises
    ------
    RowAccountingError
        When scored + rejected rows do not add up to the table's rows (a bug).
    """
    started, out = time.perf_counter(), Path(out)
    mapping = mapping if hasattr(mapping, "features") else load_mapping(mapping)
    frame = table if isinstance(table, pd.DataFrame) else read_mapped_table(mapping, table)
    valid, rejects = _split_rejects(frame, mapping)
    features = mapped_features(valid, mapping)
    extra = extra_score_columns(models)
    if features.empty:
        scored = empty_scores(extra, explain, top_k).drop(columns="desa").set_index("IDBDT")
    else:
        scored = model_scores(features, models, explain, top_k)
    area, names = _mapped_areas(valid, mapping)
    decisions = area_decisions(scored["score"].to_numpy(np.float64), area, names, quota,
                               other_scores=scored[extra].to_numpy(np.float64))  # fmt: skip
    scored = scored.rename_axis("IDBDT").reset_index().assign(desa=area)
    output = output_frame(scored, decisions, 0, len(scored), top_k, explain)
    output = output.rename(columns={"IDBDT": mapping.id, "rank_in_desa": "rank_in_area"})
    check_row_accounting(len(output), len(rejects), len(frame))
    write_table(output, out)
    write_table(rejects, sibling_path(out, "rejects"))
    drift_path, notes = _table_drift(features, profile, sibling_path(out, "drift"))
    return ScoringResult(out, sibling_path(out, "rejects"), drift_path, len(frame), len(output),
                         len(rejects), 0, time.perf_counter() - started, 0, notes)  # fmt: skip
