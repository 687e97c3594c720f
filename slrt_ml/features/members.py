"""Member aggregates: household size, age groups, work, schooling and the head's answers.

The member file is placed in households once (:func:`prepare_members`); every aggregate
is then a ``bincount`` over the household position of each member, in linear time.
Definitions (head, dependency ratio, shares) are in :mod:`slrt_ml.features.households`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from slrt_ml.features._inputs import Coded, check_codes, feature_frame, numbers, require_columns
from slrt_ml.features.catalogue import _HEAD_CATEGORIES, _MEMBER_COLUMNS

__all__ = ["Members", "between", "member_aggregates", "member_columns", "prepare_members"]


@dataclass(frozen=True)
class Members:
    """Members of known households with the position of their household."""

    coded: Coded
    group: np.ndarray  # household position of each member, in [0, n)
    n: int  # number of households
    age: np.ndarray

    def count(self, mask: np.ndarray) -> np.ndarray:
        """Number of members with ``mask`` in each household (``float64``, length ``n``)."""
        return np.bincount(self.group[mask], minlength=self.n).astype(np.float64)


def _locate(ids: pd.Index, member_ids: pd.Series) -> np.ndarray:
    """Position in ``ids`` of each member's household (-1 when unknown), by hashing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    value_set = pa.array(pd.Series(ids, dtype="string"))
    found = pc.index_in(pa.array(member_ids.astype("string")), value_set=value_set)
    return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


def prepare_members(members: pd.DataFrame, ids: pd.Index | None) -> tuple[Members, pd.Index]:
    """Check the member table and place members in households ``ids``.

    Parameters
    ----------
    members : DataFrame
        The member file (PBDT 2015 columns).
    ids : Index or None
        Household ``IDBDT`` s; ``None``: the member file's own IDBDTs, sorted. Members of
        households not in ``ids`` are ignored (the schema checks report orphans).

    Returns
    -------
    (Members, Index)
        The placed members and the household index.

    Raises
    ------
    FeatureError
        A required column is missing or a code is not in the codebook.
    """
    require_columns(members, _MEMBER_COLUMNS, "members")
    if ids is None:
        ids = pd.Index(
            members["IDBDT"].astype("string").dropna().unique(), name="IDBDT"
        ).sort_values()
    group = _locate(ids, members["IDBDT"])
    known = group >= 0
    coded = Coded(members if known.all() else members.loc[known])
    check_codes(coded, _MEMBER_COLUMNS[2:], "member", "members")
    return Members(coded, group[known], len(ids), numbers(coded.frame, "Umur")), ids


def between(age: np.ndarray, low: float, high: float = np.inf) -> np.ndarray:
    """Ages in ``[low, high]`` (both ends included; NaN is never in range)."""
    return (age >= low) & (age <= high)


def _member_counts(m: Members) -> dict[str, np.ndarray]:
    """Counts and shares of member groups, dependency ratio, workers, out-of-school children."""
    c, age = m.coded, m.age
    flags = {
        "anak_0_6": between(age, 0, 6), "anak_sd": between(age, 7, 12),
        "anak_smp": between(age, 13, 15), "anak_sma": between(age, 16, 18),
        "usia_19_21": between(age, 19, 21), "lansia": between(age, 60),
        "disabilitas": c.lookup("Jenis_cacat", c.factorized("Jenis_cacat")[1] != "0", False),
        "penyakit_kronis": c.lookup("Penyakit_kronis", c.factorized("Penyakit_kronis")[1] != "0", False),
        "hamil": c.isin("Sta_hamil", ("1",)),
    }  # fmt: skip
    size = m.count(np.ones(len(age), dtype=bool))
    per_member = np.maximum(size, 1.0)
    out = {"n_art": size}
    working_age = m.count(between(age, 15, 64))
    out["n_usia_kerja"] = working_age
    out["rasio_ketergantungan"] = m.count((age < 15) | (age >= 65)) / np.maximum(working_age, 1.0)
    for group, flag in flags.items():
        out[f"n_{group}"] = m.count(flag)
        out[f"share_{group}"] = out[f"n_{group}"] / per_member
    out["n_bekerja"] = m.count(c.isin("Sta_bekerja", ("1",)))
    out["pekerja_per_art"] = out["n_bekerja"] / per_member
    out["n_anak_tidak_sekolah"] = m.count(
        between(age, 7, 18) & ~c.isin("Partisipasi_sekolah", ("1",))
    )
    ijazah = c.number("Ijazah_tertinggi")
    # max per household without a sort: the number of levels some member reaches
    out["ijazah_tertinggi_art"] = sum(
        (m.count(ijazah >= level) > 0).astype(np.float64) for level in range(1, 7)
    )
    return out


