"""The desil rule: select the eligible households in national deciles 1..k of a ranking.

Since 2025 BPS re-ranks the national registry (DTSEN) into desil 1-10 every quarter and
PKH takes desil 1-4 (Inpres 4/2025); the quota rule (as many as SIKS-NG) and the share
rule do not decide that way. This rule does, for any system:

- **Desil of the system's own ranking** (:func:`desil_of_score`, the default): households
  are ranked nationally, poorest first (score descending, ties by the ``tiebreak`` key
  ascending, else row order), *all* households, eligible or not, as BPS ranks the whole
  registry; a household's desil is ``1 + floor(10 x weight ranked before it / total
  weight)`` (weights: households, or persons for population deciles). Desil 1-4 is then
  about the poorest 40% of households; the list is the *eligible* households among them,
  so its size follows the system's ranking of the eligible, not a quota.
- **Desil of a given welfare-rank column** (``desil=`` the registry's ``desil`` from
  SIKS-NG or ``ceil(Percentile / 10)``): the household's desil as published; the list does
  not depend on any model.

In the bootstrap a rule on the system's own ranking is re-applied in each replicate (the
cut-off is 10 x k % of the replicate's households: :meth:`slrt_ml.evaluation.reselection.
QuotaRule.from_desil`); a published desil is a property of the household and stays.

>>> desil_of_score(np.arange(20.0)[::-1]).tolist()[:5]
[1, 1, 2, 2, 3]
>>> int(select_by_desil(np.arange(10.0)[::-1], 4, eligible=[1, 0, 1, 1, 1, 1, 1, 1, 1, 1]).sum())
3
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DESIL_PKH", "desil_of_percentile", "desil_of_score", "select_by_desil"]

#: PKH's cut-off since 2025: desil 1-4 of the national ranking.
DESIL_PKH = 4


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
    tie = np.arange(n) if tiebreak is None else pd.factorize(
        pd.Series(np.asarray(tiebreak), dtype="string"), sort=True)[0]  # fmt: skip
    order = np.lexsort((tie, -values))
    before = np.cumsum(w[order]) - w[order]
    total = w.sum()
    desil = np.empty(n, np.int64)
    desil[order] = np.minimum(10, 1 + np.floor(10 * before / total + 1e-12)).astype(np.int64)
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
    ``desil`` (a given desil per household, e.g. SIKS-NG's); not both.

    >>> select_by_desil(desil=[1, 5, 4, 2], max_desil=4).tolist()
    [True, False, True, True]
    """
    if (score is None) == (desil is None):
        raise ValueError("select_by_desil: pass either score (own ranking) or desil, not both")
    if not 1 <= int(max_desil) <= 10:
        raise ValueError(f"max_desil must be 1..10 (PKH: 4), got {max_desil}")
    given = desil is not None
    values = np.asarray(desil if given else desil_of_score(score, weight=weight, tiebreak=tiebreak))
    if given and not np.isin(values, np.arange(1, 11)).all():
        bad = values[~np.isin(values, np.arange(1, 11))][:5].tolist()
        raise ValueError(f"desil must be whole numbers 1..10; got e.g. {bad}")
    keep = np.ones(len(values), bool) if eligible is None else np.asarray(eligible).astype(bool)
    if len(keep) != len(values):
        raise ValueError(f"eligible has {len(keep)} rows but there are {len(values)} households")
    return (values <= int(max_desil)) & keep
