"""Render a :class:`~slrt_ml.evaluation.compare.Comparison` as Markdown, self-contained HTML or a rich table.

The report is written in Indonesian or English (``lang="id"|"en"``,
:mod:`slrt_ml.evaluation.report_text`) and names things as the data does
(:class:`~slrt_ml.evaluation.report_inputs.ReportNames`: the title, area levels, area
names such as ``NMKEC`` instead of codes). Headings name the reference system:
``"SIKS-NG"`` for a PBDT registry (``reference="siksng"``), else the reference's own name
(e.g. ``"pmt_scorecard"`` for a mapped table); see :func:`reference_label`.

Sections: set-up, the metrics in words with their denominators, errors and ranking quality
with intervals, differences from the reference, the champion and why, other views,
coverage curves, household groups and their largest gap, the generator's decomposition,
errors per area (at most 40 areas drawn), agreement with the reference's list and, when
given (:class:`~slrt_ml.evaluation.report_inputs.ReportExtras`), the champion's
explanations and the scored prelist.

Functions return strings (or a ``rich.table.Table``); writing files is the caller's job.
The HTML has inline CSS and figures embedded as PNG of bounded pixel size
(:mod:`slrt_ml.evaluation.report_figures`): no network, no scripts, opens offline, fits a
1,200 px page.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

import pandas as pd

from slrt_ml.evaluation import report_figures as figures
from slrt_ml.evaluation import report_sections as sections
from slrt_ml.evaluation.report_inputs import ReportExtras, ReportNames
from slrt_ml.evaluation.report_text import (
    desil_text,
    glossary,
    list_sizes_text,
    metric_label,
    rule_words,
    words,
)

if TYPE_CHECKING:
    from rich.table import Table

    from slrt_ml.evaluation.compare import Comparison

__all__ = [
    "SYNTHETIC_BANNER",
    "SUMMARY_METRICS",
    "reference_label",
    "render_markdown",
    "render_html",
    "console_table",
    "summary_table",
    "report_title",
]

SYNTHETIC_BANNER = (
    "Synthetic data — shows that the pipeline works; not evidence about the real SIKS-NG"
)
#: The first table: errors of the selected lists.
SELECTION_METRICS = ("exclusion_error", "inclusion_error", "inclusion_rate_nontarget",
                     "mistargeting", "coverage")  # fmt: skip
#: The second table: how well each ranking orders households.
RANKING_METRICS = ("targeting_differential", "cgh", "roc_auc", "pr_auc", "spearman_welfare")
#: Metrics shown in the summary tables, in order.
SUMMARY_METRICS = SELECTION_METRICS + RANKING_METRICS
_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1100px;padding:0 16px;
color:#222;line-height:1.45;box-sizing:border-box}
.banner{background:#fff3cd;border:2px solid #e0a800;padding:.8em 1em;font-weight:bold;margin:1em 0}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.88em;max-width:100%}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:right;vertical-align:top;
overflow-wrap:break-word}
td{white-space:nowrap}
th,td.text{text-align:left;white-space:normal}
tbody th{font-weight:normal}
td.short{white-space:nowrap}
thead th{background:#f2f2f2}
.ci{color:#666;font-size:.82em;white-space:nowrap}
img{max-width:100%;height:auto;display:block;margin:.5em 0 1em}
.note{color:#555;font-size:.9em}
h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
"""

#: How a reference system is named in headings, when its table name is not enough.
_REFERENCE_LABELS = {"siksng": "SIKS-NG"}


def reference_label(reference: str) -> str:
    """The reference system's name in headings: ``"SIKS-NG"`` for ``"siksng"``, else itself.

    >>> reference_label("siksng"), reference_label("pmt_scorecard")
    ('SIKS-NG', 'pmt_scorecard')
    """
    return _REFERENCE_LABELS.get(reference, reference)


def summary_table(comparison: Comparison, *, diff: bool = False) -> pd.DataFrame:
    """Systems x metrics (snake_case), each cell ``estimate [ci_low, ci_high]``.

    With ``diff``: each model minus the reference (the ``<metric>_diff_vs_<reference>`` rows).
    """
    table = comparison.table
    suffix = f"_diff_vs_{comparison.reference}" if diff else ""
    wanted = table[table["metric"].isin([m + suffix for m in SUMMARY_METRICS])].copy()
    wanted["metric"] = wanted["metric"].str.removesuffix(suffix)
    wanted["cell"] = [
        sections.cell(e, lo, hi).replace("\n", " ")
        for e, lo, hi in wanted[["estimate", "ci_low", "ci_high"]].itertuples(index=False)
    ]
    cells = wanted.pivot(index="system", columns="metric", values="cell")
    order = [s for s in comparison.systems if s in cells.index]
    return cells.reindex(index=order, columns=[m for m in SUMMARY_METRICS if m in cells.columns])


