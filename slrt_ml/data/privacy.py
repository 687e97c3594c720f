"""The personal-data guard: NIK and names never leave the registry.

Everything bound for MLflow (parameters, tags, metric names, frames, artifact files)
passes :func:`check_no_personal_data` first. It refuses a column named like a NIK or a
name (``NIK``, ``no_kk``, ``nama_art``, ...) and any 16-digit string shaped like a NIK
(province 11-94, birth day 01-31 or 41-71 for women, month 01-12), and its message names
where and which column -- never the value. :func:`drop_personal_columns` removes such
columns from a frame before it goes anywhere.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "PersonalDataError",
    "check_no_personal_columns",
    "check_no_personal_data",
    "drop_personal_columns",
    "is_personal_column",
]

_PERSONAL_COLUMN = re.compile(r"^(nik|nik_?art|nik_?krt|no_?kk|nama(_\w+)?|nm_?(art|krt))$", re.I)
# PPKKCC region (province 11-94) + day (01-31, women +40) + month + year + 4-digit serial.
_NIK_PATTERN = r"(?:1[1-9]|[2-9]\d)\d{4}(?:[0-2]\d|3[01]|[4-6]\d|7[01])(?:0[1-9]|1[0-2])\d{6}"
_NIK_TEXT = re.compile(rf"(?<![\w.]){_NIK_PATTERN}(?![\w.])")
_NIK_BYTES = re.compile(rf"(?<![\w.]){_NIK_PATTERN}(?![\w.])".encode())


class PersonalDataError(ValueError):
    """Something about to be logged to MLflow holds a NIK or a name."""


def is_personal_column(name: object) -> bool:
    """Whether a column name is a NIK, a family-card number or a name.

    >>> is_personal_column("NIK"), is_personal_column("Nama_ART"), is_personal_column("NMDESA")
    (True, True, False)
    """
    return bool(_PERSONAL_COLUMN.match(str(name)))


def drop_personal_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without its NIK and name columns (see :func:`is_personal_column`).

    >>> drop_personal_columns(pd.DataFrame({"IDBDT": ["H1"], "NIK": ["x"]})).columns.tolist()
    ['IDBDT']
    """
    return frame.drop(columns=[c for c in frame.columns if is_personal_column(c)])


def _refuse(where: str, what: str) -> None:
    raise PersonalDataError(
        f"{where}: refusing to log to MLflow: {what}. NIK and names never go to MLflow; "
        "drop the column (registry_records drops NIK) or log IDBDT / a salted hash instead."
    )


def check_no_personal_columns(columns: Iterable[object], where: str) -> None:
    """Raise :class:`PersonalDataError` if a column is named like a NIK or a name.

    Parameters
    ----------
    columns : iterable
        Column (or key) names.
    where : str
        What holds them, for the message.

    Raises
    ------
    PersonalDataError
        Naming ``where`` and the personal column(s).
    """
    personal = [str(c) for c in columns if is_personal_column(c)]
    if personal:
        _refuse(where, f"personal column(s) {personal}")


def _text_has_nik(values: pd.Series) -> pd.Series:
    return values.astype("string").str.contains(_NIK_TEXT, regex=True).fillna(False)


def _check_frame(frame: pd.DataFrame, where: str) -> None:
    check_no_personal_columns([*frame.columns, *frame.index.names], where)
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_integer_dtype(values):
            values = values[values.abs() >= 10**15]
        elif pd.api.types.is_float_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        hits = int(_text_has_nik(values).sum())
        if hits:
            _refuse(where, f"column {column!r} has {hits} value(s) shaped like a NIK")


def _check_mapping(mapping: Mapping, where: str) -> None:
    check_no_personal_columns(mapping.keys(), where)
    for key, value in mapping.items():
        check_no_personal_data(value, where=f"{where}[{key!r}]")


def check_no_personal_data(obj: Any, *, where: str = "value") -> None:
    """Raise :class:`PersonalDataError` if ``obj`` holds a NIK or a name column.

    ``obj`` may be a DataFrame, a mapping (params, tags, a manifest), a list, a string,
    a number, or a :class:`~pathlib.Path` to a file or folder (scanned as bytes; Parquet
    files as frames, CSV and JSON headers as column names). A NIK is a column named
    ``NIK`` (or ``no_kk``, ``nama``, ...) or any 16-digit string with a NIK's shape
    (province 11-94, birth day 01-31 or 41-71, month 01-12). The message names where
    and which column, never the value.

    Parameters
    ----------
    obj : DataFrame, mapping, list, tuple, set, str, int or Path
        What is about to be logged; other types (floats, booleans, None) pass.
    where : str
        What ``obj`` is, for the message (nested keys and indices are appended).

    Raises
    ------
    PersonalDataError
        When a personal column or a NIK-shaped string is found.

    >>> check_no_personal_data({"seed": 7, "data_digest": "9f2c01ab"})
    >>> check_no_personal_data(pd.DataFrame({"IDBDT": ["H1"], "NIK": ["x"]}), where="example")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    slrt_ml.data.privacy.PersonalDataError: example: refusing to log to MLflow: personal column(s) ['NIK']. ...
    >>> check_no_personal_data({"note": "id 7311024507880001"}, where="tags")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    slrt_ml.data.privacy.PersonalDataError: tags['note']: refusing to log to MLflow: a string shaped like a NIK. ...
    """
    if isinstance(obj, pd.DataFrame):
        _check_frame(obj, where)
    elif isinstance(obj, Mapping):
        _check_mapping(obj, where)
    elif isinstance(obj, Path):
        _check_file(obj, where)
    elif isinstance(obj, list | tuple | set):
        for i, item in enumerate(obj):
            check_no_personal_data(item, where=f"{where}[{i}]")
    elif isinstance(obj, str | int | np.integer) and not isinstance(obj, bool):
        if _NIK_TEXT.search(str(obj)):
            _refuse(where, "a string shaped like a NIK")


def _check_file(path: Path, where: str) -> None:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if file.suffix == ".parquet":
            _check_frame(pd.read_parquet(file), f"{where}: {file.name}")
        elif _NIK_BYTES.search(file.read_bytes()):
            _refuse(f"{where}: {file.name}", "a string shaped like a NIK")
        elif file.suffix in (".csv", ".json"):
            check_no_personal_columns(_header_names(file), f"{where}: {file.name}")


def _header_names(file: Path) -> list[str]:
    if file.suffix == ".csv":
        return list(pd.read_csv(file, nrows=0).columns)
    names: list[str] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            names.extend(str(k) for k in node)
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    with contextlib.suppress(ValueError):
        collect(json.loads(file.read_text()))
    return names
