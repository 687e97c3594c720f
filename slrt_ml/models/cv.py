"""Grouped cross-validation of the model families: folds by desa and out-of-fold scores.

Every household is scored by a model fitted on folds that do not contain its desa, so
area effects do not leak from neighbours into the score and bootstrap intervals are honest.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np
import pandas as pd

from slrt_ml.config import Config
from slrt_ml.models._base import PovertyModel
from slrt_ml.models.factory import make_model
from slrt_ml.targeting.frame import TargetingData

__all__ = ["grouped_folds", "out_of_fold_scores", "new_model", "fit_model", "training_labels"]

Folds = list[tuple[np.ndarray, np.ndarray]]


def grouped_folds(groups: np.ndarray, n_folds: int, seed: int, *, shuffle: bool = True) -> Folds:
    """Folds grouped by desa: all households of a desa fall in the same fold.

    Row folds leak area effects (a desa's neighbours are in the training fold) and give
    intervals that are far too narrow.

    Parameters
    ----------
    groups : ndarray
        The desa (cluster) of every row.
    n_folds : int
        Number of folds.
    seed : int
        Seed of the shuffled group assignment.
    shuffle : bool
        Deal the desa into folds in a seeded random order (default; config ``cv.shuffle``);
        ``False`` balances fold sizes deterministically and ignores ``seed``.

    Returns
    -------
    list of (train, test) index arrays

    Raises
    ------
    ValueError
        When there are fewer distinct desa than folds.
    """
    from sklearn.model_selection import GroupKFold

    n_groups = len(np.unique(groups))
    if n_groups < n_folds:
        raise ValueError(f"cross-validation needs at least {n_folds} desa; the data has {n_groups}")
    splitter = GroupKFold(n_splits=n_folds, shuffle=shuffle, random_state=seed if shuffle else None)
    return list(splitter.split(np.zeros(len(groups)), groups=groups))


def fit_model(
    model: PovertyModel, X: pd.DataFrame, y: np.ndarray, groups: np.ndarray
) -> PovertyModel:
    """Fit ``model``, passing the desa ``groups`` to models whose ``fit`` takes them."""
    if "groups" in inspect.signature(model.fit).parameters:
        return model.fit(X, y, groups=groups)
    return model.fit(X, y)


def training_labels(model: PovertyModel, data: TargetingData) -> np.ndarray:
    """The welfare target for welfare models (when known), otherwise the 0/1 poor label."""
    if getattr(model, "uses_welfare", False) and data.welfare_target is not None:
        return data.welfare_target.to_numpy(dtype=float)
    return data.poor


def new_model(name: str, config: Config) -> PovertyModel:
    """An unfitted model ``name`` with the config's parameters and, by default, its seed."""
    params = config.params_for(name)
    model = make_model(name, params)
    if "random_state" in model.get_params() and "random_state" not in params:
        model.set_params(random_state=config.seed)
    return model


def out_of_fold_scores(
    name: str,
    data: TargetingData,
    folds: Folds,
    config: Config,
    on_fold: Callable[[], None] | None = None,
) -> np.ndarray:
    """Each household scored by the model fitted on the folds that do not contain its desa.

    Parameters
    ----------
    name : str
        A model family of :data:`slrt_ml.models.MODEL_NAMES`.
    data : TargetingData
        Features, labels and groups.
    folds : list of (train, test) index arrays
        From :func:`grouped_folds`.
    config : Config
        Model parameters and seed.
    on_fold : callable, optional
        Called after each fold (progress bars).

    Returns
    -------
    ndarray
        One poverty score per household (higher = poorer), in ``data.frame`` order.
    """
    scores = np.full(len(data.frame), np.nan)
    for train, test in folds:
        model = new_model(name, config)
        y = training_labels(model, data)
        fit_model(model, data.features.iloc[train], y[train], data.groups[train])
        scores[test] = model.poverty_score(data.features.iloc[test])
        if on_fold:
            on_fold()
    return scores
