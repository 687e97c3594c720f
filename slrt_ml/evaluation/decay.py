"""How fast a list goes stale: errors per cycle and their slope per year, with intervals.

A system's error at each update cycle, and the least-squares slope of that error against
time in percentage points a year. Households change between cycles (births, deaths, new
households) but the desa stay, so the interval is a **paired leave-one-desa-out
jackknife-t** (as :mod:`slrt_ml.evaluation.bootstrap` uses for selection metrics):
leave-out ``j`` drops the same desa (group ``j`` of at most 200 groups, over the desa of
*every* cycle) in every cycle, recomputes each cycle's error and the slope, and the
interval is ``estimate -+ t(J-1) x SE_jackknife``.

Counts come from one of two places:

- **re-selected lists** (what ``slrt-ml cycles`` uses): a model's list at each cycle is
  re-selected under its quota inside every leave-out
  (:func:`slrt_ml.evaluation.bootstrap.replicate_confusion` with
  :func:`leave_out_draws`), and :class:`CycleCounts` carries the full-data and leave-out
  confusion counts;
- **given lists** (:func:`counts_from_selections`, a long frame ``system, cycle, years,
  cluster, target, selected``): every list stays as given in each leave-out.

``bench/decay_coverage.py`` measured both on simulated cycles with a known slope: lists
chosen under a quota and held fixed undercover (84-93% for a 95% interval); re-selected
leave-outs cover 94-98% (``bench/RESULTS.md``, "## decay coverage").

Metrics (denominators as DESIGN §5):

- ``exclusion_error`` = target not selected / target;
- ``inclusion_error`` = non-target selected / selected;
- ``mistargeting`` = (non-target selected + target not selected) / households
  (1 - accuracy: Aiken, Ohlenburg & Blumenstock 2023 report accuracy falling 1.5-1.9
  percentage points a year).

>>> frame = pd.DataFrame({
...     "system": "s", "cycle": [0, 0, 1, 1], "years": [0.0, 0.0, 0.5, 0.5],
...     "cluster": ["a", "b", "a", "b"], "target": [1, 1, 1, 1], "selected": [1, 1, 1, 0]})
>>> decay_per_year(frame, interval=False)[["system", "metric", "slope_pp_per_year"]]
  system           metric  slope_pp_per_year
0      s  exclusion_error              100.0
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from slrt_ml.evaluation.bootstrap import JACKKNIFE_GROUPS, jackknife_t_interval

__all__ = [
    "DECAY_METRICS",
    "CycleCounts",
    "DecayInputError",
    "counts_from_selections",
    "cycle_errors",
    "decay_per_year",
    "leave_out_draws",
    "leave_out_groups",
    "slope",
]

DECAY_METRICS = ("exclusion_error", "inclusion_error", "mistargeting")
_COLUMNS = ("system", "cycle", "years", "cluster", "target", "selected")


class DecayInputError(ValueError):
    """The selections frame lacks a column or mixes years within a cycle."""


@dataclass(frozen=True)
class CycleCounts:
    """One system's confusion counts ``tp, fn, fp, tn`` at one cycle.

    ``full``: (4,) on all households; ``leave_outs``: (J x 4), leave-out ``j`` without
    desa group ``j`` (the same groups in every cycle; J = 0: no interval).
    """

    system: str
    cycle: int
    years: float
    full: np.ndarray
    leave_outs: np.ndarray


def _check(frame: pd.DataFrame) -> None:
    missing = [c for c in _COLUMNS if c not in frame]
    if missing:
        raise DecayInputError(
            f"selections over cycles: missing columns {missing} (need {list(_COLUMNS)})"
        )
    years = frame.groupby("cycle")["years"].nunique()
    if (years > 1).any():
        raise DecayInputError(
            f"selections over cycles: column 'years' must be one value per cycle; cycles "
            f"{years[years > 1].index.tolist()[:5]} have several"
        )


def _metric(counts: np.ndarray, metric: str) -> np.ndarray:
    """``metric`` from (..., 4) counts ``tp, fn, fp, tn`` (NaN where undefined)."""
    tp, fn, fp, tn = (counts[..., j] for j in range(4))
    if metric == "exclusion_error":
        num, den = fn, tp + fn
    elif metric == "inclusion_error":
        num, den = fp, tp + fp
    elif metric == "mistargeting":
        num, den = fn + fp, tp + fn + fp + tn
    else:
        raise DecayInputError(f"unknown decay metric {metric!r}; choose one of {DECAY_METRICS}")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def slope(years: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Least-squares slope of ``values`` (last axis = cycles) against ``years``.

    >>> round(float(slope(np.array([0.0, 0.5, 1.0]), np.array([0.1, 0.2, 0.3]))), 12)
    0.2
    """
    x = np.asarray(years, dtype=float)
    xc = x - x.mean()
    denom = float((xc**2).sum())
    if denom == 0:
        return np.full(np.shape(values)[:-1], np.nan)
    y = np.asarray(values, dtype=float)
    return ((y - y.mean(axis=-1, keepdims=True)) * xc).sum(axis=-1) / denom


def leave_out_groups(clusters: Iterable[object]) -> dict[str, int]:
    """Leave-out group of every desa: its rank among all desa of all cycles, modulo 200.

    >>> leave_out_groups(["b", "a", "c", "a"])
    {'a': 0, 'b': 1, 'c': 2}
    """
    universe = sorted({str(c) for c in clusters})
    n_groups = min(len(universe), JACKKNIFE_GROUPS)
    return {c: i % n_groups for i, c in enumerate(universe)}


