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
    from rich.progress import Progress

    from slrt_ml.data.synth.generator import generate_registry, summary

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
    from rich.console import Console

    from slrt_ml.data.io import TableReadError, validate_paths

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


def _validation_table(reports):
    from rich.table import Table

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
    models: Annotated[str, typer.Option("--models", help="Comma-separated.")] = "pmt_ols,logit,gbm,ebm",
    bootstrap: Annotated[int, typer.Option("--bootstrap", min=0)] = 1000,
    folds: Annotated[int, typer.Option("--folds", min=2)] = 5,
) -> None:
    """Costa Rica real-data run: every model against a fitted PMT scorecard at equal coverage."""
    from slrt_ml.data.datasets import comparison_summary, costa_rica_run, summary_markdown

    names = [m.strip() for m in models.split(",") if m.strip()]
    comparison = costa_rica_run(out, train_csv=train_csv, models=names, bootstrap=bootstrap,
                                folds=folds, progress=True)
    typer.echo(summary_markdown(comparison_summary(comparison.table)))
    typer.echo(f"wrote comparison.csv, selections.parquet, slices.csv and models to {out}")


# --- train ---------------------------------------------------------------------------------


def _console():
    from rich.console import Console

    return Console()


def _fail(message: str) -> typer.Exit:
    _console().print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=1)


ConfigPath = Annotated[
    Path | None, typer.Option("--config", help="YAML config (default: configs/default.yaml).")
]
DataOption = Annotated[
    Path | None, typer.Option("--data", help="Registry folder (households, members, ...).")
]
MappingOption = Annotated[
    Path | None,
    typer.Option("--mapping", help="Dataset mapping YAML for your own household table "
                 "(instead of --data; see configs/datasets/)."),
]  # fmt: skip
TableOption = Annotated[
    Path | None,
    typer.Option("--table", help="Household table for --mapping (default: the mapping's table)."),
]


def _one_input(data, mapping, table, *, data_flag: str = "--data") -> None:
    """Exactly one of a PBDT input (--data/--prelist) and --mapping; --table only with it."""
    if (data is None) == (mapping is None):
        raise typer.BadParameter(
            f"give either {data_flag} (PBDT registry) or --mapping YAML [--table FILE] "
            f"(your own household table), not {'both' if data else 'neither'}"
        )
    if table is not None and mapping is None:
        raise typer.BadParameter("--table is the household table of --mapping; add --mapping YAML")


def _targeting_data(data, mapping, table, cfg):
    """TargetingData from a registry folder or from a mapped household table."""
    from slrt_ml.pipeline.train import load_mapped_data, load_targeting_data

    if mapping is not None:
        return load_mapped_data(table, mapping)
    return load_targeting_data(data, cfg)


@app.command()
def train(
    out: Annotated[Path, typer.Option("--out", help="Run folder to write.")],
    data: DataOption = None,
    mapping: MappingOption = None,
    table: TableOption = None,
    config: ConfigPath = None,
    models: Annotated[
        str | None, typer.Option("--models", help="Comma-separated: pmt_ols,logit,gbm,rf,ebm,mlp.")
    ] = None,
    tracking_uri: TrackingUri = None,
    no_track: Annotated[bool, typer.Option("--no-track", help="Do not log to MLflow.")] = False,
) -> None:
    """Validate the registry (or mapped table), build features, fit every model with grouped CV."""
    from slrt_ml.config import load_config
    from slrt_ml.data.schema import SchemaError
    from slrt_ml.pipeline.train import train as train_run

    _one_input(data, mapping, table)
    cfg = load_config(config).with_models(models.split(",") if models else None)
    try:
        result = train_run(_targeting_data(data, mapping, table, cfg), out, cfg)
    except (SchemaError, FileNotFoundError, ValueError) as err:
        raise _fail(str(err)) from None
    _print_frame(result.summary, title="Out-of-fold ranking quality (synthetic data)"
                 if result.manifest.get("synthetic") else "Out-of-fold ranking quality")
    _track("log_training", result.run_dir, cfg, tracking_uri, no_track)
    _console().print(f"run folder: [bold]{result.run_dir}[/]")


def _print_frame(frame, *, title: str) -> None:
    from rich.table import Table

    table = Table(title=title)
    for col in frame.columns:
        table.add_column(str(col), justify="left" if col == "system" else "right")
    for row in frame.itertuples(index=False):
        table.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row])
    _console().print(table)


def _track(what: str, target, cfg, tracking_uri: str | None, no_track: bool, **kw) -> None:
    """Log to MLflow through `tracking`; a tracking failure never loses the run folder."""
    if no_track or not cfg.tracking.enabled:
        return
    from slrt_ml import tracking

    run_id = getattr(tracking, what)(target, tracking_uri=tracking_uri, **kw)
    uri = tracking.resolve_tracking_uri(tracking_uri)
    _console().print(f"MLflow run {run_id} in {uri}")


# --- compare -------------------------------------------------------------------------------


