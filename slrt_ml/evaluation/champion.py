"""The champion rule: which model a run puts forward for scoring and the registry.

A model that is best by a hair of noise is not a finding. The rule, on the default view
of ``comparison.csv`` (the first ``view`` in it):

1. the *best* model has the lowest exclusion error at the reference's quota;
2. models whose ``exclusion_error_diff_vs_best`` (model minus best, paired cluster
   bootstrap) has a 95% interval containing 0 are *indistinguishable* from it;
3. among the best and those, the champion is the simplest by :data:`SIMPLICITY_ORDER`
   (``pmt_ols, logit, ebm, gbm, rf, mlp``; other names after these, alphabetically).

Without intervals (``--bootstrap 0``) the champion is the best model (ties by the lower
inclusion error, then by name). SIKS-NG (the reference) is never the champion.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from slrt_ml.evaluation.compare import SIKSNG

__all__ = ["SIMPLICITY_ORDER", "ChampionDecision", "champion_decision", "select_champion"]

#: Simplest first: a linear score a clerk can read, then additive, then ensembles, then deep.
SIMPLICITY_ORDER = ("pmt_ols", "logit", "ebm", "gbm", "rf", "mlp")
_BEST_DIFF = "exclusion_error_diff_vs_best"


@dataclass(frozen=True)
class ChampionDecision:
    """The champion, the best model by point estimate and those indistinguishable from it."""

    champion: str
    best: str
    indistinguishable: tuple[str, ...]  # best included; empty without intervals

    def sentence(self) -> str:
        """The decision in one sentence for the report."""
        if not self.indistinguishable:
            return (f"Champion: {self.champion}, the lowest exclusion error (no bootstrap "
                    "intervals, so no test of noise).")  # fmt: skip
        others = [m for m in self.indistinguishable if m != self.best]
        if not others:
            return (f"Champion: {self.champion}: its exclusion error is the lowest and every "
                    "other model's difference from it has a 95% interval above 0.")  # fmt: skip
        return (
            f"Champion: {self.champion}. {self.best} has the lowest exclusion error, but the "
            f"95% interval of the difference from it contains 0 for {', '.join(others)}; "
            "these are indistinguishable at this sample size, and the champion is the "
            f"simplest of them in the order {', '.join(SIMPLICITY_ORDER)}."
        )


def _simplicity(name: str) -> tuple[int, str]:
    rank = SIMPLICITY_ORDER.index(name) if name in SIMPLICITY_ORDER else len(SIMPLICITY_ORDER)
    return rank, name


def _default_view(comparison: pd.DataFrame) -> pd.DataFrame:
    if "view" not in comparison.columns or comparison.empty:
        return comparison
    return comparison[comparison["view"] == comparison["view"].iloc[0]]


def champion_decision(
    comparison: pd.DataFrame, models: list[str] | None = None
) -> ChampionDecision:
    """The champion with the reasons (see the module docstring for the rule).

    >>> rows = pd.DataFrame({"system": ["siksng", "logit", "gbm", "logit"],
    ...     "metric": ["exclusion_error"] * 3 + ["exclusion_error_diff_vs_best"],
    ...     "estimate": [0.5, 0.31, 0.3, 0.01], "ci_low": [None] * 3 + [-0.02],
    ...     "ci_high": [None] * 3 + [0.04]})
    >>> champion_decision(rows)
    ChampionDecision(champion='logit', best='gbm', indistinguishable=('logit', 'gbm'))
    """
    table = _default_view(comparison)
    wide = table.pivot_table(index="system", columns="metric", values="estimate", aggfunc="first")
    if "exclusion_error" not in wide.columns:
        raise ValueError("comparison.csv has no exclusion_error rows; run `slrt-ml compare` again")
    candidates = wide.drop(index=[SIKSNG], errors="ignore")
    if models is not None:
        candidates = candidates[candidates.index.isin(models)]
    candidates = candidates.dropna(subset=["exclusion_error"])
    if candidates.empty:
        raise ValueError(f"no model with an exclusion_error estimate among {models}")
    ranked = candidates.assign(
        inclusion_error=candidates.get("inclusion_error", pd.Series(0.0, index=candidates.index)),
        name=candidates.index,
    ).sort_values(["exclusion_error", "inclusion_error", "name"], na_position="last")
    best = str(ranked.index[0])
    diffs = table[table["metric"] == _BEST_DIFF].set_index("system")
    if diffs.empty or "ci_low" not in diffs or diffs[["ci_low", "ci_high"]].isna().all().all():
        return ChampionDecision(best, best, ())
    if best in diffs.index:  # the table's best is not a candidate: compare within candidates
        return ChampionDecision(best, best, ())
    close = [best] + [
        str(name) for name in ranked.index[1:]
        if name in diffs.index
        and diffs.at[name, "ci_low"] <= 0 <= diffs.at[name, "ci_high"]
    ]  # fmt: skip
    close = sorted(close, key=_simplicity)
    return ChampionDecision(close[0], best, tuple(close))


def select_champion(comparison: pd.DataFrame, models: list[str] | None = None) -> str:
    """The champion's name: the simplest model indistinguishable from the best.

    Parameters
    ----------
    comparison : DataFrame
        Long comparison table (``comparison.csv``): ``system, metric, estimate, ci_low,
        ci_high[, view]``.
    models : list of str, optional
        Candidate model names (those with a logged model); default every system but SIKS-NG.

    Raises
    ------
    ValueError
        When the table has no ``exclusion_error`` rows, or no candidate has an estimate.

    >>> rows = pd.DataFrame({"system": ["siksng", "logit", "gbm", "siksng", "logit", "gbm"],
    ...     "metric": ["exclusion_error"] * 3 + ["inclusion_error"] * 3,
    ...     "estimate": [0.5, 0.3, 0.3, 0.5, 0.35, 0.32]})
    >>> select_champion(rows)
    'gbm'
    """
    return champion_decision(comparison, models).champion
