"""Scores -> recipient list under a quota, overall or per area.

A *selection* is the ``quota`` eligible households with the highest score (higher =
poorer). Comparisons with SIKS-NG are made at equal coverage, so :func:`quota_from`
turns SIKS-NG's own list (or a count, or a share) into the quota every model gets.

Ties are broken deterministically: among equal scores the household with the smaller
``tiebreak`` key (for example ``IDBDT``, compared as strings, ascending) is taken first;
without a ``tiebreak`` key, the earlier row is taken first. Pass ``IDBDT`` as the key and
the selection does not depend on row order.

Batch scoring (:mod:`slrt_ml.pipeline.score`) ranks each area's households
(:func:`rank_within_area`), selects each area's quota (:func:`desa_quota`) and orders the
households for field verification (:func:`slrt_ml.targeting.priority.verification_priority`).
The desil rule (eligible households in national desil 1..k, as PKH decides since 2025) is
:func:`select_by_desil` (:mod:`slrt_ml.targeting.desil`; ``compare --quota desil:K``).

>>> select_under_quota([0.9, 0.1, 0.5, 0.7], 2).tolist()
[True, False, False, True]
>>> select_under_quota([0.9, 0.1, 0.5, 0.7], 2, area=["a", "a", "b", "b"],
...                    area_quota={"a": 1, "b": 1}).tolist()
[True, False, False, True]
>>> quota_from([1, 0, 1, 1, 0, 0], 0.5)
3
>>> quota_from([1, 0, 1, 1, 0, 0], "siksng", area=["a", "a", "a", "b", "b", "b"]).to_dict()
{'a': 2, 'b': 1}
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from slrt_ml.targeting.desil import DESIL_PKH, desil_of_score, select_by_desil
from slrt_ml.targeting.quota import QUOTA_UNITS, Quota, parse_quota, weighted_quota

__all__ = [
    "DESIL_PKH",
    "QUOTA_UNITS",
    "Quota",
    "QuotaShortfallWarning",
    "RankSelectionMismatch",
    "desa_quota",
    "desil_of_score",
    "largest_remainder",
    "parse_quota",
    "quota_from",
    "rank_and_select",
    "rank_within_area",
    "select_by_desil",
    "select_under_quota",
]


class QuotaShortfallWarning(UserWarning):
    """Fewer eligible households than the quota: every eligible household was selected."""


class RankSelectionMismatch(RuntimeError):
    """The rank in an area and the selection at the area's quota disagree (a bug, not bad data)."""


def _as_1d(values: Any, name: str, n: int | None = None) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if n is not None and len(array) != n:
        raise ValueError(f"{name} has {len(array)} rows but score has {n}; pass aligned arrays")
    return array


def _sort_codes(values: Any, name: str, n: int) -> np.ndarray:
    """Integer codes that sort like ``values`` (strings compared as strings)."""
    array = _as_1d(values, name, n)
    codes, _ = pd.factorize(
        pd.Series(array, dtype="string" if array.dtype == object else None), sort=True
    )
    return codes


def _check_score(score: Any) -> np.ndarray:
    values = _as_1d(score, "score").astype(float)
    missing = np.isnan(values)
    if missing.any():
        rows = np.flatnonzero(missing)[:5].tolist()
        raise ValueError(
            f"score has {int(missing.sum())} missing values (rows {rows}); "
            "score every household or mark it ineligible before selecting"
        )
    return values


