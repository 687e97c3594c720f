"""The rules of the data contract as findings: which rows of a frame break which rule.

Column rules (dtypes, code lists, ranges, area-code and NIK formats, unique IDBDT) come
from the codebook's :class:`~slrt_ml.data.codebook.ColumnSpec`
(:func:`~slrt_ml.data.column_rules.column_rules`) and are checked with pandera, lazily, so
every failure is collected, where a whole file is validated; the per-chunk rejects of
batch scoring check the same rules vectorised over Arrow arrays
(:func:`~slrt_ml.data.column_rules.column_findings`: same findings, same order, a fraction
of the time; see that module). Rules between rows and tables (members'
households exist, one head per household, ``Jumlah_ART`` equals the member count, NIK
birth date and sex) are vectorised pandas checks. Each broken rule is one
:class:`Finding` (row positions and offending values); :mod:`slrt_ml.data.schema` turns
findings into the problems of a :class:`~slrt_ml.data.schema.SchemaError`,
:mod:`slrt_ml.data.rejects` into one reason per rejected household.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from slrt_ml.data.codebook import ColumnSpec
from slrt_ml.data.column_rules import (
    ID_PATTERN,
    ColumnRule,
    Finding,
    arrow_text,
    ascii_digits,
    builtin_rule,
    column_findings,
    column_rules,
    starts_ascii_alnum,
)

__all__ = [
    "ID_PATTERN",
    "STRING_KINDS",
    "Finding",
    "coerce",
    "household_side_findings",
    "isin_strings",
    "orphan_findings",
    "table_findings",
    "without_repeats",
]

STRING_KINDS = frozenset({"id", "area", "code", "yes_no", "nik", "text"})
"""Codebook column kinds held as pandas ``string`` (codes, ids, area codes, NIK, text)."""

# --- column specs -> coerced frame + pandera findings ----------------------------------------


def _as_string(values: pd.Series, spec: ColumnSpec) -> pd.Series:
    out = values.astype("string")
    if spec.kind in {"id", "nik", "area"}:
        out = out.mask(_blank(out))  # a blank id is a missing id
    return out


def _blank(text: pd.Series) -> np.ndarray:
    """``text.str.strip() == ""`` as a bool array; only values not starting with an ASCII
    letter or digit (the few that can be blank) go through Python's ``strip``."""
    maybe = np.flatnonzero(~starts_ascii_alnum(arrow_text(text)))
    blank = np.zeros(len(text), dtype=bool)
    if len(maybe):
        stripped = text.iloc[maybe].str.strip() == ""
        blank[maybe] = stripped.to_numpy(dtype=bool, na_value=False)
    return blank


def _as_number(values: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, Finding | None]:
    numbers = pd.to_numeric(values, errors="coerce")
    numbers = numbers.astype("Float64") if spec.kind == "measure" else numbers
    as_float = numbers.to_numpy(dtype=float, na_value=np.nan)
    broken = numbers.isna().to_numpy() & values.notna().to_numpy()
    broken |= np.isinf(as_float)  # "inf" parses as a number but is none
    if spec.kind != "measure":
        with np.errstate(invalid="ignore"):
            frac = np.nan_to_num(as_float % 1, nan=0.0) != 0
        broken |= frac
    if not broken.any():
        return numbers, None
    rows = np.flatnonzero(broken)
    word = "a finite number" if spec.kind == "measure" else "a finite whole number"
    finding = Finding(
        spec.name,
        "number" if spec.kind == "measure" else "whole number",
        rows,
        values.iloc[rows],
        f"{spec.name} ({spec.gloss}) must be {word}; fix the values or the export's number format",
    )
    return numbers.mask(pd.Series(broken, index=numbers.index)), finding


def without_repeats(findings: list[Finding]) -> list[Finding]:
    """Drop 'not empty' rows that are blank only because their number was unreadable."""
    unreadable: dict[str, np.ndarray] = {}
    for f in findings:
        if f.rule in {"number", "whole number"}:
            unreadable[f.column] = f.rows
    out = []
    for f in findings:
        if f.rule == "not empty" and f.column in unreadable:
            keep = ~np.isin(f.rows, unreadable[f.column])
            f = Finding(f.column, f.rule, f.rows[keep], f.values.iloc[keep], f.hint)
        out.append(f)
    return out


