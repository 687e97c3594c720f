"""Report sections beyond the error tables: views and weights, the champion rule, group
gaps against their permutation null, and the generator's gap decomposition.

Each function returns plain text or a DataFrame; :mod:`slrt_ml.evaluation.report` lays
them out as Markdown or HTML.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from slrt_ml.evaluation.champion import champion_decision

if TYPE_CHECKING:
    from slrt_ml.evaluation.compare import Comparison

__all__ = [
    "views_text",
    "champion_text",
    "gap_null_table",
    "GAP_NULL_NOTE",
    "decomposition_table",
    "decomposition_text",
]

GAP_NULL_NOTE = (
    "Largest exclusion-error gap between groups, with its 95% cluster-bootstrap interval, "
    "and the gap expected with no true difference (group labels permuted between desa, or "
    "within desa for household traits, the lists kept): mean [95th percentile], and the "
    "share of permuted gaps at least as large (p). A gap below the 95th percentile of the "
    "null is what noise alone gives: not a finding. Slicings with one group (not mapped) "
    "are left out."
)


def views_text(comparison: Comparison) -> str:
    """Which households and weights each view uses."""
    parts = []
    for view in comparison.views():
        if view.view == "survey":
            parts.append(
                "survey view (the default): the labelled survey sample only, every household "
                "weighted by its survey weight (survey_weight), in the metrics and in the "
                "quota; what a real study sees"
            )
        else:
            parts.append(
                "population view: every household, unit survey weights"
                + (
                    " (the world is simulated, so everyone's truth is known)"
                    if len(comparison.views()) > 1
                    else ""
                )  # fmt: skip
            )
    return "Views: " + "; ".join(parts) + "."


def champion_text(comparison: Comparison) -> str:
    """The champion rule's decision on the default view, in one sentence ('' if none)."""
    try:
        return champion_decision(comparison.table).sentence()
    except ValueError:
        return ""


def gap_null_table(comparison: Comparison) -> pd.DataFrame:
    """System x slicing: ``gap [ci] (highest vs lowest); null mean [95th], p``."""
    gaps = comparison.slice_gaps
    if gaps is None or gaps.empty or "null" not in gaps.columns:
        return pd.DataFrame()
    wanted = gaps[gaps["metric"] == "exclusion_error"]
    cells = []
    for row in wanted.itertuples(index=False):
        text = f"{row.gap:.3f}"
        if not np.isnan(row.ci_low):
            text += f" [{row.ci_low:.3f}, {row.ci_high:.3f}]"
        text += f" ({row.highest} vs {row.lowest})"
        if not np.isnan(row.null):
            text += f"; null {row.null:.3f} [{row.null_high:.3f}], p={row.p_value:.2f}"
        cells.append(text)
    return wanted.assign(cell=cells).pivot(index="system", columns="slice", values="cell")


def decomposition_table(comparison: Comparison) -> pd.DataFrame:
    """The generator's decomposition of the reference's exclusion error, one row per step."""
    steps = comparison.gap_decomposition
    if not steps:
        return pd.DataFrame()
    table = pd.DataFrame(steps)
    if not {"step", "exclusion_error"} <= set(table.columns):
        return pd.DataFrame()
    return table.set_index("step")


def decomposition_text(label: str) -> str:
    """What the synthetic generator builds into the reference's error."""
    return (
        f"How {label}'s exclusion error is built (synthetic data): the generator gives "
        f"{label} stale registry indicators, weights estimated once on a survey-sized sample, "
        "the quota and process noise (village deliberation), each a named parameter; each "
        "row adds one step. These handicaps are built in: a model beating them is not evidence "
        f"about the real {label}."
    )
