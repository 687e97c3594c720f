"""Targeting metrics with explicit denominators, coverage curves, slices, agreement.

Public names are re-exported by :mod:`slrt_ml.evaluation.compare`; import them from there.

Every selection metric is a small pure function ``f(target, selected, *, sample_weight=None)``
of four weighted confusion counts:

============================  ======================================
target & selected             ``target_selected``
target & not selected         ``target_missed``
non-target & selected         ``nontarget_selected``
non-target & not selected     ``nontarget_unselected``
============================  ======================================

With ``sample_weight=None`` (household weights) they are counts of households; with
``sample_weight=persons`` they are counts of people. A metric whose denominator is zero
is ``nan``.

>>> target =   [1, 1, 1, 0, 0, 0, 0, 0]
>>> selected = [1, 0, 0, 1, 0, 0, 0, 0]
>>> exclusion_error(target, selected), inclusion_error(target, selected)
(0.6666666666666666, 0.5)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

__all__ = [
    "ConfusionCounts",
    "confusion_counts",
    "exclusion_error",
    "inclusion_error",
    "inclusion_rate_nontarget",
    "mistargeting",
    "coverage",
    "coverage_of_target",
    "targeting_differential",
    "cgh",
    "roc_auc",
    "pr_auc",
    "spearman_welfare",
    "SELECTION_METRICS",
    "RANKING_METRICS",
    "coverage_curve",
    "GroupBreakdown",
    "group_breakdown",
    "agreement_with_reference",
    "agreement_with_siksng",
]


class ConfusionCounts(NamedTuple):
    """Weighted confusion counts of a selection against the target group."""

    target_selected: float
    target_missed: float
    nontarget_selected: float
    nontarget_unselected: float


def _flag(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.dtype != bool:
        bad = ~np.isin(array, [0, 1])
        if bad.any():
            examples = pd.unique(array[bad])[:5].tolist()
            raise ValueError(
                f"{name} must be 0/1; found {int(bad.sum())} other values, e.g. {examples}; "
                "recode it to 0/1 (missing is not allowed)"
            )
    return array.astype(bool)


def _weights(sample_weight: Any, n: int) -> np.ndarray:
    if sample_weight is None:
        return np.ones(n)
    weights = np.asarray(sample_weight, dtype=float)
    if weights.shape != (n,):
        raise ValueError(f"sample_weight has shape {weights.shape}, expected ({n},)")
    if np.isnan(weights).any() or (weights < 0).any():
        raise ValueError("sample_weight must be >= 0 and not missing (persons per household)")
    return weights


def _aligned(target: Any, selected: Any, sample_weight: Any) -> tuple[np.ndarray, ...]:
    is_target, is_selected = _flag(target, "target"), _flag(selected, "selected")
    if len(is_target) != len(is_selected):
        raise ValueError(f"target has {len(is_target)} rows but selected has {len(is_selected)}")
    return is_target, is_selected, _weights(sample_weight, len(is_target))


def confusion_counts(target: Any, selected: Any, *, sample_weight: Any = None) -> ConfusionCounts:
    """Weighted counts of (target, selected) pairs.

    >>> confusion_counts([1, 1, 0, 0], [1, 0, 1, 0], sample_weight=[2, 3, 4, 5])
    ConfusionCounts(target_selected=2.0, target_missed=3.0, nontarget_selected=4.0, nontarget_unselected=5.0)
    """
    t, s, w = _aligned(target, selected, sample_weight)
    return ConfusionCounts(
        float(w[t & s].sum()),
        float(w[t & ~s].sum()),
        float(w[~t & s].sum()),
        float(w[~t & ~s].sum()),
    )


def _ratio(numerator: Any, denominator: Any) -> Any:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.divide(numerator, denominator)


# Formulas on count arrays (tp, fn, fp, tn): the same code serves point estimates and the
# (B x systems) bootstrap replicates.
def _exclusion(tp, fn, fp, tn):
    return _ratio(fn, tp + fn)


def _inclusion(tp, fn, fp, tn):
    return _ratio(fp, tp + fp)


def _inclusion_rate(tp, fn, fp, tn):
    return _ratio(fp, fp + tn)


def _mistargeting(tp, fn, fp, tn):
    return _ratio(fp + fn, tp + fn + fp + tn)


def _coverage(tp, fn, fp, tn):
    return _ratio(tp + fp, tp + fn + fp + tn)


def _coverage_of_target(tp, fn, fp, tn):
    return _ratio(tp, tp + fn)


def _differential(tp, fn, fp, tn):
    return _coverage_of_target(tp, fn, fp, tn) - _inclusion_rate(tp, fn, fp, tn)


def _cgh(tp, fn, fp, tn):
    return _ratio(_ratio(tp, tp + fp), _ratio(tp + fn, tp + fn + fp + tn))


#: Selection metrics by table name, as formulas of (tp, fn, fp, tn) count arrays.
SELECTION_METRICS: dict[str, Callable[..., Any]] = {
    "exclusion_error": _exclusion,
    "inclusion_error": _inclusion,
    "inclusion_rate_nontarget": _inclusion_rate,
    "mistargeting": _mistargeting,
    "coverage": _coverage,
    "coverage_of_target": _coverage_of_target,
    "targeting_differential": _differential,
    "cgh": _cgh,
}


def _metric(formula: Callable[..., Any], target: Any, selected: Any, sample_weight: Any) -> float:
    return float(formula(*confusion_counts(target, selected, sample_weight=sample_weight)))


def exclusion_error(target: Any, selected: Any, *, sample_weight: Any = None) -> float:
    """Undercoverage: target not selected / target (= 1 - recall).

    >>> exclusion_error([1, 1, 1, 0, 0, 0], [1, 0, 0, 1, 1, 0])
    0.6666666666666666
    >>> exclusion_error([1, 1, 1, 0, 0, 0], [1, 0, 0, 1, 1, 0], sample_weight=[4, 1, 1, 1, 1, 1])
    0.3333333333333333
    """
    return _metric(_exclusion, target, selected, sample_weight)


def inclusion_error(target: Any, selected: Any, *, sample_weight: Any = None) -> float:
    """Leakage (Brown-Ravallion-van de Walle): non-target selected / selected (= 1 - precision).

    >>> inclusion_error([1, 1, 1, 0, 0, 0], [1, 0, 0, 1, 1, 0])
    0.6666666666666666
    >>> inclusion_error([1, 1, 1, 0, 0, 0], [1, 0, 0, 1, 1, 0], sample_weight=[4, 1, 1, 1, 1, 1])
    0.3333333333333333
    """
    return _metric(_inclusion, target, selected, sample_weight)


def inclusion_rate_nontarget(target: Any, selected: Any, *, sample_weight: Any = None) -> float:
    """Inclusion rate of the non-target (Alatas et al.): non-target selected / non-target.

    >>> inclusion_rate_nontarget([1, 1, 0, 0, 0, 0], [1, 0, 1, 0, 0, 0])
    0.25
    """
    return _metric(_inclusion_rate, target, selected, sample_weight)


def mistargeting(target: Any, selected: Any, *, sample_weight: Any = None) -> float:
    """(non-target selected + target not selected) / all households.

    >>> mistargeting([1, 1, 0, 0, 0, 0], [1, 0, 1, 0, 0, 0])
    0.3333333333333333
    """
    return _metric(_mistargeting, target, selected, sample_weight)


def coverage(target: Any, selected: Any, *, sample_weight: Any = None) -> float:
    """Selected / all households (``target`` only fixes the length and is checked).

    >>> coverage([1, 1, 0, 0], [1, 0, 1, 0], sample_weight=[1, 1, 6, 2])
    0.7
    """
    return _metric(_coverage, target, selected, sample_weight)


def coverage_of_target(target: Any, selected: Any, *, sample_weight: Any = None) -> float:
    """Target selected / target (= recall = 1 - exclusion error).

    >>> coverage_of_target([1, 1, 1, 0], [1, 1, 0, 1])
    0.6666666666666666
    """
    return _metric(_coverage_of_target, target, selected, sample_weight)


def targeting_differential(target: Any, selected: Any, *, sample_weight: Any = None) -> float:
    """Coverage of target (target selected / target) - coverage of non-target
    (non-target selected / non-target). 1 is perfect, 0 is no better than a lottery.

    >>> targeting_differential([1, 1, 0, 0], [1, 1, 1, 0])
    0.5
    """
    return _metric(_differential, target, selected, sample_weight)


def cgh(target: Any, selected: Any, *, sample_weight: Any = None) -> float:
    """Coady-Grosh-Hoddinott: (target selected / selected) / (target / all).

    Above 1 means the selection favours the target group; 1 is a lottery.

    >>> cgh([1, 1, 0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0, 0, 0])
    2.0
    """
    return _metric(_cgh, target, selected, sample_weight)


def _scores(score: Any, n: int) -> np.ndarray:
    values = np.asarray(score, dtype=float)
    if values.shape != (n,):
        raise ValueError(f"score has shape {values.shape}, expected ({n},)")
    if np.isnan(values).any():
        raise ValueError(
            f"score has {int(np.isnan(values).sum())} missing values; score every household"
        )
    return values


def roc_auc(target: Any, score: Any, *, sample_weight: Any = None) -> float:
    """ROC-AUC of the score (higher = poorer) for the target; pairs of one target and one
    non-target household, weighted; ``nan`` when one group is empty.

    >>> roc_auc([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1])
    0.75
    """
    t = _flag(target, "target")
    values, weights = _scores(score, len(t)), _weights(sample_weight, len(t))
    if t.all() or not t.any():
        return float("nan")
    # weighted Mann-Whitney on tie blocks: one sort, no per-threshold curve (fast on 1M rows)
    order = np.argsort(values)
    sorted_values = values[order]
    block = np.concatenate(([0], np.cumsum(sorted_values[1:] != sorted_values[:-1])))
    positives = np.bincount(block, weights=(weights * t)[order])
    negatives = np.bincount(block, weights=(weights * ~t)[order])
    below = np.cumsum(negatives) - negatives
    return float(
        np.sum(positives * (below + 0.5 * negatives)) / (positives.sum() * negatives.sum())
    )


def pr_auc(target: Any, score: Any, *, sample_weight: Any = None) -> float:
    """Area under the precision-recall curve (average precision) of the score for the target.

    >>> pr_auc([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1])
    0.8333333333333333
    """
    from sklearn.metrics import average_precision_score

    t = _flag(target, "target")
    values, weights = _scores(score, len(t)), _weights(sample_weight, len(t))
    if not t.any():
        return float("nan")
    return float(average_precision_score(t, values, sample_weight=weights))


def _weighted_ranks(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mid-ranks on the cumulative-weight scale; ties share the middle of their block."""
    order = np.argsort(values)  # tie blocks share a rank, so the sort need not be stable
    sorted_values, cum = values[order], np.cumsum(weights[order])
    block = np.concatenate(([0], np.cumsum(sorted_values[1:] != sorted_values[:-1])))
    block_end = cum[np.r_[np.flatnonzero(np.diff(block)), len(block) - 1]]
    block_start = np.r_[0.0, block_end[:-1]]
    ranks = np.empty(len(values))
    ranks[order] = ((block_start + block_end) / 2)[block]
    return ranks


