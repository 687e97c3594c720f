"""The data contract: validate household, member, area, SIKS-NG and truth tables.

Column rules (required columns, dtypes, code lists, ranges, area-code and NIK formats,
unique IDBDT) come from the codebook's :class:`~slrt_ml.data.codebook.ColumnSpec` and are
checked with pandera, lazily, so every failure is collected. Rules between rows and tables
(members' households exist, one head per household, ``Jumlah_ART`` equals the member count,
NIK birth date and sex) are vectorised pandas checks feeding the same list. A table with
problems raises one :class:`SchemaError` listing all of them; a valid one comes back with
the canonical dtypes of ``docs/CONTRACTS.md``.

NIK is personal data: problems show the household's IDBDT, the member's NoART and a
masked NIK (region digits + ``**********``), never the number itself.

>>> hh = pd.DataFrame({"IDBDT": ["A1"], "welfare_pc": [510_000.0], "poor": [0]})
>>> validate_truth(hh).dtypes.astype(str).tolist()
['string', 'float64', 'int8']
>>> validate_truth(hh.assign(poor=[2]), file="truth.csv")
Traceback (most recent call last):
...
slrt_ml.data.schema.SchemaError: truth.csv: 1 problem(s)
  - column poor, rule 'flag 0/1': 1 row(s); examples (IDBDT=value): A1='2'. Hint: poor must be 0 or 1 (poor by the truth)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from slrt_ml.data.codebook import AREA_CODE_WIDTHS, DEFAULT_VERSION, ColumnSpec, get_codebook

__all__ = [
    "TABLE_KINDS",
    "Problem",
    "column_specs",
    "SchemaError",
    "household_rejects",
    "mask_nik",
    "validate_areas",
    "validate_households",
    "validate_members",
    "validate_siksng",
    "validate_table",
    "validate_truth",
]

TABLE_KINDS = ("households", "members", "areas", "siksng", "truth")
"""Table kinds, as named in a registry folder (prelist files are households/members)."""

_CODEBOOK_TABLE = {
    "households": "household",
    "members": "member",
    "areas": "area",
    "siksng": "siksng",
    "truth": "truth",
}
_MAX_EXAMPLES = 5
_PERIOD = r"^\d{4}-(0[1-9]|1[0-2])\Z"


@dataclass
class Problem:
    """One broken rule of one column: how many rows, a few examples and what to do."""

    file: str
    column: str
    rule: str
    count: int
    examples: list[tuple[str, str]] = field(default_factory=list)  # (IDBDT, value)
    hint: str = ""

    def __str__(self) -> str:
        shown = ", ".join(f"{key}={value!r}" for key, value in self.examples)
        examples = f"; examples (IDBDT=value): {shown}" if shown else ""
        return (
            f"column {self.column}, rule {self.rule!r}: {self.count} row(s){examples}. "
            f"Hint: {self.hint}"
        )


class SchemaError(ValueError):
    """A table breaks the data contract; ``problems`` holds every broken rule."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        files = ", ".join(dict.fromkeys(p.file for p in self.problems))
        lines = [f"{files}: {len(self.problems)} problem(s)"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


@dataclass
class _Finding:
    """Rows of one frame breaking one rule (positions into that frame)."""

    column: str
    rule: str
    rows: np.ndarray
    values: pd.Series  # the offending values, aligned with ``rows``
    hint: str


def mask_nik(nik: object) -> str:
    """Keep the 6 region digits of a NIK and hide the rest (birth date and serial).

    >>> mask_nik("7371024508900001")
    '737102**********'
    >>> mask_nik("12")
    '**'
    """
    text = "" if pd.isna(nik) else str(nik)
    if len(text) <= 6:
        return "*" * len(text)
    return text[:6] + "*" * (len(text) - 6)


# --- column specs -> coerced frame + pandera schema -------------------------------------------

_STRING_KINDS = {"id", "area", "code", "yes_no", "nik", "text"}


def column_specs(kind: str, version: str = DEFAULT_VERSION) -> Mapping[str, ColumnSpec]:
    """The codebook's column specs of one table kind (``households``, ``members`` ...)."""
    if kind not in _CODEBOOK_TABLE:
        raise ValueError(f"unknown table kind {kind!r}; use one of {', '.join(TABLE_KINDS)}")
    return get_codebook(version).table(_CODEBOOK_TABLE[kind])


def _as_string(values: pd.Series, spec: ColumnSpec) -> pd.Series:
    out = values.astype("string")
    if spec.kind in {"id", "nik", "area"}:
        out = out.mask(out.str.strip() == "")  # a blank id is a missing id
    return out


def _as_number(values: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, _Finding | None]:
    numbers = pd.to_numeric(values, errors="coerce")
    numbers = numbers.astype("Float64") if spec.kind == "measure" else numbers
    broken = numbers.isna().to_numpy() & values.notna().to_numpy()
    if spec.kind != "measure":
        frac = (numbers % 1).fillna(0).to_numpy(dtype=float, na_value=0.0) != 0
        broken |= frac
    if not broken.any():
        return numbers, None
    rows = np.flatnonzero(broken)
    word = "a number" if spec.kind == "measure" else "a whole number"
    finding = _Finding(
        spec.name,
        "number" if spec.kind == "measure" else "whole number",
        rows,
        values.iloc[rows],
        f"{spec.name} ({spec.gloss}) must be {word}; fix the values or the export's number format",
    )
    return numbers.mask(pd.Series(broken, index=numbers.index)), finding


def _without_repeats(findings: list[_Finding]) -> list[_Finding]:
    """Drop 'not empty' rows that are blank only because their number was unreadable."""
    unreadable: dict[str, np.ndarray] = {}
    for f in findings:
        if f.rule in {"number", "whole number"}:
            unreadable[f.column] = f.rows
    out = []
    for f in findings:
        if f.rule == "not empty" and f.column in unreadable:
            keep = ~np.isin(f.rows, unreadable[f.column])
            f = _Finding(f.column, f.rule, f.rows[keep], f.values.iloc[keep], f.hint)
        out.append(f)
    return out


def _coerce(df: pd.DataFrame, specs: Mapping[str, ColumnSpec]) -> tuple[pd.DataFrame, list]:
    out = df.reset_index(drop=True).copy()
    findings: list[_Finding] = []
    for name, spec in specs.items():
        if name not in out.columns:
            continue
        if spec.kind in _STRING_KINDS:
            out[name] = _as_string(out[name], spec)
        else:
            out[name], finding = _as_number(out[name], spec)
            findings += [finding] if finding else []
    return out, findings


def _column_checks(spec: ColumnSpec, version: str) -> list[tuple[object, str, str]]:
    """(pandera check, rule, hint) for one column."""
    import pandera.pandas as pa

    name, gloss = spec.name, spec.gloss
    if spec.kind in {"code", "yes_no"}:
        allowed = list(spec.allowed_codes)
        what = "yes/no codes 1/3 = yes, 2/4 = no" if spec.kind == "yes_no" else "codes"
        return [
            (
                pa.Check.isin(allowed),
                "code list",
                f"{name} ({gloss}) takes the {version} {what} {', '.join(allowed)}; "
                "recode the value (see slrt_ml.data.codebook)",
            )
        ]
    if spec.kind == "area":
        width = spec.width or AREA_CODE_WIDTHS[name]
        return [
            (
                pa.Check.str_matches(rf"^\d{{{width}}}\Z"),
                "area code format",
                f"{name} must be a {width}-digit zero-padded string such as "
                f"{'7'.zfill(width)!r}; a value like '73.1' or '7' means the column was read "
                "as a number: export it as text (codes are never repaired automatically)",
            )
        ]
    if spec.kind == "nik":
        return [
            (
                pa.Check.str_matches(r"^\d{16}\Z"),
                "NIK format",
                "NIK must be a 16-digit string; export it as text (spreadsheets turn it "
                "into 7.37e+15) and correct mistyped numbers",
            )
        ]
    if spec.kind == "flag":
        return [(pa.Check.isin([0, 1]), "flag 0/1", f"{name} must be 0 or 1 ({gloss})")]
    if spec.kind in {"count", "measure"} and (spec.min is not None or spec.max is not None):
        low = -np.inf if spec.min is None else spec.min
        high = np.inf if spec.max is None else spec.max
        return [
            (
                pa.Check.in_range(low, high),
                "range",
                f"{name} ({gloss}) must lie in [{low:g}, {high:g}]; check units and data entry",
            )
        ]
    if spec.name == "periode":
        return [(pa.Check.str_matches(_PERIOD), "period format", "periode must read 'YYYY-MM'")]
    return []


def _pandera_findings(
    frame: pd.DataFrame, specs: Mapping[str, ColumnSpec], version: str, unique_id: bool
) -> list[_Finding]:
    import pandera.pandas as pa

    columns, rules = {}, {}
    for name, spec in specs.items():
        if name not in frame.columns:
            continue
        checks = _column_checks(spec, version)
        rules.update({(name, str(i)): (rule, hint) for i, (_, rule, hint) in enumerate(checks)})
        unique = unique_id and spec.kind == "id"
        columns[name] = pa.Column(
            nullable=spec.nullable, unique=unique, checks=[check for check, _, _ in checks]
        )
    try:
        pa.DataFrameSchema(columns).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        return _findings_from(exc.failure_cases, frame, specs, rules)
    return []


def _findings_from(cases: pd.DataFrame, frame, specs, rules) -> list[_Finding]:
    findings = []
    cases = cases.dropna(subset=["index"])
    keys = cases["check_number"].astype("string").fillna(cases["check"].astype("string"))
    for (column, key), group in cases.groupby([cases["column"], keys], sort=False):
        rows = np.unique(group["index"].to_numpy(dtype=np.int64))
        rule, hint = rules.get((column, key)) or _builtin_rule(key, specs[column])
        findings.append(_Finding(column, rule, rows, frame[column].iloc[rows], hint))
    return findings


def _builtin_rule(check: str, spec: ColumnSpec) -> tuple[str, str]:
    if check == "not_nullable":
        return "not empty", f"{spec.name} ({spec.gloss}) may not be blank; fill it in"
    if check == "field_uniqueness":
        return (
            "unique",
            f"{spec.name} must identify one household; remove or merge the duplicated rows",
        )
    return check, f"see the codebook entry of {spec.name}"


# --- rules between rows and tables (members) --------------------------------------------------


def _nik_findings(members: pd.DataFrame) -> list[_Finding]:
    if not {"NIK", "Jnskel"} <= set(members.columns):
        return []
    nik = members["NIK"]
    well_formed = nik.str.fullmatch(r"\d{16}").fillna(False).to_numpy(dtype=bool)
    day, month = _nik_day_month(nik, well_formed)
    day_ok = ((day >= 1) & (day <= 31)) | ((day >= 41) & (day <= 71))
    bad_date = well_formed & ~(day_ok & (month >= 1) & (month <= 12))
    female_nik = day > 40
    sex = members["Jnskel"].to_numpy(dtype=object, na_value=None)
    bad_sex = well_formed & ~bad_date & (((sex == "2") & ~female_nik) | ((sex == "1") & female_nik))
    return [
        _Finding(
            "NIK",
            "NIK birth date",
            np.flatnonzero(bad_date),
            nik[bad_date],
            "NIK digits 7-8 are the birth day (plus 40 for women) and 9-10 the month; "
            "correct the NIK against the family card (KK)",
        ),
        _Finding(
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


def _member_line_findings(members: pd.DataFrame) -> list[_Finding]:
    if not {"IDBDT", "NoART"} <= set(members.columns):
        return []
    dup = (
        members.duplicated(["IDBDT", "NoART"], keep=False).to_numpy()
        & members["IDBDT"].notna().to_numpy()
    )
    return [
        _Finding(
            "NoART",
            "unique member line",
            np.flatnonzero(dup),
            members["NoART"][dup],
            "each member of a household needs its own NoART; renumber the member lines",
        )
    ]


def _isin(values: pd.Series, known: pd.Series) -> np.ndarray:
    """``values.isin(known)`` for long string columns (pandas' own is slow for 1M keys)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    as_arrow = pa.array(values.astype("string"))
    value_set = pa.array(known.astype("string").dropna().unique())
    return pc.is_in(as_arrow, value_set=value_set).to_numpy(zero_copy_only=False)


def _orphan_findings(members: pd.DataFrame, households: pd.DataFrame) -> list[_Finding]:
    orphan = members["IDBDT"].notna().to_numpy() & ~_isin(members["IDBDT"], households["IDBDT"])
    return [
        _Finding(
            "IDBDT",
            "household exists",
            np.flatnonzero(orphan),
            members["IDBDT"][orphan],
            "every member's IDBDT must be in the household file; add the household "
            "or remove its members",
        )
    ]


def _heads_per_household(members: pd.DataFrame, ids: pd.Series) -> pd.Series:
    heads = members["IDBDT"][members["Hub_KRT"].eq("1").fillna(False).to_numpy(dtype=bool)]
    return heads.value_counts().reindex(ids, fill_value=0)


def _head_findings(members: pd.DataFrame, households: pd.DataFrame | None) -> list[_Finding]:
    """Exactly one Hub_KRT == "1" per household (rows: households if given, else members)."""
    if not {"IDBDT", "Hub_KRT"} <= set(members.columns):
        return []
    owner = members if households is None else households
    ids = owner["IDBDT"]
    counts = _heads_per_household(members, ids.fillna("")).to_numpy()
    bad = (counts != 1) & ids.notna().to_numpy()
    if households is None:
        bad &= ~members.duplicated("IDBDT").to_numpy()  # one finding per household
    return [
        _Finding(
            "Hub_KRT",
            "one head per household",
            np.flatnonzero(bad),
            pd.Series([f"{n} heads" for n in counts[bad]], dtype="string"),
            "each household needs exactly one member with Hub_KRT = '1' (kepala rumah "
            "tangga); fix the relation codes or the member list",
        )
    ]


def _size_findings(members: pd.DataFrame, households: pd.DataFrame) -> list[_Finding]:
    if "Jumlah_ART" not in households.columns:
        return []
    counts = members["IDBDT"].value_counts().reindex(households["IDBDT"].fillna(""), fill_value=0)
    size = households["Jumlah_ART"].to_numpy(dtype=float, na_value=np.nan)
    bad = (size != counts.to_numpy()) & households["IDBDT"].notna().to_numpy() & ~np.isnan(size)
    shown = [
        f"Jumlah_ART {int(s)}, {c} member rows" for s, c in zip(size[bad], counts[bad], strict=True)
    ]
    return [
        _Finding(
            "Jumlah_ART",
            "household size = member rows",
            np.flatnonzero(bad),
            pd.Series(shown, dtype="string"),
            "Jumlah_ART must equal the household's number of member rows; update "
            "Jumlah_ART or the member file",
        )
    ]


# --- findings -> problems ---------------------------------------------------------------------


def _example_keys(frame: pd.DataFrame, rows: np.ndarray, kind: str) -> list[str]:
    if kind == "areas":
        cols = [c for c in AREA_CODE_WIDTHS if c in frame.columns]
        parts = frame[cols].iloc[rows].astype("string").fillna("?")
        return parts.agg("".join, axis=1).tolist() if cols else [f"row {r}" for r in rows]
    if "IDBDT" not in frame.columns:
        return [f"row {r}" for r in rows]
    keys = frame["IDBDT"].iloc[rows].astype("string").fillna("<blank>").tolist()
    if kind == "members" and "NoART" in frame.columns:
        lines = frame["NoART"].iloc[rows].astype("string").fillna("?").tolist()
        keys = [f"{k} NoART {n}" for k, n in zip(keys, lines, strict=True)]
    return keys


def _problem(finding: _Finding, frame: pd.DataFrame, kind: str, file: str, nik: bool) -> Problem:
    rows = finding.rows[:_MAX_EXAMPLES]
    values = finding.values.iloc[:_MAX_EXAMPLES].astype("string").fillna("<blank>").tolist()
    if nik:
        values = [mask_nik(v) for v in values]
    keys = _example_keys(frame, rows, kind)
    return Problem(
        file,
        finding.column,
        finding.rule,
        len(finding.rows),
        list(zip(keys, values, strict=True)),
        finding.hint,
    )


def _problems(findings, frame, kind, file, specs) -> list[Problem]:
    nik_columns = {n for n, s in specs.items() if s.kind == "nik"}
    return [
        _problem(f, frame, kind, file, f.column in nik_columns) for f in findings if len(f.rows)
    ]


def _missing_columns(df: pd.DataFrame, specs, file: str, version: str) -> list[Problem]:
    missing = [name for name in specs if name not in df.columns]
    return [
        Problem(
            file,
            name,
            "required column",
            len(df),
            [],
            f"add the column {name} ({specs[name].gloss}); names follow the {version} "
            "codebook and are case-sensitive",
        )
        for name in missing
    ]


def canonical_dtypes(
    frame: pd.DataFrame, specs: Mapping[str, ColumnSpec], *, text: bool = False
) -> pd.DataFrame:
    """Cast the columns of ``frame`` that ``specs`` knows to the contract's dtypes.

    The one home of the canonical dtypes (docs/CONTRACTS.md): flags ``int8``, counts
    ``int64`` (``Int64`` when nullable), measures ``float64``. With ``text=True`` code and
    id columns become pandas ``string`` too (a float read from JSON loses its ``.0``), for
    records that did not come through a reader. Columns ``specs`` does not name are kept.

    >>> from slrt_ml.data.codebook import get_codebook
    >>> specs = get_codebook().table("household")
    >>> canonical_dtypes(pd.DataFrame({"Jumlah_ART": [4.0]}), specs).dtypes.iloc[0]
    dtype('int64')
    """
    out = frame.copy()
    for name in out.columns.intersection(list(specs)):
        spec, values = specs[name], out[name]
        if spec.kind == "flag":
            out[name] = values.astype("int8")
        elif spec.kind == "count":
            out[name] = values.astype("Int64" if spec.nullable else "int64")
        elif spec.kind == "measure":
            out[name] = values.astype("float64")
        elif text:
            as_text = values.astype("string")
            out[name] = as_text.str.removesuffix(".0") if values.dtype.kind == "f" else as_text
    return out


def _findings(frame, kind, specs, version, households=None) -> list[_Finding]:
    unique_id = kind in {"households", "siksng", "truth"}
    findings = _pandera_findings(frame, specs, version, unique_id)
    if kind == "members":
        findings += _nik_findings(frame) + _member_line_findings(frame)
        findings += _head_findings(frame, None) if households is None else []
    return findings


def _household_side(members: pd.DataFrame, households: pd.DataFrame) -> list[_Finding]:
    """Findings about household rows that need the member file (heads, size)."""
    if "IDBDT" not in households.columns or "IDBDT" not in members.columns:
        return []
    return _head_findings(members, households) + _size_findings(members, households)


def _prepared(df: pd.DataFrame, kind: str, version: str):
    specs = column_specs(kind, version)
    frame, findings = _coerce(df, specs)
    return specs, frame, findings


def validate_table(
    df: pd.DataFrame,
    kind: str,
    *,
    file: str | None = None,
    version: str = DEFAULT_VERSION,
    households: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Validate one table of ``kind`` (households, members, areas, siksng, truth).

    Returns a copy with canonical dtypes and a fresh RangeIndex; raises :class:`SchemaError`
    listing every problem. ``households`` (members only) adds the cross-table rules.
    """
    file = file or kind
    specs, frame, findings = _prepared(df, kind, version)
    missing = _missing_columns(frame, specs, file, version)
    findings = _without_repeats(findings + _findings(frame, kind, specs, version, households))
    problems = missing + _problems(findings, frame, kind, file, specs)
    if households is not None and "IDBDT" in frame.columns:
        hh_specs, hh_frame, _ = _prepared(households, "households", version)
        problems += _problems(_orphan_findings(frame, hh_frame), frame, kind, file, specs)
        problems += _problems(
            _household_side(frame, hh_frame), hh_frame, "households", file, hh_specs
        )
    if problems:
        raise SchemaError(problems)
    return canonical_dtypes(frame, specs)


def _validator(kind: str) -> Callable[..., pd.DataFrame]:
    def validate(
        df: pd.DataFrame, *, file: str = kind, version: str = DEFAULT_VERSION
    ) -> pd.DataFrame:
        return validate_table(df, kind, file=file, version=version)

    validate.__name__ = f"validate_{kind}"
    validate.__doc__ = (
        f"Validate a {kind} table; canonical dtypes back, or one SchemaError with every problem."
    )
    return validate


validate_households = _validator("households")
validate_areas = _validator("areas")
validate_siksng = _validator("siksng")
validate_truth = _validator("truth")


def validate_members(
    df: pd.DataFrame,
    households: pd.DataFrame | None = None,
    *,
    file: str = "members",
    version: str = DEFAULT_VERSION,
) -> pd.DataFrame:
    """Validate a member table; with ``households`` also the rules between the two files.

    Cross-table rules: every member's IDBDT is in ``households``, each household has exactly
    one head (``Hub_KRT == "1"``) and ``Jumlah_ART`` equals its number of member rows.
    """
    return validate_table(df, "members", file=file, version=version, households=households)


# --- row-level rejects for batch scoring ------------------------------------------------------


def _reasons(findings: list[_Finding]) -> dict[int, list[str]]:
    """Row position -> readable reasons, for the rows that break any rule."""
    reasons: dict[int, list[str]] = {}
    for f in findings:
        values = f.values.astype("string").fillna("<blank>").tolist()
        for row, value in zip(f.rows.tolist(), values, strict=True):
            shown = "" if f.column == "NIK" else f" ({value!r})"
            reasons.setdefault(row, []).append(f"{f.column}: {f.rule}{shown}")
    return reasons


def household_rejects(
    households: pd.DataFrame, members: pd.DataFrame, *, version: str = DEFAULT_VERSION
) -> pd.DataFrame:
    """Households that cannot be scored, one row each with a readable reason.

    Batch scoring keeps every valid household and rejects the rest, so a broken row never
    stops a run and never disappears silently. Rows of ``households`` come first, in file
    order, one per rejected row (both copies of a duplicated IDBDT; ``<NA>`` for a blank
    one); then the IDBDTs of member rows without a household record. A missing required
    column is not row-level: it raises :class:`SchemaError`.

    Returns ``DataFrame[IDBDT, reason]`` (several reasons joined by "; ").
    """
    hh_specs, hh, hh_findings = _prepared(households, "households", version)
    mem_specs, mem, mem_findings = _prepared(members, "members", version)
    missing = _missing_columns(hh, hh_specs, "households", version)
    missing += _missing_columns(mem, mem_specs, "members", version)
    if missing:
        raise SchemaError(missing)
    hh_findings += _findings(hh, "households", hh_specs, version) + _household_side(mem, hh)
    mem_findings += _findings(mem, "members", mem_specs, version, households=hh)
    reasons = _reasons(_without_repeats(hh_findings))
    by_id = _member_reasons(mem, mem_findings)
    ids = hh["IDBDT"]
    for row in np.flatnonzero(ids.isin(list(by_id)).to_numpy(dtype=bool, na_value=False)):
        reasons.setdefault(int(row), []).extend(by_id[ids.iloc[row]])
    rows = [(ids.iloc[row], "; ".join(reasons[row])) for row in sorted(reasons)]
    orphans = mem["IDBDT"][mem["IDBDT"].notna().to_numpy() & ~_isin(mem["IDBDT"], ids)]
    rows += [(key, "members without a household record") for key in orphans.unique()]
    return pd.DataFrame(rows, columns=["IDBDT", "reason"]).astype("string")


def _member_reasons(mem: pd.DataFrame, findings: list[_Finding]) -> dict[str, list[str]]:
    by_id: dict[str, list[str]] = {}
    for row, reasons in sorted(_reasons(_without_repeats(findings)).items()):
        key, line = mem["IDBDT"].iloc[row], mem["NoART"].iloc[row]
        if not pd.isna(key):
            by_id.setdefault(key, []).extend(f"member {line} {r}" for r in reasons)
    return by_id
