"""A waterfall chart of one household's explanation (matplotlib, imported inside)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["plot_waterfall"]


def plot_waterfall(table: pd.DataFrame, household: str, *, max_items: int = 10, ax=None) -> Any:
    """A waterfall chart of one household's explanation (rows of the tidy table).

    Starts at the base value, adds the ``max_items`` largest contributions (the rest as
    one bar), ends at the model's score. Red bars push toward "poorer", blue away.

    Parameters
    ----------
    table : DataFrame
        The tidy explanation table (``Explanation.table``).
    household : str
        The ``IDBDT`` to draw.
    max_items : int, default 10
        Contributions drawn one by one; the rest share one bar.
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.

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

    rows = table[table["IDBDT"] == household]
    if rows.empty:
        raise ValueError(f"household {household!r} is not in the explanation table; "
                         "pass an IDBDT from --households or the data")  # fmt: skip
    rows = rows.reindex(rows["contribution"].abs().sort_values(ascending=False).index)
    shown, rest = rows.iloc[:max_items], rows.iloc[max_items:]
    labels = shown["answer"].astype(str).tolist()
    values = shown["contribution"].to_numpy(float).tolist()
    if len(rest):
        labels.append(f"{len(rest)} jawaban lain")
        values.append(float(rest["contribution"].sum()))
    base = float(rows["base_value"].iloc[0])
    return _draw_waterfall(plt, labels, values, base, household, rows["model"].iloc[0], ax)


def _draw_waterfall(plt, labels, values, base, household, model, ax):
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 0.5 * len(values) + 2.2))
    else:
        fig = ax.figure
    starts = base + np.concatenate(([0.0], np.cumsum(values)[:-1]))
    positions = np.arange(len(values))[::-1]
    colours = ["#c0392b" if v > 0 else "#2e86c1" for v in values]
    ax.barh(positions, values, left=starts, color=colours)
    for y, start, value in zip(positions, starts, values, strict=True):
        ax.text(start + value, y, f" {value:+.2f}", va="center", fontsize=8)
    ax.set_yticks(positions, labels)
    score = base + sum(values)
    ax.axvline(base, color="grey", linestyle=":", label=f"Nilai dasar {base:.2f}")
    ax.axvline(score, color="black", linestyle="--", label=f"Skor akhir {score:.2f}")
    ax.set_xlabel("Skor kemiskinan (lebih tinggi = lebih miskin)")
    ax.set_title(f"Rumah tangga {household}: alasan skor ({model})")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig
