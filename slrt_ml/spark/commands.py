"""What ``slrt-ml score``, ``slrt-ml compare`` and ``slrt-ml data synth`` run with ``--engine spark``.

The command line loads the models as for the local engine (a run folder or
``models:/NAME@ALIAS`` through :func:`slrt_ml.pipeline.score.load_scoring_models`, the
toolkit's own loader, so the reasons stay exact) and hands them here.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from slrt_ml.config import Config, overridden
from slrt_ml.models import PovertyModel
from slrt_ml.pipeline.commands import split_names
from slrt_ml.pipeline.score import ScoreOptions
from slrt_ml.spark.score import SparkScoringResult, score_prelist_spark

__all__ = ["spark_compare", "spark_score_input", "spark_scorer", "spark_synth"]


def spark_score_input(
    models: Mapping[str, PovertyModel],
    profile: dict | None,
    out: Path,
    *,
    prelist: Path | None,
    mapping: Path | None,
    config: Config,
    quota: Mapping[str, int] | float | None,
    explain: bool,
    lang: str,
    priority_models: str | None,
    master: str,
    **flags: Any,
) -> SparkScoringResult:
    """Score a Parquet prelist folder on Spark (``flags``: ``top_k``, ``chunk_size``;
    ``None`` takes the config's ``scoring.*``, as the local engine does).

    Raises
    ------
    ValueError
        With ``--mapping`` (the Spark engine scores a registry prelist only).
    """
    if mapping is not None or prelist is None:
        raise ValueError("--engine spark scores a --prelist folder of Parquet data; "
                         "score a --mapping table with --engine local")  # fmt: skip
    options = overridden(config.scoring, **flags)
    quota = options.quota_share if quota is None else quota
    score_options = ScoreOptions(explain=explain, top_k=options.top_k, quota=quota,
                                 chunk_size=options.chunk_size, progress=False, lang=lang,
                                 priority_models=tuple(split_names(priority_models) or ()))  # fmt: skip
    return score_prelist_spark(prelist, models, out, master=master, profile=profile,
                               options=score_options)  # fmt: skip


def spark_scorer(master: str):
    """:func:`spark_score_input` on ``master``, called like
    :func:`slrt_ml.pipeline.commands.score_input` (``table`` and ``restart`` do not apply)."""

    def run(models, profile, out, *, table=None, restart=False, **kw: Any) -> SparkScoringResult:
        return spark_score_input(models, profile, out, master=master, **kw)

    return run


def spark_compare(
    run: Path,
    data: Path | None,
    config: Config,
    *,
    master: str,
    mapping: Path | None = None,
    table: Path | None = None,
    lang: str = "en",
    scored: Path | None = None,
    **flags: Any,
) -> tuple[dict[str, Path], Any]:
    """``slrt-ml compare --engine spark``: :func:`slrt_ml.spark.compare.compare_and_write_spark`
    with the config's ``compare.*`` (``flags`` override them: ``quota``, ``by``,
    ``bootstrap``, ``weight``), ``seed``, ``features.elderly_age`` and
    ``scoring.chunk_size`` (households per bucket); returns (paths, Comparison).

    Raises
    ------
    ValueError
        With ``--mapping``/``--table`` or ``--scored`` (not read by the Spark engine).
    """
    from slrt_ml.spark.compare import compare_and_write_spark

    if mapping is not None or table is not None or data is None:
        raise ValueError("--engine spark compares a --data registry folder of Parquet tables; "
                         "compare a --mapping table with --engine local")  # fmt: skip
    if scored is not None:
        raise ValueError("--scored is not read by --engine spark (the report's prelist "
                         "section): run `slrt-ml compare --engine local --scored ...`")  # fmt: skip
    options = overridden(config.compare, **flags)
    paths, result = compare_and_write_spark(
        run, data, lang=lang, master=master, quota=options.quota, by=options.by,
        bootstrap=options.bootstrap, seed=config.seed, weight=options.weight,
        elderly_age=config.features.elderly_age, chunk_size=config.scoring.chunk_size,
    )  # fmt: skip
    return paths, result.comparison


def spark_synth(out: Path, households: int, seed: int, *, master: str, params: Any) -> dict:
    """``slrt-ml data synth --engine spark``: write the registry, print one line per table."""
    from rich.console import Console

    from slrt_ml.spark.synth import synth_registry_spark

    meta = synth_registry_spark(out, households, seed, master=master, params=params)
    counts = ", ".join(f"{name} {n:,}" for name, n in meta["counts"].items())
    Console().print(f"wrote {out} ({len(meta['kabupaten'])} kabupaten, partitioned by "
                    f"KDPROP/KDKAB): {counts}")  # fmt: skip
    return meta


def spark_train(data: Path, out: Path, config: Config, *, master: str) -> dict:
    """``slrt-ml train --engine spark``: fit every configured model on Spark into ``out``.

    ``gbm`` trains with ``xgboost.spark``, the other families on a stratified sample
    (:mod:`slrt_ml.spark.train`). ``out`` gets ``models/<name>`` (the toolkit's
    persistence), ``manifest.json`` (models, how each trained, parameters, checksums) and
    ``areas.parquet``: enough for ``slrt-ml score``. No grouped cross-validation is run,
    so there are no out-of-fold scores, calibration, conformal file or feature profile.
    """
    import json

    from rich.console import Console

    from slrt_ml import __version__
    from slrt_ml.config import config_to_dict
    from slrt_ml.data.io import write_table
    from slrt_ml.models import model_checksums, save_model
    from slrt_ml.pipeline.train import resolved_params
    from slrt_ml.spark.train import train_models_spark
    from slrt_ml.spark.train_table import training_table

    table = training_table(data, master=master, sample_rule=config.train.sample,
                           elderly_age=config.features.elderly_age)  # fmt: skip
    trained = train_models_spark(table, config)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    checksums = {name: model_checksums(save_model(model, out / "models" / name))
                 for name, model in trained.models.items()}  # fmt: skip
    if table.areas is not None:
        write_table(table.areas, out / "areas.parquet")
    manifest = {"package_version": __version__, "engine": "spark", "master": master,
                "data": str(data), "config": config_to_dict(config), "seed": config.seed,
                "features": table.features, "models": list(trained.models),
                "training_sample": {"rule": table.sample_rule, "households": table.n_households,
                                    "trained_on": table.n_train},
                "training_paths": trained.paths, "model_sha256": checksums,
                "model_params": {n: resolved_params(m) for n, m in trained.models.items()}}  # fmt: skip
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    table.frame.unpersist()
    for name, info in trained.paths.items():
        Console().print(f"{name}: {info['path']} ({info.get('drawn', table.n_train):,} of "
                        f"{table.n_train:,} training households)")  # fmt: skip
    return manifest
