"""What the ``slrt-ml`` commands print after their work: tables, counts, paths and hints.

Kept apart from :mod:`slrt_ml.cli` (which parses flags and checks them before any work) so
both stay short. Paths in hints are absolute, so they can be copied from any folder.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

__all__ = ["mlflow_ui_hint", "print_demo", "print_frame", "report_scoring", "validation_table"]


def console() -> Console:
    return Console()


def print_frame(frame: pd.DataFrame, *, title: str) -> None:
    table = Table(title=title)
    for col in frame.columns:
        table.add_column(str(col), justify="left" if col == "system" else "right")
    for row in frame.itertuples(index=False):
        table.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row])
    console().print(table)


def validation_table(reports: list[Any]) -> Table:
    table = Table("file", "table", "rows", "status", title="Data contract")
    for r in reports:
        status = "[green]valid[/]" if r.valid else f"[red]{len(r.problems)} problem(s)[/]"
        table.add_row(str(r.path), r.kind, f"{r.rows:,}", status)
    return table


def mlflow_ui_hint(tracking_uri: str) -> str:
    """The command that opens the MLflow UI on ``tracking_uri``, with an absolute program path.

    >>> mlflow_ui_hint("sqlite:////tmp/mlflow.db").endswith(
    ...     "mlflow ui --backend-store-uri sqlite:////tmp/mlflow.db")
    True
    """
    program = Path(sys.executable).absolute().parent / "mlflow"
    name = str(program) if program.exists() else "mlflow"
    return f"{name} ui --backend-store-uri {tracking_uri}"


def report_scoring(result: Any, models: list[str]) -> None:
    out = console()
    out.print(f"model(s): {', '.join(models)}; {result.households_per_second:,.0f} households/s")
    out.print(f"input {result.n_input} = scored {result.n_scored} + rejected {result.n_rejected}")
    for note in result.drift_warnings[:10]:
        out.print(f"[bold yellow]drift warning:[/] {note}")
    if len(result.drift_warnings) > 10:
        out.print(f"... {len(result.drift_warnings) - 10} more in {result.drift}")
    out.print(f"output: [bold]{result.output}[/]\nrejects: {result.rejects}")
    if result.drift:
        out.print(f"drift: {result.drift}")


def print_demo(result: Any) -> None:
    out = console()
    headline = result.summary.set_axis(
        ["system", "exclusion error", "95% CI", "inclusion error", "95% CI "], axis=1
    )
    print_frame(
        headline,
        title=f"SYNTHETIC registry: every system selects {result.quota:,} "
        f"households (SIKS-NG's quota); 95% intervals clustered by desa",
    )
    registered = f", registered as {result.registered_as}@champion" if result.registered_as else ""
    rule = "simplest model within noise of the lowest exclusion error"
    out.print(f"champion ({rule}): [bold]{result.champion}[/]{registered}")
    s = result.scoring
    out.print(
        f"prelist: input {s['n_input']} = scored {s['n_scored']} + rejected "
        f"{s['n_rejected']} ({s['households_per_second']:,.0f} households/s)"
    )
    out.print(f"registry:    {result.data_dir}\nrun folder:  {result.run_dir}")
    out.print(f"report:      [bold]{result.report}[/]\nscored:      [bold]{result.scored}[/]")
    out.print(f"explained:   {result.explanations}")
    if result.tracking_uri:
        out.print(f"MLflow:      {result.tracking_uri}", soft_wrap=True)
        out.print(f"open with:   {mlflow_ui_hint(result.tracking_uri)}", soft_wrap=True)
    out.print("timings (s): " + ", ".join(f"{k} {v}" for k, v in result.timings.items()))
    out.print("[dim]Synthetic data: shows the pipeline works; not evidence about SIKS-NG.[/]")