def _area_quotas(quota: Any, area_quota: Mapping | pd.Series | None, areas: pd.Index) -> np.ndarray:
    """Quota per area code, in the order of ``areas`` (the factorized uniques)."""
    if area_quota is None and isinstance(quota, Mapping | pd.Series):
        area_quota = quota
        quota = None
    if area_quota is None:
        raise ValueError("area was given without area_quota; pass a mapping area -> count")
    mapping = pd.Series(dict(area_quota) if isinstance(area_quota, Mapping) else area_quota)
    mapping.index = mapping.index.astype(str)
    missing = areas.difference(mapping.index)
    if len(missing):
        raise ValueError(
            f"area_quota has no quota for {len(missing)} areas, e.g. {missing[:5].tolist()}; "
            "build it with quota_from(..., area=...) so every area gets one"
        )
    counts = mapping.reindex(areas).to_numpy()
    if (counts < 0).any():
        raise ValueError("area_quota has negative counts; a quota is a number of households >= 0")
    if quota is not None and int(quota) != int(counts.sum()):
        raise ValueError(
            f"quota {int(quota)} differs from the sum of area_quota {int(counts.sum())}; "
            "pass one or make them agree"
        )
    return counts.astype(np.int64)


def _warn_shortfall(available: np.ndarray, wanted: np.ndarray, where: str) -> None:
    short = available < wanted
    if short.any():
        warnings.warn(
            f"{int(short.sum())} {where} have fewer eligible households than their quota "
            f"({int((wanted - available)[short].sum())} places left empty); "
            "every eligible household there is selected",
            QuotaShortfallWarning,
            stacklevel=3,
        )


def select_under_quota(
    score: Any,
    quota: int | Mapping | pd.Series | None,
    *,
    eligible: Any = None,
    area: Any = None,
    area_quota: Mapping | pd.Series | None = None,
    tiebreak: Any = None,
    unit_weight: Any = None,
) -> np.ndarray:
    """Select the ``quota`` eligible households with the highest score.

    Parameters
    ----------
    score : higher = poorer; no missing values.
    quota : number of households overall; with ``area``, a mapping area -> count may be
        passed here instead of ``area_quota`` (or ``None`` when ``area_quota`` is given).
    eligible : 0/1 or bool per household; ineligible households are never selected.
    area : area code per household (desa or kecamatan); each area is ranked on its own
        at its own quota.
    area_quota : mapping area -> count; must cover every area present.
    tiebreak : key per household (IDBDT) that orders equal scores, ascending.
    unit_weight : what one household counts against the quota (persons, Rupiah of
        ``pkh_benefit``, survey weight x those); ``None`` counts households. Households
        are taken in score order while the cumulative weight stays within the quota (the
        first one that does not fit ends the list), so quotas may be fractional amounts.

    Returns a boolean array aligned with ``score``. When an area (or the whole frame) has
    fewer eligible households than its quota, all of them are selected and a
    :class:`QuotaShortfallWarning` says how many places stayed empty.

    >>> select_under_quota([1.0, 2.0, 2.0, 3.0], 2, tiebreak=["d", "c", "b", "a"]).tolist()
    [False, False, True, True]
    >>> select_under_quota([3.0, 2.0, 1.0], 2, eligible=[0, 1, 1]).tolist()
    [False, True, True]
    >>> select_under_quota([3.0, 2.0, 1.0], 5.0, unit_weight=[2, 4, 1]).tolist()
    [True, False, False]
    """
    values = _check_score(score)
    n = len(values)
    keep = np.ones(n, bool) if eligible is None else _as_1d(eligible, "eligible", n).astype(bool)
    tie = np.arange(n) if tiebreak is None else _sort_codes(tiebreak, "tiebreak", n)
    if unit_weight is not None:
        return _select_by_weight(values, quota, keep, area, area_quota, tie, unit_weight)
    candidates = np.flatnonzero(keep)
    if area is None:
        wanted = int(quota)
        if wanted < 0:
            raise ValueError(f"quota must be >= 0, got {wanted}")
        _warn_shortfall(np.array([len(candidates)]), np.array([wanted]), "selections")
        order = candidates[np.lexsort((tie[candidates], -values[candidates]))]
        selected = np.zeros(n, bool)
        selected[order[:wanted]] = True
        return selected
    return _select_per_area(values, quota, keep, area, area_quota, tie)


