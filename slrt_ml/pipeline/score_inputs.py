"""The inputs of a prelist scoring run: its files, and the rejects of one chunk.

:class:`PrelistFiles` finds a prelist folder's household, member and areas files and
checks them before any chunk is read (readable, no repeated header, required columns);
:func:`chunk_rejects` decides which household rows of a chunk cannot be scored, exactly
one reject row per rejected input row.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from slrt_ml.data.codebook import area_keys
from slrt_ml.data.io import TableReadError, check_header, find_table, read_table
from slrt_ml.data.rejects import ORPHAN_REASON, household_row_reasons
from slrt_ml.data.schema import (
    Problem,
    SchemaError,
    column_specs,
    missing_column_problems,
    validate_table,
)

__all__ = ["PrelistFiles", "REPEATED_REASON", "UNKNOWN_DESA", "chunk_rejects", "isin"]

REPEATED_REASON = "IDBDT: unique (repeated in another part of the file)"
UNKNOWN_DESA = "KDDESA: desa in the areas table"


class PrelistFiles(NamedTuple):
    """The prelist's household and member files, and the optional area table."""

    households: Path
    members: Path
    areas: Path | None

    @classmethod
    def find(cls, folder: Path) -> PrelistFiles:
        """``prelist_households``/``prelist_members`` (else ``households``/``members``), ``areas``."""
        try:
            hh = find_table(folder, "prelist_households")
            mem = find_table(folder, "prelist_members")
        except TableReadError:
            hh, mem = find_table(folder, "households"), find_table(folder, "members")
        try:
            areas = find_table(folder, "areas")
        except TableReadError:
            if any(folder.glob("areas.*")):
                raise
            areas = None
        return cls(hh, mem, areas)

    def check_columns(self) -> None:
        """Every file readable, no repeated header, the required columns present.

        Raises
        ------
        TableReadError
            A file is empty, corrupt or repeats a column name.
        SchemaError
            A required column is missing (no household could be scored).
        """
        problems = []
        for path, kind in ((self.households, "households"), (self.members, "members")):
            names = pd.DataFrame(columns=check_header(path))
            problems += missing_column_problems(names, column_specs(kind), str(path), "codebook")
        if problems:
            raise SchemaError(problems)

    def read_areas(self) -> pd.DataFrame | None:
        """The validated areas table, or None (a broken areas table stops the run).

        The column rules run on Arrow (``engine="arrow"``: the same problems as pandera,
        :mod:`slrt_ml.data.column_rules`), so a scoring run never imports pandera; callers
        read it once per run.
        """
        if self.areas is None:
            return None
        areas = validate_table(read_table(self.areas, "areas"), "areas", file=str(self.areas),
                               engine="arrow")  # fmt: skip
        desa = area_keys(areas)["desa"]
        repeated = desa[desa.duplicated(keep=False)]
        if len(repeated):
            shown = [(code, code) for code in repeated.unique()[:5]]
            raise SchemaError([Problem(str(self.areas), "KDDESA", "one row per desa", len(repeated),
                                       shown, "each desa (KDPROP+KDKAB+KDKEC+KDDESA) must appear "
                                       "once in the areas table; remove the repeated rows")])  # fmt: skip
        return areas


# --- one chunk -------------------------------------------------------------------------------


def isin(ids: pd.Series, values: Iterable[str] | pd.Series) -> np.ndarray:
    """``ids.isin(values)`` as a bool array, through Arrow (pandas' string ``isin``
    builds one Arrow scalar per value in Python)."""
    values = pd.Series(list(values) if isinstance(values, set) else values, dtype="string")
    found = pc.is_in(_arrow_strings(ids), value_set=_arrow_strings(values.dropna()))
    return found.to_numpy(zero_copy_only=False).astype(bool)


def _arrow_strings(column: pd.Series) -> pa.ChunkedArray | pa.Array:
    column = column.astype("string")
    try:
        return pa.chunked_array(column.array.__arrow_array__()).cast(pa.large_string())
    except (AttributeError, TypeError, pa.ArrowException):
        return pa.array(column.to_numpy(dtype=object, na_value=None), pa.large_string())


def chunk_rejects(
    hh: pd.DataFrame,
    members: pd.DataFrame,
    duplicates: Iterable[str],
    areas: pd.DataFrame | None = None,
) -> tuple[np.ndarray, pd.DataFrame]:
    """(rejected-row mask, rejects ``[IDBDT, reason]``) of a chunk: exactly one reject row
    per rejected household row (every reason joined by "; "), then orphan member groups.

    Besides the contract's rules: IDBDTs repeated in another chunk, and (with ``areas``)
    a desa missing from the areas table.
    """
    reasons, orphans = household_row_reasons(hh, members)
    extra: list[tuple[np.ndarray, str]] = [(isin(hh["IDBDT"], duplicates), REPEATED_REASON)]
    if areas is not None and len(hh):
        desa = area_keys(hh)["desa"]
        unknown = ~isin(desa, area_keys(areas)["desa"]) & reasons.isna().to_numpy()
        extra.append((unknown, UNKNOWN_DESA))
    for mask, reason in extra:
        for row in np.flatnonzero(mask):
            old = reasons.iloc[row]
            reasons.iloc[row] = reason if pd.isna(old) else f"{old}; {reason}"
    bad = reasons.notna().to_numpy(bool)
    ids = hh["IDBDT"].astype("string").reset_index(drop=True)
    ids = ids.mask(ids.str.strip() == "")
    rejects = pd.DataFrame({"IDBDT": ids[bad].to_numpy(), "reason": reasons[bad].to_numpy()})
    orphan_rows = pd.DataFrame({"IDBDT": orphans.to_numpy(), "reason": ORPHAN_REASON})
    return bad, pd.concat([rejects, orphan_rows], ignore_index=True).astype("string")
