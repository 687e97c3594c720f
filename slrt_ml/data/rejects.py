"""Row-level rejects for batch scoring: which households cannot be scored, and why.

Batch scoring keeps every valid household of a prelist and writes the rest, with a
readable reason, to a rejects file, so a broken row never stops a run and never
disappears silently. The rules are the contract's (:mod:`slrt_ml.data.rules`); where
:func:`slrt_ml.data.schema.validate_table` raises on the first table with problems, this
module reports them per household row. NIK values are never shown in a reason.

This is the hot path of batch scoring (every chunk), so the column rules run vectorised
over Arrow arrays instead of through pandera (``engine="arrow"``,
:mod:`slrt_ml.data.column_rules`): the same findings in the same order, hence the same
reasons; pandera stays the validator of whole files (:func:`~slrt_ml.data.schema.validate_table`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from slrt_ml.data.codebook import DEFAULT_VERSION
from slrt_ml.data.rules import (
    Finding,
    household_side_findings,
    isin_strings,
    table_findings,
    without_repeats,
)
from slrt_ml.data.schema import SchemaError, coerced_table, missing_column_problems

__all__ = ["ORPHAN_REASON", "household_rejects", "household_row_reasons"]

ORPHAN_REASON = "members without a household record"


def _reasons(findings: list[Finding]) -> dict[int, list[str]]:
    """Row position -> readable reasons, for the rows that break any rule."""
    reasons: dict[int, list[str]] = {}
    for f in findings:
        values = f.values.astype("string").fillna("<blank>").tolist()
        for row, value in zip(f.rows.tolist(), values, strict=True):
            shown = "" if f.column == "NIK" else f" ({value!r})"
            reasons.setdefault(row, []).append(f"{f.column}: {f.rule}{shown}")
    return reasons


def household_row_reasons(
    households: pd.DataFrame, members: pd.DataFrame, *, version: str = DEFAULT_VERSION
) -> tuple[pd.Series, pd.Series]:
    """Why each household row cannot be scored, and member IDBDTs without a household.

    Returns
    -------
    (Series, Series)
        One reason per row of ``households``, by position (``<NA>`` when the row can be
        scored; several reasons joined by "; "), and the distinct IDBDTs of member rows
        without a household record (orphans: not input households).

    Raises
    ------
    SchemaError
        A required column is missing (not row-level: no household can be scored).
    """
    hh_specs, hh, hh_findings = coerced_table(households, "households", version)
    mem_specs, mem, mem_findings = coerced_table(members, "members", version)
    missing = missing_column_problems(hh, hh_specs, "households", version)
    missing += missing_column_problems(mem, mem_specs, "members", version)
    if missing:
        raise SchemaError(missing)
    hh_findings += table_findings(hh, "households", hh_specs, version, engine="arrow")
    hh_findings += household_side_findings(mem, hh)
    mem_findings += table_findings(mem, "members", mem_specs, version, households=hh,
                                   engine="arrow")  # fmt: skip
    reasons = _reasons(without_repeats(hh_findings))
    by_id = _member_reasons(mem, mem_findings)
    ids = hh["IDBDT"]
    for row in np.flatnonzero(ids.isin(list(by_id)).to_numpy(dtype=bool, na_value=False)):
        reasons.setdefault(int(row), []).extend(by_id[ids.iloc[row]])
    joined = pd.Series(pd.NA, index=range(len(hh)), dtype="string")
    for row, found in reasons.items():
        joined.iloc[row] = "; ".join(dict.fromkeys(found))
    orphans = mem["IDBDT"][mem["IDBDT"].notna().to_numpy() & ~isin_strings(mem["IDBDT"], ids)]
    return joined, pd.Series(orphans.unique(), dtype="string", name="IDBDT")


def household_rejects(
    households: pd.DataFrame, members: pd.DataFrame, *, version: str = DEFAULT_VERSION
) -> pd.DataFrame:
    """Households that cannot be scored, one row each with a readable reason.

    Batch scoring keeps every valid household and rejects the rest, so a broken row never
    stops a run and never disappears silently. Rows of ``households`` come first, in file
    order, exactly one per rejected row (both copies of a duplicated IDBDT; ``<NA>`` for a
    blank one; several reasons joined by "; "); then the IDBDTs of member rows without a
    household record (reason ``members without a household record``).

    Returns
    -------
    DataFrame
        ``[IDBDT, reason]`` as strings; empty when every household can be scored.

    Raises
    ------
    SchemaError
        A required column is missing (not row-level: no household can be scored).
    """
    reasons, orphans = household_row_reasons(households, members, version=version)
    bad = reasons.notna().to_numpy()
    ids = households["IDBDT"].astype("string").reset_index(drop=True)
    ids = ids.mask(ids.str.strip() == "")
    rows = pd.DataFrame({"IDBDT": ids[bad].to_numpy(), "reason": reasons[bad].to_numpy()})
    extra = pd.DataFrame({"IDBDT": orphans.to_numpy(), "reason": ORPHAN_REASON})
    return pd.concat([rows, extra], ignore_index=True).astype("string")


def _member_reasons(mem: pd.DataFrame, findings: list[Finding]) -> dict[str, list[str]]:
    by_id: dict[str, list[str]] = {}
    for row, reasons in sorted(_reasons(without_repeats(findings)).items()):
        key, line = mem["IDBDT"].iloc[row], mem["NoART"].iloc[row]
        if not pd.isna(key):
            by_id.setdefault(key, []).extend(f"member {line} {r}" for r in reasons)
    return by_id