def spearman_welfare(welfare: Any, score: Any, *, sample_weight: Any = None) -> float:
    """Spearman correlation of the score with *minus* welfare (positive = the score ranks
    poorer households higher, 1 is a perfect ranking). Households with missing welfare are
    left out; ``nan`` when fewer than two remain. Weighted: weighted mid-ranks, weighted
    Pearson correlation.

    >>> spearman_welfare([100.0, 200.0, 300.0, np.nan], [3.0, 2.0, 1.0, 9.0])
    1.0
    >>> spearman_welfare([100.0, 200.0, 300.0], [1.0, 2.0, 3.0])
    -1.0
    """
    wealth = np.asarray(welfare, dtype=float)
    values, weights = _scores(score, len(wealth)), _weights(sample_weight, len(wealth))
    known = ~np.isnan(wealth)
    if known.sum() < 2:
        return float("nan")
    w = weights[known]
    x, y = _weighted_ranks(values[known], w), _weighted_ranks(-wealth[known], w)
    x, y = x - np.average(x, weights=w), y - np.average(y, weights=w)
    spread = np.sqrt(np.sum(w * x * x) * np.sum(w * y * y))
    return float(np.sum(w * x * y) / spread) if spread > 0 else float("nan")


#: Ranking metrics by table name: ``f(truth, score, *, sample_weight)``; ``truth`` is the
#: target flag except for ``spearman_welfare`` (welfare).
RANKING_METRICS: dict[str, Callable[..., float]] = {
    "roc_auc": roc_auc,
    "pr_auc": pr_auc,
    "spearman_welfare": spearman_welfare,
}


