"""Cells safe to open in a spreadsheet: formulas neutralised, booleans kept as booleans.

:mod:`slrt_ml.data.io` passes every frame it writes to CSV or Excel through
:func:`neutralise_formulas` (OWASP "CSV injection": a text cell starting with ``=``,
``+``, ``-``, ``@``, tab or carriage return gets a leading single quote) and every frame
it writes to Excel through :func:`excel_ready` (nullable booleans as TRUE/FALSE cells).
"""

from __future__ import annotations

import pandas as pd

__all__ = ["FORMULA_PREFIXES", "excel_ready", "has_carriage_return", "neutralise_formulas"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these is a formula to a spreadsheet (OWASP CSV injection)."""


def _neutral_text(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _text_columns(df: pd.DataFrame) -> list[str]:
    return [
        c for c in df.columns if df[c].dtype == object or isinstance(df[c].dtype, pd.StringDtype)
    ]


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells (and column names) starting with ``= + - @``, tab or CR get a leading ``'``.

    A spreadsheet opening the CSV or Excel file then shows the text instead of running it
    as a formula (OWASP "CSV injection"). Numbers, booleans and missing values are kept;
    ``df`` itself is returned when nothing needs a change (vectorised check, no copy).

    >>> neutralise_formulas(pd.DataFrame({"IDBDT": ["=HYPERLINK(1)", "01"], "x": [-1, 2]}))
                IDBDT  x
    0  '=HYPERLINK(1) -1
    1              01  2
    >>> mixed = pd.DataFrame({"m": pd.Series([-0.5, "-x"], dtype=object)})
    >>> neutralise_formulas(mixed)["m"].tolist()
    [-0.5, "'-x"]
    """
    out = df
    for name in _text_columns(df):
        column = df[name]
        hit = column.astype("string").str.startswith(FORMULA_PREFIXES).fillna(False)
        if column.dtype == object:  # a mixed column: numbers in it stay numbers (-0.04)
            hit &= column.map(lambda value: isinstance(value, str)).astype(bool)
        if hit.any():
            if out is df:
                out = df.copy()
            out[name] = column.mask(hit.to_numpy(bool), "'" + column.astype("string")).astype(
                column.dtype
            )
    names = [_neutral_text(c) for c in df.columns]
    if names != list(df.columns):
        out = out.copy() if out is df else out
        out.columns = names
    return out


def has_carriage_return(df: pd.DataFrame) -> bool:
    """Whether a text cell holds a carriage return (the csv module leaves it unquoted)."""
    return any(
        df[c].astype("string").str.contains("\r", regex=False).any() for c in _text_columns(df)
    )


def excel_ready(df: pd.DataFrame) -> pd.DataFrame:
    """Nullable booleans become ``True``/``False``/empty cells (not 1.0/0.0), so a
    decision column such as ``selected`` survives the trip through Excel."""
    out = df.copy()
    for name in out.columns:
        if isinstance(out[name].dtype, pd.BooleanDtype) or out[name].dtype == bool:
            out[name] = out[name].astype(object).where(out[name].notna(), None)
    return out
