"""Reading and writing registry tables (Parquet, CSV, Excel). The only stage touching disk.

Writes are atomic: data goes to a hidden temporary file beside the target and is renamed
onto it with :func:`os.replace` only when complete, so an interrupted run never leaves a
half-written table behind (and never damages the previous version of it).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pandas as pd

__all__ = ["TABLE_SUFFIXES", "TableWriter", "atomic_path", "write_table"]

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
    _flat(df).to_csv(path, index=False, header=header, mode=mode, encoding="utf-8")


def _write_xlsx(df: pd.DataFrame, path: Path) -> None:
    _flat(df).to_excel(path, index=False, engine="openpyxl")


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
