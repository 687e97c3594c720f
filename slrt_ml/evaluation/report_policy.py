"""Report sections on policy: welfare after transfers, the budget curve, verification visits.

Strings only (no disk I/O): tables of text cells, sentences, and figures as base64 PNG, so
the report (:mod:`slrt_ml.evaluation.report`) can place them in HTML or Markdown. Inputs
are the run folder's ``welfare_curves.csv`` and ``verification_curve.csv``
(:mod:`slrt_ml.pipeline.policy`).
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd

from slrt_ml.evaluation.report_sections import cell
from slrt_ml.evaluation.verification import visits_to_cut

__all__ = [
    "budget_curve_figure",
    "policy_html",
    "policy_markdown",
    "verification_figure",
    "verification_sentence",
    "welfare_difference_table",
    "welfare_table",
]

#: Metrics of the welfare table, in order, with their headings.
WELFARE_METRICS = {
    "fgt0": "Poverty headcount (FGT0)",
    "fgt1": "Poverty gap (FGT1)",
    "fgt2": "Severity (FGT2)",
    "ede_rho1": "EDE, rho=1 (Rp/cap/month)",
    "ede_rho3": "EDE, rho=3 (Rp/cap/month)",
}
ORDER_WORDS = {"priority_rule": "current priority rule", "conformal_first": "conformal-uncertain first",
               "random": "random order"}  # fmt: skip


def _estimate_cell(row: pd.Series) -> str:
    if abs(row["estimate"]) >= 100:
        text = f"{row['estimate']:,.0f}"
        if np.isfinite(row["ci_low"]):
            text += f"\n[{row['ci_low']:,.0f}, {row['ci_high']:,.0f}]"
        return text
    return cell(row["estimate"], row["ci_low"], row["ci_high"])


def welfare_table(curves: pd.DataFrame) -> pd.DataFrame:
    """System x welfare metric after PKH transfers (each cell estimate over its interval).

    Rows: no transfer, then every system with the PKH schedule within the same budget.
    """
    rows = curves[curves["rule"].isin(["none", "pkh_schedule"])]
    out = []
    for system, part in rows.groupby("system", sort=False):
        by_metric = part.set_index("metric")
        row = {"System": "no transfer" if system == "none" else str(system),
               "Share listed": f"{part['share'].iloc[0]:.3f}"}  # fmt: skip
        for metric, heading in WELFARE_METRICS.items():
            row[heading] = (
                _estimate_cell(by_metric.loc[metric]) if metric in by_metric.index else "n/a"
            )
        out.append(row)
    return pd.DataFrame(out)


def welfare_difference_table(curves: pd.DataFrame, reference: str = "siksng") -> pd.DataFrame:
    """Model minus ``reference`` after PKH transfers, paired intervals (empty without rows)."""
    suffix = f"_diff_vs_{reference}"
    rows = curves[(curves["rule"] == "pkh_schedule") & curves["metric"].str.endswith(suffix)]
    out = []
    for system, part in rows.groupby("system", sort=False):
        by_metric = part.set_index("metric")
        row = {"System": f"{system} - {reference}"}
        for metric, heading in WELFARE_METRICS.items():
            key = metric + suffix
            row[heading] = _estimate_cell(by_metric.loc[key]) if key in by_metric.index else "n/a"
        out.append(row)
    return pd.DataFrame(out)


def _markdown_table(frame: pd.DataFrame) -> str:
    """A pipe table (second lines of cells joined with a space).

    >>> print(_markdown_table(pd.DataFrame({"a": ["1\\n[0, 2]"]})))
    | a |
    |---|
    | 1 [0, 2] |
    """
    cells = frame.astype(str).replace("\n", " ", regex=True)
    lines = ["| " + " | ".join(cells.columns) + " |", "|" + "---|" * len(cells.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in cells.itertuples(index=False)]
    return "\n".join(lines)


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def budget_curve_figure(curves: pd.DataFrame, metric: str = "ede_rho3") -> str:
    """cider's budget curve: ``metric`` against the share targeted, one line per system,
    intervals shaded, no-transfer and universal levels dashed (base64 PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    uniform = curves[(curves["rule"] == "uniform") & (curves["metric"] == metric)]
    for system, part in uniform[uniform["system"] != "universal"].groupby("system", sort=False):
        part = part.sort_values("share")
        ax.plot(100 * part["share"], part["estimate"], marker="o", ms=3, label=str(system))
        ax.fill_between(100 * part["share"], part["ci_low"], part["ci_high"], alpha=0.15)
    for system, style in (("universal", "--"), ("none", ":")):
        level = curves[(curves["system"] == system) & (curves["metric"] == metric)]
        if len(level):
            ax.axhline(level["estimate"].iloc[0], color="grey", ls=style, label=system)
    ax.set_xlabel("Share of households targeted (%), same budget")
    ax.set_ylabel(metric)
    ax.legend(fontsize=8)
    return _png(fig)


def verification_figure(table: pd.DataFrame, system: str) -> str:
    """Exclusion error against field visits for each priority order of ``system``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for order, part in table[table["system"] == system].groupby("order", sort=False):
        ax.plot(part["visits"], part["exclusion_error"], label=ORDER_WORDS.get(order, order))
    ax.set_xlabel("Households verified (K)")
    ax.set_ylabel("Exclusion error after verification")
    ax.set_title(str(system))
    ax.legend(fontsize=8)
    return _png(fig)


def verification_sentence(table: pd.DataFrame, system: str, points: float = 0.10) -> str:
    """How many visits cut ``system``'s exclusion error by ``points`` under each order."""
    part = table[table["system"] == system]
    counts = visits_to_cut(part, points)
    start = part["exclusion_error"].iloc[0] if len(part) else float("nan")
    said = [f"{ORDER_WORDS.get(o, o)}: " + (f"{v:,.0f} visits" if np.isfinite(v) else "not reached")
            for o, v in counts.items()]  # fmt: skip
    return (f"{system}: exclusion error {start:.3f} before verification; cutting it by "
            f"{100 * points:.0f} points takes " + "; ".join(said) + ".")  # fmt: skip


def policy_markdown(curves: pd.DataFrame, verification: pd.DataFrame) -> str:
    """The policy section in Markdown (tables and sentences; figures only in HTML)."""
    lines = ["## Welfare after PKH transfers", "",
             "Each listed household receives its PKH entitlement (2021-2024 amounts per "
             "component, at most four), within the budget of SIKS-NG's list; consumption per "
             "capita per month after the transfer; 95% cluster-bootstrap intervals.", "",
             _markdown_table(welfare_table(curves)), "",
             _markdown_table(welfare_difference_table(curves)), "",
             "## Verification visits", "",
             "Before any visit each model lists as many households as the reference listed "
             "(national, in households), whatever rule the comparison above used; a visit "
             "reveals the truth, so a visited household is listed if and only if it is in "
             "the target group.", ""]  # fmt: skip
    lines += [
        f"- {verification_sentence(verification, s)}" for s in verification["system"].unique()
    ]
    return "\n".join(lines) + "\n"


def policy_html(curves: pd.DataFrame, verification: pd.DataFrame) -> str:
    """The policy section as an HTML fragment with inline figures."""
    table = (
        welfare_table(curves).replace("\n", "<br>", regex=True).to_html(index=False, escape=False)
    )
    diff = welfare_difference_table(curves).replace("\n", "<br>", regex=True)
    parts = ["<h2>Welfare after PKH transfers</h2>", table,
             diff.to_html(index=False, escape=False),
             "<h3>Budget curve (cider's definition: fixed budget, equal transfers)</h3>",
             f'<img alt="budget curve" src="data:image/png;base64,{budget_curve_figure(curves)}">',
             "<h2>Verification visits</h2>"]  # fmt: skip
    for system in verification["system"].unique():
        parts.append(f"<p>{verification_sentence(verification, system)}</p>")
        figure = verification_figure(verification, system)
        parts.append(f'<img alt="verification {system}" src="data:image/png;base64,{figure}">')
    return "\n".join(parts)


def policy_section(curves: pd.DataFrame, verification: pd.DataFrame) -> list:
    """The section as the report's blocks (:mod:`slrt_ml.evaluation.report`): welfare and
    difference tables, the budget curve, and per system the visits sentence and figure."""
    blocks: list = [
        ("h2", "Welfare after PKH transfers"),
        ("p", "Each listed household receives its PKH entitlement (2021-2024 amounts per "
              "component, at most four), within the budget of the reference's list; "
              "consumption per capita per month after the transfer; 95% cluster-bootstrap "
              "intervals."),
        ("table", welfare_table(curves)),
        ("table", welfare_difference_table(curves)),
        ("h3", "Budget curve (cider's definition: fixed budget, equal transfers)"),
        ("img", base64.b64decode(budget_curve_figure(curves)), "budget curve"),
        ("h2", "Verification visits"),
        ("p", "Before any visit each model lists as many households as the reference listed "
              "(national, in households), whatever rule the comparison above used; a visit "
              "reveals the truth, so a visited household is listed if and only if it is in "
              "the target group."),
    ]  # fmt: skip
    for system in verification["system"].unique():
        blocks.append(("p", verification_sentence(verification, system)))
        figure = base64.b64decode(verification_figure(verification, system))
        blocks.append(("img", figure, f"verification {system}"))
    return blocks
