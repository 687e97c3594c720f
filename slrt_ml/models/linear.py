"""Linear baselines: the World Bank style proxy-means test (``pmt_ols``) and ``logit``.

Both standardise numeric features and one-hot encode categoricals, so their exact
contributions are ``coef * (x - training mean)`` on the encoded columns.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.linear_model import LogisticRegression, Ridge

from ._base import BASE, ExactContributions, PovertyModel, balanced_weight
from ._encoding import FeatureEncoder, as_frame

__all__ = ["PMTOLS", "LogitModel"]


class _LinearContributions(ExactContributions):
    def _linear_terms(self, encoded: pd.DataFrame, coef: np.ndarray, intercept: float):
        centred = encoded.to_numpy(np.float64) - self.encoded_mean_
        terms = pd.DataFrame(centred * coef, columns=encoded.columns, index=encoded.index)
        terms[BASE] = intercept + float(self.encoded_mean_ @ coef)
        return terms


def _weighted_mean(encoded: pd.DataFrame, weight: np.ndarray) -> np.ndarray:
    return np.average(encoded.to_numpy(np.float64), axis=0, weights=weight)


class PMTOLS(_LinearContributions, PovertyModel):
    """Proxy-means test: least squares of log per-capita welfare relative to the poverty line.

    Given ``y = log(welfare_pc / poverty_line)`` (continuous; ``uses_welfare = True``) the
    model predicts relative log welfare; the poverty score and margin are minus the
    prediction and P(poor) = Phi(-prediction / residual sigma). Given a 0/1 poor label it
    fits a linear probability model instead: P(poor) = prediction clipped to [0, 1], margin
    = prediction - 0.5 (positive exactly when predicted poor).
    ``target_kind_`` says which ("welfare" or "label").

    Parameters
    ----------
    alpha : float, default 1e-3
        Ridge penalty; tiny, only to keep the full one-hot design solvable.
    min_frequency : int, default 10
        Rarer category levels are pooled.
    random_state : ignored
        The fit is deterministic; accepted so every model takes the same keys.
    """

    name: ClassVar[str] = "pmt_ols"
    uses_welfare: ClassVar[bool] = True

    def __init__(self, alpha: float = 1e-3, min_frequency: int = 10, random_state=None):
        self.alpha = alpha
        self.min_frequency = min_frequency
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None, groups=None) -> PMTOLS:
        """Fit on log relative welfare (continuous ``y``) or on a 0/1 poor label.

        Parameters
        ----------
        X : DataFrame or array-like
            ``household_features`` rows.
        y : array-like
            ``log(welfare_pc / poverty_line)`` or the poor label.
        sample_weight : array-like, optional
            Household weights.
        groups : ignored

        Returns
        -------
        PMTOLS
            ``self``, fitted.
        """
        values = np.asarray(y)
        if np.issubdtype(values.dtype, np.number) and not np.isfinite(values).all():
            raise ValueError(
                f"y has {int((~np.isfinite(values)).sum())} missing or infinite value(s); "
                "pmt_ols needs a finite log relative welfare or a 0/1 poor label"
            )
        if _is_welfare(values):
            return self._fit_welfare(X, values.astype(np.float64).ravel(), sample_weight)
        self.target_kind_ = "label"
        return super().fit(X, y, sample_weight, groups)

    def _fit_welfare(self, X, log_welfare: np.ndarray, sample_weight) -> PMTOLS:
        self.target_kind_ = "welfare"
        self.classes_ = np.array([0, 1])  # 1 = poor: welfare below the poverty line
        if len(log_welfare) != len(as_frame(X)):
            raise ValueError(
                f"y must be one value per household ({len(as_frame(X))} rows), "
                f"got {len(log_welfare)}"
            )
        encoded, weight = self._fit_encoder(X, sample_weight)
        self._fit_regression(encoded, log_welfare, weight)
        residual = log_welfare - self._prediction(encoded)
        self.residual_sigma_ = float(np.sqrt(np.average(residual**2, weights=weight))) or 1.0
        return self

    def _make_encoder(self) -> FeatureEncoder:
        return FeatureEncoder("onehot", standardize=True, min_frequency=self.min_frequency)

    def _fit_encoded(self, encoded, poor, weight, groups) -> None:
        self._fit_regression(encoded, poor, weight)

    def _fit_regression(self, encoded, target, weight) -> None:
        self.encoded_mean_ = _weighted_mean(encoded, weight)
        # float64: in float32 the full one-hot design is too ill-conditioned for Cholesky and
        # scikit-learn silently falls back to an SVD that is ~20x slower.
        self.regression_ = Ridge(alpha=self.alpha).fit(
            encoded.to_numpy(np.float64), target, sample_weight=weight
        )

    def _prediction(self, encoded: pd.DataFrame) -> np.ndarray:
        return self.regression_.predict(encoded.to_numpy(np.float64))

    def _margin(self, encoded):
        if self.target_kind_ == "welfare":
            return -self._prediction(encoded)
        return self._prediction(encoded) - 0.5  # > 0 exactly when P(poor) > 0.5

    def _proba_poor(self, encoded):
        if self.target_kind_ == "welfare":
            return norm.cdf(-self._prediction(encoded) / self.residual_sigma_)
        return np.clip(self._prediction(encoded), 0.0, 1.0)

    def _encoded_contributions(self, encoded):
        coef, intercept = self.regression_.coef_, float(self.regression_.intercept_)
        if self.target_kind_ == "welfare":
            return self._linear_terms(encoded, -coef, -intercept)
        return self._linear_terms(encoded, coef, intercept - 0.5)


def _is_welfare(values: np.ndarray) -> bool:
    """A continuous target (log relative welfare) rather than a two-class label."""
    return np.issubdtype(values.dtype, np.floating) and len(np.unique(values)) > 2


class LogitModel(_LinearContributions, PovertyModel):
    """Logistic regression of the poor label on standardised, one-hot encoded features.

    Parameters
    ----------
    C : float, default 1.0
        Inverse L2 strength.
    class_weight : None, "balanced" or dict
        See :func:`~slrt_ml.models._base.balanced_weight`.
    max_iter : int, default 1000
    min_frequency : int, default 10
        Rarer category levels are pooled.
    random_state : None, int or RandomState
        For the solver.
    """

    name: ClassVar[str] = "logit"

    def __init__(
        self,
        C: float = 1.0,
        class_weight=None,
        max_iter: int = 1000,
        min_frequency: int = 10,
        random_state=None,
    ):
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.min_frequency = min_frequency
        self.random_state = random_state

    def _make_encoder(self) -> FeatureEncoder:
        return FeatureEncoder("onehot", standardize=True, min_frequency=self.min_frequency)

    def _fit_encoded(self, encoded, poor, weight, groups) -> None:
        self.encoded_mean_ = _weighted_mean(encoded, weight)
        self.logistic_ = LogisticRegression(
            C=self.C, max_iter=self.max_iter, random_state=self.random_state
        ).fit(encoded, poor, sample_weight=balanced_weight(poor, weight, self.class_weight))
        self.n_iter_ = self.logistic_.n_iter_

    def _margin(self, encoded):
        return self.logistic_.decision_function(encoded)

    def _encoded_contributions(self, encoded):
        return self._linear_terms(
            encoded, self.logistic_.coef_[0], float(self.logistic_.intercept_[0])
        )
