"""Ranking metrics (ROC-AUC, PR-AUC, Spearman against welfare) on every bootstrap replicate.

A replicate is the data with each household weighted by ``weight x m`` (``m`` = how often
its desa was drawn), so each metric is its weighted form from
:mod:`slrt_ml.evaluation.metrics` with those weights. The households are sorted by score
once; every replicate then needs only gathers and cumulative sums along that order,
computed for a block of replicates at a time (a replicates x households array).

>>> score = np.array([0.9, 0.8, 0.7, 0.1])
>>> ranking = ScoreRanking.from_scores(score, np.array([1, 0, 1, 0], bool), np.ones(4))
>>> draws = np.array([[1, 1], [2, 0]])  # desa 0 = households 0, 1; desa 1 = 2, 3
>>> values = ranking.replicates(draws, np.array([0, 0, 1, 1]))
>>> values["roc_auc"].tolist()  # all once: roc_auc([1, 0, 1, 0], score) = 0.75
[0.75, 1.0]
>>> values["pr_auc"].round(6).tolist()
[0.833333, 1.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from slrt_ml.evaluation.reselection import row_chunks

__all__ = ["ScoreRanking", "WelfareRanking"]


def _tie_starts(sorted_values: np.ndarray) -> np.ndarray | None:
    """Start of every block of equal values, or ``None`` when all values differ."""
    starts = np.r_[0, np.flatnonzero(sorted_values[1:] != sorted_values[:-1]) + 1]
    return None if len(starts) == len(sorted_values) else starts


def _blocks(values: np.ndarray, starts: np.ndarray | None) -> np.ndarray:
    return values if starts is None else np.add.reduceat(values, starts, axis=1)


@dataclass(frozen=True)
class ScoreRanking:
    """A score's households sorted ascending, with their target and weights in that order."""

    order: np.ndarray
    positive: np.ndarray  # weight x target, in score order
    negative: np.ndarray  # weight x non-target, in score order
    starts: np.ndarray | None  # tie blocks

    @classmethod
    def from_scores(
        cls, score: np.ndarray, target: np.ndarray, weights: np.ndarray
    ) -> ScoreRanking:
        """Sort once (ascending score)."""
        order = np.argsort(score, kind="stable")
        w, t = weights[order], target[order]
        return cls(order, w * t, w * ~t, _tie_starts(score[order]))

    def replicates(self, draws: np.ndarray, cluster: np.ndarray) -> dict[str, np.ndarray]:
        """``roc_auc`` and ``pr_auc`` per replicate (``nan`` where one group is empty).

        ROC-AUC: weighted Mann-Whitney, (pairs target above non-target + half the ties) /
        (target weight x non-target weight). PR-AUC: average precision, sum over score
        thresholds (descending) of recall gained x precision there.
        """
        position_cluster = cluster[self.order]
        roc, pr = np.empty(len(draws)), np.empty(len(draws))
        for rows in row_chunks(len(draws), len(self.order)):
            copies = draws[rows][:, position_cluster].astype(np.float64)
            pos = _blocks(copies * self.positive, self.starts)
            neg = _blocks(copies * self.negative, self.starts)
            total_pos, total_neg = pos.sum(axis=1), neg.sum(axis=1)
            below = np.cumsum(neg, axis=1) - neg
            with np.errstate(invalid="ignore", divide="ignore"):
                roc[rows] = np.sum(pos * (below + 0.5 * neg), axis=1) / (total_pos * total_neg)
                # precision at each block = positives / all at or above it (descending score)
                above_pos = total_pos[:, None] - np.cumsum(pos, axis=1) + pos
                above_all = above_pos + total_neg[:, None] - np.cumsum(neg, axis=1) + neg
                precision = np.where(pos > 0, above_pos / np.where(above_all > 0, above_all, 1), 0)
                pr[rows] = np.sum(pos * precision, axis=1) / total_pos
            roc[rows] = np.where((total_pos > 0) & (total_neg > 0), roc[rows], np.nan)
        return {"roc_auc": roc, "pr_auc": pr}


def _weighted_midranks(
    copies: np.ndarray, weights: np.ndarray, starts: np.ndarray | None
) -> np.ndarray:
    """Mid-ranks on the cumulative-weight scale along an already sorted axis."""
    w = copies * weights
    if starts is None:
        return np.cumsum(w, axis=1) - 0.5 * w
    block = _blocks(w, starts)
    end = np.cumsum(block, axis=1)
    mid = end - 0.5 * block
    sizes = np.diff(np.r_[starts, w.shape[1]])
    return np.repeat(mid, sizes, axis=1)


@dataclass(frozen=True)
class WelfareRanking:
    """What Spearman against welfare needs on every replicate: both orders of the households
    with known welfare, sorted once."""

    known: np.ndarray  # households with known welfare
    score_order: np.ndarray  # positions into ``known`` sorted by score
    score_starts: np.ndarray | None
    welfare_order: np.ndarray  # positions into ``known`` sorted by -welfare
    welfare_starts: np.ndarray | None
    weights: np.ndarray  # of the known households

    @classmethod
    def from_scores(
        cls, score: np.ndarray, welfare: np.ndarray, weights: np.ndarray
    ) -> WelfareRanking:
        """Sort the households with known welfare by score and by minus welfare."""
        known = np.flatnonzero(~np.isnan(welfare))
        s, y = score[known], -welfare[known]
        by_score, by_welfare = np.argsort(s, kind="stable"), np.argsort(y, kind="stable")
        return cls(
            known, by_score, _tie_starts(s[by_score]), by_welfare, _tie_starts(y[by_welfare]),
            weights[known],
        )  # fmt: skip

    def replicates(self, draws: np.ndarray, cluster: np.ndarray) -> np.ndarray:
        """Weighted Spearman (weighted mid-ranks, weighted Pearson) per replicate."""
        out = np.full(len(draws), np.nan)
        if len(self.known) < 2:
            return out
        known_cluster = cluster[self.known]
        for rows in row_chunks(len(draws), len(self.known)):
            copies = draws[rows][:, known_cluster].astype(np.float64)
            x = np.empty_like(copies)
            x[:, self.score_order] = _weighted_midranks(
                copies[:, self.score_order], self.weights[self.score_order], self.score_starts
            )
            y = np.empty_like(copies)
            y[:, self.welfare_order] = _weighted_midranks(
                copies[:, self.welfare_order], self.weights[self.welfare_order], self.welfare_starts
            )
            v = copies * self.weights
            total = v.sum(axis=1, keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                x -= np.sum(v * x, axis=1, keepdims=True) / total
                y -= np.sum(v * y, axis=1, keepdims=True) / total
                spread = np.sqrt(np.sum(v * x * x, axis=1) * np.sum(v * y * y, axis=1))
                out[rows] = np.where(spread > 0, np.sum(v * x * y, axis=1) / spread, np.nan)
        return out