def coverage_curve(
    target: Any,
    score: Any,
    eligible: Any = None,
    shares: Sequence[float] = tuple(np.round(np.arange(0.05, 0.601, 0.05), 2)),
    *,
    sample_weight: Any = None,
    tiebreak: Any = None,
) -> pd.DataFrame:
    """Exclusion and inclusion error when the top ``share`` of all households is selected.

    At each share, ``round(share * n)`` households (capped at the number eligible) with the
    highest score among the eligible are selected; ties as in
    :func:`slrt_ml.targeting.selection.select_under_quota`. The share counts households; the errors
    use ``sample_weight``. Columns: ``share, selected, exclusion_error, inclusion_error``.

    >>> coverage_curve([1, 1, 0, 0], [4.0, 2.0, 3.0, 1.0], shares=[0.25, 0.5]).to_dict("list")
    {'share': [0.25, 0.5], 'selected': [1, 2], 'exclusion_error': [0.5, 0.5], 'inclusion_error': [0.0, 0.5]}
    """
    t = _flag(target, "target")
    values, weights = _scores(score, len(t)), _weights(sample_weight, len(t))
    keep = np.ones(len(t), bool) if eligible is None else _flag(eligible, "eligible")
    tie = (
        np.arange(len(t)) if tiebreak is None else pd.factorize(np.asarray(tiebreak), sort=True)[0]
    )
    order = np.flatnonzero(keep)
    # one ranking serves every share: selecting the top k is a prefix of the rank order
    order = order[np.lexsort((tie[order], -values[order]))]
    cum_target = np.r_[0.0, np.cumsum((weights * t)[order])]
    cum_all = np.r_[0.0, np.cumsum(weights[order])]
    k = np.minimum(np.floor(np.asarray(shares) * len(t) + 0.5).astype(np.int64), len(order))
    tp, sel = cum_target[k], cum_all[k]
    target_total = float((weights * t).sum())
    return pd.DataFrame(
        {
            "share": np.asarray(shares, dtype=float),
            "selected": k,
            "exclusion_error": _ratio(target_total - tp, target_total),
            "inclusion_error": _ratio(sel - tp, sel),
        }
    )


