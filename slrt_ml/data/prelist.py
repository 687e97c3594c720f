"""Stream a prelist household by household chunk, with the member rows of each chunk.

Memory stays flat when both files are in IDBDT order (as DTKS exports and
``slrt-ml data synth`` write them): households are read ``chunk_size`` rows at a time and
members are read alongside, taking the member rows whose IDBDT is at most the chunk's
last IDBDT (a merge join). Rows sharing the chunk's last IDBDT are held back for the next
chunk, so a duplicated IDBDT always lands in one chunk and is rejected there.

If either file turns out not to be in IDBDT order, :class:`UnsortedPrelist` is raised
and the caller starts over with ``sorted_input=False``: the member file is then read
whole once (only the member file; memory grows with it) and each chunk takes its rows
by IDBDT; an IDBDT repeated in different chunks is found by a pass over the IDs
(:func:`duplicated_ids`) and every copy is rejected. Sort the files by IDBDT to keep memory flat on very large prelists.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from slrt_ml.data.io import iter_table_chunks, read_table

__all__ = ["UnsortedPrelist", "prelist_chunks", "duplicated_ids"]


class UnsortedPrelist(RuntimeError):
    """The household or member file is not in IDBDT order (merge join impossible)."""


def _ids(frame: pd.DataFrame) -> pd.Series:
    return frame["IDBDT"].astype("string")


def _check_order(ids: pd.Series, previous_last, file: str) -> None:
    known = ids.dropna()
    if len(known) == 0:
        return
    if not known.is_monotonic_increasing or (
        previous_last is not None and known.iloc[0] < previous_last
    ):
        raise UnsortedPrelist(f"{file} is not sorted by IDBDT")


class _MemberMerge:
    """Member rows in IDBDT order, handed out up to a given IDBDT."""

    def __init__(self, path: Path, chunk_size: int) -> None:
        self._chunks = iter_table_chunks(path, "members", chunksize=chunk_size)
        self._buffer: pd.DataFrame | None = None
        self._last = None
        self._done = False

    def _pull(self) -> bool:
        try:
            chunk = next(self._chunks)
        except StopIteration:
            self._done = True
            return False
        ids = _ids(chunk)
        _check_order(ids, self._last, "members")
        if ids.notna().any():
            self._last = ids.dropna().iloc[-1]
        self._buffer = chunk if self._buffer is None else pd.concat([self._buffer, chunk])
        return True

    def upto(self, last_id: str) -> pd.DataFrame:
        """All remaining member rows with IDBDT <= ``last_id`` (and rows without IDBDT)."""
        while not self._done and (
            self._buffer is None or self._last is None or self._last <= last_id
        ):
            self._pull()
        if self._buffer is None:
            return pd.DataFrame()
        ids = _ids(self._buffer)
        take = (ids <= last_id).fillna(True).to_numpy(bool)
        out, self._buffer = _split(self._buffer, take)
        return out

    def rest(self) -> pd.DataFrame:
        while self._pull():
            pass
        return self._buffer if self._buffer is not None else pd.DataFrame()


def _sorted_chunks(hh_path: Path, mem_path: Path, chunk_size: int) -> Iterator[tuple]:
    members = _MemberMerge(mem_path, chunk_size)  # small pulls: the buffer stays near one chunk
    carry: pd.DataFrame | None = None
    previous_last, template = None, None
    for chunk in iter_table_chunks(hh_path, "households", chunksize=chunk_size):
        template = chunk.iloc[:0]
        ids = _ids(chunk)
        _check_order(ids, previous_last, "households")
        if carry is not None:
            chunk = pd.concat([carry, chunk])
            ids = _ids(chunk)
        known = ids.dropna()
        if len(known) == 0:
            carry = chunk
            continue
        last = known.iloc[-1]
        hold = (ids == last).fillna(False).to_numpy(bool)
        previous_last = last
        head, carry = _split(chunk, ~hold)
        if len(head):
            yield head, members.upto(_last_id(head))
    if carry is not None and len(carry):
        yield carry, pd.concat([members.upto(_last_id(carry)), members.rest()])
    else:
        rest = members.rest()
        if len(rest) and template is not None:  # members after the last household: orphans
            yield template, rest


def _split(frame: pd.DataFrame, mask: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(frame[mask], frame[~mask])``; slices (no copy of the string columns) when the
    selected rows are a leading block, as they are in an IDBDT-sorted file.

    >>> f = pd.DataFrame({"IDBDT": ["a", "b", "c"]}, index=[5, 6, 7])
    >>> [part.index.tolist() for part in _split(f, np.array([True, True, False]))]
    [[5, 6], [7]]
    >>> [part.index.tolist() for part in _split(f, np.array([True, False, True]))]
    [[5, 7], [6]]
    """
    leading = int(np.count_nonzero(mask))
    if mask[:leading].all():
        return frame.iloc[:leading], frame.iloc[leading:]
    return frame[mask], frame[~mask]


def _last_id(frame: pd.DataFrame) -> str:
    known = _ids(frame).dropna()
    return known.iloc[-1] if len(known) else ""


def _unsorted_chunks(hh_path: Path, mem_path: Path, chunk_size: int) -> Iterator[tuple]:
    members = read_table(mem_path, "members")
    by_id = _ids(members)
    for chunk in iter_table_chunks(hh_path, "households", chunksize=chunk_size):
        yield chunk, members[by_id.isin(_ids(chunk).dropna()).to_numpy(bool)]


def prelist_chunks(
    hh_path: Path, mem_path: Path, chunk_size: int, *, sorted_input: bool = True
) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """(households, their members) chunk by chunk; see the module docstring."""
    if sorted_input:
        return _sorted_chunks(hh_path, mem_path, chunk_size)
    return _unsorted_chunks(hh_path, mem_path, chunk_size)


def duplicated_ids(hh_path: Path, chunk_size: int) -> set[str]:
    """IDBDTs that occur more than once in the household file (any order; for unsorted input).

    Only 64-bit hashes of the IDs are kept while reading (8 bytes per household).
    """
    hashes = []
    for chunk in iter_table_chunks(hh_path, "households", chunksize=chunk_size, columns=["IDBDT"]):
        hashes.append(pd.util.hash_pandas_object(_ids(chunk).dropna(), index=False).to_numpy())
    if not hashes:
        return set()
    values, counts = np.unique(np.concatenate(hashes), return_counts=True)
    repeated = values[counts > 1]
    found: set[str] = set()
    if len(repeated) == 0:
        return found
    for chunk in iter_table_chunks(hh_path, "households", chunksize=chunk_size, columns=["IDBDT"]):
        ids = _ids(chunk).dropna()
        hit = np.isin(pd.util.hash_pandas_object(ids, index=False).to_numpy(), repeated)
        found.update(ids[hit].tolist())
    return found
