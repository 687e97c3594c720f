"""Re-apply each model's selection rule inside every bootstrap replicate, vectorised.

A model's list depends on the sample through its quota (SIKS-NG's count, or a share of the
eligible households, per area with ``by``), so a replicate that resamples desa must
recompute the quota on the resample and re-select the model's list from its scores;
holding the list fixed made single-model intervals too narrow and difference intervals
too wide (``bench/interval_coverage.py``).

How a replicate is measured (``m`` = how often a household's desa was drawn):

- **Quota.** ``"siksng"``/reference quota: the number of households on the reference
  list in the replicate (per area with ``by``), each counted ``m`` times. A count ``N``
  or a share: the same *coverage rate* as on the full data, ``quota / eligible``, times
  the replicate's eligible households (per area), unrounded. A fixed count means a
  fixed rate because a replicate stands for another draw of desa with another number of
  households; keeping ``N`` households there would change the coverage the rule gives.
- **Selection.** Each model's eligible households are sorted once, as
  :func:`slrt_ml.targeting.selection.select_under_quota` sorts them (area, score
  descending, tie key ascending). In a replicate a household counts ``m`` times; the
  cumulative count along that order finds the cut-off, and the household at the
  cut-off contributes the fraction of its ``m`` copies that fits (a whole number of
  copies when the quota is a whole number, as with the reference quota). Copies of one
  household are identical, so their order does not matter.
- **Units.** A quota in persons, Rupiah (``pkh_benefit``) or survey-weighted households
  carries a ``unit_weight`` per household: the quota is recomputed in that unit (the
  reference's listed weight, or the rate times the replicate's eligible weight) and the
  cumulative *weight* of the copies along the order finds the cut-off; the household at
  the cut-off contributes the whole number of its copies that fit (with every ``m = 1``
  this is the full-data rule: take households while the cumulative weight fits).
- **Desil rule** (:meth:`QuotaRule.from_desil`, :mod:`slrt_ml.targeting.desil`): desil
  1..k of the system's own national ranking is every copy that *starts* before ``k/10`` of
  the weight of *all* the replicate's households (eligible or not; households, or their
  survey weights). :func:`rule_sums` ranks every household, cuts there (whole copies:
  those starting before the cut-off, as :func:`slrt_ml.targeting.desil.desil_of_score`
  counts, with its tolerance) and multiplies the summed columns by eligibility: an
  ineligible household takes its place in the ranking but is not listed, as in
  :func:`slrt_ml.targeting.desil.select_by_desil`. A *published* desil (SIKS-NG's) is a
  property of the household: its list stays as given.
- A given list (the reference's) stays as given.

With every ``m = 1`` a replicate reproduces the full-data selection exactly.

>>> rule = QuotaRule.from_reference(np.array([1, 0, 0, 1]))
>>> ranked = RankedList.from_scores(np.array([4.0, 3.0, 2.0, 1.0]), np.ones(4, bool))
>>> draws = np.array([[1, 1], [2, 0], [0, 2]])  # desa 0 = households 0, 1; desa 1 = 2, 3
>>> cluster = np.array([0, 0, 1, 1])
>>> quota = rule.replicate_quota(draws, cluster, np.ones(4, bool))
>>> quota[:, 0].tolist()  # the reference's list counted with multiplicity
[2.0, 2.0, 2.0]
>>> target = np.array([1.0, 0.0, 1.0, 0.0])
>>> reselected_counts(ranked, draws, cluster, quota, target, np.ones(4))[0].tolist()
[1.0, 2.0, 2.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from slrt_ml.targeting.desil import CUT_TOLERANCE

__all__ = [
    "QuotaRule",
    "RankedList",
    "reselected_counts",
    "reselected_sums",
    "row_chunks",
    "rule_sums",
]

#: Elements of one (replicates x households) work array; bounds memory (~32 MiB a piece).
CHUNK_ELEMENTS = 4_000_000


def row_chunks(rows: int, columns: int, elements: int = CHUNK_ELEMENTS) -> list[slice]:
    """Slices of ``rows`` so that a (rows x columns) work array stays under ``elements``.

    >>> row_chunks(10, 3, elements=12)
    [slice(0, 4, None), slice(4, 8, None), slice(8, 10, None)]
    """
    step = max(1, elements // max(columns, 1))
    return [slice(start, min(start + step, rows)) for start in range(0, rows, step)]


def _area_sums(
    draws: np.ndarray, cluster: np.ndarray, area: np.ndarray, n_areas: int, values: np.ndarray
) -> np.ndarray:
    """Per replicate and area: sum of ``values`` with each household counted ``m`` times."""
    n_clusters = draws.shape[1]
    per_pair = np.bincount(
        cluster * n_areas + area, weights=values, minlength=n_clusters * n_areas
    ).reshape(n_clusters, n_areas)
    return draws.astype(np.float64) @ per_pair


@dataclass(frozen=True)
class QuotaRule:
    """How a replicate's quota is set, per area (one area when the ranking is national).

    Attributes
    ----------
    area : int area code per household (``0`` everywhere for one national quota).
    n_areas : number of areas.
    reference_selected : the reference's list per household when the quota is "as many as
        the reference selected"; ``None`` for a rate rule.
    rate : per area, full-data quota / full-data eligible households (rate rule).
    unit_weight : what each household counts against the quota (``None``: one).
    desil : k of the desil rule (``None`` for a quota): rank every household, list the
        eligible copies starting before the cut-off (:func:`rule_sums`).
    """

    area: np.ndarray | None
    n_areas: int
    reference_selected: np.ndarray | None = None
    rate: np.ndarray | None = None
    unit_weight: np.ndarray | None = None
    desil: int | None = None

    @classmethod
    def from_reference(
        cls, reference_selected: np.ndarray, area: np.ndarray | None = None, n_areas: int = 1,
        unit_weight: np.ndarray | None = None,
    ) -> QuotaRule:  # fmt: skip
        """Quota = the reference's selected count (or weight) in the replicate (per area)."""
        listed = np.asarray(reference_selected, bool)
        return cls(area, n_areas, reference_selected=listed, unit_weight=unit_weight)

    @classmethod
    def from_rate(
        cls,
        quota: np.ndarray,
        eligible: np.ndarray,
        area: np.ndarray | None = None,
        unit_weight: np.ndarray | None = None,
    ) -> QuotaRule:
        """Quota = the full data's coverage rate (``quota`` / eligible, per area) x the
        replicate's eligible households. ``quota`` is one count per area (area code order).

        >>> QuotaRule.from_rate(np.array([1, 0]), np.array([1, 1, 1, 0]),
        ...                     np.array([0, 0, 1, 1])).rate.tolist()
        [0.5, 0.0]
        """
        quota = np.atleast_1d(np.asarray(quota, dtype=float))
        codes = np.zeros(len(eligible), np.int64) if area is None else area
        mass = np.asarray(eligible, float) * (1.0 if unit_weight is None else unit_weight)
        base = np.bincount(codes, weights=mass, minlength=len(quota))
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(base > 0, quota / np.where(base > 0, base, 1), 0.0)
        return cls(area, len(quota), rate=rate, unit_weight=unit_weight)

    @classmethod
    def from_desil(
        cls, max_desil: int, n_households: int, unit_weight: np.ndarray | None = None
    ) -> QuotaRule:
        """Desil ``1..max_desil`` of the system's own ranking: the copies starting before
        ``max_desil / 10`` of the replicate's households (or of their ``unit_weight``, e.g.
        survey weights), less :data:`~slrt_ml.targeting.desil.CUT_TOLERANCE` / 10 of it.
        Apply it with :func:`rule_sums` (it ranks every household, eligible or not).

        >>> round(float(QuotaRule.from_desil(4, 10).rate[0]), 6)
        0.4
        """
        if not 1 <= int(max_desil) <= 10:
            raise ValueError(f"max_desil must be 1..10 (PKH: 4), got {max_desil}")
        if unit_weight is not None and len(unit_weight) != n_households:
            raise ValueError(f"unit_weight has {len(unit_weight)} rows, expected {n_households}")
        rate = np.array([(int(max_desil) - CUT_TOLERANCE) / 10])
        return cls(None, 1, rate=rate, unit_weight=unit_weight, desil=int(max_desil))

    def _mass(self, flags: np.ndarray) -> np.ndarray:
        values = flags.astype(np.float64)
        return values if self.unit_weight is None else values * self.unit_weight

    def replicate_quota(
        self, draws: np.ndarray, cluster: np.ndarray, eligible: np.ndarray
    ) -> np.ndarray:
        """(replicates x areas) quota on each replicate; ``draws`` are desa multiplicities.

        The desil rule's cut-off counts every household (``eligible`` is not used)."""
        area = np.zeros(len(cluster), np.int64) if self.area is None else self.area
        if self.desil is not None:
            eligible = np.ones(len(cluster), bool)
        if self.reference_selected is not None:
            listed = self._mass(self.reference_selected)
            return _area_sums(draws, cluster, area, self.n_areas, listed)
        rate = np.zeros(self.n_areas) if self.rate is None else self.rate
        return _area_sums(draws, cluster, area, self.n_areas, self._mass(eligible)) * rate


