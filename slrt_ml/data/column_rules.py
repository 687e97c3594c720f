"""The column rules of the contract, once as data and twice as checks (pandera, Arrow).

Each codebook column has at most one value rule (:func:`column_rules`: a code list, a
format pattern or a range), besides "not empty" and, for ids, "unique". The same rules
are checked two ways:

- with **pandera** (:func:`slrt_ml.data.rules.table_findings` with ``engine="pandera"``),
  where a file is validated as a whole (``validate_table``, ``slrt-ml data validate``,
  ``load_registry``): the project's frame-validation library guards the contract;
- **vectorised over Arrow arrays** (:func:`column_findings`), for the per-chunk rejects
  of batch scoring (``household_row_reasons``), where pandera's per-column machinery
  (copies, failure-case frames, its import) cost about half of the chunk's validation
  time. Code lists are one Arrow ``is_in`` per column, fixed-width digit formats
  (area codes, NIK) a test of the bytes, the id format one RE2 match (the pattern is an
  anchored ASCII class, so ``\\Z`` is RE2's ``$``: same verdicts), ranges one NumPy
  comparison.

Both give the same :class:`~slrt_ml.data.rules.Finding` objects in the same order
(per column in codebook order: "not empty", "unique", then the value rule; missing
values pass the value rule, as pandera's ``ignore_na``); ``tests/test_column_rules.py``
compares them on hostile frames, ``tests/test_chunk_golden.py`` the resulting reasons.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from slrt_ml.data.codebook import AREA_CODE_WIDTHS, ColumnSpec

__all__ = [
    "ID_PATTERN",
    "PERIOD_PATTERN",
    "ColumnRule",
    "Finding",
    "arrow_text",
    "ascii_digits",
    "builtin_rule",
    "column_findings",
    "column_rules",
    "starts_ascii_alnum",
]

ID_PATTERN = r"^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,39}\Z"
"""An id (IDBDT): 1-40 ASCII letters, digits, ``_``, ``.`` or ``-``, not starting with ``-``.

So an id never starts with ``=``, ``+``, ``-`` or ``@`` (a spreadsheet formula) and never
holds a space, a tab, a quote or a non-ASCII character.
"""

PERIOD_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])\Z"


@dataclass
class Finding:
    """Rows of one frame breaking one rule (positions into that frame)."""

    column: str
    rule: str
    rows: np.ndarray
    values: pd.Series  # the offending values, aligned with ``rows``
    hint: str


@dataclass(frozen=True)
class ColumnRule:
    """One value rule of a column: ``test`` is ``isin`` (``arg`` = allowed values),
    ``matches`` (``arg`` = a pattern anchored by ``^`` and ``\\Z``), ``digits`` (``arg`` =
    (width,): exactly ``width`` ASCII digits, the pattern ``^[0-9]{width}\\Z``) or ``range``
    (``arg`` = (low, high), both included); ``rule`` and ``hint`` are what a problem says."""

    @property
    def pattern(self) -> str:
        """The rule as the regular expression pandera checks (``matches``/``digits``)."""
        return rf"^[0-9]{{{self.arg[0]}}}\Z" if self.test == "digits" else self.arg[0]

    test: str
    arg: tuple
    rule: str
    hint: str


def column_rules(spec: ColumnSpec, version: str) -> list[ColumnRule]:
    """The value rules of one column (none, or one)."""
    name, gloss = spec.name, spec.gloss
    if spec.kind in {"code", "yes_no"}:
        allowed = tuple(spec.allowed_codes)
        what = "yes/no codes 1/3 = yes, 2/4 = no" if spec.kind == "yes_no" else "codes"
        hint = (f"{name} ({gloss}) takes the {version} {what} {', '.join(allowed)}; "
                "recode the value (see slrt_ml.data.codebook)")  # fmt: skip
        return [ColumnRule("isin", allowed, "code list", hint)]
    if spec.kind == "area":
        width = spec.width or AREA_CODE_WIDTHS[name]
        hint = (f"{name} must be a {width}-digit zero-padded string such as "
                f"{'7'.zfill(width)!r} (ASCII digits 0-9 only); a value like '73.1' or '7' "
                "means the column was read as a number: export it as text (codes are never "
                "repaired automatically)")  # fmt: skip
        return [ColumnRule("digits", (width,), "area code format", hint)]
    if spec.kind == "nik":
        hint = ("NIK must be a 16-digit string; export it as text (spreadsheets turn it "
                "into 7.37e+15) and correct mistyped numbers")  # fmt: skip
        return [ColumnRule("digits", (16,), "NIK format", hint)]
    if spec.kind == "id":
        hint = (f"{name} must be 1-40 characters of A-Z a-z 0-9 _ . - and not start with "
                "= + - @ (no spaces, quotes or formulas); export the id as text")  # fmt: skip
        return [ColumnRule("matches", (ID_PATTERN,), "id format", hint)]
    if spec.kind == "flag":
        return [ColumnRule("isin", (0, 1), "flag 0/1", f"{name} must be 0 or 1 ({gloss})")]
    if spec.kind in {"count", "measure"} and (spec.min is not None or spec.max is not None):
        low = -np.inf if spec.min is None else spec.min
        high = np.inf if spec.max is None else spec.max
        hint = f"{name} ({gloss}) must lie in [{low:g}, {high:g}]; check units and data entry"
        return [ColumnRule("range", (low, high), "range", hint)]
    if spec.name == "periode":
        return [ColumnRule("matches", (PERIOD_PATTERN,), "period format",
                           "periode must read 'YYYY-MM'")]  # fmt: skip
    return []


def builtin_rule(check: str, spec: ColumnSpec) -> tuple[str, str]:
    """(rule, hint) of the checks every column has: not empty, unique."""
    if check == "not_nullable":
        return "not empty", f"{spec.name} ({spec.gloss}) may not be blank; fill it in"
    if check == "field_uniqueness":
        return (
            "unique",
            f"{spec.name} must identify one household; remove or merge the duplicated rows",
        )
    return check, f"see the codebook entry of {spec.name}"


# --- the vectorised checks ----------------------------------------------------------------


def arrow_text(values: pd.Series) -> pa.Array:
    """A ``string`` column as one Arrow array (no copy when it is Arrow-backed)."""
    try:
        arrow = pa.chunked_array(values.array.__arrow_array__())
    except (AttributeError, TypeError, pa.ArrowException):
        arrow = pa.chunked_array([pa.array(values.to_numpy(dtype=object, na_value=None),
                                           pa.large_string())])  # fmt: skip
    return arrow.combine_chunks() if arrow.num_chunks != 1 else arrow.chunk(0)


def _bytes(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(start offset of each value, the data buffer) of a string array, as NumPy views."""
    width = np.int64 if pa.types.is_large_string(text.type) else np.int32
    buffers = text.buffers()
    offsets = np.frombuffer(buffers[1], width)[text.offset : text.offset + len(text) + 1]
    data = np.frombuffer(buffers[2], np.uint8) if buffers[2] is not None else np.zeros(0, np.uint8)
    return offsets.astype(np.int64), data


