"""Malformed registries and prelists for the fuzz tests and ``bench/mutations.py``.

:func:`write_mutated` writes a small valid folder of tables, then breaks it in one or more
ways chosen by integers (so both hypothesis and a seeded random generator can drive it):
dtypes, codes, ids, encodings, delimiters, empty or corrupt files, missing tables and
columns, repeated headers, non-finite numbers, Unicode digits, formula ids.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from slrt_ml.data.io import write_table

TABLE_MUTATIONS = (
    "none", "drop_column", "rename_column", "blank_ids", "duplicate_ids", "formula_id",
    "unicode_digits", "inf_number", "text_in_number", "unknown_code", "float_codes",
    "unknown_desa", "empty_rows", "truncate",
)  # fmt: skip
FILE_MUTATIONS = (
    "none", "empty_file", "garbage_bytes", "latin1", "semicolon", "colon", "repeated_header",
    "header_only", "as_parquet", "as_xlsx", "corrupt_binary", "missing_table", "two_formats",
)  # fmt: skip


def _mutate_table(frame: pd.DataFrame, how: str, pick: int) -> pd.DataFrame:
    df = frame.copy().astype(object)
    if df.empty or how == "none":
        return df
    row = pick % len(df)
    col = df.columns[pick % len(df.columns)]
    if how == "drop_column":
        return df.drop(columns=[col])
    if how == "rename_column":
        return df.rename(columns={col: f"{col}_x"})
    if how == "blank_ids" and "IDBDT" in df:
        df.loc[df.index[row], "IDBDT"] = "" if pick % 2 else "  "
    elif how == "duplicate_ids":
        df = pd.concat([df, df.iloc[[row]]], ignore_index=True)
    elif how == "formula_id" and "IDBDT" in df:
        df.loc[df.index[row], "IDBDT"] = ["=1+1", "@SUM(A1)", "+62", "-3", "a b", "é1"][pick % 6]
    elif how == "unicode_digits" and "KDPROP" in df:
        df.loc[df.index[row], "KDPROP"] = ["٧٣", "７３", "७३"][pick % 3]
    elif how == "inf_number":
        numeric = [
            c for c in df.columns if c in {"Jumlah_ART", "Luas_lantai", "welfare_pc", "Umur"}
        ]
        if numeric:
            df.loc[df.index[row], numeric[pick % len(numeric)]] = ["inf", "-inf", "nan", "1e400"][
                pick % 4
            ]
    elif how == "text_in_number" and "Jumlah_ART" in df:
        df.loc[df.index[row], "Jumlah_ART"] = "tiga"
    elif how == "unknown_code":
        df.loc[df.index[row], col] = "77"
    elif how == "float_codes" and "KDKEC" in df:
        df["KDKEC"] = pd.to_numeric(df["KDKEC"], errors="coerce").astype(float)
    elif how == "unknown_desa" and "KDDESA" in df:
        df.loc[df.index[row], "KDDESA"] = "999"
    elif how == "empty_rows":
        df = pd.concat([df, pd.DataFrame([[None] * len(df.columns)], columns=df.columns)])
    elif how == "truncate":
        df = df.iloc[:row]
    return df


def _write_file(frame: pd.DataFrame, folder: Path, name: str, how: str) -> None:
    csv = folder / f"{name}.csv"
    if how == "missing_table":
        return
    if how == "as_parquet":
        write_table(frame.astype("string"), folder / f"{name}.parquet")
        return
    if how == "as_xlsx":
        write_table(frame, folder / f"{name}.xlsx")
        return
    if how == "corrupt_binary":
        path = write_table(frame.astype("string"), folder / f"{name}.parquet")
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2] + b"\x00" * 16)
        return
    write_table(frame, csv)
    text = csv.read_text(encoding="utf-8")
    if how == "empty_file":
        csv.write_bytes(b"")
    elif how == "garbage_bytes":
        csv.write_bytes(b"PK\x03\x04\x00\xff\xfe garbage \x00\x01")
    elif how == "latin1":
        csv.write_bytes((text + "x\xe9\n").encode("latin-1", errors="replace"))
    elif how == "semicolon":
        csv.write_text(text.replace(",", ";"), encoding="utf-8")
    elif how == "colon":
        csv.write_text(text.replace(",", ":"), encoding="utf-8")
    elif how == "repeated_header" and "," in text.split("\n", 1)[0]:
        header, rest = text.split("\n", 1)
        names = header.split(",")
        names[-1] = names[0]
        csv.write_text(",".join(names) + "\n" + rest, encoding="utf-8")
    elif how == "header_only":
        csv.write_text(text.split("\n", 1)[0] + "\n", encoding="utf-8")
    elif how == "two_formats":
        write_table(frame.astype("string"), folder / f"{name}.parquet")


def write_mutated(
    tables: dict[str, pd.DataFrame], folder: Path, choices: list[int]
) -> dict[str, pd.DataFrame]:
    """Write ``tables`` to ``folder`` broken by ``choices`` (integers; any length).

    Returns the frames as written (before file-level damage), so a caller can count rows.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(abs(hash(tuple(choices))) % 2**32)
    names = list(tables)
    written = {}
    for i, name in enumerate(names):
        c = choices[i % len(choices)] if choices else 0
        table_how = TABLE_MUTATIONS[c % len(TABLE_MUTATIONS)] if c % 3 == 0 else "none"
        file_how = FILE_MUTATIONS[(c // 7) % len(FILE_MUTATIONS)] if c % 5 == 0 else "none"
        frame = _mutate_table(tables[name], table_how, int(rng.integers(0, 10_000)))
        written[name] = frame
        _write_file(frame, folder, name, file_how)
    return written
