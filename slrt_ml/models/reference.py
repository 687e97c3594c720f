"""A reference scorecard fitted on the data itself, for data with no existing system.

When a mapped table has no reference score or list (``reference.fit: pmt_ols``), the
reference ranking is the out-of-fold score of a PMT scorecard, so it is judged out of
sample like every other model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from slrt_ml.models.cv import grouped_folds
from slrt_ml.models.factory import make_model

__all__ = ["fitted_reference_scores"]


def fitted_reference_scores(
    features: pd.DataFrame,
    poor: np.ndarray,
    groups: np.ndarray,
    *,
    welfare_target: np.ndarray | None = None,
    model: str = "pmt_ols",
    folds: int = 5,
    seed: int = 0,
    sample_weight: np.ndarray | None = None,
) -> np.ndarray:
    """Out-of-fold scores (higher = poorer) of a scorecard fitted on the data itself.

    Folds are grouped by ``groups`` (the cluster); each household is scored by the model
    fitted on the folds without its cluster, so the reference is judged out of sample like
    every other model. ``pmt_ols`` regresses log welfare when it is known, else it is a
    linear probability model of the poor label.

    Parameters
    ----------
    features
        The model features, one row per household.
    poor
        The 0/1 poor label, aligned with ``features``.
    groups
        The cluster of every household (the unit of the folds).
    welfare_target
        log(welfare / poverty line); used by models that regress welfare.
    model
        A model name known to :func:`slrt_ml.models.make_model`.
    folds, seed
        Number of grouped folds and the seed of their assignment.
    sample_weight
        Survey weights (the expansion factor), aligned with ``features``; None = equal.

    Returns
    -------
    numpy.ndarray
        One float score per household, in ``features`` order.
    """
    scores = np.full(len(features), np.nan)
    template = make_model(model)
    uses_welfare = getattr(template, "uses_welfare", False) and welfare_target is not None
    y = np.asarray(welfare_target if uses_welfare else poor)
    weight = np.ones(len(features)) if sample_weight is None else np.asarray(sample_weight, float)
    for train, test in grouped_folds(np.asarray(groups), folds, seed):
        fitted = make_model(model).fit(features.iloc[train], y[train], sample_weight=weight[train])
        scores[test] = fitted.poverty_score(features.iloc[test])
    return scores