def _select_per_area(
    values: np.ndarray, quota: Any, keep: np.ndarray, area: Any, area_quota: Any, tie: np.ndarray
) -> np.ndarray:
    n = len(values)
    area_values = pd.Series(_as_1d(area, "area", n)).astype("string")
    codes, uniques = pd.factorize(area_values, sort=True)
    wanted = _area_quotas(quota, area_quota, pd.Index(uniques.astype(str)))
    candidates = np.flatnonzero(keep)
    order = candidates[np.lexsort((tie[candidates], -values[candidates], codes[candidates]))]
    sorted_codes = codes[order]
    available = np.bincount(sorted_codes, minlength=len(uniques))
    _warn_shortfall(available, wanted, "areas")
    group_start = np.concatenate(([0], np.cumsum(available)[:-1]))
    rank_in_area = np.arange(len(order)) - group_start[sorted_codes]
    selected = np.zeros(n, bool)
    selected[order[rank_in_area < wanted[sorted_codes]]] = True
    return selected


def _select_by_weight(
    values: np.ndarray, quota: Any, keep: np.ndarray, area: Any, area_quota: Any,
    tie: np.ndarray, unit_weight: Any,
) -> np.ndarray:  # fmt: skip
    """Cumulative weight in (area, score desc, tie asc) order within each area's amount."""
    n = len(values)
    weight = _as_1d(unit_weight, "unit_weight", n).astype(float)
    if np.isnan(weight).any() or (weight < 0).any():
        raise ValueError("unit_weight must be >= 0 and not missing (persons, Rupiah or weights)")
    if area is None:
        codes, wanted = np.zeros(n, np.int64), np.array([float(quota)])
    else:
        codes, uniques = pd.factorize(
            pd.Series(_as_1d(area, "area", n)).astype("string"), sort=True
        )
        mapping = area_quota if area_quota is not None else quota
        amounts = pd.Series(dict(mapping) if isinstance(mapping, Mapping) else mapping)
        amounts.index = amounts.index.astype(str)
        missing = pd.Index(uniques.astype(str)).difference(amounts.index)
        if len(missing):
            raise ValueError(f"area_quota has no quota for areas {missing[:5].tolist()}")
        wanted = amounts.reindex(uniques.astype(str)).to_numpy(dtype=float)
    if (wanted < 0).any():
        raise ValueError("a quota must be >= 0")
    candidates = np.flatnonzero(keep)
    order = candidates[np.lexsort((tie[candidates], -values[candidates], codes[candidates]))]
    sorted_codes = codes[order]
    mass = np.bincount(sorted_codes, weights=weight[order], minlength=len(wanted))
    _warn_shortfall(mass, wanted, "areas" if area is not None else "selections")
    cumulative = np.cumsum(weight[order])
    cumulative -= (np.cumsum(mass) - mass)[sorted_codes]  # restart in every area
    limit = wanted[sorted_codes]
    selected = np.zeros(n, bool)
    selected[order[cumulative <= limit + 1e-9 * np.maximum(limit, 1.0)]] = True
    return selected


def largest_remainder(total: int, base: pd.Series) -> pd.Series:
    """Split ``total`` over areas in proportion to ``base`` (Hamilton's rule).

    Each area first gets the floor of its exact share; the places left go one each to
    the areas with the largest remainders (ties: area code ascending). The parts sum to
    ``total`` exactly.

    >>> largest_remainder(10, pd.Series({"a": 1, "b": 1, "c": 1})).tolist()
    [4, 3, 3]
    """
    weights = base.astype(float).sort_index()
    if total == 0:  # nothing to split (e.g. a prelist whose every row was rejected)
        return pd.Series(0, index=weights.index, dtype="int64")
    if weights.sum() <= 0:
        raise ValueError("cannot split a quota over areas whose base sums to 0")
    exact = total * weights / weights.sum()
    parts = np.floor(exact).astype(np.int64)
    remainder = (exact - parts).to_numpy()
    extra = int(total - parts.sum())
    winners = np.lexsort((np.arange(len(remainder)), -remainder))[:extra]
    parts.iloc[winners] += 1
    return parts.rename("quota")