def leave_out_draws(labels: Sequence[object], groups: dict[str, int]) -> np.ndarray:
    """(J x desa) multiplicities for one cycle's desa ``labels`` (in cluster code order):
    leave-out ``j`` gives weight 0 to the desa of group ``j``.

    >>> leave_out_draws(["a", "c"], {"a": 0, "b": 1, "c": 2}).tolist()
    [[0, 1], [1, 1], [1, 0]]
    """
    try:
        group = np.array([groups[str(c)] for c in labels], dtype=np.int64)
    except KeyError as error:
        raise DecayInputError(f"desa {error.args[0]!r} has no leave-out group") from None
    n_groups = max(groups.values()) + 1 if groups else 0
    return (group[None, :] != np.arange(n_groups)[:, None]).astype(np.int64)


def counts_from_selections(selections: pd.DataFrame, *, interval: bool = True) -> list[CycleCounts]:
    """:class:`CycleCounts` of given lists (long frame ``system, cycle, years, cluster,
    target, selected``); each list stays as given in every leave-out."""
    _check(selections)
    groups = leave_out_groups(selections["cluster"].astype(str).unique())
    n_groups = max(groups.values()) + 1 if groups else 0
    group = selections["cluster"].astype(str).map(groups).to_numpy(np.int64)
    target = selections["target"].to_numpy().astype(bool)
    chosen = selections["selected"].to_numpy().astype(bool)
    cells = np.column_stack([target & chosen, target & ~chosen, ~target & chosen,
                             ~target & ~chosen]).astype(float)  # fmt: skip
    out = []
    for (system, cycle), rows in selections.groupby(["system", "cycle"], sort=True).indices.items():
        per_group = np.stack([np.bincount(group[rows], weights=cells[rows, j],
                                          minlength=n_groups) for j in range(4)], axis=1)  # fmt: skip
        full = per_group.sum(axis=0)
        leave_outs = full[None, :] - per_group if interval else np.zeros((0, 4))
        years = float(selections["years"].to_numpy()[rows[0]])
        out.append(CycleCounts(str(system), int(cycle), years, full, leave_outs))
    return out


def _as_counts(data: pd.DataFrame | Sequence[CycleCounts], interval: bool) -> list[CycleCounts]:
    if isinstance(data, pd.DataFrame):
        return counts_from_selections(data, interval=interval)
    return list(data) if interval else [
        CycleCounts(c.system, c.cycle, c.years, c.full, np.zeros((0, 4))) for c in data
    ]  # fmt: skip


def _by_system(counts: list[CycleCounts]) -> dict[str, list[CycleCounts]]:
    out: dict[str, list[CycleCounts]] = {}
    for item in sorted(counts, key=lambda c: c.cycle):
        out.setdefault(item.system, []).append(item)
    return out


def _interval(leave_outs: np.ndarray, estimate: float, level: float) -> tuple[float, float]:
    if not len(leave_outs):
        return float("nan"), float("nan")
    low, high = jackknife_t_interval(leave_outs[:, None], estimate, level)
    return float(low[0]), float(high[0])


def cycle_errors(
    data: pd.DataFrame | Sequence[CycleCounts],
    *,
    metrics: Sequence[str] = DECAY_METRICS,
    interval: bool = True,
    level: float = 0.95,
) -> pd.DataFrame:
    """Each system's error per cycle with its jackknife-t interval.

    Returns ``system, cycle, years, metric, estimate, ci_low, ci_high`` (intervals missing
    with ``interval=False``).
    """
    rows = []
    for system, items in _by_system(_as_counts(data, interval)).items():
        for metric in metrics:
            for item in items:
                estimate = float(_metric(item.full, metric))
                low, high = _interval(_metric(item.leave_outs, metric), estimate, level)
                rows.append({"system": system, "cycle": item.cycle, "years": item.years,
                             "metric": metric, "estimate": estimate, "ci_low": low,
                             "ci_high": high})  # fmt: skip
    return pd.DataFrame(rows)


def decay_per_year(
    data: pd.DataFrame | Sequence[CycleCounts],
    *,
    metrics: Sequence[str] = ("exclusion_error",),
    interval: bool = True,
    level: float = 0.95,
) -> pd.DataFrame:
    """Slope of each system's error against years, in percentage points a year.

    Positive = the error grows (the list goes stale). Returns ``system, metric,
    slope_pp_per_year, ci_low, ci_high, cycles, first, last`` (``first``/``last``: the
    error at the first and last cycle); the interval is the paired jackknife-t's.
    """
    rows = []
    for system, items in _by_system(_as_counts(data, interval)).items():
        years = np.array([item.years for item in items])
        for metric in metrics:
            point = np.array([float(_metric(item.full, metric)) for item in items])
            estimate = float(slope(years, point)) * 100
            low, high = float("nan"), float("nan")
            if all(len(item.leave_outs) for item in items):
                if len({len(item.leave_outs) for item in items}) > 1:
                    raise DecayInputError(
                        f"system {system!r}: leave-out replicates differ between cycles "
                        f"({[len(item.leave_outs) for item in items]}); use one leave_out_groups "
                        "over the desa of every cycle"
                    )
                values = np.column_stack([_metric(item.leave_outs, metric) for item in items])
                low, high = _interval(slope(years, values) * 100, estimate, level)
            rows.append({"system": system, "metric": metric, "slope_pp_per_year": estimate,
                         "ci_low": low, "ci_high": high, "cycles": len(items),
                         "first": float(point[0]), "last": float(point[-1])})  # fmt: skip
    return pd.DataFrame(rows)
