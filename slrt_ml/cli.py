"""The ``slrt-ml`` command line (Typer). Commands check their flags, call library functions, print.

Every command first checks what it was given (:mod:`slrt_ml.preflight`: inputs exist, the
output is writable, model names and the tracking URI are usable) and only then reads data
or trains. The work lives in :mod:`slrt_ml.pipeline.commands` and the stages, imported
inside each command so ``slrt-ml --help`` starts fast; printing is :mod:`slrt_ml.cli_output`.
``--config FILE`` (default: the packaged ``default.yaml``) gives the defaults of the
commands; a flag that is given overrides it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from slrt_ml import __version__, preflight
from slrt_ml.cli_cycles import add_cycles_command
from slrt_ml.cli_data import data_app
from slrt_ml.cli_errors import console, user_errors
from slrt_ml.cli_options import (
    AreaLevel,
    ConfigPath,
    DataOption,
    Engine,
    EngineOption,
    Lang,
    MappingOption,
    MasterOption,
    NoTrack,
    RunDir,
    TableOption,
    TopK,
    TrackingUri,
    Weight,
    check_inputs,
    check_tracking,
    command,
    examples,
    mapping_help,
    new_app,
    one_input,
    resolved_uri,
    split,
    value,
)
from slrt_ml.config import Config, load_config

app = new_app(
    name="slrt-ml",
    help="Measure and reduce miss-targeting in PKH: DTKS features, models, SIKS-NG comparison.",
    epilog=examples(
        "slrt-ml demo", "slrt-ml train --data registry/ --out run/", "slrt-ml train -h"
    ),
)
app.add_typer(data_app, name="data")
add_cycles_command(app)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"slrt-ml {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version."),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Also show TensorFlow, CUDA and MLflow log lines (hidden)."
        ),
    ] = False,
) -> None:
    """Measure and reduce miss-targeting in PKH: DTKS features, models, SIKS-NG comparison."""
    from slrt_ml.quiet import set_verbose

    set_verbose(verbose)


#: Errors in the user's data, files or config: reported in one line, exit code 1.
#: ``slrt-ml score`` wrote its files but scored no household (all rejected, or none given).
NOTHING_SCORED_EXIT = 3


# --- train / compare -------------------------------------------------------------------------


@command(app, "slrt-ml train --data registry/ --out run/",
          "slrt-ml train --data registry/ --out run/ --models logit,gbm --no-track",
          "slrt-ml train --mapping configs/datasets/costa_rica.yaml --table train.csv --out run/")  # fmt: skip
def train(
    out: Annotated[Path, typer.Option("--out", help="Run folder to write.")],
    data: DataOption = None,
    mapping: MappingOption = None,
    table: TableOption = None,
    config: ConfigPath = None,
    models: Annotated[
        str | None,
        typer.Option(
            "--models", help="Comma-separated: pmt_ols,logit,gbm,rf,ebm,mlp (config: models)."
        ),
    ] = None,
    tracking_uri: TrackingUri = None,
    no_track: NoTrack = False,
    engine: EngineOption = Engine.local,
    master: MasterOption = "local[2]",
) -> None:
    """Validate the registry (or mapped table), build features, fit every model with grouped CV."""
    one_input(data, mapping, table)
    with user_errors():
        cfg = load_config(config).with_models(split(models))
        preflight.check_output_folder(out)
        if engine is Engine.spark:  # Parquet registry; no CV (docs/SPARK.md)
            from slrt_ml.spark.commands import spark_train

            if data is None:
                raise ValueError("--engine spark trains on a --data registry folder (Parquet)")
            spark_train(data, out, cfg, master=master)
            console().print(f"run folder (models only, no CV): [bold]{out}[/]")
            return
        check_inputs(data, mapping, table)
        check_tracking(cfg, tracking_uri, no_track)
    from slrt_ml.cli_output import print_frame
    from slrt_ml.pipeline import commands
    from slrt_ml.pipeline.train import train as train_run

    with user_errors():
        result = train_run(commands.targeting_data(data, mapping, table, cfg), out, cfg)
    synthetic = " (synthetic data)" if result.manifest.get("synthetic") else ""
    print_frame(result.summary, title=f"Out-of-fold ranking quality{synthetic}")
    for note in result.notes:
        typer.echo(note)
    _track("log_training", result.run_dir, cfg, tracking_uri, no_track,
           experiment=cfg.tracking.experiment)  # fmt: skip
    console().print(f"run folder: [bold]{result.run_dir}[/]")


def _track(
    what: str, target: Any, cfg: Config, tracking_uri: str | None, no_track: bool, **kw: Any
) -> None:
    """Log to MLflow through `tracking` unless --no-track or ``tracking.enabled: false``."""
    if no_track or not cfg.tracking.enabled:
        return
    from slrt_ml import tracking

    run_id = getattr(tracking, what)(target, tracking_uri=tracking_uri, **kw)
    console().print(f"MLflow run {run_id} in {tracking.resolve_tracking_uri(tracking_uri)}")


@command(app, "slrt-ml compare --run run/ --data registry/",
          "slrt-ml compare --run run/ --data registry/ --by KDDESA --bootstrap 200")  # fmt: skip
def compare(
    run: RunDir,
    data: DataOption = None,
    mapping: MappingOption = None,
    table: TableOption = None,
    quota: Annotated[
        str | None,
        typer.Option(
            "--quota",
            help="'reference' or the reference's name, e.g. 'siksng' (as many as the "
            "reference system selected), a count, a share, or UNIT:AMOUNT with UNIT "
            "households|persons|budget, e.g. persons:0.2, budget:5e9, budget:reference, "
            "or desil:K (each system's eligible households in desil 1..K; PKH: desil:4) "
            "(config: compare.quota).",
        ),
    ] = None,
    by: Annotated[
        AreaLevel | None,
        typer.Option("--by", help="Per-area quotas (config: compare.by; default: one overall)."),
    ] = None,
    bootstrap: Annotated[
        int | None,
        typer.Option("--bootstrap", min=0, help="Replicates (config: compare.bootstrap)."),
    ] = None,
    weight: Annotated[
        Weight | None,
        typer.Option(
            "--weight", help="Count households or persons (config: compare.weight)."
        ),  # fmt: skip
    ] = None,
    lang: Annotated[Lang, typer.Option("--lang", help="Language of the report.")] = Lang.en,
    scored: Annotated[Path | None, typer.Option("--scored", help="A scored prelist file.")] = None,
    config: ConfigPath = None,
    tracking_uri: TrackingUri = None,
    no_track: NoTrack = False,
    engine: EngineOption = Engine.local,
    master: MasterOption = "local[2]",
) -> None:
    """Every model and the reference system at equal coverage, with 95% intervals; a report."""
    one_input(data, mapping, table)
    with user_errors():
        cfg = load_config(config)
        preflight.check_run_folder(run)
        check_inputs(data, mapping, table)
        check_tracking(cfg, tracking_uri, no_track)
    from slrt_ml.evaluation.report import console_table
    from slrt_ml.pipeline import commands

    flags = {"quota": quota, "by": value(by), "bootstrap": bootstrap, "weight": value(weight)}
    with user_errors():
        if engine is Engine.spark:
            from slrt_ml.spark.commands import spark_compare

            paths, comparison = spark_compare(run, data, cfg, master=master, mapping=mapping,
                                              table=table, lang=lang.value, scored=scored,
                                              **flags)  # fmt: skip
        else:
            targeting = commands.targeting_data(data, mapping, table, cfg)
            paths, comparison = commands.compare_run(run, targeting, cfg, lang=lang.value,
                                                     scored=scored, **flags)  # fmt: skip
    console().print(console_table(comparison, lang=lang.value))
    _track("log_comparison", Path(run), cfg, tracking_uri, no_track,
           register_as=cfg.tracking.registered_model_name)  # fmt: skip
    for label, path in paths.items():
        console().print(f"{label}: [bold]{path}[/]")


# --- explain / score -----------------------------------------------------------------------


@command(app, "slrt-ml explain --run run/ --data registry/ --households 0001,0002",
          "slrt-ml explain --run run/ --data registry/ --model gbm --plot 0001")  # fmt: skip
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
    one_input(data, mapping, table)
    with user_errors():
        cfg = load_config(config)
        preflight.check_run_folder(run)
        preflight.check_run_models(run, [model] if model else None, flag="--model")
        if out is not None:
            preflight.check_output_file(out)
        check_inputs(data, mapping, table)
    from slrt_ml.pipeline import commands

    with user_errors():
        top_k = top_k or cfg.scoring.top_k
        features = commands.explained_features(data, mapping, table, households)
        name, result = commands.explain_run(
            run, features, model=model, top_k=top_k, mapping=mapping
        )
    paths = commands.write_explanation(
        result, out or Path(run) / f"explanations_{name}.csv", plot=plot
    )
    console().print(result.reasons.head(10).to_string())
    console().print(f"explanations ({name}): [bold]{paths['explanations']}[/]")
    if "waterfall" in paths:
        console().print(f"waterfall: [bold]{paths['waterfall']}[/]")


@command(app, "slrt-ml score --model run/ --prelist registry/ --out scored.csv --explain",
          "slrt-ml score --model models:/slrt-ml-pkh@champion --prelist prelist/ --out s.xlsx",
          "slrt-ml score --model run/ --mapping my.yaml --table survey.csv --out s.parquet")  # fmt: skip
def score(
    model: Annotated[str, typer.Option("--model", help="Run folder or models:/NAME@ALIAS.")],
    out: Annotated[Path, typer.Option("--out", help="Output file (.parquet/.csv/.xlsx).")],
    prelist: Annotated[
        Path | None, typer.Option("--prelist", help="Folder with prelist_*.* files.")
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help=mapping_help("--prelist"))
    ] = None,
    table: TableOption = None,
    explain: Annotated[bool, typer.Option("--explain", help="Add top-k SHAP reasons.")] = False,
    top_k: TopK = None,
    quota_file: Annotated[
        Path | None, typer.Option("--quota-file", help="CSV KDDESA,quota per desa.")
    ] = None,
    quota_share: Annotated[
        float | None,
        typer.Option(
            "--quota-share", min=0.0, max=1.0, help="Share per desa (config: scoring.quota_share)."
        ),  # fmt: skip
    ] = None,
    model_name: Annotated[
        str | None, typer.Option("--model-name", help="Model(s) in the run, comma-separated.")
    ] = None,
    chunk_size: Annotated[
        int | None,
        typer.Option(
            "--chunk-size", min=1, help="Households per chunk (config: scoring.chunk_size)."
        ),  # fmt: skip
    ] = None,
    restart: Annotated[bool, typer.Option("--restart", help="Ignore finished chunks.")] = False,
    lang: Annotated[
        Lang, typer.Option("--lang", help="Language of reasons and Excel headers.")
    ] = Lang.id,
    priority_models: Annotated[
        str | None,
        typer.Option("--priority-models", help="Extra models that vote for the priority."),
    ] = None,
    trust_pickle: Annotated[
        bool,
        typer.Option("--trust-pickle", help="Load old pickled models (runs their code)."),
    ] = False,
    conformal: Annotated[
        float | None, typer.Option("--conformal", help="ALPHA: add conformal prediction sets.")
    ] = None,
    config: ConfigPath = None,
    tracking_uri: TrackingUri = None,
    no_track: NoTrack = False,
    engine: EngineOption = Engine.local,
    master: MasterOption = "local[2]",
) -> None:
    """Score a prelist in chunks (or a mapped table): selection, priority, reasons, drift."""
    one_input(prelist, mapping, table, data_flag="--prelist")
    with user_errors():
        cfg = load_config(config)
        check_out = preflight.check_output_folder if engine is Engine.spark else None
        (check_out or preflight.check_output_file)(out)
        check_inputs(prelist, mapping, table, data_flag="--prelist")
        preflight.check_input_file(quota_file, "--quota-file")
        if model.startswith("models:/"):
            preflight.check_tracking_uri(resolved_uri(tracking_uri))
        else:
            preflight.check_run_folder(Path(model), "--model")
            preflight.check_run_models(Path(model), split(model_name))
            preflight.check_run_models(
                Path(model), split(priority_models), flag="--priority-models"
            )
        check_tracking(cfg, tracking_uri, no_track)
    from slrt_ml.cli_output import report_scoring
    from slrt_ml.pipeline import commands
    from slrt_ml.pipeline.policy import attach_conformal_option
    from slrt_ml.pipeline.score import load_scoring_models
    from slrt_ml.spark.commands import spark_scorer

    with user_errors():
        models, profile, uri = load_scoring_models(
            model, model_names=split(model_name), tracking_uri=tracking_uri,
            trust_pickle=trust_pickle,
        )  # fmt: skip
        attach_conformal_option(models, model, conformal)
        scorer = spark_scorer(master) if engine is Engine.spark else commands.score_input
        result = scorer(
            models, profile, out, prelist=prelist, mapping=mapping, table=table, config=cfg,
            quota=commands.scoring_quota(quota_file, quota_share), explain=explain,
            restart=restart, lang=lang.value, priority_models=priority_models, top_k=top_k,
            chunk_size=chunk_size,
        )  # fmt: skip
    report_scoring(result, list(models))
    _track("log_scoring", result.summary(), cfg, tracking_uri, no_track, output_path=out,
           model_uri=uri, experiment=cfg.tracking.experiment)  # fmt: skip
    if result.n_scored == 0:  # exit code 3: the files are written, but nothing was scored
        console().print(
            f"[bold red]error:[/] no household could be scored ({result.n_input} input rows, "
            f"{result.n_rejected} rejected); the reasons are in {result.rejects}"
        )
        raise typer.Exit(code=NOTHING_SCORED_EXIT)


# --- demo ------------------------------------------------------------------------------------


@command(app, "slrt-ml demo", "slrt-ml demo --out /tmp/demo --households 5000 --no-track",
          "slrt-ml --verbose demo   (also show TensorFlow/MLflow log lines)")  # fmt: skip
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for everything it writes.")] = Path(
        "demo_output"
    ),
    households: Annotated[
        int, typer.Option("--households", min=500, help="Synthetic registry size.")
    ] = 20_000,
    config: ConfigPath = None,
    tracking_uri: TrackingUri = None,
    no_track: NoTrack = False,
) -> None:
    """The main job end to end on the embedded synthetic registry (about 20,000 households)."""
    with user_errors():
        cfg = load_config(config)
        preflight.check_output_folder(out)
        check_tracking(cfg, tracking_uri, no_track)
    from slrt_ml.cli_output import print_demo
    from slrt_ml.pipeline.demo import run_demo

    result = run_demo(
        out, households=households, config=cfg, tracking_uri=tracking_uri, track=not no_track
    )
    print_demo(result)
