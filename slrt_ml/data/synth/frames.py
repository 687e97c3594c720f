"""Simulated arrays to the contract's tables: codes as strings, canonical dtypes, IDBDTs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from slrt_ml.data.codebook import DEFAULT_VERSION, get_codebook
from slrt_ml.data.synth.households import HouseholdChunk
from slrt_ml.data.synth.parameters import Profile

__all__ = ["chunk_frames", "registry_ids", "truth_frame"]

_DIGITS = np.array([str(i) for i in range(100)], dtype=object)


def _column(values: np.ndarray, spec) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """Array in the contract's dtype for one codebook column (codes as strings)."""
    if spec.kind in ("id", "area", "nik", "text"):
        return pd.array(values, dtype="string")
    if spec.kind == "yes_no":
        return pd.array(np.where(values == 1, spec.yes_no[0], spec.yes_no[1]), dtype="string")
    if spec.kind == "code":
        out = _DIGITS[values.astype(int)]
        if spec.nullable:
            out = np.where(values == 0, None, out)
        return pd.array(out, dtype="string")
    if spec.kind == "measure":
        return values.astype("float64")
    if spec.nullable:
        return pd.array(np.where(values < 0, None, values), dtype="Int64")
    return values.astype("int64")


def _frame(values: dict[str, np.ndarray], specs) -> pd.DataFrame:
    return pd.DataFrame(
        {name: _column(np.asarray(values[name]), spec) for name, spec in specs.items()}
    )


def chunk_frames(
    chunk: HouseholdChunk, ids: np.ndarray, percentile: np.ndarray, prefix: str = ""
) -> dict[str, pd.DataFrame]:
    """``{prefix}households`` and ``{prefix}members`` frames of one chunk."""
    cb = get_codebook(DEFAULT_VERSION)
    house = _frame({**chunk.house, "IDBDT": ids, "Percentile": percentile}, cb.household)
    members = _frame({**chunk.member, "IDBDT": ids[chunk.member_hh]}, cb.member)
    return {f"{prefix}households": house, f"{prefix}members": members}


def registry_ids(profile: Profile, start: int, n: int, prelist: bool) -> np.ndarray:
    """IDBDTs ``start + 1 .. start + n``: KDPROP + KDKAB (+ "P" on the prelist) + number."""
    number = pd.Series(np.arange(start + 1, start + n + 1)).astype(str)
    head = profile.kdprop + profile.kdkab + ("P" if prelist else "")
    return (head + number.str.zfill(9 if prelist else 10)).to_numpy(dtype=object)


def truth_frame(
    chunk: HouseholdChunk, ids: np.ndarray, in_survey: np.ndarray, survey_weight: np.ndarray
) -> pd.DataFrame:
    """The truth table of one chunk: today's per-capita consumption, the poor flag, PKH
    eligibility by today's members, and the survey sample with its expansion weights."""
    return pd.DataFrame(
        {
            "IDBDT": pd.array(ids, dtype="string"),
            "welfare_pc": chunk.welfare_pc,
            "poor": chunk.poor,
            "eligible_now": chunk.eligible_now.astype(np.int8),
            "in_survey": in_survey.astype(np.int8),
            "survey_weight": survey_weight.astype("float64"),
        }
    )
