"""The report's figures, bounded in pixels whatever the data size.

Every figure is a matplotlib ``Figure`` built outside pyplot (no global backend switch,
nothing left open in a notebook) with a constrained layout, so its PNG is exactly
``figsize x dpi``: at most :data:`MAX_WIDTH_PX` wide and :data:`MAX_HEIGHT_PX` high. A
figure by area draws at most :data:`MAX_GROUPS` groups (the worst and the best, the rest
in one summary row); lines are told apart by colour, marker and a label at their end.
"""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from slrt_ml.evaluation.compare import Comparison

__all__ = [
    "MAX_WIDTH_PX",
    "MAX_HEIGHT_PX",
    "MAX_GROUPS",
    "figure_png",
    "img_tag",
    "coverage_figure",
    "errors_figure",
    "area_rows",
    "area_figure",
]

MAX_WIDTH_PX = 1100
MAX_HEIGHT_PX = 1100
MAX_GROUPS = 40
DPI = 100
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")
_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
            "#bcbd22", "#7f7f7f", "#d62728")  # fmt: skip


def _figure(width_in: float, height_in: float) -> tuple[Any, float]:
    """A constrained-layout figure within the pixel bounds; returns (figure, dpi)."""
    from matplotlib.figure import Figure

    width_in = min(width_in, MAX_WIDTH_PX / DPI)
    height_in = min(height_in, MAX_HEIGHT_PX / DPI)
    return Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained"), DPI


def figure_png(figure: Any) -> bytes:
    """The figure as PNG bytes at its own size and dpi (no tight bbox: the size is known)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def img_tag(png: bytes, alt: str) -> str:
    """An ``<img>`` with the PNG inline (base64): the page needs no other file."""
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _style(index: int, is_reference: bool) -> dict[str, Any]:
    if is_reference:
        return {"color": "black", "marker": "s", "linewidth": 2.5}
    return {"color": _COLOURS[index % len(_COLOURS)], "marker": _MARKERS[index % len(_MARKERS)]}


def _spread(values: list[float], gap: float) -> list[float]:
    """Label positions near ``values`` at least ``gap`` apart (order kept).

    >>> [round(v, 2) for v in _spread([0.5, 0.51, 0.9], 0.05)]
    [0.5, 0.55, 0.9]
    """
    order = np.argsort(values, kind="stable")
    placed = np.asarray(values, dtype=float).copy()
    for previous, current in zip(order[:-1], order[1:], strict=True):
        placed[current] = max(placed[current], placed[previous] + gap)
    return placed.tolist()


def _label_ends(ax: Any, ends: list[tuple[float, float, str, str]]) -> None:
    """Write each line's name at its right end, spread so that no two overlap."""
    if not ends:
        return
    positions = _spread([y for _, y, _, _ in ends], gap=0.045)
    for (x, y, text, colour), placed in zip(ends, positions, strict=True):
        ax.annotate(text, (x, y), xytext=(x * 1.03 + 0.01, placed), fontsize=8, color=colour,
                    va="center", arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.5})  # fmt: skip


def coverage_figure(comparison: Comparison, label: str, words: dict[str, str], metric_names: dict[str, str]) -> bytes:  # fmt: skip
    """Exclusion and inclusion error of every system's ranking cut at 5% to 60%."""
    figure, _ = _figure(10.5, 4.6)
    axes = figure.subplots(1, 2, sharex=True)
    metrics = ("exclusion_error", "inclusion_error")
    ends: dict[str, list] = {m: [] for m in metrics}
    models = [s for s in comparison.systems if s != comparison.reference]
    for system, curve in comparison.curves.groupby("system", sort=False):
        is_reference = system == comparison.reference
        index = models.index(system) if system in models else 0
        style = _style(index, is_reference)
        name = words["recut"].format(reference=label) if is_reference else str(system)
        for ax, metric in zip(axes, metrics, strict=True):
            ax.plot(curve["share"], curve[metric], markersize=4, label=name, **style)
            ends[metric].append((float(curve["share"].iloc[-1]), float(curve[metric].iloc[-1]),
                                 label if is_reference else str(system), style["color"]))  # fmt: skip
    listed = comparison.selections[comparison.selections["system"] == comparison.reference]
    for ax, metric in zip(axes, metrics, strict=True):
        if len(listed):
            share = float(listed["selected"].mean())
            ax.plot([share], [comparison.estimate(comparison.reference, metric)], marker="*",
                    markersize=15, color="red", linestyle="none",
                    label=words["actual_list"].format(reference=label))  # fmt: skip
        top = float(comparison.curves["share"].max()) if len(comparison.curves) else 0.6
        ax.set(xlabel=words["share_selected"], ylabel=metric_names[metric], ylim=(0, 1.05),
               xlim=(0, top * 1.3 + 0.02), title=metric_names[metric])  # fmt: skip
        ax.grid(alpha=0.3)
        _label_ends(ax, ends[metric])
    axes[0].legend(fontsize=7, loc="upper right")
    return figure_png(figure)


