"""Reading and writing one table file (Parquet, CSV, Excel), whole or in chunks.

A folder of tables (a registry, a prelist) is :mod:`slrt_ml.data.registry`'s job.

Writes are atomic: data goes to a hidden temporary file beside the target and is renamed
onto it with :func:`os.replace` only when complete, so an interrupted run never leaves a
half-written table behind (and never damages the previous version of it).
"""

from __future__ import annotations

import contextlib
import csv
import os
import uuid
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType

import pandas as pd

from slrt_ml.data.cells import (
    FORMULA_PREFIXES,
    excel_ready,
    has_carriage_return,
    neutralise_formulas,
)
from slrt_ml.data.codebook import DEFAULT_VERSION
from slrt_ml.data.schema import string_columns

__all__ = [
    "FORMULA_PREFIXES",
    "TABLE_SUFFIXES",
    "TableReadError",
    "TableWriter",
    "atomic_path",
    "check_header",
    "find_table",
    "iter_table_chunks",
    "neutralise_formulas",
    "read_table",
    "write_table",
]

TABLE_SUFFIXES = (".parquet", ".csv", ".xlsx")
"""File formats a registry table may be stored in, in order of preference."""

_PARQUET_OPTIONS = {"compression": "zstd", "use_dictionary": True, "write_statistics": True}


def _check_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise ValueError(
            f"{path}: unsupported table format {suffix or '(no suffix)'!r}; "
            f"use one of {', '.join(TABLE_SUFFIXES)}."
        )
    return suffix


