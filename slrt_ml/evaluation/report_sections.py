"""Report sections as display tables: every cell already text, every header in words.

Each function takes the comparison (or what the report shows beside it), the words of
the report's language (:func:`slrt_ml.evaluation.report_text.words`) and returns a
``DataFrame`` of strings (no index) or a sentence; :mod:`slrt_ml.evaluation.report` lays
them out as HTML or Markdown. A cell with a newline shows its second line small (the
interval under the estimate).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from slrt_ml.evaluation.champion import SIMPLICITY_ORDER, champion_decision
from slrt_ml.evaluation.report_inputs import (
    ExplanationSummary,
    PrelistSummary,
    ReportNames,
)
from slrt_ml.evaluation.report_text import metric_label

if TYPE_CHECKING:
    from slrt_ml.evaluation.compare import Comparison

__all__ = [
    "AREA_SLICES",
    "number",
    "cell",
    "metric_table",
    "champion_sentence",
    "champion_table",
    "slice_table",
    "gap_table",
    "decomposition_table",
    "agreement_table",
    "importance_table",
    "prelist_tables",
]

#: slicings by area: drawn as a figure, not listed as a table
AREA_SLICES = ("KDKAB", "KDKEC")
_GROUP_WORDS = ("urban", "rural", "yes", "no")


def number(value: Any, na: str = "n/a") -> str:
    """A count as an integer with separators, a rate with three decimals.

    >>> number(88.0), number(12345.0), number(0.51234), number(float("nan"))
    ('88', '12,345', '0.512', 'n/a')
    """
    if value is None or (isinstance(value, float | np.floating) and np.isnan(value)):
        return na
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        if float(value).is_integer() or abs(value) >= 100:
            return f"{float(value):,.0f}"
        return f"{float(value):.3f}"
    return str(value)


def cell(estimate: float, low: float, high: float, na: str = "n/a") -> str:
    """``estimate`` then, on a second line, ``[low, high]`` (no line without an interval).

    >>> cell(0.5, 0.41, 0.6)
    '0.500\\n[0.410, 0.600]'
    """
    if np.isnan(estimate):
        return na
    text = f"{estimate:.3f}"
    if not (np.isnan(low) or np.isnan(high)):
        text += f"\n[{low:.3f}, {high:.3f}]"
    return text


def _system_name(system: str, comparison: Comparison, label: str) -> str:
    return label if system == comparison.reference else str(system)


def metric_table(comparison: Comparison, metrics: tuple[str, ...], w: dict[str, str],
                 lang: str, label: str, *, diff: bool = False) -> pd.DataFrame:  # fmt: skip
    """System x metric, each cell the estimate over its interval; headers in words."""
    suffix = f"_diff_vs_{comparison.reference}" if diff else ""
    table = comparison.table.set_index(["system", "metric"])
    rows = []
    for system in comparison.systems:
        if diff and system == comparison.reference:
            continue
        row = {w["system"]: _system_name(system, comparison, label)}
        for metric in metrics:
            key = (system, metric + suffix)
            values = table.loc[key] if key in table.index else None
            row[metric_label(metric, lang)] = (
                w["na"] if values is None
                else cell(values["estimate"], values["ci_low"], values["ci_high"], w["na"])
            )  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)


def champion_sentence(comparison: Comparison, w: dict[str, str]) -> str:
    """Which model is the champion and why, in words ('' when there is none)."""
    try:
        decision = champion_decision(comparison.table)
    except ValueError:
        return w["champion_none"]
    if not decision.indistinguishable:
        return w["champion_nobootstrap"].format(champion=decision.champion)
    others = [m for m in decision.indistinguishable if m != decision.best]
    if not others:
        return w["champion_alone"].format(champion=decision.champion)
    return w["champion_tied"].format(best=decision.best, others=", ".join(others),
                                     champion=decision.champion,
                                     order=", ".join(SIMPLICITY_ORDER))  # fmt: skip


def champion_table(comparison: Comparison, w: dict[str, str], lang: str,
                   label: str) -> pd.DataFrame:  # fmt: skip
    """The champion and the reference side by side, with the champion's difference."""
    try:
        champion = champion_decision(comparison.table).champion
    except ValueError:
        return pd.DataFrame()
    metrics = ("exclusion_error", "inclusion_error", "mistargeting", "roc_auc")
    table = comparison.table.set_index(["system", "metric"])
    diff_header = w["difference"].format(reference=label).split(" (")[0]
    rows = []
    for metric in metrics:
        row = {w["metric"]: metric_label(metric, lang)}
        for name, key in ((champion, (champion, metric)),
                          (label, (comparison.reference, metric)),
                          (diff_header, (champion, f"{metric}_diff_vs_{comparison.reference}"))):  # fmt: skip
            hit = table.loc[key] if key in table.index else None
            row[name] = w["na"] if hit is None else cell(
                hit["estimate"], hit["ci_low"], hit["ci_high"], w["na"])  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)


def _group(slicing: str, group: object, w: dict[str, str], names: ReportNames) -> str:
    text = str(group)
    if slicing in AREA_SLICES or slicing == "cluster":
        return names.area_name(slicing, text)
    return w[text] if text in _GROUP_WORDS and text in w else text


def _slicing(slicing: str, w: dict[str, str], names: ReportNames) -> str:
    defaults = {"KDKAB": w["kabupaten"], "KDKEC": w["kecamatan"], "cluster": w["desa"]}
    if slicing in defaults:
        return names.level(slicing, defaults[slicing])
    return w.get(slicing, slicing)