@app.command()
def compare(
    run: RunDir,
    data: DataOption = None,
    mapping: MappingOption = None,
    table: TableOption = None,
    quota: Annotated[
        str, typer.Option("--quota", help="'siksng' (same count as SIKS-NG), a count, or a share.")
    ] = "siksng",
    by: Annotated[
        str | None, typer.Option("--by", help="Per-area quotas: KDKEC or KDDESA (default: overall).")
    ] = None,
    bootstrap: Annotated[int, typer.Option("--bootstrap", help="Bootstrap replicates.")] = 1000,
    weight: Annotated[str, typer.Option("--weight", help="household or person.")] = "household",
    config: ConfigPath = None,
    tracking_uri: TrackingUri = None,
    no_track: Annotated[bool, typer.Option("--no-track", help="Do not log to MLflow.")] = False,
) -> None:
    """Every model and SIKS-NG at equal coverage, with 95% intervals; writes the report."""
    from slrt_ml.config import load_config
    from slrt_ml.data.schema import SchemaError
    from slrt_ml.evaluation.report import console_table
    from slrt_ml.pipeline.train import compare_and_write

    _one_input(data, mapping, table)
    cfg = load_config(config)
    try:
        targeting_data = _targeting_data(data, mapping, table, cfg)
        paths, comparison = compare_and_write(
            run, targeting_data, quota=quota, by=by, bootstrap=bootstrap, seed=cfg.seed,
            weight=weight,
        )
    except (SchemaError, FileNotFoundError, ValueError) as err:
        raise _fail(str(err)) from None
    _console().print(console_table(comparison))
    _track("log_comparison", Path(run), cfg, tracking_uri, no_track,
           register_as=cfg.tracking.registered_model_name)
    for label, path in paths.items():
        _console().print(f"{label}: [bold]{path}[/]")


# --- explain / score -----------------------------------------------------------------------

TopK = Annotated[int, typer.Option("--top-k", min=1, help="Reasons per household.")]


def _explained_features(data: Path, households: str | None):
    from slrt_ml.data.io import load_registry
    from slrt_ml.features.households import household_features

    registry = load_registry(data)
    hh, members = registry.households, registry.members
    if households:
        wanted = [h.strip() for h in households.split(",") if h.strip()]
        unknown = sorted(set(wanted) - set(hh["IDBDT"]))
        if unknown:
            raise ValueError(f"--households: {len(unknown)} IDBDT not in {data} (e.g. {unknown[:3]})")
        hh = hh[hh["IDBDT"].isin(wanted)]
        members = members[members["IDBDT"].isin(wanted)]
    return household_features(hh, members, registry.areas)


def _mapped_explained_features(mapping_path: Path, table: Path | None, households: str | None):
    from slrt_ml.data.mapping import load_mapping, mapped_features, read_mapped_table

    mapping = load_mapping(mapping_path)
    features = mapped_features(read_mapped_table(mapping, table), mapping)
    if households:
        wanted = [h.strip() for h in households.split(",") if h.strip()]
        unknown = sorted(set(wanted) - set(features.index))
        if unknown:
            raise ValueError(f"--households: {len(unknown)} {mapping.id} not in the table "
                             f"(e.g. {unknown[:3]})")  # fmt: skip
        features = features.loc[wanted]
    return features


@app.command()
def explain(
    run: RunDir,
    data: DataOption = None,
    mapping: MappingOption = None,
    table: TableOption = None,
    households: Annotated[
        str | None, typer.Option("--households", help="Comma-separated IDBDT (default: all).")
    ] = None,
    top_k: TopK = 5,
    model: Annotated[
        str | None, typer.Option("--model", help="Model name in the run (default: champion).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Explanation table (.parquet/.csv/.xlsx).")
    ] = None,
    plot: Annotated[
        str | None, typer.Option("--plot", help="IDBDT of one household: write a waterfall PNG.")
    ] = None,
) -> None:
    """SHAP explanations per household: tidy table, top-k reasons, optional waterfall PNG."""
    from slrt_ml.data.io import write_table
    from slrt_ml.data.schema import SchemaError
    from slrt_ml.explain.api import explain_households, plot_waterfall
    from slrt_ml.pipeline.score import load_scoring_models

    _one_input(data, mapping, table)
    try:
        models, _, _ = load_scoring_models(run, model_names=[model] if model else None)
        name, fitted = next(iter(models.items()))
        features = (_mapped_explained_features(mapping, table, households) if mapping
                    else _explained_features(data, households))  # fmt: skip
        result = explain_households(fitted, features, model_name=name, top_k=top_k)
    except (SchemaError, FileNotFoundError, ValueError) as err:
        raise _fail(str(err)) from None
    out = out or Path(run) / f"explanations_{name}.csv"
    write_table(result.table, out)
    write_table(result.reasons, out.with_name(f"{out.stem}.reasons{out.suffix}"))
    _console().print(result.reasons.head(10).to_string())
    _console().print(f"explanations ({name}): [bold]{out}[/]")
    if plot:
        figure = plot_waterfall(result.table, plot)
        png = out.with_name(f"waterfall_{plot}.png")
        figure.savefig(png, dpi=120)
        _console().print(f"waterfall: [bold]{png}[/]")