def coerce(df: pd.DataFrame, specs: Mapping[str, ColumnSpec]) -> tuple[pd.DataFrame, list[Finding]]:
    """Columns ``specs`` knows as text (string kinds) or numbers, with a fresh RangeIndex.

    Returns
    -------
    frame, findings
        The coerced copy (unreadable numbers become missing) and one finding per column
        with values that are not (whole) numbers.
    """
    out = df.reset_index(drop=True)  # copy-on-write: assigning columns leaves ``df`` alone
    findings: list[Finding] = []
    for name, spec in specs.items():
        if name not in out.columns:
            continue
        if spec.kind in STRING_KINDS:
            out[name] = _as_string(out[name], spec)
        else:
            out[name], finding = _as_number(out[name], spec)
            findings += [finding] if finding else []
    return out, findings


def _pandera_check(rule: ColumnRule) -> object:
    import pandera.pandas as pa

    if rule.test == "isin":
        return pa.Check.isin(list(rule.arg))
    if rule.test in {"matches", "digits"}:
        return pa.Check.str_matches(rule.pattern)
    return pa.Check.in_range(*rule.arg)


def _pandera_findings(
    frame: pd.DataFrame, specs: Mapping[str, ColumnSpec], version: str, unique_id: bool
) -> list[Finding]:
    # pandera imports pyspark when it is installed; pyspark 4.3 warns under pandas 3 on
    # every such import (nothing here runs pandas on Spark): silenced at the source
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
        )
        return _pandera_findings_quiet(frame, specs, version, unique_id)


def _pandera_findings_quiet(
    frame: pd.DataFrame, specs: Mapping[str, ColumnSpec], version: str, unique_id: bool
) -> list[Finding]:
    import pandera.pandas as pa

    columns, rules = {}, {}
    for name, spec in specs.items():
        if name not in frame.columns:
            continue
        checks = column_rules(spec, version)
        rules.update({(name, str(i)): (r.rule, r.hint) for i, r in enumerate(checks)})
        unique = unique_id and spec.kind == "id"
        columns[name] = pa.Column(
            nullable=spec.nullable, unique=unique, checks=[_pandera_check(r) for r in checks]
        )
    try:
        pa.DataFrameSchema(columns).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        return _findings_from(exc.failure_cases, frame, specs, rules)
    return []


def _findings_from(cases: pd.DataFrame, frame, specs, rules) -> list[Finding]:
    findings = []
    cases = cases.dropna(subset=["index"])
    keys = cases["check_number"].astype("string").fillna(cases["check"].astype("string"))
    for (column, key), group in cases.groupby([cases["column"], keys], sort=False):
        rows = np.unique(group["index"].to_numpy(dtype=np.int64))
        rule, hint = rules.get((column, key)) or builtin_rule(key, specs[column])
        findings.append(Finding(column, rule, rows, frame[column].iloc[rows], hint))
    return findings


# --- rules between rows and tables (members) --------------------------------------------------


def _nik_findings(members: pd.DataFrame) -> list[Finding]:
    if not {"NIK", "Jnskel"} <= set(members.columns):
        return []
    nik = members["NIK"]
    well_formed = ascii_digits(arrow_text(nik.astype("string")), 16)
    day, month = _nik_day_month(nik, well_formed)
    day_ok = ((day >= 1) & (day <= 31)) | ((day >= 41) & (day <= 71))
    bad_date = well_formed & ~(day_ok & (month >= 1) & (month <= 12))
    female_nik = day > 40
    sex = members["Jnskel"].to_numpy(dtype=object, na_value=None)
    bad_sex = well_formed & ~bad_date & (((sex == "2") & ~female_nik) | ((sex == "1") & female_nik))
    return [
        Finding(
            "NIK",
            "NIK birth date",
            np.flatnonzero(bad_date),
            nik[bad_date],
            "NIK digits 7-8 are the birth day (plus 40 for women) and 9-10 the month; "
            "correct the NIK against the family card (KK)",
        ),
        Finding(
            "NIK",
            "NIK sex",
            np.flatnonzero(bad_sex),
            nik[bad_sex],
            "a NIK birth day above 40 means a woman: Jnskel must be '2' (and '1' for a day "
            "up to 31); correct Jnskel or the NIK",
        ),
    ]


