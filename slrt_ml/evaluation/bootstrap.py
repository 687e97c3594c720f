"""Paired bootstrap clustered by desa that re-applies every selection rule, vectorised.

Each replicate draws K of the K desa with replacement; a household counts as often as its
desa was drawn (its *multiplicity*). Every system is measured on the same draw (a *paired*
bootstrap), so differences between systems get their own intervals. In each replicate:

- a given list (the reference's, e.g. SIKS-NG's) stays as given: its weighted confusion
  counts are a (B x K) multiplicity matrix times the (K x 4) per-desa counts;
- every model's list is re-selected from its scores under the quota recomputed on the
  replicate (:mod:`slrt_ml.evaluation.reselection`: the reference's count there, or the
  full data's coverage rate, per area with ``by``; under the desil rule, desil 1..K of the
  model's own ranking of every household of the replicate); holding the lists fixed instead gave
  intervals that covered 74% for a model's exclusion error and difference intervals about
  twice too wide in a simulation with known truth (``bench/interval_coverage.py``);
- ranking metrics (ROC-AUC, PR-AUC, Spearman against welfare) are recomputed with the
  multiplicities as weights (:mod:`slrt_ml.evaluation.ranking_replicates`). They cost
  a full sort-order pass per replicate and system, so they use the first
  ``max(RANKING_BUDGET // households, MIN_RANKING_REPLICATES)`` of the replicates
  (all of them up to 4,000 households at B = 1,000; the first 200 at 20,000 or more):
  their interval ends are rougher, their paired draw is the same.

Intervals. Selection metrics (and their differences) get a jackknife-t interval: the
estimate -+ t(K-1) x the leave-one-desa-out jackknife SE (:func:`jackknife_t_interval`),
every leave-out re-selecting the models' lists under the quota as the bootstrap does
(delete-a-group with :data:`JACKKNIFE_GROUPS` groups above that many desa). In the
simulation of ``bench/interval_coverage.py`` at 30 desa (1,000 datasets) the percentile
intervals covered the given reference list's exclusion error 92.3% (bootstrap SD 12% below
the true SD: few, unequal desa), the jackknife-t 94.6%; model EE 94.1%, EE and IE
differences 95.1/96.8%; single-system inclusion error stays below nominal (92.7/92.6%).
Ranking metrics keep percentile intervals over the replicates, widened about the estimate
for few desa (:func:`small_cluster_factor`: sqrt(K/(K-1)) x t(K-1)/z, 1.06 at 30 desa).

>>> rng = np.random.default_rng(0)
>>> counts = cluster_totals(np.array([0, 0, 1]), 2, [np.array([1.0, 1.0, 5.0])])
>>> counts.tolist()
[[2.0], [5.0]]
>>> draws = cluster_multiplicities(2, 4, rng)
>>> bool((draws.sum(axis=1) == 2).all())
True
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from slrt_ml.evaluation.metrics import RANKING_METRICS, SELECTION_METRICS
from slrt_ml.evaluation.ranking_replicates import ScoreRanking, WelfareRanking
from slrt_ml.evaluation.reselection import rule_sums
from slrt_ml.evaluation.systems import Systems

__all__ = [
    "cluster_totals",
    "cluster_multiplicities",
    "replicate_totals",
    "percentile_interval",
    "small_cluster_factor",
    "jackknife_draws",
    "jackknife_t_interval",
    "JACKKNIFE_GROUPS",
    "replicate_confusion",
    "replicate_ranking",
    "ranking_replicate_count",
    "comparison_table",
    "bootstrap_draws",
    "RANKING_BUDGET",
    "MIN_RANKING_REPLICATES",
]

#: Households x replicates per system above which ranking metrics use fewer replicates.
RANKING_BUDGET = 4_000_000
#: Ranking metrics always get at least this many replicates.
MIN_RANKING_REPLICATES = 200


def cluster_totals(codes: np.ndarray, n_clusters: int, columns: Sequence[np.ndarray]) -> np.ndarray:
    """Sum each of k per-household columns within clusters -> (n_clusters x k)."""
    return np.column_stack([np.bincount(codes, weights=c, minlength=n_clusters) for c in columns])


def cluster_multiplicities(
    n_clusters: int, replicates: int, rng: np.random.Generator
) -> np.ndarray:
    """How often each cluster is drawn (with replacement, K of K) in each replicate."""
    return rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=replicates)


def replicate_totals(multiplicities: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Replicate totals (B x k) = multiplicities (B x K) @ per-cluster totals (K x k)."""
    return multiplicities.astype(np.float64) @ totals


