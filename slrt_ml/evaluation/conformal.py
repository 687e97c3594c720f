"""Split-conformal prediction sets for "poor", per group (Mondrian), from any model's score.

A score ranks households; it does not say which ones the model cannot tell apart. A
conformal prediction set does, with a guarantee: for a new household exchangeable with the
calibration households *of its group*, the set contains its true label with probability at
least ``1 - alpha``. Here:

- the score is the model's probability of being poor ``p`` (the run's Platt calibration
  of the margin, ``prob_poor``), so any model works;
- nonconformity of label ``y`` is ``1 - P(y)``: ``p`` for "not poor", ``1 - p`` for "poor";
- Mondrian by group (kecamatan, or urban/rural): each group's households are calibrated
  on that group's calibration households only, so the guarantee holds per group;
- the library is crepes (Boström, ``crepes.ConformalClassifier`` with ``bins`` = groups),
  without smoothing, so a household's set never depends on a random draw (coverage is
  then at least ``1 - alpha``, by at most ``1 / (n_group + 1)`` more);
- a group unseen at calibration is calibrated on all calibration households (pooled);
- ``needs_verification``: the set is not a single label (both labels plausible, or none).

The calibration is data (the nonconformity scores and groups, JSON via
:meth:`MondrianConformal.to_dict`), never pickled code.

>>> cal = MondrianConformal().fit(np.array([0.9, 0.8, 0.2, 0.1, 0.7, 0.3]),
...                               np.array([1, 1, 0, 0, 0, 1]), np.array(["a"] * 6))
>>> cal.predict_set(np.array([0.95, 0.5]), np.array(["a", "a"]), alpha=0.2).tolist()
[[0, 1], [1, 1]]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "GROUPINGS",
    "MondrianConformal",
    "coverage_by_group",
    "set_labels",
]

#: How households are grouped: by kecamatan code, or urban/rural.
GROUPINGS = ("kecamatan", "urban")
_POOLED = "__pooled__"


def _nonconformity(prob_poor: np.ndarray) -> np.ndarray:
    """(n x 2) nonconformity of the labels (0 not poor, 1 poor): ``1 - P(label)``."""
    p = np.asarray(prob_poor, np.float64)
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError(
            f"prob_poor must be probabilities in [0, 1] without missing values; got "
            f"{int(np.isnan(p).sum())} missing, min {np.nanmin(p)}, max {np.nanmax(p)}"
        )
    return np.column_stack([p, 1 - p])


class MondrianConformal:
    """Split-conformal classifier for poor / not poor, calibrated per group.

    ``fit`` stores the calibration nonconformity scores (``alphas_``, ``groups_``);
    ``predict_set`` returns an (n x 2) 0/1 array: column 0 "not poor", column 1 "poor".
    """

    def fit(self, prob_poor: Any, poor: Any, groups: Any) -> MondrianConformal:
        """Calibrate on households not used to fit the model (held out or out-of-fold)."""
        scores = _nonconformity(prob_poor)
        labels = np.asarray(poor).astype(int)
        if not np.isin(labels, (0, 1)).all() or len(labels) != len(scores):
            raise ValueError(
                f"poor must be 0/1 with one value per household ({len(scores)}), got "
                f"{len(labels)} values, e.g. {np.unique(labels)[:5].tolist()}"
            )
        self.alphas_ = scores[np.arange(len(labels)), labels]
        self.groups_ = np.asarray(groups).astype(str)
        if len(self.groups_) != len(labels):
            raise ValueError(f"groups has {len(self.groups_)} values for {len(labels)} households")
        return self

    def _classifiers(self) -> tuple[Any, Any]:
        from crepes import ConformalClassifier  # slow to import: only when used

        if not hasattr(self, "alphas_"):
            raise ValueError("MondrianConformal is not calibrated: call fit or from_dict first")
        by_group = ConformalClassifier().fit(self.alphas_, bins=self.groups_)
        pooled = ConformalClassifier().fit(self.alphas_)
        return by_group, pooled

    def predict_set(self, prob_poor: Any, groups: Any, *, alpha: float) -> np.ndarray:
        """(n x 2) 0/1 prediction sets at level ``1 - alpha`` (columns: not poor, poor)."""
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1) (0.1 = 90% coverage), got {alpha}")
        scores = _nonconformity(prob_poor)
        groups = np.asarray(groups).astype(str)
        by_group, pooled = self._classifiers()
        known = np.isin(groups, np.unique(self.groups_))
        out = np.zeros((len(scores), 2), np.int64)
        if known.any():
            out[known] = by_group.predict_set(scores[known], bins=groups[known],
                                              confidence=1 - alpha, smoothing=False)  # fmt: skip
        if (~known).any():
            out[~known] = pooled.predict_set(scores[~known], confidence=1 - alpha, smoothing=False)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data: nonconformity scores by group (sorted), no code."""
        frame = pd.DataFrame({"group": self.groups_, "alpha": self.alphas_})
        return {"method": "split-conformal, Mondrian (crepes)", "nonconformity": "1 - P(label)",
                "groups": {str(g): np.sort(rows["alpha"].to_numpy()).round(8).tolist()
                           for g, rows in frame.groupby("group", sort=True)}}  # fmt: skip

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> MondrianConformal:
        """The inverse of :meth:`to_dict`; checks the numbers are nonconformity scores."""
        groups = payload.get("groups")
        if not isinstance(groups, dict) or not groups:
            raise ValueError("conformal calibration has no 'groups' {group: [scores]}")
        alphas = np.concatenate([np.asarray(v, np.float64) for v in groups.values()])
        if np.isnan(alphas).any() or (alphas < 0).any() or (alphas > 1).any():
            raise ValueError("conformal calibration scores must be numbers in [0, 1]")
        self = cls()
        self.alphas_ = alphas
        self.groups_ = np.concatenate([[g] * len(v) for g, v in groups.items()]).astype(str)
        return self