@dataclass(frozen=True)
class RankedList:
    """One model's eligible households in selection order (area, score desc, tie key asc).

    ``order`` indexes households; ``area`` is the area code of each position.
    """

    order: np.ndarray
    area: np.ndarray

    @classmethod
    def from_scores(
        cls,
        score: np.ndarray,
        eligible: np.ndarray,
        area: np.ndarray | None = None,
        tie: np.ndarray | None = None,
    ) -> RankedList:
        """Sort once, with the ordering rule of ``select_under_quota``.

        >>> RankedList.from_scores(np.array([1.0, 3.0, 3.0]), np.array([1, 1, 0], bool),
        ...                        tie=np.array([0, 2, 1])).order.tolist()
        [1, 0]
        """
        n = len(score)
        tie = np.arange(n) if tie is None else tie
        codes = np.zeros(n, np.int64) if area is None else area
        candidates = np.flatnonzero(eligible)
        order = candidates[np.lexsort((tie[candidates], -score[candidates], codes[candidates]))]
        return cls(order, codes[order])


def _area_thresholds(
    quota: np.ndarray,
    draws: np.ndarray,
    cluster: np.ndarray,
    area: np.ndarray,
    eligible: np.ndarray,
    unit_weight: np.ndarray | None = None,
) -> np.ndarray:
    """Quota per area moved to the cumulative-count scale of the whole (area-sorted) order:
    the eligible households (with multiplicity) of the areas before it, plus its quota."""
    mass = eligible.astype(np.float64) * (1.0 if unit_weight is None else unit_weight)
    per_area = _area_sums(draws, cluster, area, quota.shape[1], mass)
    before = np.cumsum(per_area, axis=1) - per_area
    return before + np.minimum(quota, per_area)


