"""Poverty models: baselines and a Keras network behind one scikit-learn style interface.

Every model fits on the ``features.household_features`` frame and a 0/1 poor label, and
offers ``predict_proba`` (n, 2), ``predict``, ``decision_function`` (its margin:
log-odds, or minus the prediction for the OLS proxy-means test) and ``poverty_score``
(higher = poorer). ``encoder_`` is the fitted :class:`FeatureEncoder`; its ``sources_``
maps encoded columns back to feature columns. ``pmt_ols``, ``logit``, ``gbm`` and ``ebm``
also give exact per-household contributions (``model.contributions(X)``).

Module map: :mod:`~slrt_ml.models.factory` (``make_model``, ``MODEL_NAMES``), one module
per family (:mod:`~slrt_ml.models.linear`, :mod:`~slrt_ml.models.trees`,
:mod:`~slrt_ml.models.ebm`, :mod:`~slrt_ml.models.mlp`) on the shared
:mod:`~slrt_ml.models._base` and :mod:`~slrt_ml.models._encoding`,
:mod:`~slrt_ml.models.persistence` (``save_model``/``load_model``) and
:mod:`~slrt_ml.models.cv` (cross-validated scores).
"""

from ._base import PovertyModel
from ._encoding import FeatureEncoder
from .cv import grouped_folds, out_of_fold_scores
from .ebm import ExplainableBoostingModel
from .factory import MODEL_NAMES, MODELS, make_model
from .linear import PMTOLS, LogitModel
from .mlp import MLPModel
from .persistence import UnsafeModelError, load_model, model_checksums, save_model
from .trees import GradientBoostingModel, RandomForestModel

__all__ = [
    "MODEL_NAMES",
    "MODELS",
    "FeatureEncoder",
    "PovertyModel",
    "PMTOLS",
    "LogitModel",
    "GradientBoostingModel",
    "RandomForestModel",
    "ExplainableBoostingModel",
    "MLPModel",
    "make_model",
    "save_model",
    "load_model",
    "model_checksums",
    "UnsafeModelError",
    "grouped_folds",
    "out_of_fold_scores",
]
