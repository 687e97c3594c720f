"""Compare every model with a reference system at equal coverage, with paired cluster-bootstrap intervals.

The reference is SIKS-NG (``reference="siksng"``) for a PBDT registry, or any other
existing system a mapped table names (e.g. a fitted ``"pmt_scorecard"``).

The metric functions (denominators in their docstrings) live in :mod:`slrt_ml.evaluation.metrics`
and are re-exported here. :func:`compare` takes the *targeting frame* (one row per
household: ``IDBDT, cluster, eligible, target, <reference>_selected, <reference>_score``,
one score column per model, optional ``persons, welfare, KDKAB, KDKEC`` and slice columns)
and:

1. sets the quota from the reference's list (:func:`slrt_ml.targeting.selection.quota_from`) and
   selects each model's recipients under it, once, on the full data;
2. measures every system (the reference is system ``reference``, its own list as
   selection) against the target;
3. bootstraps desa (``cluster``): each replicate resamples desa with replacement and
   recomputes every system's metrics on the *same* draw. **Selections stay fixed** in the
   bootstrap — the quota was applied once — so intervals reflect which households (desa)
   were observed, not re-ranking. Ranking metrics (``roc_auc, pr_auc, spearman_welfare``)
   get point estimates only (``ci_low = ci_high = nan``).

``Comparison.table`` is long: ``system, metric, estimate, ci_low, ci_high``. A model's
difference from the reference is a row of its own named ``<metric>_diff_vs_<reference>``
(model minus reference, so a negative exclusion-error difference means the model misses
fewer of the target), with its own paired-bootstrap interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from slrt_ml.evaluation import bootstrap as _bootstrap
from slrt_ml.evaluation.metrics import (
    RANKING_METRICS,
    SELECTION_METRICS,
    ConfusionCounts,
    GroupBreakdown,
    agreement_with_reference,
    agreement_with_siksng,
    cgh,
    confusion_counts,
    coverage,
    coverage_curve,
    coverage_of_target,
    exclusion_error,
    group_breakdown,
    inclusion_error,
    inclusion_rate_nontarget,
    mistargeting,
    pr_auc,
    roc_auc,
    spearman_welfare,
    targeting_differential,
)
from slrt_ml.targeting.selection import quota_from, select_under_quota

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
    "METRICS",
    "coverage_curve",
    "GroupBreakdown",
    "group_breakdown",
    "agreement_with_siksng",
    "agreement_with_reference",
    "SIKSNG",
    "SLICE_COLUMNS",
    "Comparison",
    "compare",
    "default_slices",
    "compare_systems",
    "metrics_from_selections",
]

#: The default reference system's name (a PBDT registry's SIKS-NG list).
SIKSNG = "siksng"
#: Metric names of ``Comparison.table``, in table order.
METRICS: tuple[str, ...] = (*SELECTION_METRICS, *RANKING_METRICS)
#: Standard household groups the slices are cut by (when the frame has the column).
SLICE_COLUMNS: tuple[str, ...] = (
    "urban",
    "female_head",
    "elderly_head",
    "disabled_member",
    "KDKAB",
    "KDKEC",
)
_SLICE_LABELS = {
    "urban": {"1": "urban", "0": "rural"},
    **{
        flag: {"1": "yes", "0": "no"} for flag in ("female_head", "elderly_head", "disabled_member")
    },
}
#: Quota words meaning "as many as the reference selected" (besides the reference's name).
_REFERENCE_QUOTAS = ("siksng", "reference")


def _required(reference: str) -> tuple[str, ...]:
    return ("IDBDT", "cluster", "eligible", "target", f"{reference}_selected", f"{reference}_score")


@dataclass
class Comparison:
    """Everything ``compare`` measured; all frames are long (one row per system and item).

    - ``selections``: ``IDBDT, system, score, eligible, selected, target``
    - ``table``: ``system, metric, estimate, ci_low, ci_high`` (diff rows
      ``*_diff_vs_<reference>``)
    - ``curves``: ``system, share, selected, exclusion_error, inclusion_error``
    - ``slices``: ``system, slice, group, households, target, selected, exclusion_error, inclusion_error``
    - ``slice_gaps``: ``system, slice, metric, gap, highest, lowest``
    - ``agreement``: ``system, change (kept|dropped|added), households, target, non_target``
    """

    selections: pd.DataFrame
    table: pd.DataFrame
    curves: pd.DataFrame
    slices: pd.DataFrame
    slice_gaps: pd.DataFrame
    agreement: pd.DataFrame
    systems: list[str]
    quota: int | pd.Series
    by: str | None = None
    weight: str = "household"
    bootstrap: int = 0
    reference: str = SIKSNG

    def estimate(self, system: str, metric: str) -> float:
        """One point estimate from ``table``."""
        row = self.table[(self.table["system"] == system) & (self.table["metric"] == metric)]
        if row.empty:
            raise KeyError(
                f"no row for system={system!r}, metric={metric!r} in the comparison table"
            )
        return float(row["estimate"].iloc[0])


@dataclass
class _Systems:
    """Arrays aligned by household: the common truth and each system's score and list."""

    ids: pd.api.extensions.ExtensionArray | np.ndarray
    target: np.ndarray
    eligible: np.ndarray
    weights: np.ndarray
    welfare: np.ndarray
    cluster: np.ndarray | None
    scores: dict[str, np.ndarray]
    selected: dict[str, np.ndarray]
    quota: int | pd.Series | None = None
    tie: np.ndarray | None = None  # IDBDT sort codes: the tie-break key
    reference: str = SIKSNG