def _quota_option(quota_file: Path | None, quota_share: float | None):
    if quota_file is not None and quota_share is not None:
        raise ValueError("give --quota-file or --quota-share, not both")
    if quota_file is None:
        return quota_share
    import pandas as pd

    table = pd.read_csv(quota_file, dtype={"KDDESA": "string"})
    if list(table.columns[:2]) != ["KDDESA", "quota"]:
        raise ValueError(f"{quota_file}: expected columns KDDESA,quota (full 10-digit desa code), "
                         f"got {list(table.columns)}")  # fmt: skip
    return dict(zip(table["KDDESA"], table["quota"].astype(int), strict=True))


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
    top_k: TopK = 5,
    quota_file: Annotated[
        Path | None, typer.Option("--quota-file", help="CSV KDDESA,quota per desa.")
    ] = None,
    quota_share: Annotated[
        float | None, typer.Option("--quota-share", min=0.0, max=1.0, help="Share per desa.")
    ] = None,
    model_name: Annotated[
        str | None, typer.Option("--model-name", help="Model(s) in the run, comma-separated.")
    ] = None,
    chunk_size: Annotated[int, typer.Option("--chunk-size", min=1)] = 100_000,
    restart: Annotated[bool, typer.Option("--restart", help="Ignore finished chunks.")] = False,
    tracking_uri: TrackingUri = None,
    no_track: Annotated[bool, typer.Option("--no-track", help="Do not log to MLflow.")] = False,
) -> None:
    """Score a prelist in chunks (or a mapped table): selection, priority, reasons, drift."""
    from slrt_ml.data.schema import SchemaError
    from slrt_ml.pipeline.score import load_scoring_models, score_prelist, score_table

    _one_input(prelist, mapping, table, data_flag="--prelist")
    try:
        names = model_name.split(",") if model_name else None
        models, profile, uri = load_scoring_models(model, model_names=names,
                                                   tracking_uri=tracking_uri)  # fmt: skip
        quota = _quota_option(quota_file, quota_share)
        if mapping is not None:
            result = score_table(table, mapping, models, out, explain=explain, top_k=top_k,
                                 quota=quota, profile=profile)  # fmt: skip
        else:
            result = score_prelist(prelist, models, out, explain=explain, top_k=top_k,
                                   quota=quota, profile=profile, chunk_size=chunk_size,
                                   restart=restart)  # fmt: skip
    except (SchemaError, FileNotFoundError, ValueError) as err:
        raise _fail(str(err)) from None
    _report_scoring(result, list(models))
    from slrt_ml import tracking

    if not no_track and hasattr(tracking, "log_scoring"):
        run_id = tracking.log_scoring(result.summary(), out, tracking_uri=tracking_uri,
                                      model_uri=uri)  # fmt: skip
        _console().print(f"MLflow run {run_id}")


def _report_scoring(result, models: list[str]) -> None:
    console = _console()
    console.print(f"model(s): {', '.join(models)}; {result.households_per_second:,.0f} households/s")
    console.print(f"input {result.n_input} = scored {result.n_scored} + rejected {result.n_rejected}")
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
    no_track: Annotated[bool, typer.Option("--no-track", help="Do not log to MLflow.")] = False,
) -> None:
    """The main job end to end on the embedded synthetic registry (about 20,000 households)."""
    from slrt_ml.config import load_config
    from slrt_ml.pipeline.demo import run_demo

    result = run_demo(out, households=households, config=load_config(config),
                      tracking_uri=tracking_uri, track=not no_track)
    _print_demo(result)


def _print_demo(result) -> None:
    console = _console()
    headline = result.summary.set_axis(
        ["system", "exclusion error", "95% CI", "inclusion error", "95% CI "], axis=1
    )
    _print_frame(headline, title=f"SYNTHETIC registry: every system selects {result.quota:,} "
                 f"households (SIKS-NG's quota); 95% cluster-bootstrap intervals")
    registered = f", registered as {result.registered_as}@champion" if result.registered_as else ""
    console.print(f"champion (lowest exclusion error): [bold]{result.champion}[/]{registered}")
    s = result.scoring
    console.print(f"prelist: input {s['n_input']} = scored {s['n_scored']} + rejected "
                  f"{s['n_rejected']} ({s['households_per_second']:,.0f} households/s)")
    console.print(f"registry:    {result.data_dir}\nrun folder:  {result.run_dir}")
    console.print(f"report:      [bold]{result.report}[/]\nscored:      [bold]{result.scored}[/]")
    console.print(f"explained:   {result.explanations}")
    if result.tracking_uri:
        console.print(f"MLflow:      {result.tracking_uri} -> open with `.venv/bin/mlflow ui "
                      f"--backend-store-uri {result.tracking_uri}`")
    console.print("timings (s): " + ", ".join(f"{k} {v}" for k, v in result.timings.items()))
    console.print("[dim]Synthetic data: shows the pipeline works; not evidence about SIKS-NG.[/]")


def main() -> None:  # pragma: no cover - console entry point
    app()
