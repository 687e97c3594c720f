"""Everything a comparison reports besides the table: the long selections, coverage
curves, slices (exclusion and inclusion error per household group, with the largest gap)
and agreement with the reference's list. Point estimates only; no bootstrap here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from slrt_ml.evaluation.metrics import agreement_with_reference, coverage_curve, group_breakdown
from slrt_ml.evaluation.systems import Systems

__all__ = ["SLICE_COLUMNS", "default_slices", "selections_long", "curves", "slices", "agreement"]

#: Standard household groups the slices are cut by (when the frame has the column).
SLICE_COLUMNS: tuple[str, ...] = (
    "urban",
    "female_head",
    "elderly_head",
    "disabled_member",
    "KDKAB",
    "KDKEC",
)
_SLICE_LABELS = {
    "urban": {"1": "urban", "0": "rural"},
    **{
        flag: {"1": "yes", "0": "no"} for flag in ("female_head", "elderly_head", "disabled_member")
    },
}


def default_slices(frame: pd.DataFrame) -> list[str]:
    """The standard slice columns (:data:`SLICE_COLUMNS`) the frame has.

    >>> default_slices(pd.DataFrame(columns=["IDBDT", "urban", "KDKEC", "tenure"]))
    ['urban', 'KDKEC']
    """
    return [c for c in SLICE_COLUMNS if c in frame.columns]


def selections_long(data: Systems) -> pd.DataFrame:
    """One row per system and household: ``IDBDT, system, score, eligible, selected, target,
    survey_weight, view`` (the view's survey weight: 1 in the population view)."""
    ids = pd.array(data.ids, dtype="string")  # once: converting strings is the slow part
    survey = np.ones(len(data.ids)) if data.survey is None else data.survey
    view = pd.array(np.full(len(data.ids), data.view), dtype="string")
    pieces = [
        pd.DataFrame(
            {
                "IDBDT": ids,
                "system": pd.array(np.full(len(data.ids), name), dtype="string"),
                "score": data.scores[name],
                "eligible": data.eligible.astype(np.int8),
                "selected": data.selected[name].astype(np.int8),
                "target": data.target.astype(np.int8),
                "survey_weight": survey,
                "view": view,
            }
        )
        for name in data.scores
    ]
    return pd.concat(pieces, ignore_index=True)


def curves(data: Systems) -> pd.DataFrame:
    """Coverage curve of every system: ``system, share, selected, exclusion_error, inclusion_error``."""
    tie = (
        data.tie
        if data.tie is not None
        else pd.factorize(pd.array(data.ids, dtype="string"), sort=True)[0]
    )
    frames = []
    for name, score in data.scores.items():
        curve = coverage_curve(
            data.target, score, data.eligible, sample_weight=data.weights, tiebreak=tie
        )
        frames.append(curve.assign(system=name))
    curves = pd.concat(frames, ignore_index=True)
    return curves[["system", *curves.columns[:-1]]]


def _slice_labels(frame: pd.DataFrame, column: str) -> pd.Categorical:
    """Groups of a slice: the standard 0/1 flags as words, any other column as its values."""
    labels = frame[column].astype("string").fillna("<NA>")
    mapping = _SLICE_LABELS.get(column, {})
    return pd.Categorical(labels.replace(mapping) if mapping else labels)


def slices(
    frame: pd.DataFrame, data: Systems, columns: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Exclusion and inclusion error per group of each slice column, and the largest gaps."""
    rows, gaps = [], []
    for column in columns:
        groups = _slice_labels(frame, column)
        for name in data.scores:
            result = group_breakdown(
                data.target, data.selected[name], groups, sample_weight=data.weights
            )
            rows.append(result.by_group.reset_index().assign(system=name, slice=column))
            gaps.append(result.gaps.reset_index().assign(system=name, slice=column))
    if not rows:
        return pd.DataFrame(), pd.DataFrame()
    slices, slice_gaps = pd.concat(rows, ignore_index=True), pd.concat(gaps, ignore_index=True)
    return (
        slices[
            [
                "system",
                "slice",
                "group",
                "households",
                "target",
                "selected",
                "exclusion_error",
                "inclusion_error",
            ]
        ],
        slice_gaps[["system", "slice", "metric", "gap", "highest", "lowest"]],
    )


def agreement(data: Systems) -> pd.DataFrame:
    """Each model's list against the reference's: ``system, change, households, target, non_target``."""
    reference = data.selected[data.reference]
    frames = [
        agreement_with_reference(
            reference, data.selected[name], data.target, sample_weight=data.weights
        )
        .reset_index()
        .assign(system=name)
        for name in data.scores
        if name != data.reference
    ]
    columns = ["system", "change", "households", "target", "non_target"]
    if not frames:  # the reference alone: nothing to agree with
        return pd.DataFrame(columns=columns)
    agreement = pd.concat(frames, ignore_index=True)
    return agreement[["system", "change", "households", "target", "non_target"]]