def _check_frame(
    frame: pd.DataFrame, systems: Sequence[str], weight: str, reference: str, slices: list[str]
) -> None:
    if reference in systems:
        raise ValueError(
            f"{reference!r} is the reference system; list only model score columns in systems"
        )
    required = _required(reference)
    needed = [*required, *systems, *(["persons"] if weight == "person" else [])]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(
            f"targeting frame is missing columns {missing}; it needs {list(required)}, one score "
            "column per model (higher = poorer) and `persons` for person weights"
        )
    absent = [c for c in slices if c not in frame.columns]
    if absent:
        raise ValueError(
            f"slices {absent} are not columns of the targeting frame; the frame has "
            f"{[c for c in frame.columns if c not in required][:12]}; pass existing columns"
        )
    if weight not in ("household", "person"):
        raise ValueError(f"weight must be 'household' or 'person', got {weight!r}")


def _frame_weights(frame: pd.DataFrame, weight: str) -> np.ndarray:
    if weight == "household":
        return np.ones(len(frame))
    if weight != "person":
        raise ValueError(f"weight must be 'household' or 'person', got {weight!r}")
    return frame["persons"].to_numpy(dtype=float)


def _area_column(frame: pd.DataFrame, by: str | None) -> str | None:
    column = "cluster" if by == "KDDESA" else by
    if column is not None and column not in frame.columns:
        raise ValueError(
            f"--by {by}: the targeting frame has no column {column!r}; use KDKEC or KDDESA"
        )
    return column


def default_slices(frame: pd.DataFrame) -> list[str]:
    """The standard slice columns (:data:`SLICE_COLUMNS`) the frame has.

    >>> default_slices(pd.DataFrame(columns=["IDBDT", "urban", "KDKEC", "tenure"]))
    ['urban', 'KDKEC']
    """
    return [c for c in SLICE_COLUMNS if c in frame.columns]


