"""The data contract: validate household, member, area, SIKS-NG and truth tables.

The rules themselves (column rules checked with pandera, rules between rows and tables)
live in :mod:`slrt_ml.data.rules`; this module turns what they find into
:class:`Problem` records. A table with problems raises one :class:`SchemaError` listing
all of them; a valid one comes back with the canonical dtypes of ``docs/CONTRACTS.md``
(:func:`canonical_dtypes`). Row-level rejects for batch scoring are
:mod:`slrt_ml.data.rejects`.

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
from slrt_ml.data.rules import (
    STRING_KINDS,
    Finding,
    coerce,
    household_side_findings,
    orphan_findings,
    table_findings,
    without_repeats,
)

__all__ = [
    "TABLE_KINDS",
    "Problem",
    "SchemaError",
    "canonical_dtypes",
    "coerced_table",
    "column_specs",
    "mask_nik",
    "missing_column_problems",
    "string_columns",
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


# --- column specs ---------------------------------------------------------------------------


def column_specs(kind: str, version: str = DEFAULT_VERSION) -> Mapping[str, ColumnSpec]:
    """The codebook's column specs of one table kind (``households``, ``members`` ...)."""
    if kind not in _CODEBOOK_TABLE:
        raise ValueError(f"unknown table kind {kind!r}; use one of {', '.join(TABLE_KINDS)}")
    return get_codebook(version).table(_CODEBOOK_TABLE[kind])


def string_columns(kind: str, version: str = DEFAULT_VERSION) -> list[str]:
    """Columns of ``kind`` held as text: ids, area codes, codes, yes/no, NIK, free text.

    >>> string_columns("truth")
    ['IDBDT']
    """
    return [n for n, s in column_specs(kind, version).items() if s.kind in STRING_KINDS]


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


def _problem(finding: Finding, frame: pd.DataFrame, kind: str, file: str, nik: bool) -> Problem:
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


def missing_column_problems(
    df: pd.DataFrame, specs: Mapping[str, ColumnSpec], file: str, version: str
) -> list[Problem]:
    """One ``required column`` problem per non-optional column of ``specs`` that ``df`` lacks."""
    missing = [name for name, spec in specs.items() if name not in df.columns and not spec.optional]
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


def coerced_table(
    df: pd.DataFrame, kind: str, version: str = DEFAULT_VERSION
) -> tuple[Mapping[str, ColumnSpec], pd.DataFrame, list[Finding]]:
    """The column specs of ``kind``, ``df`` coerced to them and the unreadable numbers."""
    specs = column_specs(kind, version)
    frame, findings = coerce(df, specs)
    return specs, frame, findings


def validate_table(
    df: pd.DataFrame,
    kind: str,
    *,
    file: str | None = None,
    version: str = DEFAULT_VERSION,
    households: pd.DataFrame | None = None,
    engine: str = "pandera",
) -> pd.DataFrame:
    """Validate one table of ``kind`` (households, members, areas, siksng, truth).

    Returns a copy with canonical dtypes and a fresh RangeIndex; raises :class:`SchemaError`
    listing every problem. ``households`` adds the cross-table rules: for members, siksng
    and truth every IDBDT must be a household; for members also one head per household and
    ``Jumlah_ART`` = member rows. ``engine`` checks the column rules with ``"pandera"``
    (default) or ``"arrow"`` (vectorised, no pandera import: the same problems, see
    :mod:`slrt_ml.data.column_rules`).
    """
    file = file or kind
    specs, frame, findings = coerced_table(df, kind, version)
    missing = missing_column_problems(frame, specs, file, version)
    findings += table_findings(frame, kind, specs, version, households, engine=engine)
    findings = without_repeats(findings)
    problems = missing + _problems(findings, frame, kind, file, specs)
    if households is not None and "IDBDT" in frame.columns and "IDBDT" in households.columns:
        hh_specs, hh_frame, _ = coerced_table(households, "households", version)
        linked = orphan_findings(frame, hh_frame)
        if kind != "members":
            for f in linked:
                f.hint = (
                    f"every IDBDT of the {kind} table must be in the household file; "
                    "add the household or remove the row"
                )
        problems += _problems(linked, frame, kind, file, specs)
        if kind == "members":
            problems += _problems(
                household_side_findings(frame, hh_frame), hh_frame, "households", file, hh_specs
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
