"""Latent-variable draws shared by the synthetic registry's member and housing models.

An item is drawn as a category of a latent score ``rho * z + noise`` cut at standard-normal
quantiles, so its marginal shares match the table given whatever ``rho`` (how strongly it
follows the household's hidden prosperity ``z``) is.

>>> import numpy as np
>>> idx = cut(np.array([-3.0, 0.0, 3.0]), np.array([0.2, 0.6, 0.2]))
>>> idx.tolist()  # category 0 is the best (highest latent score)
[2, 1, 0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri


def ordinal(rng, z, shares, rho):
    """Current and latent score of an item: category index 0 = best (first of ``shares``)."""
    latent = rho * z + np.sqrt(1 - rho**2) * rng.standard_normal(len(z))
    return cut(latent, shares), latent


def cut(latent: np.ndarray, shares) -> np.ndarray:
    # higher latent = better = lower index; cut points from the standard normal
    cum = np.cumsum(shares[::-1])[:-1] / np.sum(shares)
    worst_first = np.searchsorted(ndtri(cum), latent)
    return len(shares) - 1 - worst_first


def choice_rows(rng, probs: np.ndarray) -> np.ndarray:
    """One category per row from a (rows, categories) probability matrix."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs))[:, None] * cum[:, -1:]
    return (u > cum).sum(axis=1)


def choice_groups(rng, group: np.ndarray, table: np.ndarray) -> np.ndarray:
    """One category per row from the probability row ``table[group]`` (few distinct rows:
    an inverse-CDF lookup per group instead of a rows x categories cumulative sum).

    >>> choice_groups(np.random.default_rng(0), np.array([0, 1, 1]), np.array([[1.0, 0], [0, 1]])).tolist()
    [0, 1, 1]
    """
    cum = np.cumsum(table, axis=1)
    cum = cum / cum[:, -1:]
    u = rng.random(len(group))
    out = np.empty(len(group), dtype=np.int64)
    for g in range(len(table)):
        rows = group == g
        out[rows] = np.searchsorted(cum[g], u[rows], side="left")
    return np.minimum(out, table.shape[1] - 1)


def choice(rng, n: int, probs) -> np.ndarray:
    p = np.asarray(probs, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


@dataclass
class Staleness:
    """Turns a latent score into the one the registry saw years ago, plus entry errors."""

    rng: np.random.Generator
    rho: float
    error: float

    def drift(self, latent: np.ndarray) -> np.ndarray:
        return self.rho * latent + np.sqrt(1 - self.rho**2) * self.rng.standard_normal(len(latent))

    def __call__(self, idx: np.ndarray, n_codes: int) -> np.ndarray:
        wrong = self.rng.random(len(idx)) < self.error
        return np.where(wrong, self.rng.integers(0, n_codes, len(idx)), idx)


def by_household(hh, n, values) -> np.ndarray:
    return np.bincount(hh, weights=values, minlength=n)
