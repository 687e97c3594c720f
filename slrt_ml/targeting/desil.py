"""The desil rule: select the eligible households in national deciles 1..k of a ranking.

Since 2025 BPS re-ranks the national registry (DTSEN) into desil 1-10 every quarter and
PKH takes desil 1-4 (Inpres 4/2025); the quota rule (as many as SIKS-NG) and the share
rule do not decide that way. This rule does, for any system:

- **Desil of the system's own ranking** (:func:`desil_of_score`, the default): households
  are ranked nationally, poorest first (score descending, ties by the ``tiebreak`` key
  ascending, else row order), *all* households, eligible or not, as BPS ranks the whole
  registry; a household's desil is ``1 + floor(10 x weight ranked before it / total
  weight)`` (weights: households, survey weights for the households a sample represents,
  or persons for population deciles): desil 1..k is every household that *starts* before
  the cut-off ``k/10`` of the total weight (:data:`CUT_TOLERANCE`). Desil 1-4 is then
  about the poorest 40% of households; the list is the *eligible* households among them,
  so its size follows the system's ranking of the eligible, not a quota.
- **Desil of a given welfare-rank column** (``desil=`` the registry's ``desil`` from
  SIKS-NG or ``ceil(Percentile / 10)``): the household's desil as published; the list does
  not depend on any model. A household without a published desil (missing) is not listed.

``slrt-ml compare --quota desil:K`` (:func:`slrt_ml.targeting.quota.parse_quota`) applies
this rule to every model (own ranking) and to SIKS-NG (its published desil, else its given
list); lists then differ in size. In the bootstrap and every jackknife leave-out a rule on
the system's own ranking is re-applied (the copies starting before k/10 of the replicate's
weight: :meth:`slrt_ml.evaluation.reselection.QuotaRule.from_desil` with
:func:`slrt_ml.evaluation.reselection.rule_sums`); a published desil is a property of the
household and stays.

>>> desil_of_score(np.arange(20.0)[::-1]).tolist()[:5]
[1, 1, 2, 2, 3]
>>> int(select_by_desil(np.arange(10.0)[::-1], 4, eligible=[1, 0, 1, 1, 1, 1, 1, 1, 1, 1]).sum())
3
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "CUT_TOLERANCE",
    "DESIL_PKH",
    "desil_of_percentile",
    "desil_of_score",
    "select_by_desil",
]

#: PKH's cut-off since 2025: desil 1-4 of the national ranking.
DESIL_PKH = 4
#: A household starting within ``CUT_TOLERANCE x total weight / 10`` of a decile's cut-off
#: counts as starting on it (next desil): rounding of the cumulative weight never moves a
#: household across, and the bootstrap's re-selection (``QuotaRule.from_desil``) uses the
#: same tolerance, so it reproduces this rule exactly when every household counts once.
CUT_TOLERANCE = 1e-9


def _sort_codes(tiebreak: Any) -> np.ndarray:
    """Codes that sort like ``tiebreak`` (strings as strings, numbers as numbers), as
    :func:`slrt_ml.targeting.selection.select_under_quota` breaks ties."""
    array = np.asarray(tiebreak)
    series = pd.Series(array, dtype="string" if array.dtype == object else None)
    return pd.factorize(series, sort=True)[0]


def desil_of_score(score: Any, *, weight: Any = None, tiebreak: Any = None) -> np.ndarray:
    """National desil (1 = poorest tenth) of every household by ``score`` (higher = poorer).

    ``1 + floor(10 x weight of the households ranked before it / total weight)``.

    >>> desil_of_score([0.1, 0.9, 0.5, 0.3], weight=[1, 1, 1, 7]).tolist()
    [10, 1, 2, 3]
    """
    values = np.asarray(score, np.float64)
    if values.ndim != 1 or np.isnan(values).any():
        raise ValueError(
            f"desil needs one score per household without missing values; got shape "
            f"{values.shape}, {int(np.isnan(values).sum())} missing"
        )
    n = len(values)
    w = np.ones(n) if weight is None else np.asarray(weight, np.float64)
    if len(w) != n or (w < 0).any() or np.isnan(w).any():
        raise ValueError(f"desil weight must be {n} values >= 0 (households or persons)")
    tie = np.arange(n) if tiebreak is None else _sort_codes(tiebreak)
    order = np.lexsort((tie, -values))
    before = np.cumsum(w[order]) - w[order]
    total = w.sum()
    desil = np.empty(n, np.int64)
    cut = np.floor(10 * before / total + CUT_TOLERANCE)
    desil[order] = np.minimum(10, 1 + cut).astype(np.int64)
    return desil


def desil_of_percentile(percentile: Any) -> np.ndarray:
    """Desil from the registry's ``Percentile`` (1-100, 1 = poorest): ``ceil(p / 10)``.

    >>> desil_of_percentile([1, 10, 11, 100]).tolist()
    [1, 1, 2, 10]
    """
    p = np.asarray(percentile, np.float64)
    bad = ~((p >= 1) & (p <= 100))
    if bad.any():
        raise ValueError(
            f"Percentile must be 1..100 (1 = poorest); {int(bad.sum())} values are not, "
            f"e.g. {p[bad][:5].tolist()}"
        )
    return np.ceil(p / 10).astype(np.int64)


def select_by_desil(
    score: Any = None,
    max_desil: int = DESIL_PKH,
    *,
    desil: Any = None,
    eligible: Any = None,
    weight: Any = None,
    tiebreak: Any = None,
) -> np.ndarray:
    """The eligible households with desil ``<= max_desil`` (boolean array).

    Pass ``score`` (the system's own national ranking, :func:`desil_of_score`) or
    ``desil`` (a given desil per household, e.g. SIKS-NG's; missing = not listed); not both.

    >>> select_by_desil(desil=[1, 5, 4, 2, None], max_desil=4).tolist()
    [True, False, True, True, False]
    """
    if (score is None) == (desil is None):
        raise ValueError("select_by_desil: pass either score (own ranking) or desil, not both")
    if not 1 <= int(max_desil) <= 10:
        raise ValueError(f"max_desil must be 1..10 (PKH: 4), got {max_desil}")
    given = desil is not None
    if given:
        values = pd.to_numeric(pd.Series(np.asarray(desil, dtype=object)), errors="coerce")
        values = values.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isnan(values) & ~np.isin(values, np.arange(1, 11))
        bad |= np.isnan(values) & pd.notna(np.asarray(desil, dtype=object))
        if bad.any():
            examples = np.asarray(desil, dtype=object)[bad][:5].tolist()
            raise ValueError(f"desil must be whole numbers 1..10 (or missing); got e.g. {examples}")
    else:
        values = desil_of_score(score, weight=weight, tiebreak=tiebreak)
    keep = np.ones(len(values), bool) if eligible is None else np.asarray(eligible).astype(bool)
    if len(keep) != len(values):
        raise ValueError(f"eligible has {len(keep)} rows but there are {len(values)} households")
    return (values <= int(max_desil)) & keep
