"""Render a :class:`~slrt_ml.evaluation.compare.Comparison` as Markdown, self-contained HTML or a rich table.

Every heading and label names the comparison's reference system: ``"SIKS-NG"`` for a
PBDT registry (``reference="siksng"``), else the reference's own name (e.g.
``"pmt_scorecard"`` for a mapped table); see :func:`reference_label`.

Functions return strings (or a ``rich.table.Table``); writing files is the caller's job
(``cli``/``experiment`` through ``io``). The HTML has inline CSS and matplotlib figures
embedded as base64 PNG: no network, no scripts, opens offline.
"""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from slrt_ml.evaluation import report_sections as sections

if TYPE_CHECKING:
    from rich.table import Table

    from slrt_ml.evaluation.compare import Comparison

__all__ = [
    "SYNTHETIC_BANNER",
    "reference_label",
    "render_markdown",
    "render_html",
    "console_table",
    "summary_table",
]

SYNTHETIC_BANNER = (
    "Synthetic data — shows that the pipeline works; not evidence about the real SIKS-NG"
)
#: Metrics shown in the summary tables, in order.
SUMMARY_METRICS = (
    "exclusion_error",
    "inclusion_error",
    "inclusion_rate_nontarget",
    "mistargeting",
    "coverage",
    "targeting_differential",
    "cgh",
    "roc_auc",
    "pr_auc",
    "spearman_welfare",
)
_DENOMINATORS = {
    "exclusion_error": "target not selected / target",
    "inclusion_error": "non-target selected / selected",
    "inclusion_rate_nontarget": "non-target selected / non-target",
    "mistargeting": "(non-target selected + target not selected) / all",
    "coverage": "selected / all",
    "coverage_of_target": "target selected / target",
    "targeting_differential": "coverage of target - coverage of non-target",
    "cgh": "(target selected / selected) / (target / all)",
    "roc_auc": "score vs target, all households",
    "pr_auc": "score vs target, all households",
    "spearman_welfare": "score vs -welfare, households with welfare",
}
_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222;line-height:1.4}
.banner{background:#fff3cd;border:2px solid #e0a800;padding:.8em 1em;font-weight:bold;margin:1em 0}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th:first-child,td:first-child{text-align:left}
thead th{background:#f2f2f2}
img{max-width:100%;height:auto}
.note{color:#555;font-size:.9em}
"""


#: How a reference system is named in headings, when its table name is not enough.
_REFERENCE_LABELS = {"siksng": "SIKS-NG"}


def reference_label(reference: str) -> str:
    """The reference system's name in headings: ``"SIKS-NG"`` for ``"siksng"``, else itself.

    >>> reference_label("siksng"), reference_label("pmt_scorecard")
    ('SIKS-NG', 'pmt_scorecard')
    """
    return _REFERENCE_LABELS.get(reference, reference)


def _label(comparison: Comparison) -> str:
    return reference_label(comparison.reference)


def _cell(estimate: float, low: float, high: float, digits: int = 3) -> str:
    if np.isnan(estimate):
        return "n/a"
    text = f"{estimate:.{digits}f}"
    if not (np.isnan(low) or np.isnan(high)):
        text += f" [{low:.{digits}f}, {high:.{digits}f}]"
    return text


def summary_table(comparison: Comparison, *, diff: bool = False) -> pd.DataFrame:
    """Systems x metrics, each cell ``estimate [ci_low, ci_high]``.

    With ``diff``: each model minus the reference (the ``<metric>_diff_vs_<reference>`` rows).
    """
    table = comparison.table
    suffix = f"_diff_vs_{comparison.reference}" if diff else ""
    wanted = table[table["metric"].isin([m + suffix for m in SUMMARY_METRICS])].copy()
    wanted["metric"] = wanted["metric"].str.removesuffix(suffix)
    wanted["cell"] = [
        _cell(e, lo, hi)
        for e, lo, hi in wanted[["estimate", "ci_low", "ci_high"]].itertuples(index=False)
    ]
    cells = wanted.pivot(index="system", columns="metric", values="cell")
    order = [s for s in comparison.systems if s in cells.index]
    return cells.reindex(index=order, columns=[m for m in SUMMARY_METRICS if m in cells.columns])


def _markdown_table(frame: pd.DataFrame) -> str:
    header = [frame.index.name or "", *map(str, frame.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for index, row in frame.iterrows():
        lines.append("| " + " | ".join([str(index), *(_fmt(v) for v in row)]) + " |")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return "n/a" if np.isnan(value) else f"{value:.3f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


_UNIT_WORDS = {"households": "households", "persons": "persons", "budget": "Rupiah of pkh_benefit"}


def _quota_text(comparison: Comparison) -> str:
    quota = comparison.quota
    rule = comparison.quota_rule
    unit = _UNIT_WORDS.get(rule.unit if rule is not None else "households", "households")
    if rule is not None and rule.unit == "households" and comparison.view == "survey":
        unit = "households (survey-weighted)"
    if isinstance(quota, pd.Series):
        return f"{float(quota.sum()):,.0f} {unit}, split over {len(quota)} areas ({comparison.by})"
    return f"{float(quota):,.0f} {unit}, one ranking"


def _intro(comparison: Comparison) -> list[str]:
    ranking = "ranking metrics from the first 200 replicates at 20,000 households or more"
    return [
        f"Reference system: {_label(comparison)}. "
        f"Quota: {_quota_text(comparison)} (equal coverage in that unit); "
        f"metric weights: {comparison.weight}"
        f"{' x survey weight' if comparison.view == 'survey' else ''}; "
        f"bootstrap: {comparison.bootstrap} replicates resampling clusters (desa); each "
        f"replicate re-applies every model's selection rule ({ranking}); "
        "95% percentile intervals.",
        sections.views_text(comparison),
        "Denominators: " + "; ".join(f"{m} = {d}" for m, d in _DENOMINATORS.items()) + ".",
    ]


def _gap_table(comparison: Comparison) -> pd.DataFrame:
    return sections.gap_null_table(comparison)


def _other_views(comparison: Comparison) -> list[tuple[str, pd.DataFrame]]:
    return [
        (f"{other.view.capitalize()} view: errors at equal coverage", summary_table(other))
        for other in comparison.views()[1:]
    ]


def _agreement_table(comparison: Comparison) -> pd.DataFrame:
    agreement = comparison.agreement.set_index(["system", "change"])
    return agreement.rename_axis(index=["system", "change"]).reset_index().set_index("system")


def _title(comparison: Comparison, title: str | None) -> str:
    return title if title is not None else f"{_label(comparison)} comparison"


def _difference_heading(comparison: Comparison) -> str:
    label = _label(comparison)
    return f"Difference from {label} (model - {label})"


def _agreement_heading(comparison: Comparison) -> str:
    return f"Agreement with {_label(comparison)}'s list (not accuracy)"


def render_markdown(
    comparison: Comparison, *, title: str | None = None, synthetic: bool = True
) -> str:
    """The comparison as Markdown: metrics with intervals, differences, slices, agreement.

    ``title`` defaults to ``"<reference> comparison"``; ``synthetic`` adds the banner.
    """
    parts = [f"# {_title(comparison, title)}", ""]
    if synthetic:
        parts += [f"> **{SYNTHETIC_BANNER}**", ""]
    parts += [
        *_intro(comparison),
        "",
        "## Errors at equal coverage",
        "",
        _markdown_table(summary_table(comparison)),
    ]
    if len(comparison.systems) > 1:
        parts += [
            "",
            f"## {_difference_heading(comparison)}",
            "",
            _markdown_table(summary_table(comparison, diff=True)),
        ]
    champion = sections.champion_text(comparison)
    if champion:
        parts += ["", "## Champion", "", champion]
    for heading, table in _other_views(comparison):
        parts += ["", f"## {heading}", "", _markdown_table(table)]
    gaps = _gap_table(comparison)
    if not gaps.empty:
        parts += ["", "## Largest exclusion-error gap between groups", "",
                  sections.GAP_NULL_NOTE, "", _markdown_table(gaps)]  # fmt: skip
    steps = sections.decomposition_table(comparison)
    if not steps.empty:
        parts += ["", f"## How {_label(comparison)}'s error is built", "",
                  sections.decomposition_text(_label(comparison)), "", _markdown_table(steps)]  # fmt: skip
    if not comparison.agreement.empty:
        parts += [
            "",
            f"## {_agreement_heading(comparison)}",
            "",
            _markdown_table(_agreement_table(comparison)),
        ]
    return "\n".join(parts) + "\n"


def _figure_png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="figure" src="data:image/png;base64,{data}">'


def _subplots(*args: Any, figsize: tuple[float, float], **kwargs: Any) -> tuple[Any, Any]:
    """A figure outside pyplot: no global backend switch, nothing left open in a notebook."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize)
    return figure, figure.subplots(*args, **kwargs)


def _coverage_figure(comparison: Comparison) -> str:
    figure, axes = _subplots(1, 2, figsize=(10, 3.8), sharex=True)
    for system, curve in comparison.curves.groupby("system", sort=False):
        is_reference = system == comparison.reference
        style = {"color": "black", "linewidth": 2.5} if is_reference else {}
        # the reference's curve re-cuts its ranking; its actual list is one point (below)
        label = f"{_label(comparison)} ranking, re-cut" if is_reference else system
        for ax, metric in zip(axes, ("exclusion_error", "inclusion_error"), strict=True):
            ax.plot(curve["share"], curve[metric], marker="o", markersize=3, label=label, **style)
    listed = comparison.selections[comparison.selections["system"] == comparison.reference]
    if len(listed):
        share = float(listed["selected"].mean())
        for ax, metric in zip(axes, ("exclusion_error", "inclusion_error"), strict=True):
            value = comparison.estimate(comparison.reference, metric)
            ax.plot([share], [value], marker="*", markersize=14, color="red", linestyle="none",
                    label=f"{_label(comparison)}'s actual list")  # fmt: skip
    for ax, metric in zip(axes, ("exclusion error", "inclusion error"), strict=True):
        ax.set(xlabel="share of households selected", ylabel=metric, ylim=(0, 1))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    return _figure_png(figure)


def _errors_figure(comparison: Comparison) -> str:
    table = comparison.table.set_index(["system", "metric"])
    systems = comparison.systems
    figure, ax = _subplots(figsize=(8, 0.5 + 0.45 * len(systems)))
    for offset, metric in ((-0.15, "exclusion_error"), (0.15, "inclusion_error")):
        rows = table.xs(metric, level="metric").reindex(systems)
        est = rows["estimate"].to_numpy()
        err = np.abs(np.vstack([est - rows["ci_low"].to_numpy(), rows["ci_high"].to_numpy() - est]))
        ax.errorbar(
            est,
            np.arange(len(systems)) + offset,
            xerr=np.nan_to_num(err),
            fmt="o",
            capsize=3,
            label=metric,
        )
    ax.set_yticks(np.arange(len(systems)), systems)
    for tick in ax.get_yticklabels():
        if tick.get_text() == comparison.reference:
            tick.set_fontweight("bold")
    ax.set(xlabel="error (95% cluster-bootstrap interval)", xlim=(0, 1))
    ax.invert_yaxis()
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="x")
    return _figure_png(figure)


def _kecamatan_figure(comparison: Comparison) -> str:
    slices = comparison.slices
    if slices.empty or "KDKEC" not in set(slices["slice"]):
        return ""
    kec = slices[slices["slice"] == "KDKEC"].pivot(
        index="group", columns="system", values="exclusion_error"
    )
    kec = kec[[s for s in comparison.systems if s in kec.columns]].sort_values(kec.columns[0])
    figure, ax = _subplots(figsize=(10, 0.4 + 0.18 * len(kec)))
    for system in kec.columns:
        is_reference = system == comparison.reference
        style = {"color": "black", "marker": "s"} if is_reference else {"marker": "o", "alpha": 0.7}
        label = _label(comparison) if is_reference else system
        ax.scatter(kec[system], np.arange(len(kec)), s=14, label=label, **style)
    ax.set_yticks(np.arange(len(kec)), kec.index, fontsize=7)
    ax.set(xlabel="exclusion error", xlim=(0, 1), title="Exclusion error per kecamatan")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3, axis="x")
    return _figure_png(figure)


def _html_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "<p class='note'>(none)</p>"
    formatted = frame.map(_fmt) if hasattr(frame, "map") else frame
    return formatted.to_html(escape=True, border=0)


def _slice_table(comparison: Comparison) -> pd.DataFrame:
    slices = comparison.slices
    if slices.empty:
        return pd.DataFrame()
    small = slices[~slices["slice"].isin(["KDKEC", "KDKAB"])]
    return small.pivot_table(
        index=["slice", "group"], columns="system", values="exclusion_error", sort=False
    )[[s for s in comparison.systems if s in set(small["system"])]]


def render_html(comparison: Comparison, *, title: str | None = None, synthetic: bool = True) -> str:
    """A self-contained HTML report: banner, tables with intervals, embedded figures.

    ``title`` defaults to ``"<reference> comparison"``; ``synthetic`` adds the banner.
    """
    esc = html.escape
    title = _title(comparison, title)
    body = [f"<h1>{esc(title)}</h1>"]
    if synthetic:
        body.append(f'<div class="banner">{esc(SYNTHETIC_BANNER)}</div>')
    body += [f"<p class='note'>{esc(line)}</p>" for line in _intro(comparison)]
    body += [
        "<h2>Errors at equal coverage</h2>",
        _html_table(summary_table(comparison)),
        _errors_figure(comparison),
    ]
    if len(comparison.systems) > 1:
        body += [
            f"<h2>{esc(_difference_heading(comparison))}</h2>",
            _html_table(summary_table(comparison, diff=True)),
        ]
    champion = sections.champion_text(comparison)
    if champion:
        body += ["<h2>Champion</h2>", f"<p>{esc(champion)}</p>"]
    for heading, table in _other_views(comparison):
        body += [f"<h2>{esc(heading)}</h2>", _html_table(table)]
    body += [
        "<h2>Coverage curves</h2>",
        f"<p class='note'>{esc(_label(comparison))}'s curve re-cuts its ranking at each share; "
        "its actual list is the star.</p>",
        _coverage_figure(comparison),
    ]
    body += ["<h2>Household groups: exclusion error</h2>", _html_table(_slice_table(comparison))]
    body += [
        "<h3>Largest gap between groups</h3>",
        f"<p class='note'>{esc(sections.GAP_NULL_NOTE)}</p>",
        _html_table(_gap_table(comparison)),
    ]
    steps = sections.decomposition_table(comparison)
    if not steps.empty:
        body += [
            f"<h2>How {esc(_label(comparison))}'s error is built</h2>",
            f"<p>{esc(sections.decomposition_text(_label(comparison)))}</p>",
            _html_table(steps),
        ]
    kecamatan = _kecamatan_figure(comparison)
    if kecamatan:
        body += ["<h2>Exclusion error per kecamatan</h2>", kecamatan]
    body += [
        f"<h2>{esc(_agreement_heading(comparison))}</h2>",
        _html_table(_agreement_table(comparison)),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def console_table(comparison: Comparison) -> Table:
    """A ``rich`` table: one row per system (the reference in bold), main errors with intervals."""
    from rich.table import Table

    metrics = ("exclusion_error", "inclusion_error", "mistargeting", "roc_auc")
    table = Table(title=f"Equal coverage with {_label(comparison)}: {_quota_text(comparison)}")
    table.add_column("system")
    for metric in metrics:
        table.add_column(metric.replace("_", " "), justify="right")
    cells = summary_table(comparison)
    for system in cells.index:
        style = "bold" if system == comparison.reference else None
        row = (str(cells.loc[system].get(m, "n/a")) for m in metrics)
        table.add_row(system, *row, style=style)
    return table
