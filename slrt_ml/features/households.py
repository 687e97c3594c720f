"""Household features from the registry: member aggregates, PKH components, housing, area.

Every function here is **stateless per household**: a household's features depend on its
own rows of the household and member files (and its desa's row of the area file) and on
nothing learned from other households. So features can be built once for the whole
registry without leaking across cross-validation folds; the only learned preprocessing
(one-hot vocabularies, scaling) lives in ``slrt_ml.models._encoding.FeatureEncoder`` and
is fitted on training folds only.

Output of :func:`household_features`: one row per household, indexed by ``IDBDT`` in the
order of the household file; numeric and binary columns are ``float32`` with no NaN,
categorical columns (listed in :data:`CATEGORICAL_FEATURES`) are ``string`` codes.
Each column is described in :data:`FEATURES` (questionnaire items, Indonesian label,
kind); :func:`describe_answer` turns a value back into the household's own answer.

Definitions and imputations (all fixed rules, never statistics of the data):

- Household size ``n_art`` is the number of member rows. A household with no member rows
  gets ``n_art`` from ``Jumlah_ART`` (at least 1), ``art_tidak_tercatat = 1``, member
  counts and shares 0, head's age/education/hours 0, head's binaries 0 and head's
  categoricals ``"tidak_ada"`` (:data:`MISSING_CATEGORY`).
- Dependency ratio = (members aged < 15 + members aged 65+) / members aged 15-64; with no
  working-age member the denominator is taken as 1 (so it equals the dependants count).
- The head is the member with ``Hub_KRT == "1"``; with several, or none, the oldest of
  them (or of all members), then the lowest ``NoART``.
- Shares are counts divided by ``n_art``.
- Land area ``luas_lahan_ha`` is ``Luas_atb`` in hectares, 0 when missing.
- Livestock in tropical livestock units (FAO): cattle and buffalo 0.7, horse 0.8, pig 0.2,
  goat/sheep 0.1.

PKH components follow DESIGN §2 and the 2020 benefit schedule, see :func:`pkh_components`.

Program flags (``Sta_kks`` ... ``Sta_rastra``), the registry's ``Percentile``, SIKS-NG's
output, the truth and ``NIK`` never enter the features (:data:`FORBIDDEN_COLUMNS`).

>>> info = FEATURES["punya_lemari_es"]
>>> info.items, info.kind
(('Ada_lemari_es',), 'binary')
>>> describe_answer("punya_lemari_es", 0)
'Tidak punya lemari es'
>>> describe_answer("n_anak_sd", 3)
'3 anak usia SD'
>>> describe_answer("jenis_lantai", "9")
'Lantai: tanah'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from slrt_ml.data.codebook import CodebookError, decode_yes_no, get_codebook
from slrt_ml.features.catalogue import (
    _ASSETS,
    _DAYA_WATT,
    _HEAD_CATEGORIES,
    _HOUSEHOLD_COLUMNS,
    _HOUSING_BINARIES,
    _LIVESTOCK,
    _MEMBER_COLUMNS,
    _QUALITY,
    _RAW_CATEGORIES,
    _SD,
    _SMA,
    _SMP,
    CATEGORICAL_FEATURES,
    FEATURES,
    FORBIDDEN_COLUMNS,
    MISSING_CATEGORY,
    NUMERIC_FEATURES,
    PKH_BENEFIT_2020,
    PKH_MAX_COMPONENTS,
    SEVERE_DISABILITY_CODES,
    FeatureError,
    FeatureInfo,
    describe_answer,
)

__all__ = [
    "FeatureInfo",
    "FeatureError",
    "FEATURES",
    "CATEGORICAL_FEATURES",
    "NUMERIC_FEATURES",
    "FORBIDDEN_COLUMNS",
    "MISSING_CATEGORY",
    "PKH_BENEFIT_2020",
    "PKH_MAX_COMPONENTS",
    "SEVERE_DISABILITY_CODES",
    "pkh_components",
    "member_aggregates",
    "housing_features",
    "area_features",
    "household_features",
    "describe_answer",
]


# ----------------------------------------------------------------------------- input checks
def _require(frame: pd.DataFrame, columns: tuple[str, ...], file: str) -> None:
    missing = [c for c in dict.fromkeys(columns) if c not in frame.columns]
    if missing:
        raise FeatureError(
            f"{file}: missing column(s) {missing}; features need the PBDT 2015 columns "
            f"(see slrt_ml.data.codebook); read the table with slrt_ml.data.io.read_table"
        )


class _Coded:
    """A frame whose code columns are factorized once (on first use), so every test on a
    code is a lookup in a small table of distinct values instead of a string comparison."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def factorized(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """(position of each row's code in the distinct codes, -1 if missing; distinct codes)."""
        if column not in self._cache:
            positions, uniques = pd.factorize(self.frame[column].astype("string"))
            self._cache[column] = (positions, np.asarray(uniques, dtype=object))
        return self._cache[column]

    def lookup(self, column: str, per_code: np.ndarray, missing: object) -> np.ndarray:
        positions, _ = self.factorized(column)
        return np.append(per_code, np.asarray([missing], dtype=per_code.dtype))[positions]

    def isin(self, column: str, codes: tuple[str, ...]) -> np.ndarray:
        return self.lookup(column, np.isin(self.factorized(column)[1], codes), False)

    def number(self, column: str) -> np.ndarray:
        uniques = self.factorized(column)[1]
        return self.lookup(column, pd.to_numeric(pd.Series(uniques, dtype="string")).to_numpy(
            dtype=np.float64, na_value=np.nan), np.nan)  # fmt: skip

    def map(self, column: str, mapping: Mapping[str, float], missing: float) -> np.ndarray:
        per_code = np.array([mapping.get(c, missing) for c in self.factorized(column)[1]], float)
        return self.lookup(column, per_code, missing)

    def codes(
        self, column: str, rows: np.ndarray | None = None
    ) -> pd.api.extensions.ExtensionArray:
        """The codes as a ``string`` array, :data:`MISSING_CATEGORY` where missing; ``rows``
        picks rows (-1: missing)."""
        positions, uniques = self.factorized(column)
        if rows is not None:  # row -1 takes the appended -1: missing
            positions = np.append(positions, -1)[rows]
        # position -1 takes the last entry, MISSING_CATEGORY
        return pd.array(np.append(uniques, MISSING_CATEGORY), dtype="string").take(positions)


def _check_codes(coded: _Coded, columns: tuple[str, ...], table: str, file: str) -> None:
    """One error listing every code column whose values are not in the codebook."""
    problems = []
    for column in dict.fromkeys(columns):
        spec = get_codebook().spec(table, column)  # type: ignore[arg-type]
        if spec.kind != "code":
            continue
        positions, uniques = coded.factorized(column)
        bad = np.append(~np.isin(uniques, spec.allowed_codes), not spec.nullable)[positions]
        if bad.any():
            examples = pd.unique(np.append(uniques, "<NA>")[positions[bad]])[:5].tolist()
            problems.append(
                f"{column}: {int(bad.sum())} value(s) not in the code list "
                f"({', '.join(spec.allowed_codes)}): {examples}"
            )
    if problems:
        raise FeatureError(
            f"{file}: "
            + "; ".join(problems)
            + "; fix the codes or validate the table with slrt_ml.data.schema first"
        )


def _number(frame: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(frame[column]).to_numpy(dtype=np.float64, na_value=np.nan)


def _household_ids(households: pd.DataFrame) -> pd.Index:
    ids = pd.Index(households["IDBDT"].astype("string"), name="IDBDT")
    if not ids.is_unique:
        dup = ids[ids.duplicated()].unique()[:5].tolist()
        raise FeatureError(
            f"households: IDBDT must be unique; {len(dup)}+ duplicated, e.g. {dup}; "
            "drop the duplicates (slrt_ml.data.schema.validate_households lists them)"
        )
    return ids


def _locate(ids: pd.Index, member_ids: pd.Series) -> np.ndarray:
    """Position in ``ids`` of each member's household (-1 when unknown), by hashing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    value_set = pa.array(pd.Series(ids, dtype="string"))
    found = pc.index_in(pa.array(member_ids.astype("string")), value_set=value_set)
    return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


# ----------------------------------------------------------------------------- members
@dataclass(frozen=True)
class _Members:
    """Members of known households with the position of their household."""

    coded: _Coded
    group: np.ndarray  # household position of each member, in [0, n)
    n: int  # number of households
    age: np.ndarray

    def count(self, mask: np.ndarray) -> np.ndarray:
        return np.bincount(self.group[mask], minlength=self.n).astype(np.float64)


def _prepare_members(members: pd.DataFrame, ids: pd.Index | None) -> tuple[_Members, pd.Index]:
    """Check the member table and place members in households ``ids`` (default: their own
    sorted IDBDTs). Members of households not in ``ids`` are ignored: schema checks orphans."""
    _require(members, _MEMBER_COLUMNS, "members")
    if ids is None:
        ids = pd.Index(
            members["IDBDT"].astype("string").dropna().unique(), name="IDBDT"
        ).sort_values()
    group = _locate(ids, members["IDBDT"])
    known = group >= 0
    coded = _Coded(members if known.all() else members.loc[known])
    _check_codes(coded, _MEMBER_COLUMNS[2:], "member", "members")
    return _Members(coded, group[known], len(ids), _number(coded.frame, "Umur")), ids


def _between(age: np.ndarray, low: float, high: float = np.inf) -> np.ndarray:
    return (age >= low) & (age <= high)


def _member_counts(m: _Members) -> dict[str, np.ndarray]:
    """Counts and shares of member groups, dependency ratio, workers, out-of-school children."""
    c, age = m.coded, m.age
    flags = {
        "anak_0_6": _between(age, 0, 6), "anak_sd": _between(age, 7, 12),
        "anak_smp": _between(age, 13, 15), "anak_sma": _between(age, 16, 18),
        "usia_19_21": _between(age, 19, 21), "lansia": _between(age, 60),
        "disabilitas": c.lookup("Jenis_cacat", c.factorized("Jenis_cacat")[1] != "0", False),
        "penyakit_kronis": c.lookup("Penyakit_kronis", c.factorized("Penyakit_kronis")[1] != "0", False),
        "hamil": c.isin("Sta_hamil", ("1",)),
    }  # fmt: skip
    size = m.count(np.ones(len(age), dtype=bool))
    per_member = np.maximum(size, 1.0)
    out = {"n_art": size}
    working_age = m.count(_between(age, 15, 64))
    out["n_usia_kerja"] = working_age
    out["rasio_ketergantungan"] = m.count((age < 15) | (age >= 65)) / np.maximum(working_age, 1.0)
    for group, flag in flags.items():
        out[f"n_{group}"] = m.count(flag)
        out[f"share_{group}"] = out[f"n_{group}"] / per_member
    out["n_bekerja"] = m.count(c.isin("Sta_bekerja", ("1",)))
    out["pekerja_per_art"] = out["n_bekerja"] / per_member
    out["n_anak_tidak_sekolah"] = m.count(
        _between(age, 7, 18) & ~c.isin("Partisipasi_sekolah", ("1",))
    )
    ijazah = c.number("Ijazah_tertinggi")
    # max per household without a sort: the number of levels some member reaches
    out["ijazah_tertinggi_art"] = sum(
        (m.count(ijazah >= level) > 0).astype(np.float64) for level in range(1, 7)
    )
    return out


def _head_rows(m: _Members) -> tuple[np.ndarray, np.ndarray]:
    """(household positions, member rows) of each household's head; see module docstring.

    One priority number per member (head first, then older, then lower NoART) and its
    maximum per household: linear time, no sort of the member file.
    """
    is_head = m.coded.isin("Hub_KRT", ("1",)).astype(np.int64)
    age = np.clip(np.nan_to_num(m.age, nan=-1.0), -1, 254).astype(np.int64) + 1
    no_art = np.clip(np.nan_to_num(_number(m.coded.frame, "NoART"), nan=0), 0, 2**20 - 1)
    priority = ((is_head << 8) | age) << 20 | (2**20 - 1 - no_art.astype(np.int64))
    best = np.full(m.n, -1, dtype=np.int64)
    np.maximum.at(best, m.group, priority)
    candidates = np.flatnonzero(priority == best[m.group])
    # a tie (duplicated NoART) keeps the first row of the household
    households, first = np.unique(m.group[candidates], return_index=True)
    return households, candidates[first]


def _head_features(m: _Members) -> dict[str, np.ndarray]:
    households, rows = _head_rows(m)
    c = m.coded
    values = {
        "krt_perempuan": c.isin("Jnskel", ("2",)),
        "krt_umur": m.age,
        "krt_ijazah": c.number("Ijazah_tertinggi"),
        "krt_bekerja": c.isin("Sta_bekerja", ("1",)),
        "krt_jam_kerja": _number(c.frame, "Jumlah_jamkerja"),
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


def _member_columns(m: _Members) -> dict[str, np.ndarray]:
    columns = {**_member_counts(m), **_head_features(m)}
    columns["art_tidak_tercatat"] = (columns["n_art"] == 0).astype(np.float64)
    return columns


def _frame(columns: Mapping[str, np.ndarray | pd.Series], ids: pd.Index) -> pd.DataFrame:
    """Numeric features as one float32 block, then the categoricals as ``string``; each
    group in FEATURES order."""
    numeric = [n for n in NUMERIC_FEATURES if n in columns]
    block = np.empty((len(numeric), len(ids)), dtype=np.float32)
    for row, name in enumerate(numeric):
        block[row] = columns[name]
    frame = pd.DataFrame(block.T, index=ids, columns=numeric, copy=False)
    categorical = {
        n: pd.array(columns[n], dtype="string") for n in CATEGORICAL_FEATURES if n in columns
    }
    if not categorical:
        return frame
    return pd.concat([frame, pd.DataFrame(categorical, index=ids)], axis=1)


def member_aggregates(members: pd.DataFrame) -> pd.DataFrame:
    """Household size, age groups, disability, illness, pregnancy, work, education and
    the head's characteristics, one row per ``IDBDT`` of the member file (sorted).

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
    m, ids = _prepare_members(members, None)
    return _frame(_member_columns(m), ids)


# ----------------------------------------------------------------------------- PKH components
def _component_flags(m: _Members, elderly_age: float) -> dict[str, np.ndarray]:
    """Per member, which PKH components the member counts under (see pkh_components)."""
    c, age = m.coded, m.age
    in_school = c.isin("Partisipasi_sekolah", ("1",))
    school_age = _between(age, 6, 21)
    pupil = {
        level: in_school & school_age & c.isin("Jenjang_sekolah", codes)
        for level, codes in (("sd", _SD), ("smp", _SMP), ("sma", _SMA))
    }
    no_sma_diploma = c.number("Ijazah_tertinggi") < 3
    child = ~c.isin("Hub_KRT", ("1", "2"))  # "anak": not the head or the spouse
    wajib_belajar = _between(age, 7, 21) & ~in_school & no_sma_diploma & child
    return {
        "comp_hamil": c.isin("Sta_hamil", ("1",)),
        "comp_usia_dini": _between(age, 0, 6) & ~(pupil["sd"] | pupil["smp"] | pupil["sma"]),
        "comp_sd": pupil["sd"],
        "comp_smp": pupil["smp"],
        "comp_sma": pupil["sma"] | wajib_belajar,
        "comp_disabilitas_berat": c.isin("Jenis_cacat", SEVERE_DISABILITY_CODES),
        "comp_lansia": age >= elderly_age,
    }


def _entitlement(counts: Mapping[str, np.ndarray]) -> np.ndarray:
    """Rp/year for the ``PKH_MAX_COMPONENTS`` highest-value components of each family."""
    remaining = np.full(len(next(iter(counts.values()))), float(PKH_MAX_COMPONENTS))
    total = np.zeros_like(remaining)
    for name, amount in sorted(PKH_BENEFIT_2020.items(), key=lambda kv: -kv[1]):
        paid = np.minimum(counts[name], remaining)
        total += paid * amount
        remaining -= paid
    return total


def _pkh_columns(m: _Members, elderly_age: float) -> dict[str, np.ndarray]:
    counts = {name: m.count(flag) for name, flag in _component_flags(m, elderly_age).items()}
    n_components = sum(counts.values())
    columns = {
        **counts,
        "n_components": n_components,
        "has_component": (n_components > 0).astype(np.float64),
        "pkh_entitlement": _entitlement(counts),
    }
    return columns


def pkh_components(members: pd.DataFrame, *, elderly_age: float = 60) -> pd.DataFrame:
    """PKH components by rule, one row per ``IDBDT`` of the member file (sorted).

    Counts per component (a child counts under at most one of usia dini/SD/SMP/SMA):

    - ``comp_hamil``: ``Sta_hamil == "1"``.
    - ``comp_sd``/``comp_smp``/``comp_sma``: aged 6-21, in school (``Partisipasi_sekolah
      == "1"``) at ``Jenjang_sekolah`` 1-3 (SD, Paket A, MI) / 4-6 (SMP, Paket B, MTs) /
      7-9 (SMA/SMK, Paket C, MA). ``comp_sma`` also counts the "wajib belajar 12 tahun"
      children: aged 7-21, not the head or spouse (``Hub_KRT`` not 1 or 2), not in
      school, without an SMA diploma (``Ijazah_tertinggi`` < 3).
      University students count under none.
    - ``comp_usia_dini``: aged 0-6 and not counted as a pupil above.
    - ``comp_disabilitas_berat``: ``Jenis_cacat`` in :data:`SEVERE_DISABILITY_CODES`.
    - ``comp_lansia``: aged ``elderly_age`` or more (60 by default; older guidelines 70).

    A person may count under several components (an elderly woman with a severe
    disability). ``n_components`` is the uncapped total, ``has_component`` is 1 when it
    is positive (PKH eligibility), ``pkh_entitlement`` the 2020 benefit in Rp/year for
    the :data:`PKH_MAX_COMPONENTS` highest-value components (:data:`PKH_BENEFIT_2020`).

    >>> members = pd.DataFrame({
    ...     "IDBDT": ["A"] * 6, "NoART": [1, 2, 3, 4, 5, 6], "Hub_KRT": ["1", "2", "3", "3", "3", "6"],
    ...     "Jnskel": ["1", "2", "1", "2", "1", "2"], "Umur": [35, 30, 2, 9, 14, 66],
    ...     "Sta_kawin": ["2", "2", "1", "1", "1", "4"], "Sta_hamil": [pd.NA, "1", pd.NA, pd.NA, pd.NA, "2"],
    ...     "Jenis_cacat": ["0"] * 6, "Penyakit_kronis": ["0"] * 6,
    ...     "Partisipasi_sekolah": ["2", "2", "0", "1", "1", "2"],
    ...     "Jenjang_sekolah": ["4", "7", pd.NA, "1", "4", "1"], "Ijazah_tertinggi": ["2", "3", "0", "0", "1", "0"],
    ...     "Sta_bekerja": ["1", "2", "2", "2", "2", "2"], "Jumlah_jamkerja": [40] + [pd.NA] * 5,
    ...     "Lapangan_usaha": ["1"] + [pd.NA] * 5, "Status_pekerjaan": ["1"] + [pd.NA] * 5})
    >>> comp = pkh_components(members)
    >>> comp.loc["A", ["comp_hamil", "comp_usia_dini", "comp_sd", "comp_smp", "comp_lansia"]].tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0]
    >>> float(comp.loc["A", "pkh_entitlement"])  # 3.0M + 3.0M + 2.4M + 1.5M; SD (0.9M) is the 5th
    9900000.0
    >>> float(pkh_components(members, elderly_age=70).loc["A", "pkh_entitlement"])
    8400000.0
    """
    m, ids = _prepare_members(members, None)
    return _frame(_pkh_columns(m, elderly_age), ids)


# ----------------------------------------------------------------------------- households
def _yes_no(coded: _Coded, column: str) -> np.ndarray:
    """The codebook's {1, 3} yes / {2, 4} no rule, applied to the distinct codes."""
    positions, uniques = coded.factorized(column)
    if (positions < 0).any():
        decode_yes_no(coded.frame[column], column)  # raises, naming the column and values
    try:
        per_code = decode_yes_no(pd.Series(uniques, dtype="string"), column).to_numpy(np.float64)
    except CodebookError:
        decode_yes_no(coded.frame[column], column)  # the same error, with row counts
        raise
    return per_code[positions]


def _assets(coded: _Coded) -> dict[str, np.ndarray]:
    """Yes/no items decoded with the PBDT {1, 3} yes / {2, 4} no rule; bad codes raise."""
    out = {f"punya_{stem}": _yes_no(coded, item) for item, (stem, _) in _ASSETS.items()}
    out["n_aset"] = sum(out.values())
    out["punya_lahan"] = _yes_no(coded, "Aset_tak_bergerak")
    out["punya_rumah_lain"] = _yes_no(coded, "Rumah_lain")
    out["luas_lahan_ha"] = np.nan_to_num(_number(coded.frame, "Luas_atb"), nan=0.0) / 10_000
    return out


def _livestock(households: pd.DataFrame) -> dict[str, np.ndarray]:
    out = {
        name: np.nan_to_num(_number(households, item), nan=0.0)
        for item, (name, _, _) in _LIVESTOCK.items()
    }
    out["ternak_tlu"] = sum(out[name] * tlu for name, _, tlu in _LIVESTOCK.values())
    return out


def _dwelling(coded: _Coded, size: np.ndarray) -> dict[str, np.ndarray]:
    frame = coded.frame
    out: dict[str, np.ndarray] = {
        "luas_lantai_per_kapita": np.nan_to_num(_number(frame, "Luas_lantai"), nan=0.0) / size,
        "kamar_per_kapita": np.nan_to_num(_number(frame, "Jumlah_kamar"), nan=0.0) / size,
    }
    for name, (item, codes, _, _) in _HOUSING_BINARIES.items():
        out[name] = coded.isin(item, codes).astype(np.float64)
    for item, groups in _QUALITY.items():
        out[f"kualitas_{item.lower()}"] = coded.map(item, groups, 1.0)
    out["daya_watt"] = np.where(out["listrik_pln"] == 1, coded.map("Daya", _DAYA_WATT, 0.0), 0.0)
    for name, (item, _) in _RAW_CATEGORIES.items():
        out[name] = coded.codes(item)
    return out


def housing_features(
    households: pd.DataFrame, n_art: pd.Series | np.ndarray | None = None
) -> pd.DataFrame:
    """Dwelling, water, sanitation, power, cooking fuel, assets, land and livestock.

    ``n_art`` (household size, aligned with ``households``) defaults to ``Jumlah_ART``.
    Quality groups of floor/wall/roof: 2 good, 1 medium, 0 poor (see ``_QUALITY``);
    ``daya_watt`` is 0 without PLN power or without a meter, 3500 for "> 2.200 watt".

    >>> row = {c: "1" for c in _HOUSEHOLD_COLUMNS}
    >>> row.update(IDBDT="A", KDPROP="73", KDKAB="11", KDKEC="010", KDDESA="001", Jumlah_ART=4,
    ...            Luas_lantai=36.0, Jumlah_kamar=2, Lantai="9", Daya="2", Luas_atb=5000.0,
    ...            Jumlah_sapi=2, Jumlah_kerbau=0, Jumlah_kuda=0, Jumlah_babi=0, Jumlah_kambing=3)
    >>> h = housing_features(pd.DataFrame([row]))
    >>> h.loc["A", ["luas_lantai_per_kapita", "kualitas_lantai", "daya_watt", "n_aset", "ternak_tlu"]].tolist()
    [9.0, 0.0, 900.0, 15.0, 1.7000000476837158]
    """
    ids = _household_ids(households)
    size = _number(households, "Jumlah_ART") if n_art is None else np.asarray(n_art, float)
    return _frame(_housing_columns(households, size), ids)


def _housing_columns(households: pd.DataFrame, size: np.ndarray) -> dict[str, np.ndarray]:
    _require(households, _HOUSEHOLD_COLUMNS, "households")
    coded = _Coded(households)
    code_items = (*_QUALITY, "Daya", *(i for i, *_ in _HOUSING_BINARIES.values()))
    _check_codes(coded, code_items, "household", "households")
    size = np.maximum(np.nan_to_num(size, nan=1.0), 1.0)
    return {**_dwelling(coded, size), **_assets(coded), **_livestock(households)}


_AREA_CODES = ("KDPROP", "KDKAB", "KDKEC", "KDDESA")


def _area_codes(frame: pd.DataFrame) -> dict[str, pd.api.extensions.ExtensionArray]:
    """Kabupaten, kecamatan and desa codes as concatenated strings ("7311", "7311010",
    "7311010001"), built once per distinct desa and broadcast to the rows."""
    coded = _Coded(frame)
    key = np.zeros(len(frame), dtype=np.int64)
    for column in _AREA_CODES:
        positions, uniques = coded.factorized(column)
        key = key * (len(uniques) + 1) + positions + 1
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    desa = frame.iloc[first][list(_AREA_CODES)].astype("string").fillna("")
    kab = desa["KDPROP"] + desa["KDKAB"]
    kec = kab + desa["KDKEC"]
    return {
        "kabupaten": kab.array.take(inverse),
        "kecamatan": kec.array.take(inverse),
        "desa": (kec + desa["KDDESA"]).array.take(inverse),
    }


def area_features(households: pd.DataFrame, areas: pd.DataFrame | None = None) -> pd.DataFrame:
    """Kabupaten ("7311") and kecamatan ("7311010") codes; ``perkotaan`` from the areas table.

    Codes are concatenated, never parsed as numbers, so a kecamatan code is unique across
    kabupaten. The desa is not a feature: too few households per desa to learn from. Without ``areas`` there is no ``perkotaan`` column. A household whose desa
    is not in ``areas`` is an error naming the desa codes.

    >>> hh = pd.DataFrame({"IDBDT": ["A"], "KDPROP": ["73"], "KDKAB": ["11"], "KDKEC": ["010"], "KDDESA": ["001"]})
    >>> area_features(hh).loc["A"].tolist()
    ['7311', '7311010']
    """
    return _frame(_area_columns(households, areas), _household_ids(households))


def _area_columns(households: pd.DataFrame, areas: pd.DataFrame | None) -> dict:
    columns = _area_codes(households)
    desa = columns.pop("desa")
    if areas is not None:
        columns["perkotaan"] = _urban(desa, areas)
    return columns


def _urban(desa: pd.api.extensions.ExtensionArray, areas: pd.DataFrame) -> np.ndarray:
    """1.0 where the household's desa is classified urban (``Klasifikasi == "1"``)."""
    _require(areas, (*_AREA_CODES, "Klasifikasi"), "areas")
    area_key = pd.Index(_area_codes(areas)["desa"])
    if area_key.has_duplicates:
        duplicated = area_key[area_key.duplicated()].unique()[:5].tolist()
        raise FeatureError(f"areas: desa codes must be unique; duplicated: {duplicated}")
    urban = _Coded(areas).isin("Klasifikasi", ("1",)).astype(np.float64)
    positions, distinct = pd.factorize(desa)
    found = area_key.get_indexer(distinct)[positions]
    if (found < 0).any():
        missing = pd.unique(desa[found < 0])
        raise FeatureError(
            f"areas: {len(missing)} desa of the households are missing "
            f"(KDPROP+KDKAB+KDKEC+KDDESA), e.g. {missing[:5].tolist()}; "
            "use the areas table of the same registry or pass areas=None"
        )
    return urban[found]


def household_features(
    households: pd.DataFrame,
    members: pd.DataFrame,
    areas: pd.DataFrame | None = None,
    *,
    elderly_age: float = 60,
) -> pd.DataFrame:
    """All features, one row per household, indexed by ``IDBDT`` in ``households`` order.

    Columns of :data:`FORBIDDEN_COLUMNS` in the inputs are ignored. Households without
    member rows are kept (see the module docstring for how they are filled); members of
    households not in ``households`` are ignored. Numeric columns are ``float32`` without
    NaN; categorical ones (:data:`CATEGORICAL_FEATURES`) are ``string``. ``perkotaan`` is
    present only when ``areas`` is given. ``elderly_age`` is passed to :func:`pkh_components`
    (``comp_lansia``); ``n_lansia`` always counts members aged 60+.
    """
    households = households.drop(columns=[c for c in households.columns if c in FORBIDDEN_COLUMNS])
    members = members.drop(columns=[c for c in members.columns if c in FORBIDDEN_COLUMNS])
    _require(households, _HOUSEHOLD_COLUMNS, "households")
    ids = _household_ids(households)
    m, _ = _prepare_members(members, ids)
    columns = _member_columns(m)
    no_members = columns["art_tidak_tercatat"] == 1
    if no_members.any():
        fallback = np.maximum(np.nan_to_num(_number(households, "Jumlah_ART"), nan=1.0), 1.0)
        columns["n_art"] = np.where(no_members, fallback, columns["n_art"])
    columns.update(_pkh_columns(m, elderly_age))
    columns.update(_housing_columns(households, columns["n_art"]))
    columns.update(_area_columns(households, areas))
    return _frame(columns, ids)