def compare(
    frame: pd.DataFrame,
    systems: Sequence[str],
    *,
    quota: str | int | float = "siksng",
    by: str | None = None,
    bootstrap: int = 1000,
    seed: int | np.random.Generator = 0,
    weight: str = "household",
    reference: str = SIKSNG,
    slices: Sequence[str] | None = None,
) -> Comparison:
    """Select each model's list at the reference's coverage and compare every system with intervals.

    ``reference``: the existing system every model is compared with; the frame holds its
    list and ranking as ``<reference>_selected`` and ``<reference>_score`` (``"siksng"``
    for a PBDT registry, e.g. ``"pmt_scorecard"`` for a mapped table).
    ``quota``: ``"siksng"``, ``"reference"`` or the reference's name (as many as the
    reference selected), a count, or a share of the eligible households. ``by``: ``None``
    (one national ranking), ``"KDKEC"`` or ``"KDDESA"`` (rank within each area at its own
    quota). ``weight``: ``"household"`` or ``"person"`` (``persons`` column). ``slices``:
    the columns to break exclusion and inclusion error down by (default
    :func:`default_slices`). ``seed``: int or ``numpy.random.Generator``.
    Ties break by ``IDBDT`` ascending, so row order does not change any result.
    """
    slices = default_slices(frame) if slices is None else list(slices)
    _check_frame(frame, systems, weight, reference, slices)
    quota = "siksng" if quota in (*_REFERENCE_QUOTAS, reference) else quota
    data = _systems_from_frame(frame, systems, quota, _area_column(frame, by), weight, reference)
    table = _table(data, bootstrap, np.random.default_rng(seed))
    slice_rows, slice_gaps = _slices(frame, data, slices)
    return Comparison(
        selections=_selections_long(data),
        table=table,
        curves=_curves(data),
        slices=slice_rows,
        slice_gaps=slice_gaps,
        agreement=_agreement(data),
        systems=list(data.scores),
        quota=data.quota,
        by=by,
        weight=weight,
        bootstrap=bootstrap,
        reference=reference,
    )


def _systems_from_frame(frame, systems, quota, area_column, weight, reference) -> _Systems:
    tie = pd.factorize(frame["IDBDT"].astype("string"), sort=True)[0]
    eligible = frame["eligible"].to_numpy().astype(bool)
    area = None if area_column is None else frame[area_column].astype("string").to_numpy()
    n_eligible = int(eligible.sum())
    if area is not None:
        n_eligible = pd.Series(eligible.astype(np.int64)).groupby(area).sum()
    listed = frame[f"{reference}_selected"].to_numpy()
    quota_value = quota_from(listed, quota, area=area, n_eligible=n_eligible)
    scores = {reference: frame[f"{reference}_score"].to_numpy(dtype=float)}
    selected = {reference: listed.astype(bool)}
    for name in systems:
        scores[name] = frame[name].to_numpy(dtype=float)
        selected[name] = select_under_quota(
            scores[name], quota_value, eligible=eligible, area=area, tiebreak=tie
        )
    data = _Systems(
        ids=frame["IDBDT"].astype("string").array,
        target=frame["target"].to_numpy().astype(bool),
        eligible=eligible,
        weights=_frame_weights(frame, weight),
        welfare=_welfare(frame),
        cluster=pd.factorize(frame["cluster"].astype("string"), sort=True)[0],
        scores=scores,
        selected=selected,
        quota=quota_value,
        tie=tie,
        reference=reference,
    )
    return data


def _welfare(frame: pd.DataFrame) -> np.ndarray:
    if "welfare" not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame["welfare"]).to_numpy(dtype=float, na_value=np.nan)


def _confusion_columns(data: _Systems, name: str) -> list[np.ndarray]:
    t, s, w = data.target, data.selected[name], data.weights
    return [w * (t & s), w * (t & ~s), w * (~t & s), w * (~t & ~s)]


def _table(data: _Systems, bootstrap: int, rng: np.random.Generator) -> pd.DataFrame:
    names = list(data.scores)
    if bootstrap and data.cluster is None:
        raise ValueError(
            "the bootstrap needs the desa (cluster) of every household; pass the frame"
        )
    codes = np.zeros(len(data.ids), np.int64) if data.cluster is None else data.cluster
    n_clusters = int(codes.max()) + 1 if len(codes) else 0
    per_cluster = np.stack(
        [_bootstrap.cluster_totals(codes, n_clusters, _confusion_columns(data, n)) for n in names],
        axis=1,
    )  # (K, systems, 4)
    point = _selection_metrics(per_cluster.sum(axis=0))  # metric -> (systems,)
    replicates = None
    if bootstrap:
        draws = _bootstrap.cluster_multiplicities(n_clusters, bootstrap, rng)
        totals = _bootstrap.replicate_totals(draws, per_cluster.reshape(n_clusters, -1))
        replicates = _selection_metrics(
            totals.reshape(bootstrap, len(names), 4)
        )  # metric -> (B, systems)
    for metric, function in RANKING_METRICS.items():
        truth = data.welfare if metric == "spearman_welfare" else data.target
        point[metric] = np.array(
            [function(truth, data.scores[n], sample_weight=data.weights) for n in names]
        )
    return _table_rows(names, point, replicates, data.reference)


