"""A household table read and typed through its dataset mapping.

:func:`read_mapped_table` reads the file (through :func:`slrt_ml.data.io.read_table`, as a
survey table: pandas' missing markers such as ``"NA"`` are missing), :func:`mapped_features`
types the mapped feature columns for the models, and :func:`mapped_rejects` says why a row
cannot be scored. The column readers (:func:`numeric_values`, :func:`binary_values`,
:func:`text_values`) raise :class:`~slrt_ml.data.mapping.MappingError` naming the column,
the bad values (with household ids) and the fix.

>>> from slrt_ml.data.mapping import mapping_from_dict
>>> mapping = mapping_from_dict({"name": "toy", "id": "hh", "label": "poor",
...     "reference": {"selected": "ref"},
...     "features": {"numeric": ["rooms"], "categorical": ["roof"], "binary": ["tv"]}})
>>> table = pd.DataFrame({"hh": [1, 2], "rooms": [1, 4], "roof": ["zinc", "tile"],
...                       "tv": ["no", "yes"]})
>>> mapped_features(table, mapping).dtypes.astype(str).tolist()
['float32', 'string', 'float32']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from slrt_ml.data.io import read_table
from slrt_ml.data.mapping import DatasetMapping, MappingError

__all__ = [
    "EXAMPLES",
    "apply_recode",
    "binary_values",
    "check_mapped_columns",
    "id_examples",
    "mapped_features",
    "mapped_rejects",
    "numeric_values",
    "read_mapped_table",
    "text_values",
]

_BINARY_WORDS = {"1": 1, "0": 0, "yes": 1, "no": 0, "true": 1, "false": 0, "1.0": 1, "0.0": 0}
#: how many bad values (with household ids) an error message shows
EXAMPLES = 5
_SUFFIXES = (".csv", ".parquet", ".xlsx")


# --- the table on disk ---------------------------------------------------------------------


def _text_columns(mapping: DatasetMapping) -> list[str]:
    """Columns read as text so that codes keep their leading zeros ("007" stays "007")."""
    return [mapping.id, *(c for c in (mapping.cluster,) if c), *mapping.areas.values(),
            *mapping.features.categorical]  # fmt: skip


def read_mapped_table(mapping: DatasetMapping, table: str | Path | None = None) -> pd.DataFrame:
    """Read the household table of a mapping (CSV, Parquet or Excel ``.xlsx``), all columns.

    The id, cluster, area and categorical columns are read as text; everything else as the
    reader sees it (the mapping's rules type the columns later). A mapped table is a survey
    export, so pandas' missing markers (``""``, ``"NA"``, ``"N/A"``, ``"NULL"``, ...) are
    missing, unlike in a PBDT registry table where only ``""`` is.

    Parameters
    ----------
    mapping
        The dataset mapping; its ``table`` (relative to its YAML file) is the default file.
    table
        The file to read instead of the mapping's own ``table``.

    Returns
    -------
    pandas.DataFrame
        Every column of the file, in file order.

    Raises
    ------
    MappingError
        No table given, the file does not exist, or it is not .csv/.parquet/.xlsx.
    slrt_ml.data.io.TableReadError
        The file cannot be parsed.
    """
    path = Path(table) if table is not None else mapping.table
    if path is None:
        raise MappingError(
            f"{mapping.source}: no household table given; pass --table FILE (or table=) or "
            "add 'table: <file>' to the mapping"
        )
    if not path.is_file():
        raise MappingError(f"household table {path} does not exist (mapping {mapping.source})")
    if path.suffix.lower() not in _SUFFIXES:
        raise MappingError(f"{path}: household tables must be .csv, .parquet or .xlsx")
    return read_table(path, "mapped household", survey_text_columns=_text_columns(mapping))


# --- the table against the mapping -------------------------------------------------------


def check_mapped_columns(
    table: pd.DataFrame, mapping: DatasetMapping, roles: dict[str, str]
) -> None:
    """Raise :class:`MappingError` naming every ``roles`` column (and role) the table lacks."""
    present = {str(c) for c in table.columns}
    missing = [f"{col!r} ({role})" for col, role in roles.items() if col not in present]
    if missing:
        raise MappingError(
            f"{mapping.source}: {len(missing)} mapped column(s) missing from the household "
            f"table: {', '.join(missing)}; the table has {len(present)} columns, e.g. "
            f"{sorted(present)[:8]}; fix the mapping or the table"
        )


def id_examples(values: pd.Series, bad: np.ndarray, ids: pd.Series) -> str:
    """The first :data:`EXAMPLES` bad values as ``id: value`` for an error message."""
    rows = np.flatnonzero(bad)[:EXAMPLES]
    return ", ".join(f"{ids.iloc[i]}: {_shown(values.iloc[i])}" for i in rows)


def _shown(value: Any) -> str:
    """A value as a user would type it: text quoted, numbers plain."""
    return repr(value) if isinstance(value, str) else str(value)


def apply_recode(table: pd.DataFrame, mapping: DatasetMapping) -> pd.DataFrame:
    """The table with the mapping's ``recode`` applied (stripped text -> value); a copy."""
    if not mapping.recode:
        return table
    table = table.copy()
    for col, codes in mapping.recode.items():
        if col in table:
            text = table[col].astype("string").str.strip()
            table[col] = text.map(lambda v, c=codes: c.get(v, v) if v is not pd.NA else v)
    return table


def numeric_values(table: pd.DataFrame, col: str, ids: pd.Series, source: str) -> np.ndarray:
    """Column ``col`` as float64 (missing = NaN); text that is not a number raises."""
    values = pd.to_numeric(table[col], errors="coerce")
    bad = (values.isna() & table[col].notna()).to_numpy()
    if bad.any():
        raise MappingError(
            f"{source}: column {col!r} is mapped as numeric but {int(bad.sum())} value(s) are "
            f"not numbers (id: value) {id_examples(table[col], bad, ids)}; add a 'recode' entry "
            f"for {col!r} or map it as categorical"
        )
    return values.to_numpy(dtype=np.float64)


def binary_values(table: pd.DataFrame, col: str, ids: pd.Series, source: str) -> np.ndarray:
    """Column ``col`` as float32 0/1 (1/0, yes/no, true/false; missing = NaN)."""
    text = table[col].astype("string").str.strip().str.lower()
    values = text.map(_BINARY_WORDS.get, na_action="ignore")
    bad = (values.isna() & text.notna()).to_numpy()
    if bad.any():
        raise MappingError(
            f"{source}: column {col!r} is mapped as binary but {int(bad.sum())} value(s) are "
            f"not 0/1 or yes/no (id: value) {id_examples(table[col], bad, ids)}; "
            "map it as numeric or categorical instead"
        )
    return values.to_numpy(dtype=np.float32, na_value=np.nan)


def text_values(table: pd.DataFrame, col: str) -> pd.Series:
    """Column ``col`` as stripped ``string`` (whole floats as "3", not "3.0"), index 0..n-1."""
    values = table[col]
    if pd.api.types.is_float_dtype(values) and (values.dropna() % 1 == 0).all():
        values = values.astype("Int64")  # "3", not "3.0"
    return values.astype("string").str.strip().reset_index(drop=True)


def _household_ids(table: pd.DataFrame, mapping: DatasetMapping) -> pd.Series:
    ids = text_values(table, mapping.id)
    problems = []
    if ids.isna().any():
        problems.append(f"{int(ids.isna().sum())} missing")
    duplicated = ids[ids.duplicated(keep=False) & ids.notna()]
    if len(duplicated):
        problems.append(
            f"{duplicated.nunique()} duplicated, e.g. {duplicated.unique()[:EXAMPLES].tolist()}"
        )
    if problems:
        raise MappingError(
            f"{mapping.source}: household id column {mapping.id!r} must be unique and present: "
            f"{'; '.join(problems)}; aggregate member rows to one row per household first"
        )
    return ids


def mapped_features(table: pd.DataFrame, mapping: DatasetMapping) -> pd.DataFrame:
    """Exactly the mapped feature columns, typed for the models, indexed by household id.

    Numeric and binary features become float32, categorical ones pandas ``string`` (the
    model encoders detect categoricals by dtype); the index is the id as text (``IDBDT``).

    Raises
    ------
    MappingError
        A mapped column is missing, an id is missing or repeated, or a value does not fit
        its kind (the message names the column and shows ``id: value`` examples).
    """
    check_mapped_columns(
        table,
        mapping,
        {c: mapping.columns_by_role()[c] for c in (mapping.id, *mapping.features.columns)},
    )
    table = apply_recode(table, mapping).reset_index(drop=True)
    ids = _household_ids(table, mapping)
    spec, out = mapping.features, {}
    for col in spec.columns:
        if col in spec.categorical:
            out[col] = text_values(table, col).to_numpy()
        elif col in spec.binary:
            out[col] = binary_values(table, col, ids, mapping.source)
        else:
            out[col] = numeric_values(table, col, ids, mapping.source).astype(np.float32)
    features = pd.DataFrame(out, index=pd.Index(ids.to_numpy(), name="IDBDT"))
    for col in spec.categorical:
        features[col] = features[col].astype("string")
    return features


# --- row-level rejects (batch scoring) ----------------------------------------------------


def _row_reasons(bad: np.ndarray, col: str, rule: str, values: pd.Series) -> pd.Series:
    shown = values.astype("string").fillna("<missing>")
    return pd.Series(np.where(bad, f"{col}: {rule} (" + shown + ")", pd.NA), dtype="string")


def mapped_rejects(table: pd.DataFrame, mapping: DatasetMapping) -> pd.Series:
    """Why each row cannot be scored (``<NA>`` = fine), aligned with ``table``'s rows.

    Row-level problems only: a missing or repeated household id, a missing cluster, a
    numeric feature that is not a number, a binary feature that is not 0/1 or yes/no
    (after ``recode``). Missing mapped columns are a table-level error and raise
    :class:`MappingError` naming them.

    >>> from slrt_ml.data.mapping import mapping_from_dict
    >>> m = mapping_from_dict({"name": "t", "id": "hh", "label": "poor",
    ...     "reference": {"selected": "ref"}, "features": {"numeric": ["rooms"],
    ...     "binary": ["tv"]}})
    >>> t = pd.DataFrame({"hh": [1, 2, 2, 3], "rooms": ["2", "x", "3", "1"],
    ...                   "tv": ["yes", "no", "no", "maybe"]})
    >>> mapped_rejects(t, m).tolist()  # doctest: +NORMALIZE_WHITESPACE
    [<NA>, 'hh: repeated id (2); rooms: not a number (x)', 'hh: repeated id (2)',
     'tv: not 0/1 or yes/no (maybe)']
    """
    roles = {c: r for c, r in mapping.columns_by_role().items()
             if r in ("id", "cluster") or r.startswith("features.")}  # fmt: skip
    check_mapped_columns(table, mapping, roles)
    table = apply_recode(table, mapping).reset_index(drop=True)
    ids = text_values(table, mapping.id)
    problems = [
        _row_reasons(ids.isna().to_numpy(), mapping.id, "missing id", table[mapping.id]),
        _row_reasons(
            (ids.duplicated(keep=False) & ids.notna()).to_numpy(), mapping.id, "repeated id", ids
        ),  # fmt: skip
    ]
    if mapping.cluster:
        cluster = table[mapping.cluster]
        problems.append(
            _row_reasons(cluster.isna().to_numpy(), mapping.cluster, "missing", cluster)
        )
    for col in mapping.features.numeric:
        bad = pd.to_numeric(table[col], errors="coerce").isna() & table[col].notna()
        problems.append(_row_reasons(bad.to_numpy(), col, "not a number", table[col]))
    for col in mapping.features.binary:
        text = table[col].astype("string").str.strip().str.lower()
        bad = text.map(_BINARY_WORDS.get, na_action="ignore").isna() & text.notna()
        problems.append(_row_reasons(bad.to_numpy(), col, "not 0/1 or yes/no", table[col]))
    return _joined(problems, len(table))


def _joined(reasons: list[pd.Series], n: int) -> pd.Series:
    out = pd.Series(pd.NA, index=range(n), dtype="string")
    for reason in reasons:
        out = (out + "; " + reason).fillna(out).fillna(reason)
    return out
