"""Registry records: households and their members as one frame, one row per household.

This is the input of the logged MLflow (pyfunc) model: the codebook's household columns
(codes as strings) plus a ``members`` column holding a JSON string -- the list of that
household's member records, without NIK or names. :func:`registry_records` builds it,
:func:`records_to_tables` turns it back into household and member tables with the
canonical dtypes of docs/CONTRACTS.md.

>>> hh = pd.DataFrame({"IDBDT": ["H1"], "Lantai": ["9"]})
>>> art = pd.DataFrame({"IDBDT": ["H1"], "NoART": [1], "Umur": [41]})
>>> households, members = records_to_tables(registry_records(hh, art))
>>> members[["IDBDT", "NoART", "Umur"]].to_dict("records")
[{'IDBDT': 'H1', 'NoART': 1, 'Umur': 41}]
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from slrt_ml.data.codebook import get_codebook
from slrt_ml.data.privacy import drop_personal_columns
from slrt_ml.data.schema import canonical_dtypes

__all__ = ["canonical_records", "records_to_tables", "registry_records"]


def _plain_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """Strings as Python ``str`` objects, integers without NA as int64 (signature friendly)."""
    out = {}
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_integer_dtype(values):
            has_na = values.isna().any()
            out[column] = values.astype("float64" if has_na else "int64")
        elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            out[column] = values.astype("float64")
        else:
            out[column] = values.astype(object).where(values.notna(), None)
    return pd.DataFrame(out, index=frame.index)


def _json_value(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _members_json(members: pd.DataFrame) -> pd.Series:
    """One JSON list of member records per IDBDT (NoART order), without IDBDT and personal columns."""
    kept = drop_personal_columns(members)
    if "NoART" in kept.columns:
        kept = kept.sort_values(["IDBDT", "NoART"], kind="stable")
    columns = [c for c in kept.columns if c != "IDBDT"]
    grouped: dict[str, list[dict[str, Any]]] = {}
    ids = kept["IDBDT"].astype(str).tolist()
    rows = zip(*(kept[c].tolist() for c in columns), strict=True) if columns else []
    for household, row in zip(ids, rows, strict=False):
        record = {c: _json_value(v) for c, v in zip(columns, row, strict=True)}
        grouped.setdefault(household, []).append(record)
    return pd.Series(
        {k: json.dumps(v, ensure_ascii=False) for k, v in grouped.items()}, dtype=object
    )


def registry_records(households: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Households and members as one frame: the input of the logged pyfunc model.

    One row per household with its columns (codes as strings) plus ``members``, a JSON
    list of its member records. NIK (and any name column) is dropped; a household
    without members gets ``"[]"``.

    Parameters
    ----------
    households, members : DataFrame
        Registry tables, both with an ``IDBDT`` column.

    Returns
    -------
    DataFrame
        The household columns with plain dtypes and a ``members`` JSON column.

    Raises
    ------
    KeyError
        When either table lacks ``IDBDT``.

    >>> hh = pd.DataFrame({"IDBDT": ["H1", "H2"], "Lantai": ["9", "2"]})
    >>> art = pd.DataFrame({"IDBDT": ["H1", "H1"], "NoART": [2, 1],
    ...                     "NIK": ["7311024507880001", "7311020101800002"], "Umur": [7, 41]})
    >>> records = registry_records(hh, art)
    >>> records["members"].tolist()
    ['[{"NoART": 1, "Umur": 41}, {"NoART": 2, "Umur": 7}]', '[]']
    """
    if "IDBDT" not in households.columns or "IDBDT" not in members.columns:
        raise KeyError("registry_records: households and members both need an IDBDT column")
    records = _plain_dtypes(drop_personal_columns(households.reset_index(drop=True)))
    by_household = _members_json(members)
    records["members"] = records["IDBDT"].map(by_household).fillna("[]").astype(object)
    return records


def canonical_records(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Cast a records frame to the canonical dtypes of the codebook table ``table``.

    Codes and ids become pandas ``string`` (see :func:`slrt_ml.data.schema.canonical_dtypes`
    with ``text=True``); ``table`` is ``"household"`` or ``"member"``.
    """
    return canonical_dtypes(frame, get_codebook().table(table), text=True)


def records_to_tables(records: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reverse of :func:`registry_records`: households and members with canonical dtypes.

    Parameters
    ----------
    records : DataFrame
        Registry records with a ``members`` JSON column.

    Returns
    -------
    households, members : tuple of DataFrame
        Members carry their household's ``IDBDT``; member columns in codebook order.

    Raises
    ------
    KeyError
        When ``records`` has no ``members`` column.
    """
    if "members" not in records.columns:
        raise KeyError(
            "registry records need a 'members' column (JSON list of member records); "
            "build the input with slrt_ml.data.records.registry_records(households, members)"
        )
    households = records.drop(columns=["members"]).reset_index(drop=True)
    households = canonical_records(households, "household")
    rows = [
        {**member, "IDBDT": household}
        for household, text in zip(households["IDBDT"], records["members"], strict=True)
        for member in json.loads(text or "[]")
    ]
    member_columns = [c for c in get_codebook().member if c != "NIK"]
    members = pd.DataFrame.from_records(rows, columns=None if rows else member_columns)
    ordered = [c for c in member_columns if c in members.columns]
    members = members[ordered + [c for c in members.columns if c not in ordered]]
    return households, canonical_records(members, "member")
