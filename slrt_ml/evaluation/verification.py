"""The verification-budget curve: errors left after the field team checks K households.

A list built from scores has errors; field verification (*verivali*) fixes the households
it visits. Model: visiting a household reveals the truth, so after the visit it is listed
if and only if it is in the target group (poor and eligible now). After visiting the first
``K`` eligible households of a *priority order*:

- exclusion error = target not listed / target (visits add missed target households),
- inclusion error = non-target listed / listed (visits drop non-target households),

so the list size moves with the fixes (no quota is re-imposed). Orders compared:

- ``priority_rule``: the current rule of batch scoring
  (:func:`slrt_ml.targeting.priority.verification_priority`): closest to the cut-off first;
- ``conformal_first``: households whose conformal prediction set is not a single label
  first (:mod:`slrt_ml.evaluation.conformal`), then the rest; within each, the least
  certain probability first (``|p - 0.5|`` ascending);
- ``random``: a seeded random order (what unguided visits achieve).

:func:`visits_to_cut` reads off how many visits cut exclusion error by a number of points.

>>> curve = verification_curve(np.array([1, 1, 0, 0]), np.array([1, 0, 1, 0]),
...                            {"o": np.array([1, 2, 0, 3])}, steps=[0, 1, 2])
>>> curve[["visits", "exclusion_error", "inclusion_error"]].values.tolist()
[[0.0, 0.5, 0.5], [1.0, 0.0, 0.3333333333333333], [2.0, 0.0, 0.0]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from slrt_ml.targeting.priority import verification_priority

__all__ = [
    "conformal_first_order",
    "priority_rule_order",
    "random_order",
    "verification_curve",
    "visits_to_cut",
]


def priority_rule_order(
    score: np.ndarray, selected: np.ndarray, eligible: np.ndarray
) -> np.ndarray:
    """Eligible households (indices) in the current priority order: nearest the cut-off first."""
    candidates = np.flatnonzero(np.asarray(eligible, bool))
    s = np.asarray(score, float)[candidates]
    rank = np.empty(len(candidates), np.int64)
    rank[np.lexsort((np.arange(len(s)), -s))] = np.arange(1, len(s) + 1)
    quota = int(np.asarray(selected, bool)[candidates].sum())
    n = len(candidates)
    priority = verification_priority(rank, np.full(n, quota), np.full(n, n))
    return candidates[np.argsort(priority, kind="stable")]


def conformal_first_order(
    prob_poor: np.ndarray, needs_verification: np.ndarray, eligible: np.ndarray
) -> np.ndarray:
    """Eligible households: conformal-uncertain first, then by ``|p - 0.5|`` ascending."""
    candidates = np.flatnonzero(np.asarray(eligible, bool))
    doubt = np.abs(np.asarray(prob_poor, float)[candidates] - 0.5)
    certain = ~np.asarray(needs_verification, bool)[candidates]
    return candidates[np.lexsort((np.arange(len(candidates)), doubt, certain))]


def random_order(eligible: np.ndarray, seed: int = 0) -> np.ndarray:
    """Eligible households in a seeded random order."""
    candidates = np.flatnonzero(np.asarray(eligible, bool))
    return np.random.default_rng(seed).permutation(candidates)


def verification_curve(
    target: np.ndarray,
    selected: np.ndarray,
    orders: Mapping[str, np.ndarray],
    *,
    steps: Sequence[int] | None = None,
    sample_weight: np.ndarray | None = None,
) -> pd.DataFrame:
    """Exclusion and inclusion error after the first K visits of each order.

    Parameters
    ----------
    target, selected : 0/1 per household (the truth's target group, the list before visits).
    orders : order name -> household indices in visiting order (each at most once).
    steps : visit counts K to report (default 0 to the longest order, 400 steps).
    sample_weight : household weights (persons), default one.

    Returns ``order, visits, exclusion_error, inclusion_error, listed`` (weighted).
    """
    t = np.asarray(target, bool)
    s = np.asarray(selected, bool)
    w = np.ones(len(t)) if sample_weight is None else np.asarray(sample_weight, float)
    if steps is None:
        longest = max((len(o) for o in orders.values()), default=0)
        steps = np.unique(np.linspace(0, longest, 401).round().astype(int))
    rows = []
    for name, order in orders.items():
        order = np.asarray(order, np.int64)
        if len(np.unique(order)) != len(order):
            raise ValueError(f"verification order {name!r} visits a household twice")
        missed = np.r_[0.0, np.cumsum((w * (t & ~s))[order])]  # visits that add a target
        dropped = np.r_[0.0, np.cumsum((w * (~t & s))[order])]  # visits that drop a non-target
        k = np.minimum(np.asarray(steps), len(order))
        target_listed = np.sum(w * (t & s)) + missed[k]
        wrong_listed = np.sum(w * (~t & s)) - dropped[k]
        listed = target_listed + wrong_listed
        with np.errstate(invalid="ignore", divide="ignore"):
            ee = 1 - target_listed / np.sum(w * t)
            ie = np.where(listed > 0, wrong_listed / np.where(listed > 0, listed, 1), np.nan)
        rows.append(pd.DataFrame({"order": name, "visits": np.asarray(steps, float),
                                  "exclusion_error": ee, "inclusion_error": ie,
                                  "listed": listed}))  # fmt: skip
    return pd.concat(rows, ignore_index=True)


def visits_to_cut(curve: pd.DataFrame, points: float = 0.10) -> dict[str, float]:
    """Per order: the fewest visits on the curve that cut exclusion error by ``points``
    (NaN when no step does).

    >>> curve = pd.DataFrame({"order": ["o"] * 3, "visits": [0, 5, 10],
    ...                       "exclusion_error": [0.5, 0.45, 0.39]})
    >>> visits_to_cut(curve)
    {'o': 10.0}
    """
    out = {}
    for name, rows in curve.groupby("order", sort=False):
        rows = rows.sort_values("visits")
        start = rows["exclusion_error"].iloc[0]
        hit = rows[rows["exclusion_error"] <= start - points + 1e-12]
        out[str(name)] = float(hit["visits"].iloc[0]) if len(hit) else float("nan")
    return out