def small_cluster_factor(n_clusters: int, level: float = 0.95) -> float:
    """sqrt(K/(K-1)) x t_{K-1}/z: how much wider an interval from K clusters should be.

    The percentile bootstrap over K clusters behaves like a normal interval with the
    (K-1)/K-biased variance; cluster-robust inference corrects both (Cameron & Miller 2015,
    "A Practitioner's Guide to Cluster-Robust Inference", sections VI.A-B: CR1 scaling and
    t(K-1) critical values). With one cluster or fewer there is nothing to correct.

    >>> round(small_cluster_factor(30), 4), round(small_cluster_factor(280), 4)
    (1.0613, 1.0062)
    """
    from scipy.stats import norm, t

    if n_clusters <= 1:
        return 1.0
    q = 1 - (1 - level) / 2
    return float(np.sqrt(n_clusters / (n_clusters - 1)) * t.ppf(q, n_clusters - 1) / norm.ppf(q))


def percentile_interval(
    replicates: np.ndarray,
    level: float = 0.95,
    *,
    estimate: np.ndarray | float | None = None,
    n_clusters: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over the first axis, ignoring replicates where a metric is undefined.

    With ``estimate`` and ``n_clusters``, both ends move away from the estimate by
    :func:`small_cluster_factor` (the interval widens for few clusters).

    >>> low, high = percentile_interval(np.arange(101.0)[:, None])
    >>> round(float(low[0]), 6), round(float(high[0]), 6)
    (2.5, 97.5)
    >>> low, high = percentile_interval(np.arange(101.0)[:, None], estimate=50.0, n_clusters=30)
    >>> round(float(low[0]), 3), round(float(high[0]), 3)
    (-0.414, 100.414)
    """
    tail = (1 - level) / 2 * 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: metric undefined
        low, high = np.nanpercentile(replicates, [tail, 100 - tail], axis=0)
    if estimate is not None and n_clusters is not None:
        factor = small_cluster_factor(n_clusters, level)
        low = estimate + (low - estimate) * factor
        high = estimate + (high - estimate) * factor
    return low, high


#: Up to this many desa the jackknife leaves out one desa at a time; above, desa are dealt
#: into this many groups (desa ``k`` in group ``k % JACKKNIFE_GROUPS``) and one group is
#: left out at a time (the delete-a-group jackknife).
JACKKNIFE_GROUPS = 200


def jackknife_draws(n_clusters: int) -> np.ndarray:
    """(J x desa) multiplicities: replicate ``j`` leaves out desa group ``j`` (weight 0).

    >>> jackknife_draws(3).tolist()
    [[0, 1, 1], [1, 0, 1], [1, 1, 0]]
    >>> jackknife_draws(500).shape
    (200, 500)
    """
    groups = np.arange(n_clusters) % min(n_clusters, JACKKNIFE_GROUPS)
    n_groups = int(groups.max()) + 1 if n_clusters else 0
    return (groups[None, :] != np.arange(n_groups)[:, None]).astype(np.int64)


def jackknife_t_interval(
    leave_outs: np.ndarray, estimate: np.ndarray | float, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """``estimate -+ t_{J-1} x SE``, SE the jackknife's over J leave-out replicates (axis 0).

    SE^2 = (J-1)/J x sum_j (theta_j - mean)^2 (CV3 for a ratio of desa totals; MacKinnon,
    Nielsen & Webb 2023, "Cluster-robust inference: a guide to empirical practice", J.
    Econometrics 232: less biased than the plug-in and bootstrap variance with few or
    unequal clusters); replicates where the metric is undefined are left out.

    >>> low, high = jackknife_t_interval(np.array([[1.0], [2.0], [3.0]]), 2.0)
    >>> round(float(low[0]), 3), round(float(high[0]), 3)
    (-2.968, 6.968)
    """
    from scipy.stats import t

    leave_outs = np.asarray(leave_outs, dtype=float)
    finite = np.isfinite(leave_outs)
    n = finite.sum(axis=0)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: metric undefined
        centred = leave_outs - np.nanmean(leave_outs, axis=0)
        se = np.sqrt((n - 1) / n * np.nansum(centred**2, axis=0))
        half = t.ppf(1 - (1 - level) / 2, np.maximum(n - 1, 1)) * se
    half = np.where(n >= 2, half, np.nan)
    return estimate - half, estimate + half


def _confusion_columns(data: Systems, name: str) -> list[np.ndarray]:
    t, s, w = data.target, data.selected[name], data.weights
    return [w * (t & s), w * (t & ~s), w * (~t & s), w * (~t & ~s)]


def _codes(data: Systems) -> tuple[np.ndarray, int]:
    codes = np.zeros(len(data.ids), np.int64) if data.cluster is None else data.cluster
    return codes, (int(codes.max()) + 1 if len(codes) else 0)


def _per_cluster_counts(data: Systems) -> np.ndarray:
    """(desa x systems x 4) weighted counts ``tp, fn, fp, tn`` of the full-data lists."""
    codes, n_clusters = _codes(data)
    columns = [cluster_totals(codes, n_clusters, _confusion_columns(data, n)) for n in data.scores]
    return np.stack(columns, axis=1)


def replicate_confusion(data: Systems, draws: np.ndarray, *, reselect: bool = True) -> np.ndarray:
    """(B x systems x 4) weighted counts ``tp, fn, fp, tn`` on each replicate.

    ``reselect=True`` re-applies ``data.rule`` (a quota or the desil rule,
    :func:`~slrt_ml.evaluation.reselection.rule_sums`) to every system not in ``data.given``;
    ``reselect=False`` keeps every list as selected on the full data (the old method,
    kept for ``bench/interval_coverage.py``).
    """
    codes, n_clusters = _codes(data)
    names = list(data.scores)
    per_cluster = _per_cluster_counts(data)
    totals = replicate_totals(draws, per_cluster.reshape(n_clusters, -1))
    totals = totals.reshape(len(draws), len(names), 4)
    if not reselect:
        return totals
    if data.rule is None:
        raise ValueError(
            f"the bootstrap re-applies the quota rule, which needs the reference's list; "
            f"selections hold no system {data.reference!r}: pass reference=, a count or "
            "share as quota=, or bootstrap=0"
        )
    columns = np.column_stack([data.weights * data.target, data.weights]).astype(np.float64)
    for s, name in enumerate(names):
        if name in data.given:
            continue
        tp, chosen = rule_sums(
            data.rule, data.scores[name], draws, codes, columns, data.eligible, data.area,
            data.tie,
        ).T  # fmt: skip
        target_total = totals[:, s, 0] + totals[:, s, 1]
        everyone = totals[:, s].sum(axis=1)
        totals[:, s] = np.column_stack(
            [tp, target_total - tp, chosen - tp, everyone - target_total - (chosen - tp)]
        )
    return totals


def ranking_replicate_count(replicates: int, households: int) -> int:
    """Replicates the ranking metrics use: the first ``max(RANKING_BUDGET // households, 200)``.

    >>> ranking_replicate_count(1000, 2_000), ranking_replicate_count(1000, 20_000)
    (1000, 200)
    """
    affordable = RANKING_BUDGET // max(households, 1)
    return int(min(replicates, max(affordable, MIN_RANKING_REPLICATES)))


def replicate_ranking(data: Systems, draws: np.ndarray) -> dict[str, np.ndarray]:
    """Ranking metric -> (replicates x systems) on each replicate (multiplicity weights)."""
    codes, _ = _codes(data)
    names = list(data.scores)
    out = {metric: np.empty((len(draws), len(names))) for metric in RANKING_METRICS}
    for s, name in enumerate(names):
        score = data.scores[name]
        auc = ScoreRanking.from_scores(score, data.target, data.weights).replicates(draws, codes)
        out["roc_auc"][:, s], out["pr_auc"][:, s] = auc["roc_auc"], auc["pr_auc"]
        welfare = WelfareRanking.from_scores(score, data.welfare, data.weights)
        out["spearman_welfare"][:, s] = welfare.replicates(draws, codes)
    return out


def _selection_metrics(counts: np.ndarray) -> dict[str, np.ndarray]:
    parts = [counts[..., j] for j in range(4)]
    return {
        name: np.asarray(formula(*parts), dtype=float)
        for name, formula in SELECTION_METRICS.items()
    }


def bootstrap_draws(data: Systems, bootstrap: int, rng: np.random.Generator) -> np.ndarray:
    """(bootstrap x desa) multiplicities of one paired draw (empty for ``bootstrap=0``)."""
    if bootstrap and data.cluster is None:
        raise ValueError(
            "the bootstrap needs the desa (cluster) of every household; pass the frame"
        )
    _, n_clusters = _codes(data)
    if not bootstrap:
        return np.zeros((0, n_clusters), np.int64)
    return cluster_multiplicities(n_clusters, bootstrap, rng)


def comparison_table(
    data: Systems, bootstrap: int, rng: np.random.Generator, draws: np.ndarray | None = None
) -> pd.DataFrame:
    """``system, metric, estimate, ci_low, ci_high`` for every system, each model's
    difference from the reference (``<metric>_diff_vs_<reference>``, model minus reference)
    and, with two models or more, each model's exclusion-error difference from the best
    model (``exclusion_error_diff_vs_best``, model minus the model with the lowest point
    estimate; the champion rule reads it).

    Point estimates come from the full data; ``bootstrap`` replicates (0: none, intervals
    ``nan``) give 95% percentile intervals from one paired draw of desa (``draws``, from
    :func:`bootstrap_draws`, or drawn here from ``rng``), widened for few desa
    (:func:`small_cluster_factor`).
    """
    names = list(data.scores)
    if draws is None:
        draws = bootstrap_draws(data, bootstrap, rng)
    point = _selection_metrics(_per_cluster_counts(data).sum(axis=0))
    for metric, function in RANKING_METRICS.items():
        truth = data.welfare if metric == "spearman_welfare" else data.target
        point[metric] = np.array(
            [function(truth, data.scores[n], sample_weight=data.weights) for n in names]
        )
    replicates = None
    n_clusters = int(draws.shape[1]) if len(draws) else 0
    if len(draws):
        replicates = _selection_metrics(replicate_confusion(data, draws))
        ranked = ranking_replicate_count(len(draws), len(data.ids))
        replicates.update(replicate_ranking(data, draws[:ranked]))
        leave_outs = _selection_metrics(replicate_confusion(data, jackknife_draws(n_clusters)))
        replicates["jackknife"] = leave_outs
    table = _table_rows(names, point, replicates, data.reference, n_clusters)
    best = _best_rows(data, names, point, replicates, n_clusters)
    return pd.concat([table, best], ignore_index=True)


def _interval(
    replicates: dict, metric: str, column, estimate: float, n_clusters: int
) -> tuple[float, float]:
    """Selection metrics: jackknife-t over the leave-out replicates (each re-selected);
    ranking metrics: the percentile interval widened for few desa. ``column`` picks one
    system's replicates (an index) or a difference of two (a callable)."""
    pick = column if callable(column) else (lambda r: r[:, column])
    if metric in replicates["jackknife"]:
        low, high = jackknife_t_interval(pick(replicates["jackknife"][metric]), estimate)
    else:
        low, high = percentile_interval(
            pick(replicates[metric]), estimate=estimate, n_clusters=n_clusters
        )
    return float(low), float(high)


def _best_rows(
    data: Systems, names: list[str], point: dict, replicates: dict | None, n_clusters: int
) -> pd.DataFrame:
    """``exclusion_error_diff_vs_best`` of every model but the best (paired intervals)."""
    models = [i for i, n in enumerate(names) if n not in data.given]
    errors = point["exclusion_error"]
    rows = []
    known = data.reference in names  # without the reference, no system is known as a model
    if known and len(models) >= 2 and not np.isnan(errors[models]).all():
        best = min(models, key=lambda i: (np.nan_to_num(errors[i], nan=np.inf), names[i]))
        for i in models:
            if i == best:
                continue
            low = high = np.nan
            if replicates is not None:
                low, high = _interval(
                    replicates, "exclusion_error", lambda r, i=i: r[:, i] - r[:, best],
                    errors[i] - errors[best], n_clusters,
                )  # fmt: skip
            rows.append((names[i], "exclusion_error_diff_vs_best", float(errors[i] - errors[best]),
                         low, high))  # fmt: skip
    return pd.DataFrame(rows, columns=["system", "metric", "estimate", "ci_low", "ci_high"])


def _table_rows(
    names: list[str], point: dict, replicates: dict | None, reference: str, n_clusters: int
) -> pd.DataFrame:
    rows = []
    ref = names.index(reference) if reference in names else None
    for i, system in enumerate(names):
        for suffix, against in (("", None), (f"_diff_vs_{reference}", ref)):
            if suffix and (against is None or i == ref):
                continue
            for metric, values in point.items():
                estimate = values[i] - (values[against] if suffix else 0.0)
                low = high = np.nan
                if replicates is not None and metric in replicates:
                    low, high = _interval(
                        replicates, metric,
                        (lambda r, i=i, a=against: r[:, i] - r[:, a]) if suffix else i,
                        estimate, n_clusters,
                    )  # fmt: skip
                rows.append((system, metric + suffix, float(estimate), low, high))
    return pd.DataFrame(rows, columns=["system", "metric", "estimate", "ci_low", "ci_high"])
