"""The report's section on update cycles: errors per cycle, decay per year, refit policies.

Strings and PNG bytes only (no disk I/O): :func:`cycles_section` gives the section as
the report's blocks for a report to embed, :func:`cycles_markdown` / :func:`cycles_html` a
standalone page, :func:`cycles_figure` the figure of error against cycle (one panel per
refit policy, SIKS-NG's published list in black in each).

>>> errors = pd.DataFrame({"policy": ["published", "never"], "system": ["siksng", "logit"],
...     "train_cycle": [0, 0], "cycle": [0, 0], "years": [0.0, 0.0],
...     "metric": "exclusion_error", "estimate": [0.5, 0.4], "ci_low": [0.45, 0.35],
...     "ci_high": [0.55, 0.45]})
>>> decay = pd.DataFrame({"policy": ["published"], "system": ["siksng"],
...     "metric": ["exclusion_error"], "slope_pp_per_year": [1.5], "ci_low": [0.5],
...     "ci_high": [2.5], "cycles": [4], "first": [0.5], "last": [0.52]})
>>> decay_table(decay).iloc[0].tolist()
['published', 'SIKS-NG', 'exclusion', '1.5 [0.5, 2.5]', '0.500', '0.520']
"""

from __future__ import annotations

import base64
import html
import io

import pandas as pd

__all__ = ["cycles_figure", "cycles_html", "cycles_markdown", "cycles_section", "decay_table"]

_NAMES = {"siksng": "SIKS-NG"}
_METRICS = {"exclusion_error": "exclusion", "inclusion_error": "inclusion",
            "mistargeting": "mistargeting"}  # fmt: skip
_INTRO = (
    "Each cycle's lists are compared with the truth of that cycle at SIKS-NG's coverage "
    "(population view). A refit policy says which cycle's survey sample the model was "
    "fitted on: `never` (cycle 0), `every_k` (every k cycles) or `drift` (when the prelist "
    "entering a cycle drifts from the training features by a mean PSI above the "
    "threshold). Decay is the least-squares slope of the error against years, in "
    "percentage points a year (positive: the list goes stale), with a 95% jackknife-t "
    "interval: each replicate leaves the same desa out of every cycle and re-selects "
    "each model's list at SIKS-NG's coverage without them."
)


def _fmt(value: float, digits: int = 3) -> str:
    return "n/a" if pd.isna(value) else f"{value:.{digits}f}"


def _cell(estimate, low, high, digits: int = 3) -> str:
    if pd.isna(low):
        return _fmt(estimate, digits)
    return f"{_fmt(estimate, digits)} [{_fmt(low, digits)}, {_fmt(high, digits)}]"


def decay_table(decay: pd.DataFrame) -> pd.DataFrame:
    """Decay per year, one row per policy, system and metric, intervals in brackets."""
    return pd.DataFrame({
        "policy": decay["policy"],
        "system": decay["system"].map(lambda s: _NAMES.get(s, s)),
        "metric": decay["metric"].map(lambda m: _METRICS.get(m, m)),
        "decay (pp a year)": [_cell(r.slope_pp_per_year, r.ci_low, r.ci_high, 1)
                              for r in decay.itertuples()],
        "first": decay["first"].map(_fmt), "last": decay["last"].map(_fmt),
    })  # fmt: skip


def errors_table(errors: pd.DataFrame, metric: str = "exclusion_error") -> pd.DataFrame:
    """Error per cycle (columns) for every policy and system (rows), with intervals."""
    part = errors[errors["metric"] == metric].copy()
    part["value"] = [_cell(r.estimate, r.ci_low, r.ci_high) for r in part.itertuples()]
    part["system"] = part["system"].map(lambda s: _NAMES.get(s, s))
    table = part.pivot_table(index=["policy", "system"], columns="cycle", values="value",
                             aggfunc="first", sort=False)  # fmt: skip
    table.columns = [f"cycle {c}" for c in table.columns]
    return table.reset_index()


