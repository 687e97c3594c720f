"""Drift of a prelist against the training data: PSI per feature, unseen codes, range.

A *feature profile* summarises the training features (a JSON-ready dict): for a numeric
column the inner decile edges, the share of training households in each bin and the
training min/max; for a categorical column the share of each code. The prelist is
counted into the same bins chunk by chunk (:class:`DriftAccumulator`, memory does not
grow with the prelist), then compared:

- PSI = sum over bins of (a - e) * ln(a / e), shares floored at ``1e-4`` so empty bins
  stay finite. Rule of thumb: < 0.1 stable, 0.1-0.25 moderate, > 0.25 large (warned).
- unseen codes: categorical codes never seen in training (they score as "other");
- out of range: numeric values below the training minimum or above its maximum.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "PSI_WARNING",
    "population_stability_index",
    "feature_profile",
    "DriftAccumulator",
]

PSI_WARNING = 0.25
_FLOOR = 1e-4
_UNSEEN = "__unseen__"


def population_stability_index(expected, actual, *, floor: float = _FLOOR) -> float:
    """PSI between two distributions over the same bins (counts or shares).

    >>> round(population_stability_index([0.5, 0.5], [0.25, 0.75]), 4)
    0.2747
    >>> population_stability_index([10, 10], [3, 3])
    0.0
    """
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    e = np.maximum(e / e.sum() if e.sum() > 0 else e, floor)
    a = np.maximum(a / a.sum() if a.sum() > 0 else a, floor)
    return float(np.sum((a - e) * np.log(a / e)))


def _is_categorical(column: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(
        column.dtype
    )


def _numeric_profile(values: np.ndarray, bins: int) -> dict[str, Any]:
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return {"kind": "numeric", "edges": [], "expected": [0.0], "min": None, "max": None}
    edges = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))
    counts = np.bincount(np.searchsorted(edges, values, side="left"), minlength=len(edges) + 1)
    return {
        "kind": "numeric",
        "edges": edges.tolist(),
        "expected": (counts / counts.sum()).tolist(),
        "min": float(values.min()),
        "max": float(values.max()),
    }


def _levels(column: pd.Series) -> pd.Series:
    return column.astype(object).where(column.notna(), "__missing__").astype(str)


def _level_counts(column: pd.Series) -> pd.Series:
    """``_levels(column).value_counts()`` without turning every value into a Python str.

    >>> _level_counts(pd.Series(["2", None, "2"], dtype="string")).to_dict()
    {'2': 2, '__missing__': 1}
    """
    if not isinstance(column.dtype, pd.StringDtype):
        return _levels(column).value_counts()
    counts = column.value_counts(dropna=False)
    missing = counts.index.isna()
    if not missing.any():
        return counts
    labels = counts.index.astype(object).where(~missing, "__missing__")
    return counts.set_axis(labels).groupby(level=0, sort=False).sum()


def _bin_counts(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``np.bincount(np.searchsorted(edges, values, side="left"))`` over ``len(edges) + 1``
    bins, by one vectorised comparison per edge (bin i holds edges[i-1] < v <= edges[i]).

    >>> _bin_counts(np.array([1.0, 2.0]), np.array([0.5, 1.0, 1.5, 2.0, 3.0])).tolist()
    [2, 2, 1]
    """
    at_or_below = [np.count_nonzero(values <= edge) for edge in edges]
    return np.diff(np.array([0, *at_or_below, len(values)], dtype=np.int64))


def feature_profile(features: pd.DataFrame, *, bins: int = 10) -> dict[str, dict[str, Any]]:
    """Training distribution of every feature column, for later drift checks.

    >>> p = feature_profile(pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0],
    ...                                   "lantai": pd.array(["9", "9", "2", "9"], dtype="string")}),
    ...                     bins=2)
    >>> p["x"]["edges"], p["x"]["expected"], p["lantai"]["expected"]
    ([2.5], [0.5, 0.5], {'2': 0.25, '9': 0.75})
    """
    profile = {}
    for name in features.columns:
        column = features[name]
        if _is_categorical(column):
            shares = _levels(column).value_counts(normalize=True).sort_index()
            profile[str(name)] = {"kind": "categorical", "expected": shares.to_dict()}
        else:
            profile[str(name)] = _numeric_profile(column.to_numpy(dtype=float), bins)
    return profile