def errors_figure(comparison: Comparison, label: str, words: dict[str, str], metric_names: dict[str, str]) -> bytes:  # fmt: skip
    """Exclusion and inclusion error of each system with its 95% interval."""
    table = comparison.table.set_index(["system", "metric"])
    systems = comparison.systems
    figure, _ = _figure(9, 1.2 + 0.42 * len(systems))
    ax = figure.subplots()
    for offset, metric, marker in ((-0.15, "exclusion_error", "o"), (0.15, "inclusion_error", "s")):
        rows = table.xs(metric, level="metric").reindex(systems)
        est = rows["estimate"].to_numpy()
        err = np.abs(np.vstack([est - rows["ci_low"].to_numpy(), rows["ci_high"].to_numpy() - est]))
        ax.errorbar(est, np.arange(len(systems)) + offset, xerr=np.nan_to_num(err), fmt=marker,
                    capsize=3, label=metric_names[metric])  # fmt: skip
    names = [label if s == comparison.reference else s for s in systems]
    ax.set_yticks(np.arange(len(systems)), names)
    for tick in ax.get_yticklabels():
        if tick.get_text() == label:
            tick.set_fontweight("bold")
    ax.set(xlabel=words["interval_axis"], xlim=(0, 1))
    ax.invert_yaxis()
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="x")
    return figure_png(figure)


def area_rows(wide: pd.DataFrame, sort_by: str, others_label: str) -> tuple[pd.DataFrame, int]:
    """At most :data:`MAX_GROUPS` rows: the worst and best half by ``sort_by``, the rest as
    one median row labelled ``others_label.format(n=...)``; returns (rows, number summarised).

    >>> wide = pd.DataFrame({"m": np.linspace(0, 1, 50)}, index=[f"a{i}" for i in range(50)])
    >>> rows, rest = area_rows(wide, "m", "{n} others")
    >>> len(rows), rest, rows.index[20]
    (41, 10, '10 others')
    """
    ordered = wide.sort_values(sort_by, ascending=False, kind="stable")
    if len(ordered) <= MAX_GROUPS:
        return ordered, 0
    half = MAX_GROUPS // 2
    middle = ordered.iloc[half:-half]
    summary = middle.median().to_frame(others_label.format(n=len(middle))).T
    return pd.concat([ordered.iloc[:half], summary, ordered.iloc[-half:]]), len(middle)


def area_figure(rows: pd.DataFrame, reference: str, label: str, xlabel: str) -> bytes:
    """Exclusion error per area (rows from :func:`area_rows`), one marker per system."""
    figure, _ = _figure(9.5, 1.3 + 0.2 * len(rows))
    ax = figure.subplots()
    positions = np.arange(len(rows))
    models = [s for s in rows.columns if s != reference]
    for system in rows.columns:
        is_reference = system == reference
        style = _style(models.index(system) if system in models else 0, is_reference)
        ax.scatter(rows[system], positions, s=22 if is_reference else 16,
                   color=style["color"], marker=style["marker"],
                   label=label if is_reference else system, alpha=1 if is_reference else 0.8)  # fmt: skip
    ax.set_yticks(positions, [str(i)[:28] for i in rows.index], fontsize=7)
    ax.set(xlabel=xlabel, xlim=(0, 1))
    ax.invert_yaxis()
    figure.legend(fontsize=7, loc="outside lower center", ncol=min(len(rows.columns), 5))
    ax.grid(alpha=0.3, axis="x")
    return figure_png(figure)