def set_labels(sets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(``prediction_set`` text, ``needs_verification``) from (n x 2) 0/1 sets.

    >>> labels, verify = set_labels(np.array([[0, 1], [1, 1], [1, 0], [0, 0]]))
    >>> labels.tolist(), verify.tolist()
    (['poor', 'not_poor|poor', 'not_poor', ''], [False, True, False, True])
    """
    sets = np.asarray(sets).astype(bool)
    text = np.array(["", "poor", "not_poor", "not_poor|poor"], dtype=object)
    labels = text[sets[:, 0] * 2 + sets[:, 1]]
    return labels, sets.sum(axis=1) != 1


def coverage_by_group(sets: np.ndarray, poor: Any, groups: Any) -> pd.DataFrame:
    """Per group: households, coverage (true label in the set), mean set size, share to verify.

    Denominator: the group's households. Overall row ``group = "all"`` first.

    >>> coverage_by_group(np.array([[0, 1], [1, 1], [1, 0]]), [1, 0, 1], ["a", "a", "b"])
      group  n  coverage  set_size  needs_verification
    0   all  3  0.666667  1.333333            0.333333
    1     a  2  1.000000  1.500000            0.500000
    2     b  1  0.000000  1.000000            0.000000
    """
    sets = np.asarray(sets).astype(bool)
    y = np.asarray(poor).astype(int)
    frame = pd.DataFrame({
        "group": np.asarray(groups).astype(str),
        "covered": sets[np.arange(len(y)), y],
        "size": sets.sum(axis=1),
        "verify": sets.sum(axis=1) != 1,
    })  # fmt: skip

    def summary(rows: pd.DataFrame) -> dict:
        return {"n": len(rows), "coverage": rows["covered"].mean(), "set_size": rows["size"].mean(),
                "needs_verification": rows["verify"].mean()}  # fmt: skip

    parts = [{"group": "all", **summary(frame)}]
    parts += [{"group": g, **summary(rows)} for g, rows in frame.groupby("group", sort=True)]
    return pd.DataFrame(parts)