class DriftAccumulator:
    """Count prelist features into the profile's bins, chunk by chunk; then report.

    >>> acc = DriftAccumulator({"x": {"kind": "numeric", "edges": [2.5],
    ...                               "expected": [0.5, 0.5], "min": 1.0, "max": 4.0}})
    >>> acc.add(pd.DataFrame({"x": [1.0, 2.0, 3.0, 9.0]}))
    >>> acc.report()[["feature", "psi", "n_out_of_range"]].to_dict("records")
    [{'feature': 'x', 'psi': 0.0, 'n_out_of_range': 1}]
    """

    def __init__(self, profile: dict[str, dict[str, Any]]) -> None:
        self.profile = profile
        self.counts: dict[str, Any] = {}
        self.out_of_range: dict[str, int] = {name: 0 for name in profile}
        self.missing_columns: set[str] = set()

    def add(self, features: pd.DataFrame) -> None:
        """Add one chunk of prelist features (columns as in training)."""
        for name, spec in self.profile.items():
            if name not in features.columns:
                self.missing_columns.add(name)
                continue
            if spec["kind"] == "categorical":
                self._add_categorical(name, spec, features[name])
            else:
                self._add_numeric(name, spec, features[name].to_numpy(dtype=float))

    def _add_numeric(self, name: str, spec: dict, values: np.ndarray) -> None:
        finite = np.isfinite(values)
        finite = values if finite.all() else values[finite]
        counts = _bin_counts(np.asarray(spec["edges"], dtype=float), finite)
        self.counts[name] = self.counts.get(name, 0) + counts
        if spec["min"] is not None and len(finite):
            if finite.min() < spec["min"] or finite.max() > spec["max"]:
                outside = (finite < spec["min"]) | (finite > spec["max"])
                self.out_of_range[name] += int(outside.sum())

    def _add_categorical(self, name: str, spec: dict, column: pd.Series) -> None:
        counts = _level_counts(column)
        seen = self.counts.setdefault(name, {})
        for level, count in counts.items():
            seen[level] = seen.get(level, 0) + int(count)

    def state(self) -> dict[str, Any]:
        """JSON-ready counts so far (saved beside each finished chunk for a resume)."""
        counts = {k: v if isinstance(v, dict) else v.tolist() for k, v in self.counts.items()}
        return {"counts": counts, "out_of_range": dict(self.out_of_range)}

    def merge(self, state: dict[str, Any]) -> None:
        """Add counts saved by :meth:`state` (from a finished chunk of an earlier run)."""
        for name, value in state["counts"].items():
            if isinstance(value, dict):
                seen = self.counts.setdefault(name, {})
                for level, count in value.items():
                    seen[level] = seen.get(level, 0) + int(count)
            else:
                self.counts[name] = self.counts.get(name, 0) + np.asarray(value)
        for name, count in state["out_of_range"].items():
            self.out_of_range[name] = self.out_of_range.get(name, 0) + int(count)

    def report(self) -> pd.DataFrame:
        """``feature, kind, psi, n_unseen, unseen_codes, n_out_of_range, large_drift``."""
        rows = [self._row(name, spec) for name, spec in self.profile.items() if name in self.counts]
        return pd.DataFrame(
            rows,
            columns=[
                "feature",
                "kind",
                "psi",
                "n_unseen",
                "unseen_codes",
                "n_out_of_range",
                "large_drift",
            ],
        )

    def _row(self, name: str, spec: dict) -> dict[str, Any]:
        unseen_codes: list[str] = []
        if spec["kind"] == "categorical":
            seen = self.counts[name]
            levels = list(spec["expected"])
            unseen_codes = sorted(level for level in seen if level not in spec["expected"])
            expected = [spec["expected"][lv] for lv in levels] + [0.0]
            actual = [seen.get(lv, 0) for lv in levels] + [sum(seen[u] for u in unseen_codes)]
            n_unseen = int(actual[-1])
        else:
            expected, actual, n_unseen = spec["expected"], self.counts[name], 0
        psi = round(population_stability_index(expected, actual), 6)
        return {
            "feature": name,
            "kind": spec["kind"],
            "psi": psi,
            "n_unseen": n_unseen,
            "unseen_codes": ",".join(unseen_codes[:10]),
            "n_out_of_range": int(self.out_of_range.get(name, 0)),
            "large_drift": psi > PSI_WARNING,
        }
