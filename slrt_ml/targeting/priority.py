"""Who to verify first: rank, selection and field-verification priority per area.

Batch scoring (:mod:`slrt_ml.pipeline.score`) needs, for every household, its rank in its
desa (1 = poorest), whether its desa's quota selects it, and the order in which field
staff should verify households: :func:`area_decisions` gives all three.

**Verification priority** (1 = check first) goes to the households whose decision is
least certain. With a quota, the distance of a household to its area's cut-off is
``|rank_in_area - (quota + 0.5)| / households in the area``. With several models, the
share of the other models whose selection disagrees with the main model's comes first
(more disagreement = earlier), then the distance. Remaining ties go to input order.
Without a quota nothing is selected and priority follows the score, poorest first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from slrt_ml.targeting.selection import desa_quota, rank_and_select

__all__ = ["AreaDecisions", "area_decisions", "verification_priority"]


def verification_priority(
    rank: np.ndarray,
    quota: np.ndarray,
    n_in_area: np.ndarray,
    *,
    disagreement: np.ndarray | None = None,
) -> np.ndarray:
    """Priority for field verification, 1 = check first: the least certain decisions.

    The distance of a household to its area's cut-off is
    ``|rank - (quota + 0.5)| / n_in_area`` (the cut-off lies between the last selected and
    the first not selected household; dividing by area size makes areas of different sizes
    comparable). With ``disagreement`` (share of other models whose selection differs) the
    most disputed households come first, then the closest to the cut-off; remaining ties
    go to input order.

    Parameters
    ----------
    rank : ndarray of int
        Rank of the household in its area (:func:`rank_within_area`).
    quota : ndarray of int
        Quota of the household's area.
    n_in_area : ndarray of int
        Households in the household's area.
    disagreement : ndarray of float, optional
        Share of the other models that decide differently.

    Returns
    -------
    ndarray of int64
        A permutation of ``1..n``.

    >>> verification_priority(np.array([1, 2, 3, 1, 2]), np.array([1, 1, 1, 1, 1]),
    ...                       np.array([3, 3, 3, 2, 2])).tolist()
    [1, 2, 5, 3, 4]
    """
    distance = np.abs(rank - (quota + 0.5)) / np.maximum(n_in_area, 1)
    disagree = np.zeros(len(rank)) if disagreement is None else np.asarray(disagreement, float)
    order = np.lexsort((np.arange(len(rank)), distance, -disagree))
    priority = np.empty(len(rank), dtype=np.int64)
    priority[order] = np.arange(1, len(rank) + 1)
    return priority


@dataclass(frozen=True)
class AreaDecisions:
    """Per household: rank in its area, selection (None without a quota), priority."""

    rank_in_area: np.ndarray
    selected: np.ndarray | None
    priority: np.ndarray


def area_decisions(
    score: np.ndarray,
    area: np.ndarray,
    area_names: list[str],
    quota: Mapping[str, int] | float | None,
    *,
    other_scores: np.ndarray | None = None,
) -> AreaDecisions:
    """Rank, selection and verification priority of every household.

    Without a quota nothing is selected and the priority follows the score, poorest
    first (ties by input order); with one, see :func:`verification_priority`.

    Parameters
    ----------
    score : ndarray of float
        Main model's score per household.
    area : ndarray of int
        Code per household into ``area_names``.
    area_names : list of str
        Name (desa code) of each area code, the keys of a quota mapping.
    quota : mapping, float or None
        As in :func:`desa_quota`.
    other_scores : ndarray of float, optional
        One column per other model; their selections vote for the priority.

    Returns
    -------
    AreaDecisions

    >>> d = area_decisions(np.array([0.9, 0.1, 0.5]), np.array([0, 0, 1]), ["a", "b"], 0.5)
    >>> d.rank_in_area.tolist(), d.selected.tolist(), d.priority.tolist()
    ([1, 2, 1], [True, False, True], [1, 2, 3])
    """
    counts = pd.Series(np.bincount(area, minlength=len(area_names)), index=pd.Index(area_names))
    quotas = desa_quota(counts, quota)
    # largest_remainder returns areas sorted by code: align with the codes of `area`
    quota_by_area = None if quotas is None else quotas.reindex(counts.index).to_numpy(np.int64)
    rank, selected = rank_and_select(score, area, quota_by_area)
    if selected is None:
        priority = np.empty(len(score), np.int64)
        priority[np.lexsort((np.arange(len(score)), -score))] = np.arange(1, len(score) + 1)
        return AreaDecisions(rank, None, priority)
    disagreement = None
    if other_scores is not None and other_scores.shape[1]:
        votes = [rank_and_select(other_scores[:, j], area, quota_by_area)[1]
                 for j in range(other_scores.shape[1])]  # fmt: skip
        disagreement = np.mean([v != selected for v in votes], axis=0)
    n_in = counts.to_numpy()[area]
    priority = verification_priority(rank, quota_by_area[area], n_in, disagreement=disagreement)
    return AreaDecisions(rank, selected, priority)
