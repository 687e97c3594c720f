"""Checked access to the registry tables the feature builders read, and the output frame.

Shared by :mod:`~slrt_ml.features.members`, :mod:`~slrt_ml.features.components`,
:mod:`~slrt_ml.features.housing` and :mod:`~slrt_ml.features.area`: required columns,
code columns factorized once (:class:`Coded`), code checks against the codebook, the
``IDBDT`` index and the assembly of the ``float32``/``string`` feature frame.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from slrt_ml.data.codebook import get_codebook
from slrt_ml.data.column_rules import arrow_text
from slrt_ml.features.catalogue import (
    CATEGORICAL_FEATURES,
    MISSING_CATEGORY,
    NUMERIC_FEATURES,
    FeatureError,
)

__all__ = [
    "Coded",
    "check_codes",
    "feature_frame",
    "household_ids",
    "numbers",
    "require_columns",
]


def require_columns(frame: pd.DataFrame, columns: tuple[str, ...], file: str) -> None:
    """Raise :class:`FeatureError` naming the columns of ``columns`` missing from ``frame``."""
    missing = [c for c in dict.fromkeys(columns) if c not in frame.columns]
    if missing:
        raise FeatureError(
            f"{file}: missing column(s) {missing}; features need the PBDT 2015 columns "
            f"(see slrt_ml.data.codebook); read the table with slrt_ml.data.io.read_table"
        )


class Coded:
    """A frame whose code columns are factorized once (on first use), so every test on a
    code is a lookup in a small table of distinct values instead of a string comparison."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def factorized(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """(position of each row's code in the distinct codes, -1 if missing; distinct codes)."""
        if column not in self._cache:
            self._cache[column] = _factorize(self.frame[column].astype("string"))
        return self._cache[column]

    def lookup(self, column: str, per_code: np.ndarray, missing: object) -> np.ndarray:
        """``per_code`` (one value per distinct code) broadcast to the rows; ``missing``
        where the code is missing."""
        positions, _ = self.factorized(column)
        return np.append(per_code, np.asarray([missing], dtype=per_code.dtype))[positions]

    def isin(self, column: str, codes: tuple[str, ...]) -> np.ndarray:
        """Rows whose code is one of ``codes`` (a missing code is not)."""
        return self.lookup(column, np.isin(self.factorized(column)[1], codes), False)

    def number(self, column: str) -> np.ndarray:
        """The codes read as numbers (``float64``, NaN where missing)."""
        uniques = self.factorized(column)[1]
        return self.lookup(column, pd.to_numeric(pd.Series(uniques, dtype="string")).to_numpy(
            dtype=np.float64, na_value=np.nan), np.nan)  # fmt: skip

    def map(self, column: str, mapping: Mapping[str, float], missing: float) -> np.ndarray:
        """``mapping[code]`` per row; ``missing`` for codes not in ``mapping`` or missing."""
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


def _factorize(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize`` of a ``string`` column (same codes, same order of first appearance)
    through Arrow's dictionary encoding, without a Python object per row."""
    try:
        encoded = pc.dictionary_encode(arrow_text(text))
    except (TypeError, pa.ArrowException):
        positions, uniques = pd.factorize(text)
        return positions, np.asarray(uniques, dtype=object)
    positions = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return positions, encoded.dictionary.to_numpy(zero_copy_only=False).astype(object)


def check_codes(coded: Coded, columns: tuple[str, ...], table: str, file: str) -> None:
    """Raise one :class:`FeatureError` listing every code column whose values are not in
    the codebook (``table`` names the codebook table, ``file`` the input in the message)."""
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


def numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    """``frame[column]`` as ``float64`` with NaN for missing values."""
    return pd.to_numeric(frame[column]).to_numpy(dtype=np.float64, na_value=np.nan)


def household_ids(households: pd.DataFrame) -> pd.Index:
    """The ``IDBDT`` index of the household table; duplicates raise :class:`FeatureError`."""
    ids = pd.Index(households["IDBDT"].astype("string"), name="IDBDT")
    if not ids.is_unique:
        dup = ids[ids.duplicated()].unique()[:5].tolist()
        raise FeatureError(
            f"households: IDBDT must be unique; {len(dup)}+ duplicated, e.g. {dup}; "
            "drop the duplicates (slrt_ml.data.schema.validate_households lists them)"
        )
    return ids


def feature_frame(columns: Mapping[str, np.ndarray | pd.Series], ids: pd.Index) -> pd.DataFrame:
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
