"""Errors per household group with intervals, and the largest gap against a permutation null.

For every *slicing* (a column such as ``urban`` or ``KDKEC``) and system this gives each
group's exclusion and inclusion error with a paired-bootstrap interval (the same desa
draws as the comparison table; each replicate re-applies the selection rule, so a
group's list changes with the quota as in :mod:`slrt_ml.evaluation.reselection`), and
the largest gap between groups with

- a bootstrap interval (of ``max - min`` over groups, recomputed on each replicate; the
  groups at the ends may change between replicates), and
- the gap *expected with no true difference*: the system's list is kept and the group
  labels are permuted (``PERMUTATIONS`` times) between desa when the slicing is constant
  within desa (kecamatan, kabupaten, urban), else redrawn within each desa; ``null`` is the mean
  of the permuted largest gaps, ``null_high`` their 95th percentile, ``p_value`` the share
  of permuted gaps at least as large as the observed one. With 31 kecamatan and noise the
  null gap is large: an observed gap below ``null_high`` is not a finding.

Groups whose column value is missing (a slicing the mapping did not fill) are left out,
and a slicing with fewer than two groups (e.g. ``urban`` when no area file was given) is
left out entirely rather than shown as one group. The null is computed for the
exclusion error only (it needs the target households alone, so it stays cheap).

Intervals use the first ``ranking_replicate_count(B, households)`` replicates (all of
them up to 4,000 households at B = 1,000, the first 200 at 20,000 or more), like the
ranking metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from slrt_ml.evaluation.bootstrap import (
    cluster_totals,
    percentile_interval,
    ranking_replicate_count,
)
from slrt_ml.evaluation.reselection import rule_sums
from slrt_ml.evaluation.systems import Systems

__all__ = ["PERMUTATIONS", "SLICE_TABLE_COLUMNS", "Slicing", "slicings", "group_gap_tables"]

#: Permutations of group labels behind each null gap.
PERMUTATIONS = 200
#: Columns of ``slices.csv`` (``Comparison.slice_table``), in order.
SLICE_TABLE_COLUMNS = (
    "slicing", "group", "system", "metric", "estimate", "ci_low", "ci_high", "n",
)  # fmt: skip
_GROUP_METRICS = ("exclusion_error", "inclusion_error")
_LABELS = {
    "urban": {"1": "urban", "0": "rural"},
    **{f: {"1": "yes", "0": "no"} for f in ("female_head", "elderly_head", "disabled_member")},
}


@dataclass(frozen=True)
class Slicing:
    """One slicing: group code per household (-1 = not mapped, left out) and group names."""

    name: str
    codes: np.ndarray
    groups: list[str]


def slicings(frame: pd.DataFrame, columns: Sequence[str]) -> list[Slicing]:
    """The slicings of ``columns`` with two groups or more; missing values left out.

    >>> frame = pd.DataFrame({"urban": [1, 0, 1], "tenure": [None, None, None], "k": [0, 0, 0]})
    >>> [(s.name, s.groups, s.codes.tolist()) for s in slicings(frame, ["urban", "tenure", "k"])]
    [('urban', ['rural', 'urban'], [1, 0, 1])]
    """
    out = []
    for column in columns:
        values = frame[column].astype("string")
        mapping = _LABELS.get(column, {})
        labels = values.replace(mapping) if mapping else values
        codes, uniques = pd.factorize(labels, sort=True)
        if len(uniques) >= 2:
            out.append(Slicing(column, codes.astype(np.int64), [str(u) for u in uniques]))
    return out


def _indicators(parts: list[Slicing], n: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """(n x all groups) 0/1 matrix and each slicing's column range."""
    total = sum(len(p.groups) for p in parts)
    matrix = np.zeros((n, total))
    spans, start = [], 0
    for part in parts:
        known = part.codes >= 0
        matrix[np.flatnonzero(known), start + part.codes[known]] = 1.0
        spans.append((start, start + len(part.groups)))
        start += len(part.groups)
    return matrix, spans


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan
        )


def _group_errors(tp: np.ndarray, target: np.ndarray, chosen: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "exclusion_error": _ratio(target - tp, target),
        "inclusion_error": _ratio(chosen - tp, chosen),
    }