def report_title(comparison: Comparison, lang: str = "en", names: ReportNames | None = None) -> str:
    """The data's own title (mapping ``names.title``), else one naming the reference."""
    if names is not None and names.title:
        return names.title
    w = rule_words(lang, comparison.quota_rule)
    if comparison.reference == "siksng":
        return w["title_siksng"]
    return w["title"].format(reference=reference_label(comparison.reference))


# --- the document: a list of blocks, rendered as HTML or Markdown -----------------------------
# ("h1"|"h2"|"h3"|"p"|"note"|"banner", text) | ("table", DataFrame) | ("img", png bytes, alt)


def _quota_text(comparison: Comparison, w: dict[str, str], names: ReportNames) -> str:
    rule = comparison.quota_rule
    if rule is not None and rule.is_desil:  # no common quota: the rule in words
        label = reference_label(comparison.reference)
        return desil_text(rule.max_desil, label, comparison.reference_list, w)
    unit = w.get(rule.unit if rule is not None else "households", w["households"])
    if (rule is None or rule.unit == "households") and comparison.view == "survey":
        unit = w["survey_weighted"]
    quota = comparison.quota
    if isinstance(quota, pd.Series):
        words_by = {"KDKAB": w["kabupaten"], "KDKEC": w["kecamatan"], "KDDESA": w["desa"]}
        by = str(comparison.by)
        level = names.level(by, words_by.get(by, by))
        split = w["split_over"].format(n=len(quota), level=level)
        return f"{float(quota.sum()):,.0f} {unit}, {split}"
    return f"{float(quota):,.0f} {unit}, {w['one_ranking']}"


def _setup(comparison: Comparison, w: dict[str, str], label: str, names: ReportNames) -> list:
    weight = w.get(f"weight_{comparison.weight}", comparison.weight)
    weight += f" {w['survey_weight']}" if comparison.view == "survey" else ""
    lines = [
        f"{w['reference']}: {label}. {w['quota']}: {_quota_text(comparison, w, names)}. "
        f"{w['weights']}: {weight}.",
        w["bootstrap"].format(b=comparison.bootstrap, cluster=names.level("cluster", w["desa"])),
    ]
    if comparison.list_sizes:  # each list's size; under the desil rule they differ
        unit = w["survey_weighted" if comparison.view == "survey" else "households"]
        sizes = list_sizes_text(comparison.list_sizes, unit, w, label, comparison.reference)
        rule = comparison.quota_rule
        extra = f" {w['desil_not_equal']}" if rule is not None and rule.is_desil else ""
        lines.insert(1, sizes + extra)
    views = comparison.views()
    if len(views) == 1 and views[0].view == "population":
        lines.append(w["views_all"])  # one view: nothing simulated to say
    else:
        lines += [w["views_survey" if v.view == "survey" else "views_population"] for v in views]
    return [("h2", w["setup"]), *(("p", line) for line in lines)]


def _glossary(w: dict[str, str], lang: str) -> list:
    rows = glossary(lang, SUMMARY_METRICS)
    table = pd.DataFrame(rows).rename(
        columns={"metric": w["metric"], "meaning": w["meaning"], "denominator": w["denominator"]}
    )
    return [("h2", w["glossary"]), ("table", table)]


def _results(comparison: Comparison, w: dict[str, str], lang: str, label: str) -> list:
    names = {m: metric_label(m, lang) for m in ("exclusion_error", "inclusion_error")}
    blocks: list = [
        ("h2", w["errors"]),
        ("note", w["interval_note"]),
        ("table", sections.metric_table(comparison, SELECTION_METRICS, w, lang, label)),
        ("img", figures.errors_figure(comparison, label, w, names), w["errors"]),
        ("h3", w["ranking"]),
        ("table", sections.metric_table(comparison, RANKING_METRICS, w, lang, label)),
    ]
    if len(comparison.systems) > 1:
        blocks += [
            ("h2", w["difference"].format(reference=label)),
            ("note", w["difference_note"].format(reference=label)),
            (
                "table",
                sections.metric_table(
                    comparison, SELECTION_METRICS[:-1], w, lang, label, diff=True
                ),
            ),  # fmt: skip
        ]
    blocks += [("h2", w["champion"]), ("p", sections.champion_sentence(comparison, w)),
               ("table", sections.champion_table(comparison, w, lang, label))]  # fmt: skip
    for other in comparison.views()[1:]:
        blocks += [("h2", w["view"].format(view=w[f"view_{other.view}"])),
                   ("table", sections.metric_table(other, SELECTION_METRICS, w, lang, label))]  # fmt: skip
    blocks += [
        ("h2", w["curves"]),
        ("note", w["curves_note"].format(reference=label)),
        ("img", figures.coverage_figure(comparison, label, w, names), w["curves"]),
    ]
    return blocks