def reselected_counts(
    ranked: RankedList,
    draws: np.ndarray,
    cluster: np.ndarray,
    quota: np.ndarray,
    target: np.ndarray,
    weights: np.ndarray,
    eligible: np.ndarray | None = None,
    household_area: np.ndarray | None = None,
    unit_weight: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted (target selected, all selected) per replicate after re-selecting the list.

    Parameters
    ----------
    ranked : the model's households in selection order (:class:`RankedList`).
    draws : (replicates x desa) multiplicities.
    cluster : desa code per household.
    quota : (replicates x areas) quota from :meth:`QuotaRule.replicate_quota`.
    target, weights : per household; the counts are sums of ``weights`` (households or
        persons) over selected copies, so the quota counts households (or ``unit_weight``)
        and the errors use the weights, as on the full data.
    eligible, household_area : per household; default all eligible, one area.
    unit_weight : what each household counts against the quota (``None``: one).

    Returns two arrays of length ``replicates``.
    """
    columns = np.column_stack([weights * target, weights]).astype(np.float64)
    sums = reselected_sums(
        ranked, draws, cluster, quota, columns, eligible, household_area, unit_weight
    )
    return sums[:, 0], sums[:, 1]


def reselected_sums(
    ranked: RankedList,
    draws: np.ndarray,
    cluster: np.ndarray,
    quota: np.ndarray,
    columns: np.ndarray,
    eligible: np.ndarray | None = None,
    household_area: np.ndarray | None = None,
    unit_weight: np.ndarray | None = None,
    *,
    starts: bool = False,
) -> np.ndarray:
    """(replicates x k) sums of the k per-household ``columns`` over the re-selected copies.

    The general form of :func:`reselected_counts`: e.g. one column pair per household
    group gives every group's selected counts on every replicate. ``starts``: take the
    copies that start before the cut-off (the desil rule, :func:`rule_sums`) instead of
    those that fit under it.
    """
    n = len(cluster)
    eligible = np.ones(n, bool) if eligible is None else eligible
    area = np.zeros(n, np.int64) if household_area is None else household_area
    thresholds = _area_thresholds(quota, draws, cluster, area, eligible, unit_weight)
    position_cluster = cluster[ranked.order]
    ordered = np.asarray(columns, np.float64)[ranked.order]
    unit = None if unit_weight is None else unit_weight[ranked.order].astype(np.float64)
    safe = None if unit is None else np.where(unit > 0, unit, 1e-300)
    out = np.empty((len(draws), ordered.shape[1]))
    for rows in row_chunks(len(draws), len(ranked.order)):
        copies = draws[rows][:, position_cluster].astype(np.float64)
        mass = copies if unit is None else copies * unit
        before = np.cumsum(mass, axis=1)
        before -= mass  # weight of the copies ahead of each household
        room = thresholds[rows][:, ranked.area] if quota.shape[1] > 1 else thresholds[rows]
        room = room - before
        np.clip(room, 0.0, None, out=room)
        with np.errstate(over="ignore"):  # a zero-weight household: all its copies
            if starts:  # the copies that start before the cut-off (the desil rule)
                room = np.ceil(room if unit is None else room / safe)
            elif unit is not None:  # whole copies that fit (with m = 1: the full-data rule)
                room = np.floor(room / safe + 1e-9)
        np.minimum(room, copies, out=room)  # selected copies of each household
        out[rows] = room @ ordered
    return out


def rule_sums(
    rule: QuotaRule, score: np.ndarray, draws: np.ndarray, cluster: np.ndarray,
    columns: np.ndarray, eligible: np.ndarray, area: np.ndarray | None = None,
    tie: np.ndarray | None = None,
) -> np.ndarray:  # fmt: skip
    """(replicates x k) sums of ``columns`` over one system's list re-selected under ``rule``.

    A quota ranks the eligible households (per area) and fills the replicate's quota; the
    desil rule ranks *every* household nationally, takes the copies starting before the
    cut-off and counts only the eligible ones. With every multiplicity one this is the
    full-data list (:func:`~slrt_ml.targeting.selection.select_under_quota`, or
    :func:`~slrt_ml.targeting.desil.select_by_desil` with ``weight=rule.unit_weight``).

    >>> rule = QuotaRule.from_desil(4, 5)  # 40% of 5 households: the 2 poorest
    >>> rule_sums(rule, np.array([5.0, 4.0, 3.0, 2.0, 1.0]), np.ones((1, 1), np.int64),
    ...           np.zeros(5, np.int64), np.ones((5, 1)), np.array([0, 1, 1, 1, 1], bool))
    array([[1.]])
    """
    eligible = np.asarray(eligible, bool)
    if rule.desil is None:
        quota = rule.replicate_quota(draws, cluster, eligible)
        ranked = RankedList.from_scores(score, eligible, area, tie)
        return reselected_sums(
            ranked, draws, cluster, quota, columns, eligible, area, rule.unit_weight
        )
    everyone = np.ones(len(cluster), bool)
    quota = rule.replicate_quota(draws, cluster, everyone)
    ranked = RankedList.from_scores(score, everyone, None, tie)
    listed = np.asarray(columns, np.float64) * eligible[:, None]
    return reselected_sums(
        ranked, draws, cluster, quota, listed, everyone, None, rule.unit_weight, starts=True
    )