def _parse_how(how: Any) -> Any:
    if isinstance(how, str) and how != "siksng":
        try:
            return int(how)
        except ValueError:
            try:
                return float(how)
            except ValueError:
                raise ValueError(
                    f"quota {how!r} is not understood; use 'siksng', a count (500) "
                    "or a share in (0, 1] (0.25)"
                ) from None
    return how


def quota_from(
    siksng_selected: Any,
    how: str | int | float,
    *,
    area: Any = None,
    n_eligible: int | pd.Series | Mapping | None = None,
    unit_weight: Any = None,
    eligible: Any = None,
) -> int | float | pd.Series:
    """Turn a quota rule into a count (overall) or a Series area -> count.

    With ``unit_weight`` (what each household counts: persons, Rupiah, survey weight x
    those) the quota is an *amount* in that unit: ``"siksng"`` = the weight of the
    reference's list; a number N = N (split over areas in proportion to their eligible
    weight); a share = that share of the eligible weight (``eligible``, default all). No
    rounding: amounts are floats.

    ``how``:
    - ``"siksng"``: as many households as SIKS-NG selected (per area with ``area``);
    - an int N: N households; per area, N is split in proportion to each area's base;
    - a float share in (0, 1]: that share of the base, rounded half up; per area, the
      rounded total is split in proportion to each area's base.

    The *base* is ``n_eligible`` (an int overall, or a mapping area -> count) or, when
    not given, the number of households (per area). Per-area splits use the
    largest-remainder rule, so the area quotas always sum to the overall quota.

    >>> quota_from([1, 0, 0, 1], 3)
    3
    >>> quota_from([1, 0, 0, 1], 0.25, n_eligible=10)
    3
    >>> quota_from([1, 0, 0, 0, 0], 3, area=["a", "a", "b", "b", "b"]).to_dict()
    {'a': 1, 'b': 2}
    """
    selected = np.asarray(siksng_selected).astype(bool)
    how = _parse_how(how)
    if unit_weight is not None:
        return weighted_quota(selected, how, area, unit_weight, eligible)
    if area is None:
        return _overall_quota(selected, how, n_eligible)
    areas = pd.Series(np.asarray(area), dtype="string")
    if len(areas) != len(selected):
        raise ValueError(f"area has {len(areas)} rows but siksng_selected has {len(selected)}")
    if how == "siksng":
        per_area = pd.Series(selected.astype(np.int64)).groupby(areas.to_numpy()).sum()
        return per_area.sort_index().rename("quota")
    base = _area_base(areas, n_eligible)
    total = _overall_quota(selected, how, int(base.sum()))
    return largest_remainder(total, base)


def _overall_quota(selected: np.ndarray, how: Any, n_eligible: Any) -> int:
    if how == "siksng":
        return int(selected.sum())
    base = len(selected) if n_eligible is None else int(np.sum(pd.Series(n_eligible)))
    if isinstance(how, bool) or not isinstance(how, int | float | np.integer | np.floating):
        raise ValueError(f"quota {how!r} is not understood; use 'siksng', a count or a share")
    if isinstance(how, int | np.integer):
        if not 0 <= how <= base:
            raise ValueError(f"quota {how} households is outside 0..{base} (the eligible base)")
        return int(how)
    if not 0 < how <= 1:
        raise ValueError(f"quota share {how} must be in (0, 1]; for a count pass an int")
    return int(np.floor(how * base + 0.5))


def _area_base(areas: pd.Series, n_eligible: Any) -> pd.Series:
    if n_eligible is None:
        return areas.value_counts().sort_index()
    if not isinstance(n_eligible, Mapping | pd.Series):
        raise ValueError(
            "with area, n_eligible must be a mapping area -> eligible count, "
            f"got {type(n_eligible).__name__}"
        )
    base = pd.Series(dict(n_eligible) if isinstance(n_eligible, Mapping) else n_eligible)
    base.index = base.index.astype(str)
    present = pd.Index(areas.unique().astype(str))
    return base.reindex(present.union(base.index), fill_value=0).sort_index()


# --- rank and selection per area (batch scoring) ---------------------------------------------