def _groups(comparison: Comparison, w: dict[str, str], lang: str, label: str,
            names: ReportNames) -> list:  # fmt: skip
    blocks: list = [("h2", w["groups"]), ("table", sections.slice_table(comparison, w, label, names)),
                    ("h3", w["gap"]), ("note", w["gap_note"]),
                    ("table", sections.gap_table(comparison, w, label, names))]  # fmt: skip
    steps = sections.decomposition_table(comparison, w, lang)
    if not steps.empty:
        blocks += [("h2", w["decomposition"].format(reference=label)),
                   ("p", w["decomposition_note"].format(reference=label)), ("table", steps)]  # fmt: skip
    return blocks + _areas(comparison, w, lang, label, names)


def _areas(comparison: Comparison, w: dict[str, str], lang: str, label: str,
           names: ReportNames) -> list:  # fmt: skip
    slices = comparison.slices
    for level in ("KDKEC", "KDKAB"):
        rows = slices[slices["slice"] == level] if not slices.empty else slices
        if rows.empty or rows["group"].nunique() < 2:
            continue
        wide = rows.pivot(index="group", columns="system", values="exclusion_error")
        wide = wide[[s for s in comparison.systems if s in wide.columns]]
        wide.index = [names.area_name(level, g) for g in wide.index]
        sort_by = comparison.reference if comparison.reference in wide.columns else wide.columns[0]
        drawn, rest = figures.area_rows(wide, sort_by, w["others"])
        word = names.level(level, w["kecamatan" if level == "KDKEC" else "kabupaten"])
        note = (w["areas_note"].format(n=len(wide), level=word, k=figures.MAX_GROUPS // 2,
                                       reference=label, rest=rest)
                if rest else w["areas_all"].format(n=len(wide), level=word, reference=label))  # fmt: skip
        png = figures.area_figure(
            drawn, comparison.reference, label, metric_label("exclusion_error", lang)
        )
        heading = w["areas"].format(level=word)
        return [("h2", heading), ("note", note), ("img", png, heading)]
    return []


def _agreement(comparison: Comparison, w: dict[str, str], label: str) -> list:
    table = sections.agreement_table(comparison, w, label)
    if table.empty:
        return []
    return [("h2", w["agreement"].format(reference=label)),
            ("note", w["agreement_note"].format(reference=label)), ("table", table)]  # fmt: skip


def _extras(extras: ReportExtras, w: dict[str, str]) -> list:
    blocks: list = []
    summary = extras.explanation
    if summary is not None:
        blocks += [("h2", w["explanations"]),
                   ("note", w["importance_note"].format(model=summary.model, n=summary.households)),
                   ("table", sections.importance_table(summary, w))]  # fmt: skip
        if summary.waterfalls:
            blocks += [("h3", w["waterfalls"]), ("note", w["waterfall_note"])]
            blocks += [("img", png, caption) for caption, png in summary.waterfalls]
    prelist = extras.prelist
    if prelist is not None:
        counts, per_area, rejects = sections.prelist_tables(prelist, w, extras.names)
        level = per_area.columns[0].lower()
        blocks += [("h2", w["prelist"]), ("table", counts),
                   ("h3", w["per_area"].format(level=level)), ("table", per_area),
                   ("h3", w["rejects"])]  # fmt: skip
        blocks.append(("table", rejects) if len(rejects) else ("p", w["no_rejects"]))
    return blocks


def _document(comparison: Comparison, title: str | None, synthetic: bool, lang: str,
              extras: ReportExtras | None) -> tuple[str, list]:  # fmt: skip
    w = rule_words(lang, comparison.quota_rule)
    extras = extras or ReportExtras()
    names = extras.names
    label = reference_label(comparison.reference)
    title = title if title is not None else report_title(comparison, lang, names)
    blocks: list = [("h1", title)]
    if synthetic:
        banner = SYNTHETIC_BANNER if lang == "en" and label == "SIKS-NG" else w["banner"]
        blocks.append(("banner", banner.format(reference=label)))
    blocks += _setup(comparison, w, label, names) + _glossary(w, lang)
    blocks += _results(comparison, w, lang, label) + _groups(comparison, w, lang, label, names)
    blocks += _agreement(comparison, w, label) + _extras(extras, w)
    for section in extras.sections:  # e.g. report_cycles.cycles_section(...)
        blocks += list(section)
    return title, blocks


_NUMBER = re.compile(r"^[-+]?\d[\d,.]*%?( \[.*\])?$")


