"""A waterfall chart of one household's explanation (matplotlib, imported inside)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from slrt_ml.explain.waterfall import waterfall_bars

__all__ = ["plot_waterfall"]

_WORDS = {
    "id": {"base": "Nilai dasar", "score": "Skor akhir", "title": "Rumah tangga {h}: alasan skor",
           "x": "Skor kemiskinan (lebih tinggi = lebih miskin)"},
    "en": {"base": "Base value", "score": "Final score", "title": "Household {h}: why this score",
           "x": "Poverty score (higher = poorer)"},
}  # fmt: skip


def plot_waterfall(
    table: pd.DataFrame, household: str, *, max_items: int = 10, ax=None, lang: str = "id"
) -> Any:
    """A waterfall chart of one household's explanation (rows of the tidy table).

    Starts at the base value, adds the ``max_items`` items with the largest contributions
    (each worded by the household's answer), then one bar per questionnaire block for the
    other items and one "location" bar for the area effect, and ends at the model's score
    (:func:`slrt_ml.explain.waterfall.waterfall_bars`). No block remainder is larger than
    the largest named item: more items are named when needed. Red bars push toward
    "poorer", blue toward "richer"; remainder bars are paler, the location bar hatched.

    Parameters
    ----------
    table : DataFrame
        The tidy explanation table (``Explanation.table``).
    household : str
        The ``IDBDT`` to draw.
    max_items : int, default 10
        Items named before the block remainders.
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.
    lang : {"id", "en"}
        Language of the axis, legend and remainder labels.

    Returns
    -------
    matplotlib.figure.Figure
        The figure; the caller saves it.

    Raises
    ------
    ValueError
        ``household`` is not in ``table``.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    bars = waterfall_bars(table, household, max_items=max_items, lang=lang)
    model = table.loc[table["IDBDT"] == household, "model"].iloc[0]
    return _draw_waterfall(plt, bars, household, model, ax, _WORDS["en" if lang == "en" else "id"])


def _draw_waterfall(plt, bars, household, model, ax, words):
    values = bars["value"].to_numpy(np.float64)
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 0.5 * len(values) + 2.2))
    else:
        fig = ax.figure
    base = bars.attrs["base"]
    starts = base + np.concatenate(([0.0], np.cumsum(values)[:-1]))
    positions = np.arange(len(values))[::-1]
    kinds = bars["kind"].tolist()
    for y, start, value, kind in zip(positions, starts, values, kinds, strict=True):
        ax.barh(y, value, left=start, color="#c0392b" if value > 0 else "#2e86c1",
                alpha=0.55 if kind == "block" else 1.0,
                hatch="//" if kind == "location" else None)  # fmt: skip
        ax.text(start + value, y, f" {value:+.2f}", va="center", fontsize=8)
    ax.set_yticks(positions, bars["label"].tolist())
    score = bars.attrs["score"]
    ax.axvline(base, color="grey", linestyle=":", label=f"{words['base']} {base:.2f}")
    ax.axvline(score, color="black", linestyle="--", label=f"{words['score']} {score:.2f}")
    ax.set_xlabel(words["x"])
    ax.set_title(f"{words['title'].format(h=household)} ({model})")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig
