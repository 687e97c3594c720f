"""The champion rule: which model a run puts forward for scoring and the registry.

The champion is the model with the lowest exclusion error at SIKS-NG's quota (the poor
households it would leave out), ties broken by the lower inclusion error, then by name.
SIKS-NG itself is the reference, never the champion.
"""

from __future__ import annotations

import pandas as pd

from slrt_ml.evaluation.compare import SIKSNG

__all__ = ["select_champion"]


def select_champion(comparison: pd.DataFrame, models: list[str] | None = None) -> str:
    """The model with the lowest exclusion error at SIKS-NG's quota; ties by inclusion error.

    SIKS-NG itself is never the champion; ``models`` restricts the candidates (those with
    a logged model). Remaining ties go to the first name in alphabetical order.

    Parameters
    ----------
    comparison : DataFrame
        Long comparison table (``comparison.csv``): ``system, metric, estimate, ...``.
    models : list of str, optional
        Candidate model names; default every system but SIKS-NG.

    Returns
    -------
    str
        The champion's name.

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
    wide = comparison.pivot_table(
        index="system", columns="metric", values="estimate", aggfunc="first"
    )
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
    return str(ranked.index[0])