def _replicate_sums(data: Systems, name: str, draws: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """(replicates x k) sums of ``columns`` over the system's selected copies."""
    codes = data.cluster
    n_clusters = draws.shape[1]
    if name in data.given or data.rule is None:
        chosen = columns * data.selected[name][:, None]
        return draws.astype(np.float64) @ cluster_totals(codes, n_clusters, list(chosen.T))
    return rule_sums(  # a quota or the desil rule
        data.rule, data.scores[name], draws, codes, columns, data.eligible, data.area, data.tie
    )


def _permuted_codes(
    part: Slicing, cluster: np.ndarray, rows: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """(PERMUTATIONS x len(rows)) group codes of ``rows`` with no true difference.

    A desa-level slicing (constant within desa) permutes the labels of desa; any other
    draws each row's label from its own desa's households (with replacement: a cheap
    stand-in for permuting within desa that keeps each desa's mix of groups).
    """
    n_clusters = int(cluster.max()) + 1
    first = np.full(n_clusters, -1)
    first[cluster[::-1]] = part.codes[::-1]
    if np.array_equal(first[cluster], part.codes):
        shuffled = rng.permuted(np.tile(first, (PERMUTATIONS, 1)), axis=1)
        return shuffled[:, cluster[rows]]
    home = np.argsort(cluster, kind="stable")
    size = np.bincount(cluster, minlength=n_clusters)
    start = np.cumsum(size) - size
    own = cluster[rows]
    picks = start[own] + (rng.random((PERMUTATIONS, len(rows))) * size[own]).astype(np.int64)
    return part.codes[home][picks]


def _null_gaps(flat: np.ndarray, target: np.ndarray, missed: np.ndarray, size: int) -> np.ndarray:
    """Largest exclusion-error gap of each permutation.

    ``flat``: ravelled bin of every (permutation, target household), unmapped rows in an
    extra bin per permutation; ``target``: (PERMUTATIONS x size + 1) target weight per bin;
    ``missed``: weight of each target household the list misses.
    """
    lost = np.bincount(flat, weights=np.tile(missed, PERMUTATIONS),
                       minlength=(size + 1) * PERMUTATIONS).reshape(PERMUTATIONS, size + 1)  # fmt: skip
    return _gap(_ratio(lost[:, :size], target[:, :size]))


def _null_bins(part: Slicing, codes: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    size = len(part.groups)
    bins = np.where(codes >= 0, codes, size) + (size + 1) * np.arange(PERMUTATIONS)[:, None]
    flat = bins.ravel()
    target = np.bincount(flat, weights=np.tile(w, PERMUTATIONS),
                         minlength=(size + 1) * PERMUTATIONS).reshape(PERMUTATIONS, size + 1)  # fmt: skip
    return flat, target


def _gap(errors: np.ndarray) -> np.ndarray:
    """Largest minus smallest group error along the last axis (nan when undefined)."""
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(errors).any(axis=-1)
        high = np.where(finite, np.nanmax(np.where(finite[..., None], errors, 0), axis=-1), np.nan)
        low = np.where(finite, np.nanmin(np.where(finite[..., None], errors, 0), axis=-1), np.nan)
    return high - low


def group_gap_tables(
    frame: pd.DataFrame, data: Systems, columns: Sequence[str], draws: np.ndarray,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """``(slice_table, gap_table)`` of every slicing of ``columns`` and system.

    ``slice_table`` has :data:`SLICE_TABLE_COLUMNS`: one row per slicing, group, system and
    metric (``n`` = households of the group), then per slicing and system the rows
    ``<metric>_gap`` (group ``"<highest> - <lowest>"``, bootstrap interval) and
    ``exclusion_error_gap_null`` (estimate = mean permuted gap, ``ci_low``/``ci_high`` =
    its 2.5 and 97.5 percentiles, ``n`` = permutations). ``gap_table``: ``system, slice,
    metric, gap, ci_low, ci_high, highest, lowest, null, null_high, p_value``.
    """
    parts = slicings(frame, columns)
    if not parts:
        return pd.DataFrame(columns=list(SLICE_TABLE_COLUMNS)), pd.DataFrame()
    indicator, spans = _indicators(parts, len(data.ids))
    w, t = data.weights, data.target
    columns_matrix = np.hstack([indicator * (w * t)[:, None], indicator * w[:, None]])
    used = draws[: ranking_replicate_count(len(draws), len(data.ids))] if len(draws) else draws
    n_clusters = draws.shape[1] if len(draws) else 0
    target_reps = None
    if len(used):
        per_cluster = cluster_totals(
            data.cluster, n_clusters, list((indicator * (w * t)[:, None]).T)
        )
        target_reps = used.astype(np.float64) @ per_cluster
    target_rows = np.flatnonzero(t)
    null_bins = [
        _null_bins(p, _permuted_codes(p, data.cluster, target_rows, rng), w[target_rows])
        for p in parts
    ]
    point_target = (indicator * (w * t)[:, None]).sum(axis=0)
    rows, gaps = [], []
    for name in data.scores:
        s = data.selected[name]
        point = _group_errors(
            columns_matrix[s, : indicator.shape[1]].sum(axis=0), point_target,
            columns_matrix[s, indicator.shape[1]:].sum(axis=0),
        )  # fmt: skip
        reps = None
        if len(used):
            sums = _replicate_sums(data, name, used, columns_matrix)
            half = indicator.shape[1]
            reps = _group_errors(sums[:, :half], target_reps, sums[:, half:])
        missed = (w * ~s)[target_rows]
        for part, (lo, hi), (flat, null_target) in zip(parts, spans, null_bins, strict=True):
            counts = np.bincount(part.codes[part.codes >= 0], minlength=len(part.groups))
            for metric in _GROUP_METRICS:
                values = point[metric][lo:hi]
                low, high = _interval(None if reps is None else reps[metric][:, lo:hi], hi - lo)
                rows += [
                    (part.name, g, name, metric, values[j], low[j], high[j], int(counts[j]))
                    for j, g in enumerate(part.groups)
                ]
                gap = _gap(values)
                gap_low, gap_high = _interval(
                    None if reps is None else _gap(reps[metric][:, lo:hi])[:, None], 1
                )
                finite = np.isfinite(values)
                highest = (
                    part.groups[int(np.nanargmax(np.where(finite, values, -np.inf)))]
                    if finite.any()
                    else ""
                )
                lowest = (
                    part.groups[int(np.nanargmin(np.where(finite, values, np.inf)))]
                    if finite.any()
                    else ""
                )
                rows.append((part.name, f"{highest} - {lowest}", name, f"{metric}_gap", float(gap),
                             gap_low[0], gap_high[0], int(counts.sum())))  # fmt: skip
                null = null_high = p_value = np.nan
                if metric == "exclusion_error":
                    nulls = _null_gaps(flat, null_target, missed, len(part.groups))
                    nulls = nulls[np.isfinite(nulls)]
                    if len(nulls):
                        null, null_high = float(nulls.mean()), float(np.percentile(nulls, 95))
                        p_value = float((nulls >= gap - 1e-12).mean())
                        q_low, q_high = np.percentile(nulls, [2.5, 97.5])
                        rows.append((part.name, "permuted labels", name, f"{metric}_gap_null",
                                     null, float(q_low), float(q_high), len(nulls)))  # fmt: skip
                gaps.append((name, part.name, metric, float(gap), gap_low[0], gap_high[0],
                             highest, lowest, null, null_high, p_value))  # fmt: skip
    slice_table = pd.DataFrame(rows, columns=list(SLICE_TABLE_COLUMNS))
    gap_table = pd.DataFrame(gaps, columns=["system", "slice", "metric", "gap", "ci_low", "ci_high",
                                            "highest", "lowest", "null", "null_high", "p_value"])  # fmt: skip
    return slice_table, gap_table


def _interval(replicates: np.ndarray | None, width: int) -> tuple[np.ndarray, np.ndarray]:
    if replicates is None or not len(replicates):
        return np.full(width, np.nan), np.full(width, np.nan)
    return percentile_interval(replicates)