def ascii_digits(text: pa.Array, width: int) -> np.ndarray:
    """Values made of exactly ``width`` ASCII digits (``^[0-9]{width}\\Z``), from the bytes:
    ``width`` bytes, each in ``0``-``9`` (any other character, non-ASCII included, has a byte
    outside that range). Missing values are False."""
    size = pc.binary_length(text).fill_null(-1).to_numpy(zero_copy_only=False)
    ok = size == width
    rows = np.flatnonzero(ok)
    if len(rows):
        offsets, data = _bytes(text)
        chars = data[offsets[rows][:, None] + np.arange(width)]
        ok[rows] = ((chars >= ord("0")) & (chars <= ord("9"))).all(axis=1)
    return ok


def starts_ascii_alnum(text: pa.Array) -> np.ndarray:
    """Values whose first byte is an ASCII letter or digit (so never blank); False for
    empty and missing values."""
    size = pc.binary_length(text).fill_null(0).to_numpy(zero_copy_only=False)
    first = np.zeros(len(text), np.uint8)
    rows = np.flatnonzero(size > 0)
    if len(rows):
        offsets, data = _bytes(text)
        first[rows] = data[offsets[rows]]
    lower = first | 0x20  # ASCII letters to lower case
    return ((first >= ord("0")) & (first <= ord("9"))) | ((lower >= ord("a")) & (lower <= ord("z")))


def _as_bool(result: pa.Array) -> np.ndarray:
    return result.fill_null(False).to_numpy(zero_copy_only=False).astype(bool)


def _broken(values: pd.Series, present: np.ndarray, rule: ColumnRule) -> np.ndarray:
    """Rows breaking ``rule`` (missing values never do)."""
    if rule.test == "range":
        low, high = rule.arg
        x = values.to_numpy(dtype=np.float64, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            return present & ~((x >= low) & (x <= high))
    if rule.test == "isin" and values.dtype.kind in "biuf":
        x = values.to_numpy(dtype=np.float64, na_value=np.nan)
        return present & ~np.isin(x, np.asarray(rule.arg, dtype=np.float64))
    text = arrow_text(values.astype("string"))
    if rule.test == "digits":
        return present & ~ascii_digits(text, rule.arg[0])
    if rule.test == "isin":
        found = pc.is_in(text, value_set=pa.array(list(rule.arg), text.type))
    else:  # RE2: `$` (no multi-line) is the end of the text, as Python's `\Z`
        found = pc.match_substring_regex(text, rule.arg[0].removesuffix(r"\Z") + "$")
    return present & ~_as_bool(found)


def column_findings(
    frame: pd.DataFrame, specs: Mapping[str, ColumnSpec], version: str, unique_id: bool
) -> list[Finding]:
    """Every column rule of ``specs`` on a coerced ``frame``, as findings (module docstring).

    The same findings, in the same order, as pandera's lazy validation of the same rules.
    """
    findings = []
    for name, spec in specs.items():
        if name not in frame.columns:
            continue
        values = frame[name]
        present = values.notna().to_numpy(dtype=bool)
        checks: list[tuple[np.ndarray, str, str]] = []
        if not spec.nullable and not present.all():
            checks.append((~present, *builtin_rule("not_nullable", spec)))
        if unique_id and spec.kind == "id":
            repeated = values.duplicated(keep=False).to_numpy(dtype=bool) & present
            checks.append((repeated, *builtin_rule("field_uniqueness", spec)))
        for rule in column_rules(spec, version):
            checks.append((_broken(values, present, rule), rule.rule, rule.hint))
        for mask, rule_name, hint in checks:
            if mask.any():
                rows = np.flatnonzero(mask)
                findings.append(Finding(name, rule_name, rows, values.iloc[rows], hint))
    return findings