@dataclass(frozen=True)
class GroupBreakdown:
    """Metrics overall and per group, like fairlearn's ``MetricFrame``.

    ``by_group`` is indexed by group with columns ``households, target, selected`` (weighted
    counts) and one column per metric; ``gaps`` has one row per metric with the largest
    gap between groups (``gap = highest - lowest``) and the groups it lies between.
    """

    overall: pd.Series
    by_group: pd.DataFrame
    gaps: pd.DataFrame


def group_breakdown(
    target: Any,
    selected: Any,
    groups: Any,
    *,
    sample_weight: Any = None,
    metrics: Sequence[str] = ("exclusion_error", "inclusion_error"),
) -> GroupBreakdown:
    """Selection metrics overall, per group and the largest gap between groups.

    >>> b = group_breakdown([1, 1, 1, 1], [1, 0, 1, 1], ["rural", "rural", "urban", "urban"])
    >>> b.by_group["exclusion_error"].to_dict()
    {'rural': 0.5, 'urban': 0.0}
    >>> gap = b.gaps.loc["exclusion_error"]
    >>> float(gap["gap"]), gap["highest"], gap["lowest"]
    (0.5, 'rural', 'urban')
    """
    t, s, w = _aligned(target, selected, sample_weight)
    codes, names = _group_codes(groups)
    if len(codes) != len(t):
        raise ValueError(f"groups has {len(codes)} rows but target has {len(t)}")
    counts = [
        np.bincount(codes, weights=w * m, minlength=len(names))
        for m in (t & s, t & ~s, ~t & s, ~t & ~s)
    ]
    by_group = pd.DataFrame(
        {
            "households": np.bincount(codes, weights=w, minlength=len(names)),
            "target": counts[0] + counts[1],
            "selected": counts[0] + counts[2],
        },
        index=pd.Index(np.asarray(names, dtype=object), name="group"),
    )
    overall = {}
    for name in metrics:
        by_group[name] = SELECTION_METRICS[name](*counts)
        overall[name] = float(SELECTION_METRICS[name](*(c.sum() for c in counts)))
    return GroupBreakdown(pd.Series(overall, dtype=float), by_group, _gaps(by_group, metrics))