def _temp_path(path: Path) -> Path:
    # Same folder (so os.replace is a rename on one file system), same suffix (so
    # libraries that pick a format by extension still work), hidden name.
    return path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` when the block succeeds.

    If the block raises, the temporary file is removed and an existing file at ``path``
    is left untouched.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> with atomic_path(folder / "note.txt") as tmp:
    ...     _ = tmp.write_text("done")
    >>> sorted(p.name for p in folder.iterdir())
    ['note.txt']
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(final)
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def _flat(df: pd.DataFrame) -> pd.DataFrame:
    """Named index levels (e.g. ``IDBDT``) become columns; an unnamed index is dropped."""
    if any(name is not None for name in df.index.names):
        return df.reset_index()
    return df.reset_index(drop=True)


def _arrow_table(df: pd.DataFrame, schema=None):
    import pyarrow as pa

    table = pa.Table.from_pandas(_flat(df), preserve_index=False)
    if schema is None:
        return table
    try:
        return table.select(schema.names).cast(schema)
    except (KeyError, ValueError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ValueError(
            f"chunk does not match the table's columns/types {schema.names}: {exc}"
        ) from exc


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    import pyarrow.parquet as pq

    pq.write_table(_arrow_table(df), path, **_PARQUET_OPTIONS)


def _write_csv(df: pd.DataFrame, path: Path, *, header: bool = True, mode: str = "w") -> None:
    safe = neutralise_formulas(_flat(df))
    quoting = csv.QUOTE_NONNUMERIC if has_carriage_return(safe) else csv.QUOTE_MINIMAL
    safe.to_csv(path, index=False, header=header, mode=mode, encoding="utf-8", quoting=quoting)


def _write_xlsx(df: pd.DataFrame, path: Path) -> None:
    excel_ready(neutralise_formulas(_flat(df))).to_excel(path, index=False, engine="openpyxl")


_WRITERS = {".parquet": _write_parquet, ".csv": _write_csv, ".xlsx": _write_xlsx}


def write_table(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``df`` to ``path`` atomically; the format follows the suffix.

    ``.parquet`` (pyarrow, zstd; the same frame always gives a byte-identical file),
    ``.csv`` (UTF-8, comma) or ``.xlsx`` (openpyxl). A named index is written as a column.
    Returns the final path.

    >>> import tempfile
    >>> out = write_table(pd.DataFrame({"IDBDT": ["001"]}), Path(tempfile.mkdtemp()) / "t.csv")
    >>> out.read_text()
    'IDBDT\\n001\\n'
    """
    final = Path(path)
    writer = _WRITERS[_check_suffix(final)]
    with atomic_path(final) as tmp:
        writer(df, tmp)
    return final


class TableWriter:
    """Write a large table chunk by chunk; the file appears under its name only when complete.

    Parquet chunks go through one :class:`pyarrow.parquet.ParquetWriter` (one row group per
    chunk, all chunks cast to the first chunk's schema or to ``schema``); CSV chunks are
    appended with the header written once; Excel chunks are collected and written on close.
    Leaving the ``with`` block through an exception removes the partial file.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "members.csv"
    >>> with TableWriter(path) as writer:
    ...     writer.write(pd.DataFrame({"IDBDT": ["1"], "NoART": ["1"]}))
    ...     writer.write(pd.DataFrame({"IDBDT": ["1"], "NoART": ["2"]}))
    >>> path.read_text().splitlines()
    ['IDBDT,NoART', '1,1', '1,2']
    """

    def __init__(self, path: str | os.PathLike[str], *, schema=None) -> None:
        self.path = Path(path)
        self.schema = schema
        self._suffix = _check_suffix(self.path)
        self._tmp: Path | None = None
        self._parquet = None
        self._excel_chunks: list[pd.DataFrame] = []
        self._columns: list[str] | None = None
        self.rows = 0

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def write(self, df: pd.DataFrame) -> None:
        """Append one chunk (same columns as the first chunk)."""
        if self._tmp is None:
            self._start()
        try:
            self._write_chunk(_flat(df))
        except ValueError as exc:
            self.abort()
            raise ValueError(f"{self.path}: {exc}") from exc
        self.rows += len(df)

    def _start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = _temp_path(self.path)

    def _write_chunk(self, df: pd.DataFrame) -> None:
        if self._columns is None:
            self._columns = list(df.columns)
        elif list(df.columns) != self._columns:
            missing = [c for c in self._columns if c not in df.columns]
            extra = [c for c in df.columns if c not in self._columns]
            raise ValueError(
                f"chunk columns differ from the first chunk (missing {missing}, extra {extra}); "
                "write every chunk with the same columns in the same order"
            )
        if self._suffix == ".parquet":
            self._write_parquet_chunk(df)
        elif self._suffix == ".csv":
            _write_csv(df, self._tmp, header=self.rows == 0, mode="w" if self.rows == 0 else "a")
        else:
            self._excel_chunks.append(df)

    def _write_parquet_chunk(self, df: pd.DataFrame) -> None:
        import pyarrow.parquet as pq

        table = _arrow_table(df, self.schema)
        if self._parquet is None:
            self.schema = table.schema
            self._parquet = pq.ParquetWriter(self._tmp, table.schema, **_PARQUET_OPTIONS)
        self._parquet.write_table(table)

    def close(self) -> Path:
        """Finish the file and rename it to its final name. Returns the final path."""
        if self._tmp is None:
            raise ValueError(
                f"{self.path}: TableWriter closed without any chunk written; "
                "call .write(df) at least once (an empty frame is fine)"
            )
        try:
            if self._parquet is not None:
                self._parquet.close()
                self._parquet = None
            if self._suffix == ".xlsx":
                _write_xlsx(pd.concat(self._excel_chunks, ignore_index=True), self._tmp)
            os.replace(self._tmp, self.path)
        finally:
            self.abort()
        return self.path

    def abort(self) -> None:
        """Drop the partial file; a previous file at ``path`` stays as it was."""
        if self._parquet is not None:
            with contextlib.suppress(Exception):
                self._parquet.close()
            self._parquet = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
        self._excel_chunks = []


# --- reading ----------------------------------------------------------------------------------


class TableReadError(ValueError):
    """A table file cannot be found or parsed; the message names the file."""


_DELIMITERS = (",", ";", "|", "\t")


def find_table(folder: str | os.PathLike[str], name: str) -> Path:
    """The one file ``folder/name.parquet|.csv|.xlsx``; a clear error if none or several."""
    folder = Path(folder)
    found = [folder / f"{name}{suffix}" for suffix in TABLE_SUFFIXES]
    found = [path for path in found if path.is_file()]
    if len(found) == 1:
        return found[0]
    if found:
        raise TableReadError(
            f"{folder}: several files for table {name!r} ({', '.join(p.name for p in found)}); "
            "keep one of them"
        )
    present = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    raise TableReadError(
        f"{folder}: no {name}.parquet, {name}.csv or {name}.xlsx "
        f"(folder holds: {', '.join(present[:12]) or 'nothing'})"
    )


_READ_ERRORS = (OSError, ValueError, UnicodeDecodeError, zipfile.BadZipFile, KeyError,
                IndexError, TypeError, EOFError)  # fmt: skip
"""What parsers raise on a corrupt, empty or mis-delimited file (pandas, pyarrow, openpyxl)."""


def _header(path: Path, suffix: str) -> list[str]:
    """The column names as stored (before pandas renames a repeated one ``X.1``)."""
    if suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return next(csv.reader(handle, delimiter=_sniff_delimiter(path)), [])
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    try:
        row = next(book.worksheets[0].iter_rows(max_row=1, values_only=True), ())
    finally:
        book.close()
    return [str(v) for v in row if v is not None]


def check_header(path: str | os.PathLike[str]) -> list[str]:
    """The stored column names of a table file; a clear error when it has none or repeats one.

    Raises
    ------
    TableReadError
        Empty file, no header, a repeated column name, or a file that cannot be parsed.
    """
    path = Path(path)
    suffix = _check_suffix(path)
    if not path.is_file():
        raise TableReadError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise TableReadError(f"{path}: the file is empty (0 bytes); export the table again")
    try:
        names = _header(path, suffix)
    except _READ_ERRORS as exc:
        raise TableReadError(
            f"{path}: cannot read its header: {type(exc).__name__}: {exc}"
        ) from exc
    if not names:
        raise TableReadError(f"{path}: no header row; the first row must name the columns")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise TableReadError(
            f"{path}: column(s) {repeated} appear more than once in the header; "
            "keep one column of each name"
        )
    return names


def _sniff_delimiter(path: Path) -> str:
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        header = handle.readline()
    counts = {sep: header.count(sep) for sep in _DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _csv_options(path: Path, table: str, version: str, columns) -> dict:
    strings = string_columns(table, version)
    return {
        "sep": _sniff_delimiter(path),
        "dtype": dict.fromkeys(strings, "string"),
        "usecols": columns,
        "encoding": "utf-8-sig",
        "keep_default_na": False,
        "na_values": [""],
    }


def _with_string_codes(df: pd.DataFrame, table: str, version: str) -> pd.DataFrame:
    """Code/id/area/NIK/text columns as dtype ``string`` (stored numbers become their text)."""
    for name in string_columns(table, version):
        if name in df.columns and df[name].dtype != "string":
            df[name] = df[name].astype("string")
    return df


def _read(path: Path, table: str, version: str, columns) -> pd.DataFrame:
    suffix = _check_suffix(path)
    if suffix == ".csv":
        return pd.read_csv(path, **_csv_options(path, table, version, columns))
    if suffix == ".parquet":
        return pd.read_parquet(path, columns=columns)
    strings = string_columns(table, version)
    return pd.read_excel(
        path,
        dtype=dict.fromkeys(strings, str),
        usecols=columns,
        engine="openpyxl",
        keep_default_na=False,
        na_values=[""],
    )


def _read_survey(path: Path, strings: list[str], columns) -> pd.DataFrame:
    """A survey table: ``strings`` as text, pandas' default missing markers are missing."""
    suffix = _check_suffix(path)
    if suffix == ".csv":
        return pd.read_csv(path, sep=_sniff_delimiter(path), usecols=columns,
                           dtype=dict.fromkeys(strings, "string"), encoding="utf-8-sig")  # fmt: skip
    if suffix == ".parquet":
        return pd.read_parquet(path, columns=columns)
    return pd.read_excel(path, dtype=dict.fromkeys(strings, str), usecols=columns,
                         engine="openpyxl")  # fmt: skip


def read_table(
    path: str | os.PathLike[str],
    table: str,
    *,
    version: str = DEFAULT_VERSION,
    columns: Sequence[str] | None = None,
    survey_text_columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Read one table file (CSV with , ; | or tab, Parquet, Excel ``.xlsx``); no validation.

    Code, id, area, NIK and text columns come back as dtype ``string`` exactly as stored
    ("073" stays "073"); numbers are parsed by the reader and checked later by
    :mod:`slrt_ml.data.schema`. ``table`` is the kind (``households``, ``members``, ``areas``,
    ``siksng``, ``truth``). In a registry table only an empty cell is missing: "NA" may be
    a real code or name and stays text.

    ``survey_text_columns`` reads a survey table outside the codebook instead (a mapped
    household table): only these columns are read as text, nothing else is cast, ``table``
    only names the table in errors, and pandas' default missing markers (``""``, ``"NA"``,
    ``"N/A"``, ``"NULL"``, ``"nan"`` ...) are missing, as R, Stata and SPSS exports write them.
    """
    path = Path(path)
    if not path.is_file():
        raise TableReadError(f"{path}: no such file")
    check_header(path)
    columns = list(columns) if columns is not None else None
    try:
        if survey_text_columns is not None:
            return _read_survey(path, list(survey_text_columns), columns)
        df = _read(path, table, version, columns)
        return _with_string_codes(df, table, version)
    except _READ_ERRORS as exc:
        raise TableReadError(
            f"{path}: cannot read it as a {table} table: {type(exc).__name__}: {exc}"
        ) from exc


def iter_table_chunks(
    path: str | os.PathLike[str],
    table: str,
    *,
    chunksize: int = 200_000,
    version: str = DEFAULT_VERSION,
    columns: Sequence[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """Read a large table in chunks of at most ``chunksize`` rows (same dtypes as read_table).

    Raises
    ------
    TableReadError
        The file is missing, empty, corrupt or has a repeated column name (names the file).
    """
    path = Path(path)
    check_header(path)
    try:
        yield from _chunks(path, table, chunksize, version, columns)
    except TableReadError:
        raise
    except _READ_ERRORS as exc:
        raise TableReadError(
            f"{path}: cannot read it as a {table} table: {type(exc).__name__}: {exc}"
        ) from exc


def _chunks(
    path: Path, table: str, chunksize: int, version: str, columns
) -> Iterator[pd.DataFrame]:
    suffix = _check_suffix(path)
    columns = list(columns) if columns is not None else None
    if suffix == ".csv":
        options = _csv_options(path, table, version, columns)
        # the reader holds the file open: close it even when the consumer stops early
        with pd.read_csv(path, chunksize=chunksize, **options) as reader:
            for chunk in reader:
                yield _with_string_codes(chunk, table, version)
        return
    if suffix == ".parquet":
        chunks = _parquet_batches(path, chunksize, columns)
    else:
        whole = read_table(path, table, version=version, columns=columns)
        chunks = (whole.iloc[i : i + chunksize] for i in range(0, max(len(whole), 1), chunksize))
    for chunk in chunks:
        yield _with_string_codes(chunk, table, version)


def _parquet_batches(path: Path, chunksize: int, columns) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as handle:
        for batch in handle.iter_batches(batch_size=chunksize, columns=columns):
            yield batch.to_pandas()
