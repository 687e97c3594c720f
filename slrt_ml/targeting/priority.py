"""Who to verify first: rank, selection and field-verification priority per area.

Batch scoring (:mod:`slrt_ml.pipeline.score`) needs, for every household, its rank in its
desa (1 = poorest), whether its desa's quota selects it, and the order in which the desa's
field team should verify its households: :func:`area_decisions` gives all three.

**Verification priority** is numbered *within each area* (1 = check first in this desa),
so a desa's order does not change when other desa are added. It goes to the households
whose decision is least certain: with a quota, the distance of a household to its area's
cut-off is ``|rank_in_area - (quota + 0.5)| / households in the area``. Only when the
caller passes ``other_scores`` (models chosen to vote, ``--priority-models``) does the
share of those models whose selection disagrees come first (more disagreement =
earlier), then the distance; loading extra models for their scores alone changes
nothing. Remaining ties go to input order. Without a quota nothing is selected and the
priority is the rank (poorest first).
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
    area: np.ndarray | None = None,
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
    area : ndarray of int, optional
        Area code per household: priorities are numbered within each area. Default: one
        area (a single order over all households).

    Returns
    -------
    ndarray of int64
        Within each area a permutation of ``1..households in the area``.

    >>> verification_priority(np.array([1, 2, 3, 1, 2]), np.array([1, 1, 1, 1, 1]),
    ...                       np.array([3, 3, 3, 2, 2])).tolist()
    [1, 2, 5, 3, 4]
    >>> verification_priority(np.array([1, 2, 3, 1, 2]), np.array([1, 1, 1, 1, 1]),
    ...                       np.array([3, 3, 3, 2, 2]), area=np.array([0, 0, 0, 1, 1])).tolist()
    [1, 2, 3, 1, 2]
    """
    distance = np.abs(rank - (quota + 0.5)) / np.maximum(n_in_area, 1)
    disagree = np.zeros(len(rank)) if disagreement is None else np.asarray(disagreement, float)
    area = np.zeros(len(rank), np.int64) if area is None else np.asarray(area)
    return _number_within(area, np.lexsort((np.arange(len(rank)), distance, -disagree, area)))


def _number_within(area: np.ndarray, order: np.ndarray) -> np.ndarray:
    """1, 2, ... within each area, following ``order`` (sorted by area first).

    >>> _number_within(np.array([1, 0, 1, 0]), np.array([3, 1, 2, 0])).tolist()
    [2, 2, 1, 1]
    """
    sorted_area = area[order]
    starts = np.r_[True, sorted_area[1:] != sorted_area[:-1]] if len(order) else np.ones(0, bool)
    first = np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))
    priority = np.empty(len(order), dtype=np.int64)
    priority[order] = np.arange(len(order)) - first + 1
    return priority


@dataclass(frozen=True)
class AreaDecisions:
    """Per household: rank in its area, selection (None without a quota), verification
    priority within its area, and the size of its area."""

    rank_in_area: np.ndarray
    selected: np.ndarray | None
    priority_in_area: np.ndarray
    n_in_area: np.ndarray


def area_decisions(
    score: np.ndarray,
    area: np.ndarray,
    area_names: list[str],
    quota: Mapping[str, int] | float | None,
    *,
    other_scores: np.ndarray | None = None,
) -> AreaDecisions:
    """Rank, selection and verification priority of every household.

    Without a quota nothing is selected and the priority is the rank (poorest first,
    ties by input order); with one, see :func:`verification_priority`.

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
        One column per model chosen to vote (``--priority-models``); their selections
        move disputed households forward. Leave out for a priority that depends on the
        main model only.

    Returns
    -------
    AreaDecisions

    >>> d = area_decisions(np.array([0.9, 0.1, 0.5]), np.array([0, 0, 1]), ["a", "b"], 0.5)
    >>> d.rank_in_area.tolist(), d.selected.tolist(), d.priority_in_area.tolist()
    ([1, 2, 1], [True, False, True], [1, 2, 1])
    """
    counts = pd.Series(np.bincount(area, minlength=len(area_names)), index=pd.Index(area_names))
    quotas = desa_quota(counts, quota)
    # largest_remainder returns areas sorted by code: align with the codes of `area`
    quota_by_area = None if quotas is None else quotas.reindex(counts.index).to_numpy(np.int64)
    rank, selected = rank_and_select(score, area, quota_by_area)
    n_in = counts.to_numpy()[area]
    if selected is None:
        return AreaDecisions(rank, None, np.asarray(rank, np.int64), n_in)
    disagreement = None
    if other_scores is not None and other_scores.shape[1]:
        votes = [rank_and_select(other_scores[:, j], area, quota_by_area)[1]
                 for j in range(other_scores.shape[1])]  # fmt: skip
        disagreement = np.mean([v != selected for v in votes], axis=0)
    priority = verification_priority(rank, quota_by_area[area], n_in, disagreement=disagreement,
                                     area=area)  # fmt: skip
    return AreaDecisions(rank, selected, priority, n_in)