def _head_rows(m: Members) -> tuple[np.ndarray, np.ndarray]:
    """(household positions, member rows) of each household's head; see the definitions in
    :mod:`slrt_ml.features.households`.

    One priority number per member (head first, then older, then lower NoART) and its
    maximum per household: linear time, no sort of the member file.
    """
    is_head = m.coded.isin("Hub_KRT", ("1",)).astype(np.int64)
    age = np.clip(np.nan_to_num(m.age, nan=-1.0), -1, 254).astype(np.int64) + 1
    no_art = np.clip(np.nan_to_num(numbers(m.coded.frame, "NoART"), nan=0), 0, 2**20 - 1)
    priority = ((is_head << 8) | age) << 20 | (2**20 - 1 - no_art.astype(np.int64))
    best = np.full(m.n, -1, dtype=np.int64)
    np.maximum.at(best, m.group, priority)
    candidates = np.flatnonzero(priority == best[m.group])
    # a tie (duplicated NoART) keeps the first row of the household
    households, first = np.unique(m.group[candidates], return_index=True)
    return households, candidates[first]


def _head_features(m: Members) -> dict[str, np.ndarray]:
    households, rows = _head_rows(m)
    c = m.coded
    values = {
        "krt_perempuan": c.isin("Jnskel", ("2",)),
        "krt_umur": m.age,
        "krt_ijazah": c.number("Ijazah_tertinggi"),
        "krt_bekerja": c.isin("Sta_bekerja", ("1",)),
        "krt_jam_kerja": numbers(c.frame, "Jumlah_jamkerja"),
    }
    out: dict[str, np.ndarray] = {}
    for name, value in values.items():
        full = np.zeros(m.n)
        full[households] = np.nan_to_num(np.asarray(value, dtype=np.float64)[rows], nan=0.0)
        out[name] = full
    head_row = np.full(m.n, -1, dtype=np.int64)
    head_row[households] = rows
    for name, (item, _) in _HEAD_CATEGORIES.items():
        out[name] = c.codes(item, head_row)
    return out


def member_columns(m: Members) -> dict[str, np.ndarray]:
    """Every member aggregate and head feature, plus ``art_tidak_tercatat`` (no member rows)."""
    columns = {**_member_counts(m), **_head_features(m)}
    columns["art_tidak_tercatat"] = (columns["n_art"] == 0).astype(np.float64)
    return columns


def member_aggregates(members: pd.DataFrame) -> pd.DataFrame:
    """Household size, age groups, disability, illness, pregnancy, work, education and
    the head's characteristics.

    Parameters
    ----------
    members : DataFrame
        The member file (PBDT 2015 columns).

    Returns
    -------
    DataFrame
        One row per ``IDBDT`` of the member file (sorted); numeric columns ``float32``,
        the head's categoricals ``string``.

    Raises
    ------
    FeatureError
        A required column is missing or a code is not in the codebook.

    >>> members = pd.DataFrame({
    ...     "IDBDT": ["A", "A", "A"], "NoART": [1, 2, 3], "Hub_KRT": ["1", "2", "3"],
    ...     "Jnskel": ["1", "2", "1"], "Umur": [40, 38, 8], "Sta_kawin": ["2", "2", "1"],
    ...     "Sta_hamil": [pd.NA, "2", pd.NA], "Jenis_cacat": ["0", "0", "0"],
    ...     "Penyakit_kronis": ["1", "0", "0"], "Partisipasi_sekolah": ["2", "2", "1"],
    ...     "Jenjang_sekolah": ["4", "7", "1"], "Ijazah_tertinggi": ["2", "3", "0"],
    ...     "Sta_bekerja": ["1", "2", "2"], "Jumlah_jamkerja": [40, pd.NA, pd.NA],
    ...     "Lapangan_usaha": ["1", pd.NA, pd.NA], "Status_pekerjaan": ["1", pd.NA, pd.NA]})
    >>> agg = member_aggregates(members)
    >>> agg.loc["A", ["n_art", "n_anak_sd", "rasio_ketergantungan", "krt_umur", "ijazah_tertinggi_art"]].tolist()
    [3.0, 1.0, 0.5, 40.0, 3.0]
    >>> agg.loc["A", "krt_lapangan_usaha"]
    '1'
    """
    m, ids = prepare_members(members, None)
    return feature_frame(member_columns(m), ids)
