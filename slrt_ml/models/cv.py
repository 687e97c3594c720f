"""Grouped cross-validation of the model families: folds by desa and out-of-fold scores.

Every labelled household is scored by a model fitted on folds that do not contain its
desa, so area effects do not leak from neighbours into the score and bootstrap intervals
are honest. Models train on the *training sample* (config ``train.sample``): by default
the labelled households (the survey sample), weighted by their survey weight. Households
outside the sample were never in training: they get the score of the final model fitted on
the whole sample (:func:`fit_final`).
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

__all__ = [
    "grouped_folds",
    "out_of_fold_scores",
    "new_model",
    "fit_model",
    "fit_final",
    "training_labels",
    "training_sample",
]

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
    model: PovertyModel,
    X: pd.DataFrame,
    y: np.ndarray,
    groups: np.ndarray,
    sample_weight: np.ndarray | None = None,
) -> PovertyModel:
    """Fit ``model`` with ``sample_weight``, passing the desa ``groups`` to models whose
    ``fit`` takes them."""
    if "groups" in inspect.signature(model.fit).parameters:
        return model.fit(X, y, sample_weight=sample_weight, groups=groups)
    return model.fit(X, y, sample_weight=sample_weight)


def training_sample(data: TargetingData, config: Config) -> tuple[np.ndarray, np.ndarray]:
    """Which households models train on, and with which weights (config ``train.sample``).

    Parameters
    ----------
    data : TargetingData
        Its ``labelled`` and ``sample_weight`` (survey weight) properties.
    config : Config
        ``train.sample``: ``"labelled"`` (default) = the labelled households weighted by
        their survey weight; ``"all"`` = every household, unweighted.

    Returns
    -------
    (ndarray of bool, ndarray of float)
        The training mask and the weight of every household (0 outside the sample).

    Raises
    ------
    ValueError
        When the sample is empty.
    """
    if config.train.sample == "all":
        rows, weight = np.ones(len(data.frame), dtype=bool), np.ones(len(data.frame))
    else:
        rows, weight = data.labelled, np.where(data.labelled, data.sample_weight, 0.0)
    if not rows.any():
        raise ValueError(f"{data.name}: no labelled household to train on (train.sample)")
    return rows, weight


def fit_final(name: str, data: TargetingData, config: Config) -> PovertyModel:
    """Model ``name`` fitted on the whole training sample (:func:`training_sample`)."""
    rows, weight = training_sample(data, config)
    model = new_model(name, config)
    y = training_labels(model, data)
    return fit_model(model, data.features[rows], y[rows], data.groups[rows], weight[rows])


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
    *,
    final: PovertyModel | None = None,
) -> np.ndarray:
    """Each household of the training sample scored by the model fitted on the folds that
    do not contain its desa; every other household by the final model.

    Each fold's model trains on the training households of the other folds
    (:func:`training_sample`: by default the labelled ones, with their survey weights).
    Households outside the sample never were in training, so the final model fitted on
    the whole sample scores them out of sample too.

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
    final : PovertyModel, optional
        The model fitted on the whole sample (:func:`fit_final`), to score the households
        outside it; fitted here when needed and not given.

    Returns
    -------
    ndarray
        One poverty score per household (higher = poorer), in ``data.frame`` order.
    """
    rows, weight = training_sample(data, config)
    scores = np.full(len(data.frame), np.nan)
    for train, test in folds:
        train, test = train[rows[train]], test[rows[test]]
        model = new_model(name, config)
        y = training_labels(model, data)
        fit_model(model, data.features.iloc[train], y[train], data.groups[train], weight[train])
        if len(test):
            scores[test] = model.poverty_score(data.features.iloc[test])
        if on_fold:
            on_fold()
    if not rows.all():
        final = final if final is not None else fit_final(name, data, config)
        scores[~rows] = final.poverty_score(data.features[~rows])
    return scores
