"""``slrt-ml data ...``: the synthetic registry, validation of a registry folder, Costa Rica.

Kept beside :mod:`slrt_ml.cli` (which stays under the module size limit); ``cli`` adds
:data:`data_app` as the ``data`` group.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from slrt_ml import preflight
from slrt_ml.cli_cycles import CycleMonthsOption, CyclesOption, synth_cycles
from slrt_ml.cli_errors import fail, user_errors
from slrt_ml.cli_options import (
    Engine,
    EngineOption,
    MasterOption,
    TableFormat,
    command,
    new_app,
    split,
)
from slrt_ml.config import load_config

__all__ = ["data_app"]

data_app = new_app(help="Synthetic registry and data validation.")


@command(data_app, "slrt-ml data synth --out registry/ --households 2000 --format csv",
          name="synth")  # fmt: skip
def data_synth(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the registry into.")],
    households: Annotated[
        int, typer.Option("--households", min=1, help="Registry households.")
    ] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same files).")] = 0,
    fmt: Annotated[
        TableFormat, typer.Option("--format", help="File format.")
    ] = TableFormat.parquet,
    profile: Annotated[
        str,
        typer.Option(
            "--profile",
            help="Generator profile: default, or no_handicaps (SIKS-NG's own "
            "error sources off; see data/README.md).",
        ),
    ] = "default",
    cycles: CyclesOption = 0,
    cycle_months: CycleMonthsOption = 6,
    engine: EngineOption = Engine.local,
    master: MasterOption = "local[2]",
) -> None:
    """Write a synthetic DTKS registry, SIKS-NG output, truth and prelist to OUT."""
    from rich.progress import Progress

    from slrt_ml.data.synth.generator import generate_registry, summary
    from slrt_ml.data.synth.parameters import SynthParameters

    with user_errors():
        preflight.check_output_folder(out)
    try:
        params = SynthParameters.named(profile)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if cycles:
        with user_errors():
            return synth_cycles(out, households, seed, fmt.value, cycles, cycle_months, params)
    if engine is Engine.spark:  # a partitioned Parquet registry, one task per kabupaten
        from slrt_ml.spark.commands import spark_synth

        return spark_synth(out, households, seed, master=master, params=params)
    with Progress(transient=True) as bar:
        task = bar.add_task("synth", total=None)
        meta = generate_registry(
            out, households, seed, fmt.value, params=params,
            progress=lambda stage, done, total: bar.update(
                task, description=stage, completed=done, total=total
            ),
        )  # fmt: skip
    typer.echo(f"wrote {len(meta['counts'])} tables and metadata.json to {out}")
    typer.echo(summary(meta))


@command(data_app, "slrt-ml data validate registry/",
          "slrt-ml data validate households.csv members.csv", name="validate")  # fmt: skip
def data_validate(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Registry folders and/or table files (households*.csv ...)."),
    ],
) -> None:
    """Check tables against the data contract: exit 0 when valid, 1 with every problem listed."""
    from rich.console import Console

    from slrt_ml.cli_output import validation_table
    from slrt_ml.data.io import TableReadError
    from slrt_ml.data.registry import validate_paths

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise fail(f"no such file or folder: {', '.join(missing)}; give registry folders or "
                    "table files (households*.csv, members*.parquet, ...)")  # fmt: skip
    console = Console(width=200)
    try:
        reports = validate_paths(paths)
    except TableReadError as err:
        console.print(f"error: {err}", markup=False, highlight=False)
        raise typer.Exit(code=1) from None
    console.print(validation_table(reports))
    for report in reports:
        for problem in report.problems:
            console.print(f"{report.path}: {problem}", markup=False, highlight=False)
    if not all(report.valid for report in reports):
        raise typer.Exit(code=1)


@command(data_app, "slrt-ml data costa-rica --out costa_rica/ --bootstrap 200",
          name="costa-rica")  # fmt: skip
def data_costa_rica(
    out: Annotated[Path, typer.Option("--out", help="Run folder to write.")],
    train_csv: Annotated[
        Path | None,
        typer.Option("--train-csv", help="The competition's train.csv; default: fetch via pip."),
    ] = None,
    models: Annotated[
        str, typer.Option("--models", help="Comma-separated: pmt_ols,logit,gbm,rf,ebm,mlp.")
    ] = "pmt_ols,logit,gbm,ebm",
    bootstrap: Annotated[int, typer.Option("--bootstrap", min=0, help="Replicates.")] = 1000,
    folds: Annotated[int, typer.Option("--folds", min=2, help="Grouped CV folds.")] = 5,
) -> None:
    """Costa Rica real-data run: every model against a fitted PMT scorecard at equal coverage."""
    with user_errors():
        preflight.check_output_folder(out)
        preflight.check_input_file(train_csv, "--train-csv")
        load_config().with_models(split(models))  # unknown names fail here, listing the known
    from slrt_ml.pipeline import costa_rica

    comparison = costa_rica.costa_rica_run(
        out, train_csv=train_csv, models=split(models), bootstrap=bootstrap, folds=folds,
        progress=True,
    )  # fmt: skip
    typer.echo(costa_rica.summary_markdown(costa_rica.comparison_summary(comparison.table)))
    typer.echo(f"wrote comparison.csv, selections.parquet, slices.csv and models to {out}")
