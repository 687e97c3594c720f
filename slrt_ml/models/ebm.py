"""InterpretML's Explainable Boosting Machine (``ebm``): a glassbox additive model.

The margin is an intercept plus one shape function per feature and per selected pair of
features, so ``ebm.eval_terms`` gives each household's exact additive contributions.
Categoricals are ordinal-coded by :class:`FeatureEncoder` (rare and unseen levels share
code 0) and declared ``nominal`` to the EBM, which then learns one value per level: one
term per feature instead of one per dummy. A pair term's contribution is split evenly
between its two features when summing back to features.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit

from ._base import BASE, ExactContributions, PovertyModel, balanced_weight
from ._encoding import FeatureEncoder

__all__ = ["ExplainableBoostingModel"]


class ExplainableBoostingModel(ExactContributions, PovertyModel):
    """Explainable boosting with defaults sized for two cores and ~20k households.

    Parameters: ``interactions`` (number of pair terms), ``outer_bags``,
    ``validation_size`` (early-stopping share; with ``fit(..., groups=desa)`` each outer
    bag holds out whole desa, as cross-validation does),
    ``learning_rate``, ``max_rounds``, ``max_bins``, ``min_samples_leaf``,
    ``class_weight``, ``min_frequency``, ``n_jobs``, ``random_state``.
    Fitted: ``ebm_`` (the ExplainableBoostingClassifier).
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
            random_state=_seed(self.random_state),
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
        seed = _seed(self.random_state)
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
            for feature in features:  # a pair term is split evenly between its features
                per_column[:, feature] += terms[:, term] / len(features)
        out = pd.DataFrame(per_column, columns=encoded.columns, index=encoded.index)
        out[BASE] = float(np.ravel(self.ebm_.intercept_)[0])
        return out


def _seed(random_state) -> int | None:
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    return None if random_state is None else int(random_state)