def rank_within_area(score: np.ndarray, area: np.ndarray) -> np.ndarray:
    """Rank of each household in its area by score, 1 = highest (poorest); ties by position.

    Parameters
    ----------
    score : ndarray of float
        Poverty score per household (higher = poorer).
    area : ndarray of int
        Area code per household.

    Returns
    -------
    ndarray of int64
        1-based rank within the household's area.

    >>> rank_within_area(np.array([0.2, 0.9, 0.5, 0.5]), np.array([0, 0, 1, 1])).tolist()
    [2, 1, 1, 2]
    """
    n = len(score)
    order = np.lexsort((np.arange(n), -np.asarray(score, float), area))
    sorted_area = area[order]
    starts = np.flatnonzero(np.r_[True, sorted_area[1:] != sorted_area[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, n]))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - group_start + 1
    return rank


def desa_quota(counts: pd.Series, quota: Mapping[str, int] | float | None) -> pd.Series | None:
    """Quota per desa code (index of ``counts``, households per desa) from a mapping or a share.

    A share ``s`` takes ``round(s * total)`` households split over desa in proportion to
    their size by largest remainder; desa missing from a mapping get 0 (with a warning).

    Parameters
    ----------
    counts : Series
        Households per desa, indexed by desa code.
    quota : mapping, float or None
        Desa code -> count, a share in [0, 1], or None (no selection).

    Returns
    -------
    Series or None
        Quota per desa (int64); ``None`` when ``quota`` is None. From a share the index
        is sorted by desa code, from a mapping it follows ``counts``.

    Raises
    ------
    ValueError
        When the share is outside [0, 1].

    >>> desa_quota(pd.Series({"a": 3, "b": 1}), 0.5).to_dict()
    {'a': 2, 'b': 0}
    """
    if quota is None:
        return None
    if isinstance(quota, Mapping):
        wanted = pd.Series({str(k): int(v) for k, v in quota.items()}, dtype="int64")
        missing = counts.index.difference(wanted.index)
        if len(missing):
            warnings.warn(
                f"{len(missing)} desa of the prelist are not in the quota file (e.g. "
                f"{', '.join(map(str, missing[:3]))}); they get quota 0",
                stacklevel=2,
            )
        return wanted.reindex(counts.index, fill_value=0)
    share = float(quota)
    if not 0 <= share <= 1:
        raise ValueError(f"quota share must be in [0, 1], got {share}")
    return largest_remainder(round(share * int(counts.sum())), counts).astype("int64")


def rank_and_select(
    score: np.ndarray, area: np.ndarray, quota_by_area: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Rank in the area and selection at the area's quota (None without a quota).

    Parameters
    ----------
    score : ndarray of float
        Poverty score per household.
    area : ndarray of int
        Area code per household, an index into ``quota_by_area``.
    quota_by_area : ndarray of int or None
        Quota of each area code.

    Returns
    -------
    (ndarray, ndarray or None)
        Rank in area (1 = poorest) and the boolean selection (``rank <= quota``).

    Raises
    ------
    RankSelectionMismatch
        When :func:`select_under_quota` disagrees with the ranks (a bug).

    >>> rank, selected = rank_and_select(np.array([0.2, 0.9, 0.5]), np.array([0, 0, 1]),
    ...                                  np.array([1, 0]))
    >>> rank.tolist(), selected.tolist()
    ([2, 1, 1], [False, True, False])
    """
    rank = rank_within_area(score, area)
    if quota_by_area is None:
        return rank, None
    selected = select_under_quota(
        score, None, area=area, area_quota=dict(enumerate(quota_by_area.tolist())),
        tiebreak=np.arange(len(score)),
    )  # fmt: skip
    by_rank = rank <= quota_by_area[area]
    if not (selected == by_rank).all():
        raise RankSelectionMismatch(
            f"rank and selection disagree for {int((selected != by_rank).sum())} of "
            f"{len(score)} households ({int(selected.sum())} selected, {int(by_rank.sum())} "
            "within their area's quota by rank)"
        )
    return rank, selected
