"""The ``slrt-ml`` command line (Typer). Commands parse flags, call library functions, print.

The work behind a command lives in :mod:`slrt_ml.pipeline.commands` and the stage modules.
``--config FILE`` (default: the packaged ``default.yaml``) gives the defaults of ``train``,
``compare``, ``explain``, ``score`` and ``demo``; a flag that is given overrides it.
Heavy optional libraries (TensorFlow, MLflow, SHAP) are imported only where they are used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from slrt_ml import tracking
from slrt_ml.config import Config, load_config
from slrt_ml.data.io import TableReadError
from slrt_ml.data.registry import FileReport, validate_paths
from slrt_ml.data.synth.generator import generate_registry, summary
from slrt_ml.evaluation.report import console_table
from slrt_ml.pipeline import commands
from slrt_ml.pipeline.costa_rica import comparison_summary, costa_rica_run, summary_markdown
from slrt_ml.pipeline.demo import DemoResult, run_demo
from slrt_ml.pipeline.score import load_scoring_models
from slrt_ml.pipeline.score_output import ScoringResult
from slrt_ml.pipeline.train import train as train_run

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
NoTrack = Annotated[bool, typer.Option("--no-track", help="Do not log to MLflow.")]
RunDir = Annotated[Path, typer.Option("--run", help="Run folder written by `slrt-ml train`.")]
ConfigPath = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="YAML config (default: the packaged configs/default.yaml); flags override it.",
    ),
]
DataOption = Annotated[
    Path | None, typer.Option("--data", help="Registry folder (households, members, ...).")
]
MappingOption = Annotated[
    Path | None,
    typer.Option(
        "--mapping",
        help="Dataset mapping YAML for your own household table "
        "(instead of --data; see configs/datasets/).",
    ),
]
TableOption = Annotated[
    Path | None,
    typer.Option("--table", help="Household table for --mapping (default: the mapping's table)."),
]
TopK = Annotated[
    int | None,
    typer.Option("--top-k", min=1, help="Reasons per household [config: scoring.top_k]."),
]

#: Errors in the user's data, files or config: reported in one line, exit code 1.
USER_ERRORS = (FileNotFoundError, ValueError)


def _console() -> Console:
    return Console()


def _fail(message: str) -> typer.Exit:
    _console().print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=1)


@contextmanager
def _user_errors() -> Iterator[None]:
    """A bad file, column or config value ends the command with its message, no traceback."""
    try:
        yield
    except USER_ERRORS as err:
        raise _fail(str(err)) from None


def _one_input(data: Any, mapping: Any, table: Any, *, data_flag: str = "--data") -> None:
    """Exactly one of a PBDT input (--data/--prelist) and --mapping; --table only with it."""
    if (data is None) == (mapping is None):
        raise typer.BadParameter(
            f"give either {data_flag} (PBDT registry) or --mapping YAML [--table FILE] "
            f"(your own household table), not {'both' if data else 'neither'}"
        )
    if table is not None and mapping is None:
        raise typer.BadParameter("--table is the household table of --mapping; add --mapping YAML")


# --- data: synth / validate / costa-rica ------------------------------------------------


@data_app.command("synth")
def data_synth(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the registry into.")],
    households: Annotated[
        int, typer.Option("--households", min=1, help="Registry households.")
    ] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same files).")] = 0,
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
) -> None:
    """Write a synthetic DTKS registry, SIKS-NG output, truth and prelist to OUT."""
    if fmt not in ("parquet", "csv"):
        raise typer.BadParameter(f"--format must be parquet or csv, got {fmt!r}")
    with Progress(transient=True) as bar:
        task = bar.add_task("synth", total=None)
        meta = generate_registry(
            out,
            households,
            seed,
            fmt,
            progress=lambda stage, done, total: bar.update(
                task, description=stage, completed=done, total=total
            ),
        )
    typer.echo(f"wrote {len(meta['counts'])} tables and metadata.json to {out}")
    typer.echo(summary(meta))


@data_app.command("validate")
def data_validate(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Registry folders and/or table files (households*.csv ...)."),
    ],
) -> None:
    """Check tables against the data contract: exit 0 when valid, 1 with every problem listed."""
    console = Console(width=200)
    try:
        reports = validate_paths(paths)
    except TableReadError as err:
        console.print(f"error: {err}", markup=False, highlight=False)
        raise typer.Exit(code=1) from None
    console.print(_validation_table(reports))
    for report in reports:
        for problem in report.problems:
            console.print(f"{report.path}: {problem}", markup=False, highlight=False)
    if not all(report.valid for report in reports):
        raise typer.Exit(code=1)


def _validation_table(reports: list[FileReport]) -> Table:
    table = Table("file", "table", "rows", "status", title="Data contract")
    for r in reports:
        status = "[green]valid[/]" if r.valid else f"[red]{len(r.problems)} problem(s)[/]"
        table.add_row(str(r.path), r.kind, f"{r.rows:,}", status)
    return table


@data_app.command("costa-rica")
def data_costa_rica(
    out: Annotated[Path, typer.Option("--out", help="Run folder to write.")],
    train_csv: Annotated[
        Path | None,
        typer.Option("--train-csv", help="The competition's train.csv; default: fetch via pip."),
    ] = None,
    models: Annotated[
        str, typer.Option("--models", help="Comma-separated.")
    ] = "pmt_ols,logit,gbm,ebm",
    bootstrap: Annotated[int, typer.Option("--bootstrap", min=0)] = 1000,
    folds: Annotated[int, typer.Option("--folds", min=2)] = 5,
) -> None:
    """Costa Rica real-data run: every model against a fitted PMT scorecard at equal coverage."""
    comparison = costa_rica_run(
        out,
        train_csv=train_csv,
        models=commands.split_names(models),
        bootstrap=bootstrap,
        folds=folds,
        progress=True,
    )
    typer.echo(summary_markdown(comparison_summary(comparison.table)))
    typer.echo(f"wrote comparison.csv, selections.parquet, slices.csv and models to {out}")


# --- train / compare -------------------------------------------------------------------------


@app.command()
def train(
    out: Annotated[Path, typer.Option("--out", help="Run folder to write.")],
    data: DataOption = None,
    mapping: MappingOption = None,
    table: TableOption = None,
    config: ConfigPath = None,
    models: Annotated[
        str | None,
        typer.Option(
            "--models", help="Comma-separated: pmt_ols,logit,gbm,rf,ebm,mlp [config: models]."
        ),
    ] = None,
    tracking_uri: TrackingUri = None,
    no_track: NoTrack = False,
) -> None:
    """Validate the registry (or mapped table), build features, fit every model with grouped CV."""
    _one_input(data, mapping, table)
    with _user_errors():
        cfg = load_config(config).with_models(commands.split_names(models))
        result = train_run(commands.targeting_data(data, mapping, table, cfg), out, cfg)
    synthetic = " (synthetic data)" if result.manifest.get("synthetic") else ""
    _print_frame(result.summary, title=f"Out-of-fold ranking quality{synthetic}")
    _track(
        "log_training",
        result.run_dir,
        cfg,
        tracking_uri,
        no_track,
        experiment=cfg.tracking.experiment,
    )
    _console().print(f"run folder: [bold]{result.run_dir}[/]")


def _print_frame(frame: pd.DataFrame, *, title: str) -> None:
    table = Table(title=title)
    for col in frame.columns:
        table.add_column(str(col), justify="left" if col == "system" else "right")
    for row in frame.itertuples(index=False):
        table.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row])
    _console().print(table)


def _track(
    what: str, target: Any, cfg: Config, tracking_uri: str | None, no_track: bool, **kw: Any
) -> None:
    """Log to MLflow through `tracking` unless --no-track or ``tracking.enabled: false``."""
    if no_track or not cfg.tracking.enabled:
        return
    run_id = getattr(tracking, what)(target, tracking_uri=tracking_uri, **kw)
    _console().print(f"MLflow run {run_id} in {tracking.resolve_tracking_uri(tracking_uri)}")


@app.command()
def compare(
    run: RunDir,
    data: DataOption = None,
    mapping: MappingOption = None,
    table: TableOption = None,
    quota: Annotated[
        str | None,
        typer.Option(
            "--quota",
            help="'siksng' (same count as SIKS-NG), a count, or a share [config: compare.quota].",
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by", help="Per-area quotas: KDKEC or KDDESA [config: compare.by; default: overall]."
        ),
    ] = None,
    bootstrap: Annotated[
        int | None,
        typer.Option("--bootstrap", min=0, help="Replicates [config: compare.bootstrap]."),
    ] = None,
    weight: Annotated[
        str | None, typer.Option("--weight", help="household or person [config: compare.weight].")
    ] = None,
    config: ConfigPath = None,
    tracking_uri: TrackingUri = None,
    no_track: NoTrack = False,
) -> None:
    """Every model and SIKS-NG at equal coverage, with 95% intervals; writes the report."""
    _one_input(data, mapping, table)
    with _user_errors():
        cfg = load_config(config)
        paths, comparison = commands.compare_run(
            run,
            commands.targeting_data(data, mapping, table, cfg),
            cfg,
            quota=quota,
            by=by,
            bootstrap=bootstrap,
            weight=weight,
        )
    _console().print(console_table(comparison))
    _track(
        "log_comparison",
        Path(run),
        cfg,
        tracking_uri,
        no_track,
        register_as=cfg.tracking.registered_model_name,
    )
    for label, path in paths.items():
        _console().print(f"{label}: [bold]{path}[/]")


# --- explain / score -----------------------------------------------------------------------


@app.command()
def explain(
    run: RunDir,
    data: DataOption = None,
    mapping: MappingOption = None,
    table: TableOption = None,
    households: Annotated[
        str | None, typer.Option("--households", help="Comma-separated IDBDT (default: all).")
    ] = None,
    top_k: TopK = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Model name in the run (default: champion).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Explanation table (.parquet/.csv/.xlsx).")
    ] = None,
    plot: Annotated[
        str | None, typer.Option("--plot", help="IDBDT of one household: write a waterfall PNG.")
    ] = None,
    config: ConfigPath = None,
) -> None:
    """SHAP explanations per household: tidy table, top-k reasons, optional waterfall PNG."""
    _one_input(data, mapping, table)
    with _user_errors():
        cfg = load_config(config)
        top_k = top_k or cfg.scoring.top_k
        features = commands.explained_features(data, mapping, table, households)
        name, result = commands.explain_run(run, features, model=model, top_k=top_k)
    paths = commands.write_explanation(
        result, out or Path(run) / f"explanations_{name}.csv", plot=plot
    )
    _console().print(result.reasons.head(10).to_string())
    _console().print(f"explanations ({name}): [bold]{paths['explanations']}[/]")
    if "waterfall" in paths:
        _console().print(f"waterfall: [bold]{paths['waterfall']}[/]")


@app.command()
def score(
    model: Annotated[str, typer.Option("--model", help="Run folder or models:/NAME@ALIAS.")],
    out: Annotated[Path, typer.Option("--out", help="Output file (.parquet/.csv/.xlsx).")],
    prelist: Annotated[
        Path | None, typer.Option("--prelist", help="Folder with prelist_*.* files.")
    ] = None,
    mapping: MappingOption = None,
    table: TableOption = None,
    explain: Annotated[bool, typer.Option("--explain", help="Add top-k SHAP reasons.")] = False,
    top_k: TopK = None,
    quota_file: Annotated[
        Path | None, typer.Option("--quota-file", help="CSV KDDESA,quota per desa.")
    ] = None,
    quota_share: Annotated[
        float | None,
        typer.Option(
            "--quota-share", min=0.0, max=1.0, help="Share per desa [config: scoring.quota_share]."
        ),
    ] = None,
    model_name: Annotated[
        str | None, typer.Option("--model-name", help="Model(s) in the run, comma-separated.")
    ] = None,
    chunk_size: Annotated[
        int | None,
        typer.Option(
            "--chunk-size", min=1, help="Households per chunk [config: scoring.chunk_size]."
        ),
    ] = None,
    restart: Annotated[bool, typer.Option("--restart", help="Ignore finished chunks.")] = False,
    config: ConfigPath = None,
    tracking_uri: TrackingUri = None,
    no_track: NoTrack = False,
) -> None:
    """Score a prelist in chunks (or a mapped table): selection, priority, reasons, drift."""
    _one_input(prelist, mapping, table, data_flag="--prelist")
    with _user_errors():
        cfg = load_config(config)
        models, profile, uri = load_scoring_models(
            model, model_names=commands.split_names(model_name), tracking_uri=tracking_uri
        )
        result = commands.score_input(
            models,
            profile,
            out,
            prelist=prelist,
            mapping=mapping,
            table=table,
            config=cfg,
            quota=commands.scoring_quota(quota_file, quota_share),
            explain=explain,
            restart=restart,
            top_k=top_k,
            chunk_size=chunk_size,
        )
    _report_scoring(result, list(models))
    _track(
        "log_scoring",
        result.summary(),
        cfg,
        tracking_uri,
        no_track,
        output_path=out,
        model_uri=uri,
        experiment=cfg.tracking.experiment,
    )


def _report_scoring(result: ScoringResult, models: list[str]) -> None:
    console = _console()
    console.print(
        f"model(s): {', '.join(models)}; {result.households_per_second:,.0f} households/s"
    )
    console.print(
        f"input {result.n_input} = scored {result.n_scored} + rejected {result.n_rejected}"
    )
    for note in result.drift_warnings[:10]:
        console.print(f"[bold yellow]drift warning:[/] {note}")
    if len(result.drift_warnings) > 10:
        console.print(f"... {len(result.drift_warnings) - 10} more in {result.drift}")
    console.print(f"output: [bold]{result.output}[/]\nrejects: {result.rejects}")
    if result.drift:
        console.print(f"drift: {result.drift}")


# --- demo ------------------------------------------------------------------------------------


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for everything it writes.")] = Path(
        "demo_output"
    ),
    households: Annotated[int, typer.Option("--households", min=500)] = 20_000,
    config: ConfigPath = None,
    tracking_uri: TrackingUri = None,
    no_track: NoTrack = False,
) -> None:
    """The main job end to end on the embedded synthetic registry (about 20,000 households)."""
    with _user_errors():
        cfg = load_config(config)
    result = run_demo(
        out, households=households, config=cfg, tracking_uri=tracking_uri, track=not no_track
    )
    _print_demo(result)


def _print_demo(result: DemoResult) -> None:
    console = _console()
    headline = result.summary.set_axis(
        ["system", "exclusion error", "95% CI", "inclusion error", "95% CI "], axis=1
    )
    _print_frame(
        headline,
        title=f"SYNTHETIC registry: every system selects {result.quota:,} "
        f"households (SIKS-NG's quota); 95% cluster-bootstrap intervals",
    )
    registered = f", registered as {result.registered_as}@champion" if result.registered_as else ""
    console.print(f"champion (lowest exclusion error): [bold]{result.champion}[/]{registered}")
    s = result.scoring
    console.print(
        f"prelist: input {s['n_input']} = scored {s['n_scored']} + rejected "
        f"{s['n_rejected']} ({s['households_per_second']:,.0f} households/s)"
    )
    console.print(f"registry:    {result.data_dir}\nrun folder:  {result.run_dir}")
    console.print(f"report:      [bold]{result.report}[/]\nscored:      [bold]{result.scored}[/]")
    console.print(f"explained:   {result.explanations}")
    if result.tracking_uri:
        console.print(
            f"MLflow:      {result.tracking_uri} -> open with `.venv/bin/mlflow ui "
            f"--backend-store-uri {result.tracking_uri}`"
        )
    console.print("timings (s): " + ", ".join(f"{k} {v}" for k, v in result.timings.items()))
    console.print("[dim]Synthetic data: shows the pipeline works; not evidence about SIKS-NG.[/]")


def main() -> None:  # pragma: no cover - console entry point
    app()
