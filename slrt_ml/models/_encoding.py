"""Turn a ``household_features`` frame into the float32 matrix a model fits on.

Categorical columns are the string/object/category columns of the frame (area codes such
as ``"7311010"``, nominal questionnaire codes); every other column is numeric. The encoder
learns its categories on the training fold only: levels seen fewer than ``min_frequency``
times become ``"__other__"``, and so does any level first seen at transform time. Missing
categorical values are their own level, ``"__missing__"``.

>>> X = pd.DataFrame({"Luas_lantai": [20.0, 36.0, 48.0, 60.0],
...                   "Lantai": pd.array(["9", "9", "2", "2"], dtype="string")})
>>> enc = FeatureEncoder(min_frequency=1).fit(X)
>>> enc.transform(X).columns.tolist()
['Luas_lantai', 'Lantai=2', 'Lantai=9']
>>> enc.sources_["Lantai=9"]
'Lantai'
>>> enc.transform(X.assign(Lantai=pd.array(["7"] * 4, dtype="string"))).iloc[0].tolist()
[20.0, 0.0, 0.0]
>>> FeatureEncoder(mode="ordinal", min_frequency=1).fit(X).transform(X)["Lantai"].tolist()
[2.0, 2.0, 1.0, 1.0]
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted

__all__ = ["FeatureEncoder", "OTHER", "MISSING", "as_frame", "categorical_columns"]

OTHER = "__other__"
MISSING = "__missing__"


def as_frame(X) -> pd.DataFrame:
    """``X`` as a DataFrame with string column names; arrays get ``x0, x1, ...``.

    >>> as_frame(np.zeros((2, 3))).columns.tolist()
    ['x0', 'x1', 'x2']
    """
    if isinstance(X, pd.DataFrame):
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(
                f"the feature table is empty (shape={X.shape}); at least one household "
                "and one feature column are required"
            )
        if all(isinstance(c, str) for c in X.columns):
            return X
        return X.set_axis([str(c) for c in X.columns], axis=1)
    # arrays and lists: scikit-learn's checks (2-D, not sparse, not complex, not empty)
    array = check_array(X, dtype=None, accept_sparse=False, ensure_all_finite="allow-nan")
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])


def categorical_columns(X: pd.DataFrame) -> list[str]:
    """Columns of dtype string, object or category, in frame order."""
    return [
        str(c)
        for c, dtype in X.dtypes.items()
        if isinstance(dtype, pd.CategoricalDtype | pd.StringDtype)
        or pd.api.types.is_object_dtype(dtype)
    ]


class FeatureEncoder(TransformerMixin, BaseEstimator):
    """Encode categorical columns and (optionally) standardise numeric ones.

    Parameters
    ----------
    mode : "onehot" (one 0/1 column per kept level, ``"col=level"``; an unseen level is
        all zeros, or ``col=__other__`` when rare levels were pooled in fit) or
        "ordinal" (one column of integer codes 1..k in sorted level order; 0 means
        ``__other__``/unseen, so it can index an embedding table directly).
    standardize : centre and scale numeric columns with the (weighted) training mean and
        standard deviation; linear models and the MLP want it, trees do not.
    min_frequency : a level seen fewer times than this in fit is pooled into ``__other__``.
    fill_missing : replace missing numeric values with the training median; trees that
        handle NaN natively can keep them (``False``).

    Fitted attributes: ``feature_names_in_``, ``categorical_columns_``,
    ``numeric_columns_``, ``categories_`` (column -> kept levels, sorted),
    ``cardinalities_`` (column -> embedding table size, ordinal mode), ``medians_``,
    ``means_``, ``scales_``, ``sources_`` (encoded column -> source feature column).
    """

    def __init__(
        self,
        mode: Literal["onehot", "ordinal"] = "onehot",
        standardize: bool = False,
        min_frequency: int = 10,
        fill_missing: bool = True,
    ):
        self.mode = mode
        self.standardize = standardize
        self.min_frequency = min_frequency
        self.fill_missing = fill_missing

    def fit(self, X, y=None, sample_weight=None) -> FeatureEncoder:
        """Learn the kept levels and the numeric medians, means and scales.

        Parameters
        ----------
        X : DataFrame or array-like
            The training fold's features.
        y : ignored
        sample_weight : array-like, optional
            Weights of the means and scales.

        Returns
        -------
        FeatureEncoder
            ``self``, fitted.

        Raises
        ------
        ValueError
            ``mode`` is neither "onehot" nor "ordinal", or ``X`` is empty.
        """
        if self.mode not in ("onehot", "ordinal"):
            raise ValueError(
                f"FeatureEncoder mode must be 'onehot' or 'ordinal', got {self.mode!r}"
            )
        frame = as_frame(X)
        self.feature_names_in_ = np.asarray([str(c) for c in frame.columns], dtype=object)
        self.n_features_in_ = frame.shape[1]
        self.categorical_columns_ = categorical_columns(frame)
        self.numeric_columns_ = [
            c for c in self.feature_names_in_ if c not in self.categorical_columns_
        ]
        self.categories_ = {c: self._kept_levels(frame[c]) for c in self.categorical_columns_}
        self.cardinalities_ = {c: len(levels) + 1 for c, levels in self.categories_.items()}
        self._fit_numeric(self._numeric_block(frame), sample_weight)
        self.sources_ = self._sources()
        return self

    def transform(self, X) -> pd.DataFrame:
        """Encode rows with what ``fit`` learned.

        Parameters
        ----------
        X : DataFrame or array-like
            Rows with the columns seen in ``fit`` (extra columns are ignored).

        Returns
        -------
        DataFrame
            ``float32`` columns named as :meth:`get_feature_names_out`, on ``X``'s index.

        Raises
        ------
        ValueError
            A fitted column is missing, or a numeric column is text now.
        """
        check_is_fitted(self, "sources_")
        frame = self._check_columns(as_frame(X))
        out = np.zeros((len(frame), len(self.sources_)), dtype=np.float32, order=self._order())
        out[:, : len(self.numeric_columns_)] = self._prepared_numeric(frame)
        start = len(self.numeric_columns_)
        for c in self.categorical_columns_:
            start = self._encode_column(frame[c], c, out, start)
        return pd.DataFrame(out, columns=list(self.sources_), index=frame.index, copy=False)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """The encoded column names (``sources_`` keys), as an object array."""
        check_is_fitted(self, "sources_")
        return np.asarray(list(self.sources_), dtype=object)

    # -- fit helpers ------------------------------------------------------------------------

    def _kept_levels(self, column: pd.Series) -> list[str]:
        """Frequent levels, sorted; onehot mode adds ``__other__`` when some were pooled."""
        counts = pd.Series(_as_levels(column)).value_counts()
        kept = sorted(counts.index[counts >= self.min_frequency].tolist())
        pooled = len(kept) < len(counts)
        return kept + [OTHER] if pooled and self.mode == "onehot" else kept

    def _fit_numeric(self, numeric: np.ndarray, sample_weight) -> None:
        weight = (
            np.ones(len(numeric)) if sample_weight is None else np.asarray(sample_weight, float)
        )
        self.medians_, self.means_, self.scales_ = {}, {}, {}
        for i, c in enumerate(self.numeric_columns_):
            values = numeric[:, i]
            finite = values[~np.isnan(values)]
            self.medians_[c] = float(np.median(finite)) if len(finite) else 0.0
            ok = ~np.isnan(values) & (weight > 0)
            mean = np.average(values[ok], weights=weight[ok]) if ok.any() else 0.0
            var = np.average((values[ok] - mean) ** 2, weights=weight[ok]) if ok.any() else 0.0
            self.means_[c] = float(mean)
            self.scales_[c] = float(np.sqrt(var)) if var > 0 else 1.0

    def _sources(self) -> dict[str, str]:
        sources = {c: c for c in self.numeric_columns_}
        for c in self.categorical_columns_:
            if self.mode == "ordinal":
                sources[c] = c
            else:
                sources.update({f"{c}={level}": c for level in self.categories_[c]})
        return sources

    # -- transform helpers --------------------------------------------------------------------

    def _check_columns(self, frame: pd.DataFrame) -> pd.DataFrame:
        present = {str(c) for c in frame.columns}
        missing = [c for c in self.feature_names_in_ if c not in present]
        if missing:
            raise ValueError(
                f"columns seen in fit but missing now: {missing[:20]}"
                f"{' ...' if len(missing) > 20 else ''} ({len(missing)} of {self.n_features_in_}); "
                "build the features with the same features.household_features call as in training"
            )
        frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
        now_categorical = set(categorical_columns(frame))
        changed = [c for c in self.numeric_columns_ if c in now_categorical]
        if changed:
            raise ValueError(
                f"columns numeric in fit are text now: {changed[:20]}; "
                "convert them to numbers as in training"
            )
        return frame

    def _vector(self, per_column: dict[str, float]) -> np.ndarray:
        return np.array([per_column[c] for c in self.numeric_columns_], dtype=np.float64)

    def _numeric_block(self, frame: pd.DataFrame) -> np.ndarray:  # fit only
        block = frame[list(self.numeric_columns_)]
        return block.to_numpy(dtype=np.float64, na_value=np.nan, copy=True).reshape(len(frame), -1)

    def _order(self) -> str:
        """Memory layout of the encoded matrix: the one ``np.hstack`` of the column blocks
        gave (column-major unless a one-hot block has several columns), so float32 matrix
        products round exactly as before."""
        wide = self.mode == "onehot" and any(len(v) > 1 for v in self.categories_.values())
        return "C" if wide else "F"

    def _prepared_numeric(self, frame: pd.DataFrame) -> np.ndarray:
        """Numeric columns as float64 (column-major): medians filled in, standardised."""
        numeric = np.empty((len(frame), len(self.numeric_columns_)), dtype=np.float64, order="F")
        for i, c in enumerate(self.numeric_columns_):
            values = frame[c].to_numpy(dtype=np.float64, na_value=np.nan)
            if self.fill_missing:
                values = np.where(np.isnan(values), self.medians_[c], values)
            if self.standardize:
                values = (values - self.means_[c]) / self.scales_[c]
            numeric[:, i] = values
        return numeric

    def _encode_column(self, column: pd.Series, name: str, out: np.ndarray, start: int) -> int:
        """Write the column's encoding into ``out`` from column ``start``; the next start."""
        kept = self.categories_[name]
        codes = _level_codes(column, kept)  # 1..k, unseen: 0
        if self.mode == "ordinal":
            out[:, start] = codes
            return start + 1
        rows = np.flatnonzero(codes > 0)
        out[rows, start + codes[rows] - 1] = 1.0
        if OTHER in kept:  # rare levels were pooled in fit: unseen ones join them
            out[codes == 0, start + kept.index(OTHER)] = 1.0
        return start + len(kept)


def _level_codes(column: pd.Series, kept: list[str]) -> np.ndarray:
    """Position + 1 of each value's level in ``kept`` (0 if not kept), as ``_as_levels``
    would give, but looked up once per distinct value instead of once per row."""
    codes, uniques = pd.factorize(column.astype("string"), use_na_sentinel=True)
    levels = np.append(np.asarray(uniques, dtype=object), MISSING)  # code -1: missing
    lookup = pd.Index(kept, dtype=object).get_indexer(levels) + 1
    return lookup[codes]


def _as_levels(column: pd.Series) -> np.ndarray:
    """Categorical values as plain strings; missing values become ``__missing__``."""
    return column.astype("string").fillna(MISSING).to_numpy(dtype=object)
