"""The ``slrt-ml`` command line (Typer). Commands are thin: they call library functions.

Heavy imports (TensorFlow, MLflow, SHAP) happen inside the commands that need them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="slrt-ml",
    help="Measure and reduce miss-targeting in PKH: DTKS features, models, SIKS-NG comparison.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
data_app = typer.Typer(help="Synthetic registry and data validation.", no_args_is_help=True)
app.add_typer(data_app, name="data")

TrackingUri = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        envvar="MLFLOW_TRACKING_URI",
        help="MLflow tracking URI; default: a local SQLite store (./mlflow.db), no server needed.",
    ),
]
DataDir = Annotated[Path, typer.Option("--data", help="Registry folder (households, members, ...).")]
RunDir = Annotated[Path, typer.Option("--run", help="Run folder written by `slrt-ml train`.")]


# --- data: synth / validate -------------------------------------------------------------


# --- train ---------------------------------------------------------------------------------


# --- compare -------------------------------------------------------------------------------


# --- explain / score -----------------------------------------------------------------------


# --- demo ------------------------------------------------------------------------------------


def main() -> None:  # pragma: no cover - console entry point
    app()
