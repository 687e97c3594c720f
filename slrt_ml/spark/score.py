"""Score a prelist on Spark: the local engine's chunk function, Spark's windows, one output.

:func:`score_prelist_spark` reads the prelist's household and member Parquet data (a file
or a partitioned dataset each), hashes both on ``IDBDT`` into buckets of about
``chunk_size`` households and runs :meth:`slrt_ml.pipeline.score.PrelistScorer.score_chunk`
on every bucket (:mod:`slrt_ml.spark.chunks`), so a household gets the same score,
reasons and reject reason as with the local engine. The bucket rows are staged once as
Parquet; from them Spark counts the input, scored and rejected rows (row accounting,
:class:`~slrt_ml.pipeline.score_output.RowAccountingError` when they do not add up),
ranks, selects and orders every desa (:mod:`slrt_ml.spark.decide`), and writes the
output folder (:mod:`slrt_ml.spark.publish`): ``scored/`` partitioned by
``KDPROP``/``KDKAB`` (the local engine's output columns, rows in field order within each
kabupaten), ``rejects/`` (``IDBDT, reason``, input order), ``orphan_members/``,
``drift.csv`` and ``manifest.json``.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from slrt_ml.data.io import TableReadError, write_table
from slrt_ml.data.rejects import ORPHAN_REASON
from slrt_ml.data.schema import SchemaError, column_specs, missing_column_problems
from slrt_ml.features.drift import DriftAccumulator
from slrt_ml.models import PovertyModel
from slrt_ml.pipeline.score import PrelistScorer, ScoreOptions
from slrt_ml.pipeline.score_inputs import PrelistFiles
from slrt_ml.pipeline.score_output import NO_PROFILE_NOTE, check_row_accounting, drift_notes
from slrt_ml.spark import chunks
from slrt_ml.spark.decide import desa_quotas, output_columns, with_decisions
from slrt_ml.spark.publish import new_staging, publish
from slrt_ml.spark.session import quiet_pyspark, spark_session

__all__ = ["SparkScoringResult", "find_datasets", "read_with_position", "score_prelist_spark"]

#: how many files a dataset may have before a position no longer fits (2**23 files)
_ROW_BITS = 40


@dataclass
class SparkScoringResult:
    """What a Spark scoring run wrote and counted (``n_input == n_scored + n_rejected``)."""

    output: Path
    n_input: int
    n_scored: int
    n_rejected: int
    n_orphan_member_households: int
    seconds: float
    buckets: int
    drift_warnings: list[str] = field(default_factory=list)

    @property
    def rejects(self) -> Path:
        """The rejects dataset."""
        return self.output / "rejects"

    @property
    def drift(self) -> Path | None:
        """The drift report (None without a training feature profile)."""
        path = self.output / "drift.csv"
        return path if path.is_file() else None

    @property
    def households_per_second(self) -> float:
        """Input households per second of wall time."""
        return self.n_input / self.seconds if self.seconds > 0 else float("nan")

    def summary(self) -> dict[str, Any]:
        """Counts, speed and paths, for the console and MLflow (no personal data)."""
        return {"n_input": self.n_input, "n_scored": self.n_scored,
                "n_rejected": self.n_rejected,
                "n_orphan_member_households": self.n_orphan_member_households,
                "seconds": round(self.seconds, 3),
                "households_per_second": round(self.households_per_second, 1),
                "rejects_path": str(self.rejects), "engine": "spark"}  # fmt: skip


def _dataset(folder: Path, name: str) -> Path | None:
    for candidate in (folder / f"{name}.parquet", folder / name):
        if candidate.is_file() or (candidate.is_dir() and any(candidate.rglob("*.parquet"))):
            return candidate
    return None


def find_datasets(folder: str | Path) -> PrelistFiles:
    """``prelist_households``/``prelist_members`` (else ``households``/``members``) and
    ``areas``, each ``<name>.parquet`` (a file or a dataset folder) or a folder ``<name>/``.

    Raises
    ------
    TableReadError
        When the household or member data is missing (the Spark engine reads Parquet only).
    """
    folder = Path(folder)
    for hh_name, mem_name in (("prelist_households", "prelist_members"), ("households", "members")):
        hh, mem = _dataset(folder, hh_name), _dataset(folder, mem_name)
        if hh is not None and mem is not None:
            return PrelistFiles(hh, mem, _dataset(folder, "areas"))
    raise TableReadError(
        f"{folder}: no Parquet prelist_households and prelist_members (files or dataset "
        "folders); the Spark engine reads Parquet: convert CSV with `slrt-ml data synth "
        "--format parquet` data or pandas, or score with --engine local"
    )


def read_with_position(spark, path: Path, kind: str):
    """The dataset at ``path`` with ``_pos``: its input order (file by sorted path, then row).

    Raises
    ------
    SchemaError
        When a required column of ``kind`` is missing (names the path and columns).
    """
    from pyspark.sql import functions as F

    frame = spark.read.parquet(str(path))
    names = pd.DataFrame(columns=frame.columns)
    problems = missing_column_problems(names, column_specs(kind), str(path), "codebook")
    if problems:
        raise SchemaError(problems)
    files = sorted(frame.inputFiles())
    ranks = F.create_map(*[F.lit(x) for i, f in enumerate(files) for x in (f, i)])
    file_rank = ranks[F.col("_metadata.file_path")]
    if len(files) == 1:
        file_rank = F.lit(0)
    position = file_rank.cast("bigint") * F.lit(2**_ROW_BITS) + F.col("_metadata.row_index")
    return frame.withColumn(chunks.POS, position)


def _read_areas(spark, files: PrelistFiles) -> pd.DataFrame | None:
    """The validated areas table on the driver (a file as the local engine reads it)."""
    from slrt_ml.data.schema import validate_table

    if files.areas is None:
        return None
    if files.areas.is_file():
        return files.read_areas()
    with quiet_pyspark():
        frame = spark.read.parquet(str(files.areas)).toPandas()
    types = dict(spark.read.parquet(str(files.areas)).dtypes)
    frame = chunks.as_read_locally(frame, "areas", types)
    return validate_table(frame, "areas", file=str(files.areas))


def score_prelist_spark(
    prelist: str | Path,
    models: Mapping[str, PovertyModel],
    out: str | Path,
    *,
    master: str = "local[2]",
    spark=None,
    profile: dict | None = None,
    options: ScoreOptions | None = None,
) -> SparkScoringResult:
    """Score every household of a Parquet prelist folder on Spark into the folder ``out``.

    Parameters
    ----------
    prelist : str or Path
        Folder with the prelist's Parquet data (:func:`find_datasets`).
    models : mapping
        Name -> fitted model; the first scores and explains, the others may vote.
    out : str or Path
        Output folder (module docstring); replaced atomically on a rerun.
    master : str
        ``local[N]`` or ``spark://HOST:PORT`` (ignored when ``spark`` is given).
    spark : SparkSession, optional
        A session to use (default: :func:`slrt_ml.spark.session.spark_session`).
    profile : dict, optional
        The training feature profile, for the drift report.
    options : ScoreOptions, optional
        As the local engine's (``restart`` and ``progress`` do not apply).

    Raises
    ------
    RowAccountingError
        When scored + rejected households do not add up to the input (counted by Spark).
    """
    started = time.perf_counter()
    opts = options or ScoreOptions()
    scorer = PrelistScorer(models, profile, replace(opts, progress=False))
    files = find_datasets(prelist)
    spark = spark or spark_session(master)
    areas = _read_areas(spark, files)
    scorer._check_areas(files, prelist)
    voters = [scorer.extra_columns[i] for i in scorer._voters()]
    out = Path(out).absolute()
    staging = new_staging(out)
    with quiet_pyspark():
        hh = read_with_position(spark, files.households, "households")
        members = read_with_position(spark, files.members, "members")
        n_input = hh.count()
        buckets = max(spark.sparkContext.defaultParallelism,
                      math.ceil(n_input / max(opts.chunk_size, 1)))  # fmt: skip
        stage = _stage(spark, scorer, areas, hh, members, buckets, staging / "_stage")
        counts = _counts(stage)
        drift_path, notes = _drift(stage, scorer.profile, staging / "drift.csv")
        n_rejected = counts["rejected"]
        check_row_accounting(counts["scored"], n_rejected, n_input)
        _write_rejects(stage, staging)
        n_orphans = _distinct_orphans(stage)
        n_written = _write_scored(spark, stage, areas, scorer, voters, staging / "scored")
        check_row_accounting(n_written, n_rejected, n_input)
    import shutil

    shutil.rmtree(staging / "_stage")
    publish(staging, out, {"engine": "spark", "master": spark.sparkContext.master,
                           "input_rows": n_input, "scored_rows": n_written,
                           "rejected_rows": n_rejected, "orphan_member_groups": n_orphans,
                           "buckets": buckets, "models": list(models), "prelist": str(prelist),
                           "drift": drift_path is not None})  # fmt: skip
    return SparkScoringResult(out, n_input, n_written, n_rejected, n_orphans,
                              time.perf_counter() - started, buckets, notes)  # fmt: skip


def _stage(spark, scorer: PrelistScorer, areas, hh, members, buckets: int, path: Path):
    """Run the chunk function on every bucket once and keep its rows as Parquet."""
    from pyspark.sql import functions as F

    opts = scorer.options
    schema = chunks.bucket_schema(scorer.extra_columns, opts.explain, opts.top_k)
    columns = [part.split(" ")[0].strip("`") for part in schema.split(", ")]
    broadcast = spark.sparkContext.broadcast(scorer)
    run = chunks.bucket_scorer(broadcast, areas, dict(hh.drop(chunks.POS).dtypes),
                               dict(members.drop(chunks.POS).dtypes), columns)  # fmt: skip
    bucket = F.pmod(F.xxhash64(F.col("IDBDT")), F.lit(buckets))
    left = hh.withColumn(chunks.BUCKET, bucket).groupBy(chunks.BUCKET)
    right = members.withColumn(chunks.BUCKET, bucket).groupBy(chunks.BUCKET)
    staged = left.cogroup(right).applyInPandas(run, schema)
    # one shuffle partition per bucket, never coalesced by adaptive execution: the buckets
    # are small on disk but heavy in Python, so each must be its own task
    with _conf(spark, {"spark.sql.shuffle.partitions": str(buckets),
                       "spark.sql.adaptive.coalescePartitions.enabled": "false"}):  # fmt: skip
        staged.write.mode("overwrite").parquet(str(path))
    return spark.read.parquet(str(path))


@contextlib.contextmanager
def _conf(spark, settings: dict[str, str]) -> Iterator[None]:
    """Set SQL settings for the duration of a block, then put the old values back."""
    old = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def _counts(stage) -> dict[str, int]:
    """Rows per kind, counted by Spark: scored, rejected (household rows), orphan, drift."""
    from pyspark.sql import functions as F

    orphan = F.coalesce(F.col("reason") == F.lit(ORPHAN_REASON), F.lit(False))
    kind = F.when((F.col("kind") == "rejected") & orphan, "orphan").otherwise(F.col("kind"))
    rows = stage.groupBy(kind.alias("kind")).count().collect()
    found = {row["kind"]: int(row["count"]) for row in rows}
    return {kind: found.get(kind, 0) for kind in ("scored", "rejected", "orphan", "drift")}


def _drift(stage, profile: dict | None, path: Path) -> tuple[Path | None, list[str]]:
    """Merge the buckets' drift counts (as the local engine merges its chunks')."""
    import json

    if not profile:
        return None, [NO_PROFILE_NOTE]
    drift = DriftAccumulator(profile)
    for row in stage.filter("kind = 'drift'").select("drift").toLocalIterator():
        drift.merge(json.loads(row["drift"]))
    report = drift.report()
    write_table(report, path)
    return path, drift_notes(report)


def _write_rejects(stage, staging: Path) -> None:
    """``rejects/`` (``IDBDT, reason``, input order) and ``orphan_members/`` (one row per
    member IDBDT without a household record)."""
    from pyspark.sql import functions as F

    rejected = stage.filter(F.col("kind") == "rejected")
    orphan = F.coalesce(F.col("reason") == F.lit(ORPHAN_REASON), F.lit(False))
    households = rejected.filter(~orphan).orderBy("pos").select("IDBDT", "reason")
    households.coalesce(1).write.parquet(str(staging / "rejects"))
    orphans = rejected.filter(orphan).select("IDBDT", "reason").dropDuplicates(["IDBDT"])
    orphans.coalesce(1).write.parquet(str(staging / "orphan_members"))


def _distinct_orphans(stage) -> int:
    from pyspark.sql import functions as F

    orphan = (F.col("kind") == "rejected") & (F.col("reason") == F.lit(ORPHAN_REASON))
    return stage.filter(orphan).select("IDBDT").distinct().count()


def _write_scored(spark, stage, areas, scorer: PrelistScorer, voters: list[str], path: Path) -> int:
    """Decisions per desa and the output columns, partitioned by ``KDPROP``/``KDKAB``."""
    from pyspark.sql import functions as F

    opts = scorer.options
    scored = stage.filter(F.col("kind") == "scored")
    _, quotas = desa_quotas(spark, scored, opts.quota)
    decided = with_decisions(scored, quotas, voters)
    table = output_columns(decided, areas, spark, explain=opts.explain, top_k=opts.top_k,
                           extra=scorer.extra_columns)  # fmt: skip
    ordered = (table.repartition("KDPROP", "KDKAB")
               .sortWithinPartitions("KDKEC", "desa_code", "priority_in_desa", "pos")
               .drop("pos"))  # fmt: skip
    ordered.write.partitionBy("KDPROP", "KDKAB").parquet(str(path))
    return spark.read.parquet(str(path)).count()