def _html_cell(text: object, tag: str = "td") -> str:
    """A cell: a number right-aligned (``<td>``), text left (``class='text'``), the interval
    on a second line; a number that is not text yet becomes one (:func:`sections.number`)."""
    first, *rest = html.escape(text if isinstance(text, str) else sections.number(text)).split("\n")
    kind = ""
    if tag == "td" and not _NUMBER.match(first):  # short names ("SIKS-NG") never break
        kind = " class='text short'" if len(first) <= 16 else " class='text'"
    lines = first + "".join(f"<br><span class='ci'>{x}</span>" for x in rest)
    return f"<{tag}{kind}>{lines}</{tag}>"


def _html_table(frame: pd.DataFrame, none: str) -> str:
    if frame.empty:
        return f"<p class='note'>{html.escape(none)}</p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + _html_cell(row[0], "th") + "".join(_html_cell(v) for v in row[1:]) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_block(block: tuple, none: str) -> str:
    kind = block[0]
    if kind == "table":
        return _html_table(block[1], none)
    if kind == "img":
        return figures.img_tag(block[1], block[2])
    if kind in ("note", "banner"):
        return f"<p class='{kind}'>{html.escape(block[1])}</p>"
    return f"<{kind}>{html.escape(block[1])}</{kind}>"


def render_html(comparison: Comparison, *, title: str | None = None, synthetic: bool = True,
                lang: str = "en", extras: ReportExtras | None = None) -> str:  # fmt: skip
    """A self-contained HTML report: banner, glossary, tables with intervals, figures.

    Parameters
    ----------
    comparison : Comparison
        What :func:`slrt_ml.evaluation.compare.compare` measured.
    title : str, optional
        Default: the data's title (``extras.names.title``), else one naming the reference.
    synthetic : bool
        Add the banner saying the data are synthetic.
    lang : {"en", "id"}
        The report's language.
    extras : ReportExtras, optional
        Names from the data, the champion's explanations and the scored prelist.
    """
    title, blocks = _document(comparison, title, synthetic, lang, extras)
    none = words(lang)["none"]
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n<body>\n"
        + "\n".join(_html_block(b, none) for b in blocks)
        + "\n</body></html>\n"
    )


def _markdown_table(frame: pd.DataFrame, none: str) -> str:
    if frame.empty:
        return none

    def clean(v: object) -> str:  # noqa: E306 - one line per cell, pipes escaped
        text = v if isinstance(v, str) else sections.number(v)
        return text.replace("\n", " ").replace("|", "\\|")

    lines = ["| " + " | ".join(map(clean, frame.columns)) + " |", "|" + "---|" * frame.shape[1]]
    lines += ["| " + " | ".join(map(clean, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def render_markdown(comparison: Comparison, *, title: str | None = None, synthetic: bool = True,
                    lang: str = "en", extras: ReportExtras | None = None) -> str:  # fmt: skip
    """The report as Markdown (figures left out: they are in the HTML); see :func:`render_html`."""
    _, blocks = _document(comparison, title, synthetic, lang, extras)
    none = words(lang)["none"]
    prefix = {"h1": "# ", "h2": "## ", "h3": "### ", "banner": "> **", "note": "_"}
    suffix = {"banner": "**", "note": "_"}
    parts = []
    for block in blocks:
        if block[0] == "img":
            continue
        if block[0] == "table":
            parts.append(_markdown_table(block[1], none))
        else:
            parts.append(prefix.get(block[0], "") + block[1] + suffix.get(block[0], ""))
    return "\n\n".join(parts) + "\n"


def console_table(comparison: Comparison, lang: str = "en") -> Table:
    """A ``rich`` table: one row per system (the reference in bold), main errors with intervals."""
    from rich.table import Table

    w = words(lang)
    names = ReportNames()
    metrics = ("exclusion_error", "inclusion_error", "mistargeting", "roc_auc")
    label = reference_label(comparison.reference)
    heading = w["equal_coverage_with"].format(reference=label)
    desil = comparison.quota_rule is not None and comparison.quota_rule.is_desil
    if desil:  # lists differ in size: say so, and show each list's size
        heading = w["desil_heading"].format(k=comparison.quota_rule.max_desil)
    table = Table(title=f"{heading}: {_quota_text(comparison, w, names)}")
    table.add_column(w["system"])
    if desil:
        table.add_column(w["list_size"], justify="right")
    for metric in metrics:
        table.add_column(metric_label(metric, lang), justify="right")
    cells = summary_table(comparison)
    sizes = comparison.list_sizes or {}
    for system in cells.index:
        style = "bold" if system == comparison.reference else None
        row = [str(cells.loc[system].get(m, w["na"])) for m in metrics]
        size = [f"{sizes[system]:,.0f}" if system in sizes else w["na"]] if desil else []
        table.add_row(system, *size, *row, style=style)
    return table