def _group_codes(groups: Any) -> tuple[np.ndarray, Any]:
    if isinstance(groups, pd.Categorical):  # fast path: many metrics over one slice
        return np.asarray(groups.codes, dtype=np.int64), groups.categories
    labels = pd.Series(np.asarray(groups)).astype("string").fillna("<NA>")
    return pd.factorize(labels, sort=True)


def _gaps(by_group: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    rows = {}
    for name in metrics:
        values = by_group[name].dropna()
        if values.empty:
            rows[name] = {"gap": np.nan, "highest": None, "lowest": None}
            continue
        rows[name] = {
            "gap": values.max() - values.min(),
            "highest": values.idxmax(),
            "lowest": values.idxmin(),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("metric")


def agreement_with_siksng(
    siksng_selected: Any, selected: Any, target: Any, *, sample_weight: Any = None
) -> pd.DataFrame:
    """:func:`agreement_with_reference` with SIKS-NG's list as the reference.

    >>> agreement_with_siksng([1, 1, 0, 0], [1, 0, 1, 0], [1, 0, 1, 1]).to_dict("index")["added"]
    {'households': 1.0, 'target': 1.0, 'non_target': 0.0}
    """
    return agreement_with_reference(siksng_selected, selected, target, sample_weight=sample_weight)


def agreement_with_reference(
    reference_selected: Any, selected: Any, target: Any, *, sample_weight: Any = None
) -> pd.DataFrame:
    """How a system's list differs from the reference system's, and the true status of those
    households.

    Rows ``kept`` (on both lists), ``dropped`` (on the reference's list only), ``added`` (on
    the system's list only); columns ``households`` (weighted), ``target``, ``non_target``.
    This is agreement, not accuracy: the reference is itself measured against the truth.

    >>> agreement_with_reference([1, 1, 0, 0], [1, 0, 1, 0], [1, 0, 1, 1]).to_dict("index")["dropped"]
    {'households': 1.0, 'target': 0.0, 'non_target': 1.0}
    """
    reference, s, w = _aligned(reference_selected, selected, sample_weight)
    t = _flag(target, "target")
    rows = {}
    for change, mask in (
        ("kept", reference & s),
        ("dropped", reference & ~s),
        ("added", ~reference & s),
    ):
        rows[change] = {
            "households": float(w[mask].sum()),
            "target": float(w[mask & t].sum()),
            "non_target": float(w[mask & ~t].sum()),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("change")