def _selection_metrics(counts: np.ndarray) -> dict[str, np.ndarray]:
    parts = [counts[..., j] for j in range(4)]
    return {
        name: np.asarray(formula(*parts), dtype=float)
        for name, formula in SELECTION_METRICS.items()
    }


def _table_rows(
    names: list[str], point: dict, replicates: dict | None, reference: str
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
                    draws = replicates[metric][:, i] - (
                        replicates[metric][:, against] if suffix else 0.0
                    )
                    low, high = (float(v) for v in _bootstrap.percentile_interval(draws))
                rows.append((system, metric + suffix, float(estimate), low, high))
    return pd.DataFrame(rows, columns=["system", "metric", "estimate", "ci_low", "ci_high"])


def _selections_long(data: _Systems) -> pd.DataFrame:
    ids = pd.array(data.ids, dtype="string")  # once: converting strings is the slow part
    pieces = [
        pd.DataFrame(
            {
                "IDBDT": ids,
                "system": pd.array(np.full(len(data.ids), name), dtype="string"),
                "score": data.scores[name],
                "eligible": data.eligible.astype(np.int8),
                "selected": data.selected[name].astype(np.int8),
                "target": data.target.astype(np.int8),
            }
        )
        for name in data.scores
    ]
    return pd.concat(pieces, ignore_index=True)


def _curves(data: _Systems) -> pd.DataFrame:
    tie = (
        data.tie
        if data.tie is not None
        else pd.factorize(pd.array(data.ids, dtype="string"), sort=True)[0]
    )
    frames = []
    for name, score in data.scores.items():
        curve = coverage_curve(
            data.target, score, data.eligible, sample_weight=data.weights, tiebreak=tie
        )
        frames.append(curve.assign(system=name))
    curves = pd.concat(frames, ignore_index=True)
    return curves[["system", *curves.columns[:-1]]]


def _slice_labels(frame: pd.DataFrame, column: str) -> pd.Categorical:
    """Groups of a slice: the standard 0/1 flags as words, any other column as its values."""
    labels = frame[column].astype("string").fillna("<NA>")
    mapping = _SLICE_LABELS.get(column, {})
    return pd.Categorical(labels.replace(mapping) if mapping else labels)


def _slices(
    frame: pd.DataFrame, data: _Systems, columns: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, gaps = [], []
    for column in columns:
        groups = _slice_labels(frame, column)
        for name in data.scores:
            result = group_breakdown(
                data.target, data.selected[name], groups, sample_weight=data.weights
            )
            rows.append(result.by_group.reset_index().assign(system=name, slice=column))
            gaps.append(result.gaps.reset_index().assign(system=name, slice=column))
    if not rows:
        return pd.DataFrame(), pd.DataFrame()
    slices, slice_gaps = pd.concat(rows, ignore_index=True), pd.concat(gaps, ignore_index=True)
    return (
        slices[
            [
                "system",
                "slice",
                "group",
                "households",
                "target",
                "selected",
                "exclusion_error",
                "inclusion_error",
            ]
        ],
        slice_gaps[["system", "slice", "metric", "gap", "highest", "lowest"]],
    )


def _agreement(data: _Systems) -> pd.DataFrame:
    reference = data.selected[data.reference]
    frames = [
        agreement_with_reference(
            reference, data.selected[name], data.target, sample_weight=data.weights
        )
        .reset_index()
        .assign(system=name)
        for name in data.scores
        if name != data.reference
    ]
    columns = ["system", "change", "households", "target", "non_target"]
    if not frames:  # the reference alone: nothing to agree with
        return pd.DataFrame(columns=columns)
    agreement = pd.concat(frames, ignore_index=True)
    return agreement[["system", "change", "households", "target", "non_target"]]


def _systems_from_selections(
    selections: pd.DataFrame, frame: pd.DataFrame | None, weight: str, reference: str
) -> _Systems:
    missing = [
        c
        for c in ("IDBDT", "system", "score", "eligible", "selected", "target")
        if c not in selections
    ]
    if missing:
        raise ValueError(
            f"selections is missing columns {missing}; write it with compare(...).selections"
        )
    ids = np.sort(selections["IDBDT"].astype("string").unique().to_numpy(dtype=object))
    scores, selected, first = {}, {}, None
    for name, rows in selections.groupby("system", sort=False):
        rows = rows.set_index(rows["IDBDT"].astype("string"))
        if rows.index.has_duplicates or len(rows) != len(ids):
            raise ValueError(
                f"selections for system {name!r} has {len(rows)} rows for {len(ids)} households; "
                "every system needs exactly one row per household"
            )
        rows = rows.reindex(ids)
        scores[str(name)], selected[str(name)] = (
            rows["score"].to_numpy(float),
            rows["selected"].to_numpy().astype(bool),
        )
        first = rows if first is None else first
    extra = _frame_extra(frame, ids, weight)
    return _Systems(
        ids=ids,
        target=first["target"].to_numpy().astype(bool),
        eligible=first["eligible"].to_numpy().astype(bool),
        scores=scores,
        selected=selected,
        reference=reference,
        **extra,
    )


def _frame_extra(frame: pd.DataFrame | None, ids: np.ndarray, weight: str) -> dict[str, Any]:
    if frame is None:
        if weight != "household":
            raise ValueError("person weights need the targeting frame (its `persons` column)")
        return {"weights": np.ones(len(ids)), "welfare": np.full(len(ids), np.nan), "cluster": None}
    aligned = frame.set_index(frame["IDBDT"].astype("string")).reindex(ids)
    if aligned["cluster"].isna().any():
        raise ValueError(
            f"{int(aligned['cluster'].isna().sum())} households of selections are not in the frame; "
            "pass the targeting frame the selections were made from"
        )
    return {
        "weights": _frame_weights(aligned, weight),
        "welfare": _welfare(aligned),
        "cluster": pd.factorize(aligned["cluster"].astype("string"), sort=True)[0],
    }


def compare_systems(
    selections: pd.DataFrame,
    frame: pd.DataFrame | None = None,
    *,
    bootstrap: int = 1000,
    seed: int | np.random.Generator = 0,
    weight: str = "household",
    reference: str = SIKSNG,
) -> pd.DataFrame:
    """The comparison table (``system, metric, estimate, ci_low, ci_high``) from long selections.

    ``frame`` (the targeting frame) supplies ``cluster`` for the bootstrap, ``persons`` for
    person weights and ``welfare`` for ``spearman_welfare``; without it only household
    weights and point estimates are possible and ``spearman_welfare`` is ``nan``.
    ``reference`` names the system the ``<metric>_diff_vs_<reference>`` rows are taken
    against; when selections hold no such system there are no difference rows.
    """
    data = _systems_from_selections(selections, frame, weight, reference)
    return _table(data, bootstrap, np.random.default_rng(seed))


def metrics_from_selections(
    selections: pd.DataFrame,
    frame: pd.DataFrame | None = None,
    *,
    weight: str = "household",
    reference: str = SIKSNG,
) -> pd.DataFrame:
    """Point estimates (``system, metric, estimate``) recomputed from ``selections`` alone.

    Reproduces the ``estimate`` column of ``comparison.csv`` from ``selections.parquet``;
    with ``frame=None`` every metric but ``spearman_welfare`` (which needs welfare) matches.
    ``reference``: as in :func:`compare_systems`.
    """
    table = compare_systems(selections, frame, bootstrap=0, weight=weight, reference=reference)
    return table[["system", "metric", "estimate"]]
