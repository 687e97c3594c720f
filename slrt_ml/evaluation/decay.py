"""How fast a list goes stale: errors per cycle and their slope per year, with intervals.

Input is a long frame of selections over cycles: one row per household, cycle and system
(``system, cycle, years, cluster, target, selected``; ``years`` = time of the cycle in
years). Households change between cycles (births, deaths, new households), but the
clusters (desa) stay, so the interval comes from one **paired cluster bootstrap**: every
replicate draws desa with replacement once and uses the same draw in every cycle and for
every system, recomputes each cycle's error and fits the least-squares slope of error
against years. The interval is the 2.5-97.5 percentile range of the replicate slopes
(errors per cycle likewise).

Metrics (denominators as DESIGN §5):

- ``exclusion_error`` = target not selected / target;
- ``inclusion_error`` = non-target selected / selected;
- ``mistargeting`` = (non-target selected + target not selected) / households
  (1 - accuracy: Aiken, Ohlenburg & Blumenstock 2023 report accuracy falling 1.5-1.9
  percentage points a year).

>>> frame = pd.DataFrame({
...     "system": "s", "cycle": [0, 0, 1, 1], "years": [0.0, 0.0, 0.5, 0.5],
...     "cluster": ["a", "b", "a", "b"], "target": [1, 1, 1, 1], "selected": [1, 1, 1, 0]})
>>> decay_per_year(frame, bootstrap=0)[["system", "metric", "slope_pp_per_year"]]
  system           metric  slope_pp_per_year
0      s  exclusion_error              100.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["DECAY_METRICS", "cycle_errors", "decay_per_year", "slope"]

DECAY_METRICS = ("exclusion_error", "inclusion_error", "mistargeting")
_COLUMNS = ("system", "cycle", "years", "cluster", "target", "selected")


class DecayInputError(ValueError):
    """The selections frame lacks a column or mixes years within a cycle."""


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


def _parts(target: np.ndarray, selected: np.ndarray, metric: str) -> tuple:
    """Numerator and denominator indicators of ``metric`` per household."""
    if metric == "exclusion_error":
        return target & ~selected, target
    if metric == "inclusion_error":
        return selected & ~target, selected
    if metric == "mistargeting":
        return target != selected, np.ones(len(target), dtype=bool)
    raise DecayInputError(f"unknown decay metric {metric!r}; choose one of {DECAY_METRICS}")


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


def _cluster_sums(frame, metric, clusters) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per cycle (rows) and cluster (columns): numerator and denominator sums; the years."""
    cycles = np.sort(frame["cycle"].unique())
    code = pd.Categorical(frame["cluster"].astype(str), categories=clusters).codes
    num = np.zeros((len(cycles), len(clusters)))
    den = np.zeros((len(cycles), len(clusters)))
    years = np.zeros(len(cycles))
    cycle_values = frame["cycle"].to_numpy()
    target = frame["target"].to_numpy().astype(bool)
    selected = frame["selected"].to_numpy().astype(bool)
    for i, c in enumerate(cycles):
        rows = cycle_values == c
        a, b = _parts(target[rows], selected[rows], metric)
        num[i] = np.bincount(code[rows], weights=a, minlength=len(clusters))
        den[i] = np.bincount(code[rows], weights=b, minlength=len(clusters))
        years[i] = frame.loc[rows, "years"].iloc[0]
    return num, den, years


def _draws(n_clusters: int, bootstrap: int, seed: int) -> np.ndarray:
    """Replicate weights: how often each cluster is drawn (rows = replicates)."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_clusters, np.full(n_clusters, 1 / n_clusters), size=bootstrap)


def _replicates(frame, metrics, bootstrap, seed):
    """{(system, metric): (cycles, years, point errors, replicate errors (B x cycles))}."""
    _check(frame)
    clusters = np.sort(frame["cluster"].astype(str).unique())
    draws = _draws(len(clusters), bootstrap, seed).astype(float) if bootstrap else None
    out = {}
    for system, part in frame.groupby("system", sort=False):
        for metric in metrics:
            num, den, years = _cluster_sums(part, metric, clusters)
            with np.errstate(divide="ignore", invalid="ignore"):
                point = num.sum(axis=1) / den.sum(axis=1)
                reps = (draws @ num.T) / (draws @ den.T) if draws is not None else None
            cycles = np.sort(part["cycle"].unique())
            out[(system, metric)] = (cycles, years, point, reps)
    return out


def _interval(values: np.ndarray, level: float) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if not len(values):
        return float("nan"), float("nan")
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def cycle_errors(
    selections: pd.DataFrame,
    *,
    metrics: Sequence[str] = DECAY_METRICS,
    bootstrap: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Each system's error per cycle with a paired cluster-bootstrap interval.

    Returns ``system, cycle, years, metric, estimate, ci_low, ci_high`` (intervals missing
    when ``bootstrap`` is 0).
    """
    rows = []
    for (system, metric), (cycles, years, point, reps) in _replicates(
        selections, metrics, bootstrap, seed
    ).items():
        for i, cycle in enumerate(cycles):
            low, high = _interval(reps[:, i], level) if reps is not None else (np.nan, np.nan)
            rows.append({"system": system, "cycle": int(cycle), "years": float(years[i]),
                         "metric": metric, "estimate": float(point[i]), "ci_low": low,
                         "ci_high": high})  # fmt: skip
    return pd.DataFrame(rows)


def decay_per_year(
    selections: pd.DataFrame,
    *,
    metrics: Sequence[str] = ("exclusion_error",),
    bootstrap: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Slope of each system's error against years, in percentage points a year.

    Positive = the error grows (the list goes stale). Returns ``system, metric,
    slope_pp_per_year, ci_low, ci_high, cycles, first, last`` (``first``/``last``: the
    error at the first and last cycle); the interval is the paired cluster bootstrap's.
    """
    rows = []
    for (system, metric), (cycles, years, point, reps) in _replicates(
        selections, metrics, bootstrap, seed
    ).items():
        estimate = float(slope(years, point)) * 100
        low, high = (np.nan, np.nan)
        if reps is not None:
            low, high = _interval(slope(years, reps) * 100, level)
        rows.append({"system": system, "metric": metric, "slope_pp_per_year": estimate,
                     "ci_low": low, "ci_high": high, "cycles": len(cycles),
                     "first": float(point[0]), "last": float(point[-1])})  # fmt: skip
    return pd.DataFrame(rows)