def _nik_day_month(nik: pd.Series, well_formed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Birth day and month digits of the well-formed NIKs (0 elsewhere), read from the
    ASCII bytes in one vectorised step instead of parsing text per row."""
    day, month = np.zeros(len(nik)), np.zeros(len(nik))
    if well_formed.any():
        digits = _nik_digits(nik, well_formed).astype(np.int64) - ord("0")
        day[well_formed] = digits[:, 6] * 10 + digits[:, 7]
        month[well_formed] = digits[:, 8] * 10 + digits[:, 9]
    return day, month


def _nik_digits(nik: pd.Series, well_formed: np.ndarray) -> np.ndarray:
    """(n well-formed, 16) ASCII codes; from the Arrow data buffer when there is one."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = int(well_formed.sum())
    try:
        chunked = pa.chunked_array(nik.array.__arrow_array__())
    except (AttributeError, TypeError, pa.ArrowException):
        text = nik.to_numpy(dtype=object)[well_formed].astype("S16")
        return text.view(np.uint8).reshape(-1, 16)
    kept = pc.filter(chunked, pa.array(well_formed)).combine_chunks()
    width = np.int64 if pa.types.is_large_string(kept.type) else np.int32
    start = int(np.frombuffer(kept.buffers()[1], width)[kept.offset])  # 16 bytes per NIK
    return np.frombuffer(kept.buffers()[2], np.uint8)[start : start + 16 * n].reshape(n, 16)


def _duplicated_pairs(ids: pd.Series, lines: pd.Series) -> np.ndarray:
    """``DataFrame.duplicated([ids, lines], keep=False)`` for rows with an id, from two
    integer codes (Arrow dictionary codes of the ids, pandas codes of the line numbers:
    missing line numbers equal each other, as in ``duplicated``)."""
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(arrow_text(ids.astype("string")))
    id_code = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    line_code, line_values = pd.factorize(lines, use_na_sentinel=True)
    key = id_code * (len(line_values) + 1) + (line_code + 1)
    return pd.Series(key).duplicated(keep=False).to_numpy() & (id_code >= 0)


def _member_line_findings(members: pd.DataFrame) -> list[Finding]:
    if not {"IDBDT", "NoART"} <= set(members.columns):
        return []
    dup = _duplicated_pairs(members["IDBDT"], members["NoART"])
    return [
        Finding(
            "NoART",
            "unique member line",
            np.flatnonzero(dup),
            members["NoART"][dup],
            "each member of a household needs its own NoART; renumber the member lines",
        )
    ]


def isin_strings(values: pd.Series, known: pd.Series) -> np.ndarray:
    """``values.isin(known)`` for long string columns (pandas' own is slow for 1M keys)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    as_arrow = pa.array(values.astype("string"))
    value_set = pa.array(known.astype("string").dropna().unique())
    return pc.is_in(as_arrow, value_set=value_set).to_numpy(zero_copy_only=False)


def orphan_findings(members: pd.DataFrame, households: pd.DataFrame) -> list[Finding]:
    orphan = members["IDBDT"].notna().to_numpy() & ~isin_strings(
        members["IDBDT"], households["IDBDT"]
    )
    return [
        Finding(
            "IDBDT",
            "household exists",
            np.flatnonzero(orphan),
            members["IDBDT"][orphan],
            "every member's IDBDT must be in the household file; add the household "
            "or remove its members",
        )
    ]


def _counts_by_id(member_ids: pd.Series, ids: pd.Series) -> np.ndarray:
    """Member rows per entry of ``ids`` (0 for a missing id), by Arrow hashing:
    ``member_ids.value_counts().reindex(ids, fill_value=0)`` without Python objects."""
    import pyarrow.compute as pc

    keys = arrow_text(ids.astype("string"))
    distinct = pc.unique(keys.drop_null())
    members = arrow_text(member_ids.astype("string")).drop_null()
    found = pc.index_in(members.cast(distinct.type), distinct).drop_null()
    per_key = np.append(
        np.bincount(found.to_numpy(zero_copy_only=False), minlength=len(distinct)), 0
    )
    return per_key[pc.index_in(keys, distinct).fill_null(-1).to_numpy(zero_copy_only=False)]


def _heads_per_household(members: pd.DataFrame, ids: pd.Series) -> np.ndarray:
    heads = members["IDBDT"][members["Hub_KRT"].eq("1").fillna(False).to_numpy(dtype=bool)]
    return _counts_by_id(heads, ids)


def _head_findings(members: pd.DataFrame, households: pd.DataFrame | None) -> list[Finding]:
    """Exactly one Hub_KRT == "1" per household (rows: households if given, else members)."""
    if not {"IDBDT", "Hub_KRT"} <= set(members.columns):
        return []
    owner = members if households is None else households
    ids = owner["IDBDT"]
    counts = _heads_per_household(members, ids)
    bad = (counts != 1) & ids.notna().to_numpy()
    if households is None:
        bad &= ~members.duplicated("IDBDT").to_numpy()  # one finding per household
    return [
        Finding(
            "Hub_KRT",
            "one head per household",
            np.flatnonzero(bad),
            pd.Series([f"{n} heads" for n in counts[bad]], dtype="string"),
            "each household needs exactly one member with Hub_KRT = '1' (kepala rumah "
            "tangga); fix the relation codes or the member list",
        )
    ]


def _size_findings(members: pd.DataFrame, households: pd.DataFrame) -> list[Finding]:
    if "Jumlah_ART" not in households.columns:
        return []
    counts = _counts_by_id(members["IDBDT"], households["IDBDT"])
    size = households["Jumlah_ART"].to_numpy(dtype=float, na_value=np.nan)
    bad = (size != counts) & households["IDBDT"].notna().to_numpy() & ~np.isnan(size)
    shown = [
        f"Jumlah_ART {int(s)}, {c} member rows" for s, c in zip(size[bad], counts[bad], strict=True)
    ]
    return [
        Finding(
            "Jumlah_ART",
            "household size = member rows",
            np.flatnonzero(bad),
            pd.Series(shown, dtype="string"),
            "Jumlah_ART must equal the household's number of member rows; update "
            "Jumlah_ART or the member file",
        )
    ]


# --- all findings of one table ------------------------------------------------------------


def table_findings(
    frame: pd.DataFrame,
    kind: str,
    specs: Mapping[str, ColumnSpec],
    version: str,
    households: pd.DataFrame | None = None,
    *,
    engine: str = "pandera",
) -> list[Finding]:
    """Every column rule and, for members, the rules between member rows.

    Parameters
    ----------
    frame
        A coerced table (see :func:`coerce`).
    kind
        Table kind; IDBDT must be unique in ``households``, ``siksng`` and ``truth``.
    specs, version
        The kind's codebook column specs and the codebook version (named in hints).
    households
        For members: when given, the head-per-household rule is left to
        :func:`household_side_findings` (it then reports household rows).
    engine
        ``"pandera"`` (validating a file) or ``"arrow"`` (the per-chunk rejects): the same
        findings in the same order (:mod:`slrt_ml.data.column_rules`).
    """
    unique_id = kind in {"households", "siksng", "truth"}
    if engine == "arrow":
        findings = column_findings(frame, specs, version, unique_id)
    elif engine == "pandera":
        findings = _pandera_findings(frame, specs, version, unique_id)
    else:
        raise ValueError(f"engine must be 'pandera' or 'arrow', not {engine!r}")
    if kind == "truth":
        findings += _survey_weight_findings(frame)
    if kind == "members":
        findings += _nik_findings(frame) + _member_line_findings(frame)
        findings += _head_findings(frame, None) if households is None else []
    return findings


def _survey_weight_findings(truth: pd.DataFrame) -> list[Finding]:
    """Surveyed rows (``in_survey == 1``) need a positive ``survey_weight``."""
    if "in_survey" not in truth.columns:
        return []
    weight = (
        pd.to_numeric(truth["survey_weight"], errors="coerce")
        if "survey_weight" in truth.columns
        else pd.Series(np.nan, index=truth.index)
    )
    bad = ((truth["in_survey"] == 1).fillna(False) & ~(weight > 0).fillna(False)).to_numpy(bool)
    return [
        Finding(
            "survey_weight",
            "survey weight > 0",
            np.flatnonzero(bad),
            weight[bad],
            "every household with in_survey = 1 needs survey_weight > 0 (households it "
            "represents); add the column or fix the weight",
        )
    ]


def household_side_findings(members: pd.DataFrame, households: pd.DataFrame) -> list[Finding]:
    """Findings about household rows that need the member file (heads, size)."""
    if "IDBDT" not in households.columns or "IDBDT" not in members.columns:
        return []
    return _head_findings(members, households) + _size_findings(members, households)
