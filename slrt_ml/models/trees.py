"""Tree ensembles: gradient boosting (``gbm``, XGBoost) and random forest (``rf``).

Why XGBoost for ``gbm``: its ``pred_contribs`` gives exact TreeSHAP values per household
at a cost of trees x leaves x depth^2, and shallow trees lose no AUC on registry-like data.
Measured on the synthetic registry (30k households, 101 features, desa-grouped 70/30
split, a loaded 2-core machine): depth 6 x 200 AUC 0.915, exact contributions 150 rows/s;
depth 4 x 200 AUC 0.918, 1.1k rows/s; depth 3 x 200 AUC 0.918, 2.8k rows/s (about 17x
depth 6; DESIGN section 9 reports 16.7k rows/s for depth 3 x 200 on an idle machine).
Hence the default depth 3 x 200. scikit-learn's HistGradientBoosting scored AUC 0.913
but has no exact contribution API, and shap's TreeExplainer returns wrong values for it
when native categorical splits are used; LightGBM is not installed here.
Categoricals are one-hot encoded; missing numeric values stay NaN (XGBoost learns a
default direction for them).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

import numpy as np
import pandas as pd
from joblib import effective_n_jobs
from scipy.special import logit
from sklearn.ensemble import RandomForestClassifier
from xgboost import DMatrix, XGBClassifier

from ._base import BASE, ExactContributions, PovertyModel, balanced_weight, integer_seed
from ._encoding import FeatureEncoder

__all__ = ["GradientBoostingModel", "RandomForestModel"]

#: keeps the forest's log-odds finite when every tree agrees
_PROBA_FLOOR = 1e-6
#: below this many rows per thread, forest prediction stays in one thread
_ROWS_PER_THREAD = 5_000


class GradientBoostingModel(ExactContributions, PovertyModel):
    """XGBoost classifier with shallow trees (histogram method, two threads).

    Parameters
    ----------
    n_estimators, max_depth, learning_rate, subsample, colsample_bytree, min_child_weight, reg_lambda
        Passed to ``xgboost.XGBClassifier``.
    class_weight : None, "balanced" or dict
        See :func:`~slrt_ml.models._base.balanced_weight`.
    min_frequency : int, default 10
        Rarer category levels are pooled.
    n_jobs : int, default 2
        XGBoost threads.
    random_state : None, int or RandomState
        Seed (``None``: XGBoost's default 0).

    Attributes
    ----------
    booster_ : XGBClassifier
        The fitted booster.
    """

    name: ClassVar[str] = "gbm"
    #: saved by ``save_model`` in XGBoost's own binary JSON (UBJ) format
    _saved_apart: ClassVar[dict[str, str]] = {"booster_": "xgboost"}

    def __init__(
        self,
        n_estimators: int = 200,
        max_depth: int = 3,
        learning_rate: float = 0.1,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        min_child_weight: float = 1.0,
        reg_lambda: float = 1.0,
        class_weight=None,
        min_frequency: int = 10,
        n_jobs: int = 2,
        random_state=None,
    ):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.min_child_weight = min_child_weight
        self.reg_lambda = reg_lambda
        self.class_weight = class_weight
        self.min_frequency = min_frequency
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _make_encoder(self) -> FeatureEncoder:
        return FeatureEncoder("onehot", min_frequency=self.min_frequency, fill_missing=False)

    def xgboost_params(self) -> dict:
        """The ``XGBClassifier`` parameters of a fit (``n_jobs`` apart), shared with the
        Spark trainer (``slrt_ml.spark.train``) so both engines fit the same booster."""
        return {
            "n_estimators": self.n_estimators,
            "max_depth": self.max_depth,
            "learning_rate": self.learning_rate,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "min_child_weight": self.min_child_weight,
            "reg_lambda": self.reg_lambda,
            "tree_method": "hist",
            "random_state": integer_seed(self.random_state, default=0),
        }

    def _fit_encoded(self, encoded, poor, weight, groups) -> None:
        self.booster_ = XGBClassifier(**self.xgboost_params(), n_jobs=self.n_jobs)
        self.booster_.fit(
            encoded, poor, sample_weight=balanced_weight(poor, weight, self.class_weight)
        )

    def _margin(self, encoded):
        return self.booster_.predict(encoded, output_margin=True).astype(np.float64)

    def _encoded_contributions(self, encoded):
        matrix = DMatrix(encoded, nthread=self.n_jobs)
        values = self.booster_.get_booster().predict(matrix, pred_contribs=True)
        return pd.DataFrame(values, columns=[*encoded.columns, BASE], index=encoded.index)


class RandomForestModel(PovertyModel):
    """scikit-learn random forest with modest depth, so explanations stay affordable.

    Margin = log-odds of the forest's vote share (floored at 1e-6).

    Parameters
    ----------
    n_estimators, max_depth, min_samples_leaf, max_features, random_state
        Passed to ``sklearn.ensemble.RandomForestClassifier``.
    class_weight : None, "balanced" or dict
        See :func:`~slrt_ml.models._base.balanced_weight`.
    min_frequency : int, default 10
        Rarer category levels are pooled.
    n_jobs : int, default 2
        Threads for fitting and for prediction (over row chunks).

    Attributes
    ----------
    forest_ : RandomForestClassifier
        The fitted forest.
    """

    name: ClassVar[str] = "rf"

    def __init__(
        self,
        n_estimators: int = 200,
        max_depth: int | None = 12,
        min_samples_leaf: int = 20,
        max_features: float | str = "sqrt",
        class_weight=None,
        min_frequency: int = 10,
        n_jobs: int = 2,
        random_state=None,
    ):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.class_weight = class_weight
        self.min_frequency = min_frequency
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _make_encoder(self) -> FeatureEncoder:
        return FeatureEncoder("onehot", min_frequency=self.min_frequency)

    def _fit_encoded(self, encoded, poor, weight, groups) -> None:
        self.forest_ = RandomForestClassifier(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf,
            max_features=self.max_features,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
        )
        self.forest_.fit(
            encoded, poor, sample_weight=balanced_weight(poor, weight, self.class_weight)
        )
        # scikit-learn's threads add tree votes in varying order, so its parallel predictions
        # differ in the last bits from run to run; _proba_poor parallelises over rows instead
        self.forest_.set_params(n_jobs=1)

    def _proba_poor(self, encoded):
        """Vote share of 'poor', in threads over row chunks: identical on every run."""
        n_chunks = max(1, min(effective_n_jobs(self.n_jobs), len(encoded) // _ROWS_PER_THREAD))
        chunks = [encoded.iloc[rows] for rows in np.array_split(np.arange(len(encoded)), n_chunks)]
        if n_chunks == 1:
            return self.forest_.predict_proba(encoded)[:, 1]
        with ThreadPoolExecutor(n_chunks) as pool:
            parts = list(pool.map(lambda chunk: self.forest_.predict_proba(chunk)[:, 1], chunks))
        return np.concatenate(parts)

    def _margin(self, encoded):
        return logit(np.clip(self._proba_poor(encoded), _PROBA_FLOOR, 1 - _PROBA_FLOOR))
