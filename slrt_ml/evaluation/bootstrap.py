"""Paired bootstrap clustered by desa, vectorised.

Each household's contribution to a metric is a weighted confusion count, so a
replicate's totals are a weighted sum of per-cluster totals: draw a (B x K) matrix of
cluster multiplicities (how often each of K desa is drawn in each of B replicates) and
multiply it with the (K x columns) matrix of per-cluster totals. Every system's columns
sit in the same matrix, so every system is measured on the same draw (a *paired*
bootstrap), and differences between systems get their own intervals.

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

__all__ = [
    "cluster_totals",
    "cluster_multiplicities",
    "replicate_totals",
    "percentile_interval",
]


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


def percentile_interval(
    replicates: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over the first axis, ignoring replicates where a metric is undefined.

    >>> low, high = percentile_interval(np.arange(101.0)[:, None])
    >>> round(float(low[0]), 6), round(float(high[0]), 6)
    (2.5, 97.5)
    """
    tail = (1 - level) / 2 * 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: metric undefined
        low, high = np.nanpercentile(replicates, [tail, 100 - tail], axis=0)
    return low, high