def cycles_figure(errors: pd.DataFrame, metric: str = "exclusion_error") -> bytes:
    """PNG of ``metric`` against cycle: one panel per refit policy, SIKS-NG in black."""
    from matplotlib.figure import Figure

    part = errors[errors["metric"] == metric]
    policies = [p for p in part["policy"].unique() if p != "published"] or ["published"]
    reference = part[part["policy"] == "published"]
    figure = Figure(figsize=(3.6 * len(policies), 3.4), dpi=100, layout="constrained")
    axes = figure.subplots(1, len(policies), sharey=True, squeeze=False)[0]
    for ax, policy in zip(axes, policies, strict=True):
        for system, line in part[part["policy"] == policy].groupby("system", sort=False):
            _line(ax, line, system, None)
        _line(ax, reference, "SIKS-NG", "black")
        ax.set_title(policy)
        ax.set_xlabel("cycle")
        ax.set_xticks(sorted(part["cycle"].unique()))
    axes[0].set_ylabel(_METRICS.get(metric, metric) + " error")
    axes[-1].legend(fontsize=8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _line(ax, rows: pd.DataFrame, label: str, colour: str | None) -> None:
    if rows.empty:
        return
    low = (rows["estimate"] - rows["ci_low"]).fillna(0).clip(lower=0)
    high = (rows["ci_high"] - rows["estimate"]).fillna(0).clip(lower=0)
    ax.errorbar(rows["cycle"], rows["estimate"], yerr=[low, high], label=label, color=colour,
                marker="o", capsize=3, linewidth=2.5 if colour else 1.5)  # fmt: skip


def cycles_section(errors: pd.DataFrame, decay: pd.DataFrame, *, months: int) -> list:
    """The section as the report's blocks (:mod:`slrt_ml.evaluation.report`): ``("h2", text)``,
    ``("p", text)``, ``("h3", text)``, ``("table", frame)``, ``("img", png, alt)``; a report
    appends them to its own blocks."""
    return [
        ("h2", "Update cycles: how fast the lists go stale"),
        ("p", f"{_INTRO} One cycle = {months} months."),
        ("h3", "Decay per year"),
        ("table", decay_table(decay)),
        ("h3", "Exclusion error per cycle"),
        ("table", errors_table(errors)),
        ("h3", "Inclusion error per cycle"),
        ("table", errors_table(errors, "inclusion_error")),
        ("img", cycles_figure(errors), "Exclusion error against cycle"),
    ]


def _markdown_table(frame: pd.DataFrame) -> str:
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |"
            for row in frame.itertuples(index=False)]  # fmt: skip
    return "\n".join([head, rule, *body])


def cycles_markdown(errors: pd.DataFrame, decay: pd.DataFrame, *, months: int) -> str:
    """The section as Markdown (the figure inline as a data URI)."""
    prefix = {"h2": "## ", "h3": "### ", "p": ""}
    out = []
    for block in cycles_section(errors, decay, months=months):
        if block[0] == "table":
            out.append(_markdown_table(block[1]))
        elif block[0] == "img":
            data = base64.b64encode(block[1]).decode("ascii")
            out.append(f"![{block[2]}](data:image/png;base64,{data})")
        else:
            out.append(prefix[block[0]] + block[1])
    return "\n\n".join(out) + "\n"


def cycles_html(errors: pd.DataFrame, decay: pd.DataFrame, *, months: int) -> str:
    """The section as a standalone HTML page (figure inline)."""
    out = []
    for block in cycles_section(errors, decay, months=months):
        if block[0] == "table":
            out.append(block[1].to_html(index=False, escape=True, border=0))
        elif block[0] == "img":
            data = base64.b64encode(block[1]).decode("ascii")
            out.append(f'<img alt="{html.escape(block[2])}" src="data:image/png;base64,{data}">')
        else:
            out.append(f"<{block[0]}>{html.escape(block[1])}</{block[0]}>")
    body = "\n".join(out)
    return f"<!doctype html>\n<html><head><meta charset='utf-8'></head><body>\n{body}\n</body></html>\n"