def slice_table(comparison: Comparison, w: dict[str, str], label: str,
                names: ReportNames) -> pd.DataFrame:  # fmt: skip
    """Exclusion error per household group (slicing, group) and system; areas left out."""
    slices = comparison.slices
    small = slices[~slices["slice"].isin(AREA_SLICES)] if not slices.empty else slices
    if small.empty:
        return pd.DataFrame()
    wide = small.pivot_table(index=["slice", "group"], columns="system",
                             values="exclusion_error", sort=False)  # fmt: skip
    systems = [s for s in comparison.systems if s in wide.columns]
    out = pd.DataFrame({
        w["slicing"]: [_slicing(s, w, names) for s, _ in wide.index],
        w["group"]: [_group(s, g, w, names) for s, g in wide.index],
    })  # fmt: skip
    for system in systems:
        header = _system_name(system, comparison, label)
        out[header] = [number(v, w["na"]) for v in wide[system].to_numpy()]
    return out


def gap_table(comparison: Comparison, w: dict[str, str], label: str,
              names: ReportNames) -> pd.DataFrame:  # fmt: skip
    """One row per slicing and system: the largest gap, its groups and the chance gap."""
    gaps = comparison.slice_gaps
    if gaps is None or gaps.empty or "null" not in gaps.columns:
        return pd.DataFrame()
    rows = []
    for row in gaps[gaps["metric"] == "exclusion_error"].itertuples(index=False):
        if str(row.highest) == str(row.lowest):
            continue  # one group only: there is no gap to show
        value = cell(row.gap, row.ci_low, row.ci_high, w["na"]).replace("\n", " ")
        null = w["na"]
        if not np.isnan(row.null):
            null = f"{row.null:.3f} [{row.null_high:.3f}]"
        rows.append({
            w["slicing"]: _slicing(row.slice, w, names),
            w["system"]: _system_name(row.system, comparison, label),
            w["gap_value"]: value,
            w["gap_groups"]: f"{_group(row.slice, row.highest, w, names)} vs "
                             f"{_group(row.slice, row.lowest, w, names)}",
            w["gap_null"]: null,
            w["p"]: w["na"] if np.isnan(row.p_value) else f"{row.p_value:.2f}",
        })  # fmt: skip
    if not rows:
        return pd.DataFrame()
    return pd.DataFrame(rows).sort_values(w["slicing"], kind="stable")


def decomposition_table(comparison: Comparison, w: dict[str, str], lang: str) -> pd.DataFrame:
    """The generator's decomposition of the reference's exclusion error, one row per step."""
    steps = comparison.gap_decomposition
    if not steps:
        return pd.DataFrame()
    table = pd.DataFrame(steps)
    if not {"step", "exclusion_error"} <= set(table.columns):
        return pd.DataFrame()
    table = table.rename(columns={"step": w["step"]})
    return table.rename(columns=lambda c: metric_label(c, lang)).map(number)


def agreement_table(comparison: Comparison, w: dict[str, str], label: str) -> pd.DataFrame:
    """Kept, dropped and added households per model, as whole counts."""
    agreement = comparison.agreement
    if agreement.empty:
        return pd.DataFrame()
    return pd.DataFrame({
        w["system"]: [_system_name(s, comparison, label) for s in agreement["system"]],
        w["change"]: [w.get(str(c), str(c)) for c in agreement["change"]],
        w["count"]: [f"{v:,.0f}" for v in agreement["households"]],
        w["target"].capitalize(): [f"{v:,.0f}" for v in agreement["target"]],
        w["non_target"].capitalize(): [f"{v:,.0f}" for v in agreement["non_target"]],
    })  # fmt: skip


def importance_table(summary: ExplanationSummary, w: dict[str, str]) -> pd.DataFrame:
    """Questionnaire items by mean absolute contribution to the champion's score."""
    table = summary.importance
    return pd.DataFrame({
        w["item"]: table["item"].astype(str),
        w["mean_abs"]: [f"{v:.3f}" for v in table["mean_abs"]],
        w["toward_poorer"]: [f"{v:.0%}" for v in table["toward_poorer"]],
    })  # fmt: skip


def _at_most(area: pd.DataFrame, w: dict[str, str], rows: int = 40) -> pd.DataFrame:
    """The first ``rows - 1`` areas and one row summing the rest (a page, not a register)."""
    if len(area) <= rows:
        return area
    rest = area.iloc[rows - 1 :]
    total = {"code": "", "name": w["others_sum"].format(n=len(rest)),
             "scored": rest["scored"].sum(), "selected": rest["selected"].sum()}  # fmt: skip
    return pd.concat([area.iloc[: rows - 1], pd.DataFrame([total])], ignore_index=True)


def prelist_tables(summary: PrelistSummary, w: dict[str, str],
                   names: ReportNames) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """(counts, selected per area, rejects by reason) of the scored prelist."""
    counts = pd.DataFrame({
        w["prelist_counts"]: [w[k] for k in summary.counts],
        w["number"]: [number(v) for v in summary.counts.values()],
    })  # fmt: skip
    level = _slicing(summary.level, w, names)
    area = _at_most(summary.per_area.sort_values("selected", ascending=False, kind="stable"), w)
    per_area = pd.DataFrame({
        w["area"].format(level=level).capitalize(): [
            name if str(name) not in ("", "nan", "<NA>") else str(code)
            for code, name in zip(area["code"], area["name"], strict=True)],
        w["scored"]: [number(v) for v in area["scored"]],
        w["selected"].capitalize(): [number(v) for v in area["selected"]],
    })  # fmt: skip
    rejects = pd.DataFrame({
        w["reason"]: summary.rejects["reason"].astype(str),
        w["count"]: [number(v) for v in summary.rejects["households"]],
    })  # fmt: skip
    return counts, per_area, rejects
