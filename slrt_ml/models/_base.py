"""What every poverty model shares: the target, the encoder, the score and probability API.

A model fits on the ``household_features`` frame and a 0/1 poor label. The label is
encoded once here: ``classes_`` holds the two labels in sorted order and the larger one
(1 = poor) is the positive class. Subclasses implement three small hooks:

- ``_make_encoder()`` -> an unfitted :class:`FeatureEncoder` suited to the family;
- ``_fit_encoded(encoded, poor, weight, groups)`` -> fit the underlying estimator;
- ``_margin(encoded)`` -> the model's margin (log-odds for classifiers), higher = poorer.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d

from ._encoding import FeatureEncoder, as_frame

__all__ = [
    "BASE",
    "ExactContributions",
    "PovertyModel",
    "balanced_weight",
    "contributions_by_feature",
    "integer_seed",
]


class PovertyModel(ClassifierMixin, BaseEstimator):
    """Base class of the poverty models; see the module docstring for the hooks.

    ``fit(X, y, sample_weight=None, groups=None)``: every model accepts ``groups`` (the
    desa code of each household) so callers can pass it uniformly; families with an
    internal validation split (the MLP) hold out whole desa with it, the others ignore it.
    """

    uses_welfare: ClassVar[bool] = False
    #: key of the model in :data:`slrt_ml.models.MODEL_NAMES`
    name: ClassVar[str] = ""
    #: fitted attributes ``save_model`` writes in their library's own format instead of
    #: skops: attribute -> kind ("xgboost": booster JSON, "keras": ``.keras`` file)
    _saved_apart: ClassVar[dict[str, str]] = {}

    def fit(self, X, y, sample_weight=None, groups=None) -> PovertyModel:
        """Fit the encoder and the model on the training households.

        Parameters
        ----------
        X : DataFrame or array-like
            ``household_features`` rows (or any numeric/string table).
        y : array-like
            The poor label, two classes; the larger label is poor.
        sample_weight : array-like, optional
            Household weights; zero-weight rows do not count.
        groups : array-like, optional
            The desa code of each household (see the class docstring).

        Returns
        -------
        PovertyModel
            ``self``, fitted.

        Raises
        ------
        ValueError
            ``y`` is missing, has NaN, not exactly two classes, or only one class with a
            positive weight.
        """
        poor = self._encode_target(y, len(as_frame(X)))
        encoded, weight = self._fit_encoder(X, sample_weight)
        _check_both_classes_weighted(poor, weight)
        self._fit_encoded(encoded, poor, weight, groups)
        return self

    def decision_function(self, X) -> np.ndarray:
        """The model's margin (log-odds of being poor; minus the prediction for OLS).

        Parameters
        ----------
        X : DataFrame or array-like
            Rows with the columns seen in ``fit``.

        Returns
        -------
        ndarray
            One margin per row, higher = poorer.
        """
        return self._margin(self._encode(X))

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities of ``classes_`` (column 1 = poor); rows sum to 1.

        Parameters
        ----------
        X : DataFrame or array-like
            Rows with the columns seen in ``fit``.

        Returns
        -------
        ndarray
            Shape (n, 2).
        """
        poor = np.clip(self._proba_poor(self._encode(X)), 0.0, 1.0)
        return np.column_stack([1.0 - poor, poor])

    def predict(self, X) -> np.ndarray:
        """The label of the more likely class (poor when its probability is at least 0.5).

        Parameters
        ----------
        X : DataFrame or array-like
            Rows with the columns seen in ``fit``.

        Returns
        -------
        ndarray
            One label of ``classes_`` per row.
        """
        poor = self.predict_proba(X)[:, 1] >= 0.5
        return self.classes_[poor.astype(int)]

    def poverty_score(self, X) -> np.ndarray:
        """Score for ranking households: higher = poorer (the margin).

        Parameters
        ----------
        X : DataFrame or array-like
            Rows with the columns seen in ``fit``.

        Returns
        -------
        ndarray
            :meth:`decision_function` of the rows.
        """
        return self.decision_function(X)

    # -- hooks ----------------------------------------------------------------------------

    def _make_encoder(self) -> FeatureEncoder:
        raise NotImplementedError

    def _fit_encoded(self, encoded: pd.DataFrame, poor: np.ndarray, weight, groups) -> None:
        raise NotImplementedError

    def _margin(self, encoded: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def _proba_poor(self, encoded: pd.DataFrame) -> np.ndarray:
        return expit(self._margin(encoded))

    # -- shared helpers ---------------------------------------------------------------------

    def _fit_encoder(self, X, sample_weight) -> tuple[pd.DataFrame, np.ndarray]:
        """Fit ``encoder_`` on the training fold; return the encoded frame and weights."""
        frame = as_frame(X)
        weight = _check_sample_weight(sample_weight, frame, dtype=np.float64)
        self.encoder_ = self._make_encoder().fit(frame, sample_weight=weight)
        self.n_features_in_ = self.encoder_.n_features_in_
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = self.encoder_.feature_names_in_
        return self.encoder_.transform(frame), weight

    def _encode(self, X) -> pd.DataFrame:
        check_is_fitted(self, "encoder_")
        frame = as_frame(X)
        if not isinstance(X, pd.DataFrame) and frame.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {frame.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input"
            )
        return self.encoder_.transform(frame)

    def _encode_target(self, y, n_rows: int) -> np.ndarray:
        """The poor label as 0/1 (``classes_[1]``, the larger label, is poor)."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None"
            )
        labels = column_or_1d(y, warn=True)
        if len(labels) != n_rows:
            raise ValueError(
                f"y must be one label per household ({n_rows} rows), got {len(labels)}"
            )
        if pd.isna(labels).any():
            raise ValueError("y has missing values; drop households without a poor label first")
        if np.issubdtype(labels.dtype, np.number) and not np.isfinite(labels).all():
            raise ValueError(
                f"y has {int((~np.isfinite(labels)).sum())} infinite value(s); the poor label "
                "must be 0/1 (or log relative welfare for pmt_ols, finite)"
            )
        check_classification_targets(labels)
        self.classes_ = np.unique(labels)
        if len(self.classes_) != 2:
            raise ValueError(
                f"Only binary classification is supported: {type(self).__name__} needs y with "
                f"exactly two classes (0 = not poor, 1 = poor); got {len(self.classes_)} "
                f"class(es): {self.classes_[:5].tolist()}"
            )
        return (labels == self.classes_[1]).astype(np.int8)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags


def _check_both_classes_weighted(poor: np.ndarray, weight: np.ndarray) -> None:
    classes = np.unique(poor[weight > 0])
    if len(classes) < 2:
        raise ValueError(
            "households with a positive sample_weight hold only one class "
            f"({'poor' if classes.tolist() == [1] else 'not poor'}); both poor and not-poor "
            "households need weight > 0"
        )


def balanced_weight(poor: np.ndarray, weight: np.ndarray, class_weight) -> np.ndarray:
    """Sample weights times class weights.

    Parameters
    ----------
    poor : ndarray
        0/1 label per household.
    weight : ndarray
        Sample weight per household.
    class_weight : None, "balanced" or dict
        ``None`` keeps ``weight``; "balanced" gives each class the same total weight, as
        scikit-learn does; ``{0: w0, 1: w1}`` multiplies each class by its weight.

    Returns
    -------
    ndarray
        The combined weights.

    Raises
    ------
    ValueError
        ``class_weight`` is none of the above.

    >>> balanced_weight(np.array([0, 0, 0, 1]), np.ones(4), "balanced").tolist()
    [0.6666666666666666, 0.6666666666666666, 0.6666666666666666, 2.0]
    """
    if class_weight is None:
        return weight
    if class_weight == "balanced":
        totals = np.array([weight[poor == k].sum() for k in (0, 1)])
        per_class = totals.sum() / (2.0 * np.where(totals > 0, totals, 1.0))
    elif isinstance(class_weight, dict) and set(class_weight) <= {0, 1}:
        per_class = np.array([class_weight.get(0, 1.0), class_weight.get(1, 1.0)], dtype=float)
    else:
        raise ValueError(
            f"class_weight must be None, 'balanced' or a dict {{0: w, 1: w}}, got {class_weight!r}"
        )
    return weight * per_class[poor]


def integer_seed(random_state, *, default: int | None = None) -> int | None:
    """The integer seed a wrapped library wants, from a scikit-learn ``random_state``.

    Parameters
    ----------
    random_state : None, int or numpy.random.RandomState
        A ``RandomState`` gives one draw from it (so each call advances it).
    default : int or None, default None
        The seed for ``random_state=None`` (XGBoost wants an integer: its own default, 0).

    Returns
    -------
    int or None

    >>> integer_seed(None), integer_seed(None, default=0), integer_seed(np.int64(7))
    (None, 0, 7)
    >>> integer_seed(np.random.RandomState(0))
    209652396
    """
    if random_state is None:
        return default
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    return int(random_state)


BASE = "__base__"


def contributions_by_feature(
    encoded_contributions: pd.DataFrame, sources: dict[str, str]
) -> pd.DataFrame:
    """Sum contributions of encoded columns back to their source feature columns.

    The ``__base__`` column (the margin at the reference point) is kept as is, so each row
    still sums to the model's margin.

    Parameters
    ----------
    encoded_contributions : DataFrame
        One column per encoded column plus ``__base__``.
    sources : dict
        Encoded column -> source feature column (``encoder.sources_``).

    Returns
    -------
    DataFrame
        One column per source feature (in ``sources`` order) plus ``__base__``.

    >>> c = pd.DataFrame({"Lantai=2": [0.5], "Lantai=9": [1.0], "Luas": [-0.25], BASE: [0.1]})
    >>> contributions_by_feature(c, {"Lantai=2": "Lantai", "Lantai=9": "Lantai", "Luas": "Luas"})
       Lantai  Luas  __base__
    0     1.5 -0.25       0.1
    """
    features = list(dict.fromkeys(sources.values()))
    summed = encoded_contributions.drop(columns=BASE).T.groupby(sources).sum().T
    return summed.reindex(columns=features).assign(**{BASE: encoded_contributions[BASE]})


class ExactContributions:
    """Mixin for families whose margin splits exactly into per-column terms.

    For linear models and additive models (EBM) these terms are the exact interventional
    SHAP values against the training mean; for XGBoost they are exact TreeSHAP values.
    """

    def contributions(self, X, by: str = "feature") -> pd.DataFrame:
        """Per-household contributions to :meth:`decision_function`, plus ``__base__``.

        Parameters
        ----------
        X : DataFrame or array-like
            Rows with the columns seen in ``fit``.
        by : {"feature", "encoded"}, default "feature"
            ``"feature"`` sums encoded columns back to ``household_features`` columns (via
            ``encoder_.sources_``); ``"encoded"`` keeps one column per encoded column.

        Returns
        -------
        DataFrame
            Contributions plus ``__base__``; every row sums to the household's margin.

        Raises
        ------
        ValueError
            ``by`` is neither "feature" nor "encoded".
        """
        if by not in ("feature", "encoded"):
            raise ValueError(f"contributions(by=...) must be 'feature' or 'encoded', got {by!r}")
        per_column = self._encoded_contributions(self._encode(X))
        if by == "encoded":
            return per_column
        return contributions_by_feature(per_column, self.encoder_.sources_)
