"""InterpretML's Explainable Boosting Machine (``ebm``): a glassbox additive model.

The margin is an intercept plus one shape function per feature and per selected pair of
features, so ``ebm.eval_terms`` gives each household's exact additive contributions.
Categoricals are ordinal-coded by :class:`FeatureEncoder` (rare and unseen levels share
code 0) and declared ``nominal`` to the EBM, which then learns one value per level: one
term per feature instead of one per dummy. A pair term's contribution is split evenly
between its two features when summing back to features.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit

from ._base import BASE, ExactContributions, PovertyModel, balanced_weight, integer_seed
from ._encoding import FeatureEncoder

__all__ = ["ExplainableBoostingModel", "term_shares", "term_split_matrix"]


class ExplainableBoostingModel(ExactContributions, PovertyModel):
    """Explainable boosting with defaults sized for two cores and ~20k households.

    Parameters
    ----------
    interactions : int, default 10
        Number of pair terms.
    outer_bags : int, default 4
    validation_size : float, default 0.15
        Early-stopping share; with ``fit(..., groups=desa)`` each outer bag holds out
        whole desa, as cross-validation does.
    learning_rate, max_rounds, max_bins, min_samples_leaf, n_jobs
        Passed to ``ExplainableBoostingClassifier``.
    class_weight : None, "balanced" or dict
        See :func:`~slrt_ml.models._base.balanced_weight`.
    min_frequency : int, default 10
        Rarer category levels are pooled.
    random_state : None, int or RandomState

    Attributes
    ----------
    ebm_ : ExplainableBoostingClassifier
        The fitted EBM.
    """

    name: ClassVar[str] = "ebm"

    def __init__(
        self,
        interactions: int = 10,
        outer_bags: int = 4,
        validation_size: float = 0.15,
        learning_rate: float = 0.04,
        max_rounds: int = 2000,
        max_bins: int = 256,
        min_samples_leaf: int = 4,
        class_weight=None,
        min_frequency: int = 10,
        n_jobs: int = 2,
        random_state=None,
    ):
        self.interactions = interactions
        self.outer_bags = outer_bags
        self.validation_size = validation_size
        self.learning_rate = learning_rate
        self.max_rounds = max_rounds
        self.max_bins = max_bins
        self.min_samples_leaf = min_samples_leaf
        self.class_weight = class_weight
        self.min_frequency = min_frequency
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _make_encoder(self) -> FeatureEncoder:
        return FeatureEncoder("ordinal", min_frequency=self.min_frequency, fill_missing=False)

    def _fit_encoded(self, encoded, poor, weight, groups) -> None:
        from interpret.glassbox import ExplainableBoostingClassifier

        categorical = set(self.encoder_.categorical_columns_)
        self.ebm_ = ExplainableBoostingClassifier(
            feature_names=list(encoded.columns),
            feature_types=["nominal" if c in categorical else "continuous" for c in encoded],
            interactions=self.interactions,
            outer_bags=self.outer_bags,
            validation_size=self.validation_size,
            learning_rate=self.learning_rate,
            max_rounds=self.max_rounds,
            max_bins=self.max_bins,
            min_samples_leaf=self.min_samples_leaf,
            n_jobs=self.n_jobs,
            random_state=integer_seed(self.random_state),
        )
        weight = balanced_weight(poor, weight, self.class_weight)
        keep = weight > 0  # the EBM rejects zero weights; dropping those rows is equivalent
        bags = self._desa_bags(groups)
        self.ebm_.fit(
            encoded.to_numpy()[keep],
            poor[keep],
            sample_weight=weight[keep],
            bags=None if bags is None else bags[keep],
        )

    def _desa_bags(self, groups) -> np.ndarray | None:
        """Outer bags whose early-stopping validation rows are whole desa (None: EBM's own)."""
        if groups is None or self.validation_size <= 0 or len(np.unique(groups)) < 2:
            return None
        groups = np.asarray(groups)
        seed = integer_seed(self.random_state)
        bags = np.ones((len(groups), self.outer_bags), dtype=np.int8)
        for bag in range(self.outer_bags):
            split = GroupShuffleSplit(
                1, test_size=self.validation_size, random_state=None if seed is None else seed + bag
            )
            _, valid = next(split.split(groups, groups=groups))
            bags[valid, bag] = -1
        return bags

    def _margin(self, encoded):
        return np.asarray(self.ebm_.decision_function(encoded.to_numpy()), dtype=np.float64)

    def _encoded_contributions(self, encoded):
        terms = self.ebm_.eval_terms(encoded.to_numpy())
        per_column = np.zeros((len(encoded), encoded.shape[1]))
        for term, features in enumerate(self.ebm_.term_features_):
            for feature, share in term_shares(features).items():
                per_column[:, feature] += terms[:, term] * share
        out = pd.DataFrame(per_column, columns=encoded.columns, index=encoded.index)
        out[BASE] = float(np.ravel(self.ebm_.intercept_)[0])
        return out


def term_shares(features: Sequence[Hashable]) -> dict[Hashable, float]:
    """Each feature's share of a term's contribution: an even split.

    A main term goes whole to its feature; a pair term half and half to its two features
    (the symmetric Shapley split of a two-player term). The one rule for splitting terms,
    used by ``contributions``, :func:`term_split_matrix` and the explanations.

    Parameters
    ----------
    features : sequence
        The features of one term (column positions or names).

    Returns
    -------
    dict
        Feature -> share; the shares sum to 1.

    >>> term_shares([3]), term_shares(["a", "b"])
    ({3: 1.0}, {'a': 0.5, 'b': 0.5})
    """
    return {feature: 1.0 / len(features) for feature in features}


def term_split_matrix(term_features: Sequence[Sequence[int]], n_columns: int) -> np.ndarray:
    """Matrix (terms x encoded columns) of :func:`term_shares`: ``terms @ split`` gives
    per-column contributions.

    Parameters
    ----------
    term_features : sequence of sequences of int
        Column positions of each term (``ebm.term_features_``).
    n_columns : int
        Number of encoded columns.

    Returns
    -------
    ndarray
        Shape (terms, n_columns).

    >>> term_split_matrix([(0,), (1,), (0, 1)], 2).tolist()
    [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]
    """
    split = np.zeros((len(term_features), n_columns))
    for term, members in enumerate(term_features):
        for column, share in term_shares(members).items():
            split[term, column] = share
    return split
