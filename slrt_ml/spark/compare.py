"""``slrt-ml compare --engine spark``: the local comparison on data read and joined by Spark.

The bootstrap of :func:`slrt_ml.evaluation.compare.compare` re-selects every model's list
in every replicate from household scores, and its ranking metrics (ROC/PR AUC, Spearman
with welfare) need household scores too, so per-desa totals alone cannot give the same
``comparison.csv`` when the quota is national. The Spark engine therefore splits the
work where it is exact:

1. **Spark** reads the Parquet registry (households, members, truth, SIKS-NG, areas; files
   or partitioned datasets), builds the targeting frame on hash buckets of households with
   the local engine's own functions (:mod:`slrt_ml.spark.compare_frame`), joins the run's
   out-of-fold scores on ``IDBDT`` (every household must have exactly one score row and
   every score row a household: :class:`ScoreTableError` otherwise) and hands the
   comparison's household columns to the driver as Arrow, in the local input order.
2. **The driver** runs the local evaluation unchanged
   (:func:`slrt_ml.evaluation.reference.compare_with_reference`, as
   :func:`slrt_ml.pipeline.compare.run_comparison` calls it): selections, bootstrap,
   jackknife, slices.
3. **Spark** counts the per-desa sufficient statistics (:mod:`slrt_ml.spark.compare_totals`:
   weighted target/selected counts per desa, household group and system, the lists given
   as one cut per system and area) and the driver checks that they reproduce every
   selection metric's point estimate and every slice (:class:`SparkConsistencyError`
   otherwise).

Not on Spark: the digest check of the local engine (it hashes every input table in
order on one machine; here the IDBDT join of scores and households is the check), the
report's explanations and prelist section, and the welfare and verification curves
(they need the model features; run ``slrt-ml compare --engine local`` for them).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from slrt_ml.data.codebook import DEFAULT_VERSION
from slrt_ml.data.schema import SchemaError, column_specs, missing_column_problems, validate_table
from slrt_ml.evaluation.compare import Comparison
from slrt_ml.evaluation.reference import compare_with_reference
from slrt_ml.evaluation.systems import available_views
from slrt_ml.pipeline.compare import QuotaError, write_comparison
from slrt_ml.pipeline.run_folder import RunFolder, read_manifest
from slrt_ml.spark import chunks
from slrt_ml.spark.compare_frame import (
    FRAME_COLUMNS,
    JOINED,
    OPTIONAL_COLUMNS,
    RegistryTableError,
    bucket_frame,
    find_registry,
    frame_schema,
)
from slrt_ml.spark.compare_totals import (
    check_totals,
    desa_totals,
    selection_cuts,
    spark_cell_totals,
)
from slrt_ml.spark.score import read_with_position
from slrt_ml.spark.session import quiet_pyspark, spark_session, worker_errors
from slrt_ml.targeting.selection import parse_quota

__all__ = ["ScoreTableError", "SparkComparison", "compare_spark", "compare_and_write_spark"]

REFERENCE = "siksng"
EXAMPLES = 5


class ScoreTableError(ValueError):
    """The run's score table does not pair up with the registry's households."""


@dataclass
class SparkComparison:
    """The comparison (as the local engine computes it) and what Spark counted.

    ``desa_totals``: ``view, system, cluster, households, tp, fn, fp, tn`` (weighted);
    ``cells``: the same per desa and household group (:mod:`slrt_ml.spark.compare_totals`);
    ``driver_bytes``: memory of the household columns collected to the driver.
    """

    comparison: Comparison
    desa_totals: pd.DataFrame
    cells: pd.DataFrame
    n_households: int
    buckets: int
    driver_bytes: int
    seconds: float


def _metadata(folder: Path) -> dict:
    path = folder / "metadata.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _read(spark, path: Path, kind: str, *, position: bool = False):
    """A Parquet table with its required columns checked (``_pos`` when ``position``)."""
    if position:
        return read_with_position(spark, path, kind)
    frame = spark.read.parquet(str(path))
    names = pd.DataFrame(columns=frame.columns)
    problems = missing_column_problems(names, column_specs(kind), str(path), DEFAULT_VERSION)
    if problems:
        raise SchemaError(problems)
    return frame


def _examples(frame, column: str = "IDBDT") -> list[str]:
    rows = frame.select(column).distinct().orderBy(column).limit(EXAMPLES).collect()
    return [str(row[column]) for row in rows]


def _pairing(rows, households):
    """One Spark job: ``(rows, repeated IDBDTs, IDBDTs of no household)`` of a table."""
    from pyspark.sql import functions as F

    counts = rows.groupBy("IDBDT").count()
    ids = households.select("IDBDT").distinct().withColumn("_known", F.lit(1))
    stats = counts.join(ids, "IDBDT", "left").agg(
        F.sum("count").alias("rows"),
        F.sum(F.when(F.col("count") > 1, 1).otherwise(0)).alias("repeated"),
        F.sum(F.when(F.col("_known").isNull(), 1).otherwise(0)).alias("orphans"),
    ).collect()[0]  # fmt: skip
    return (
        int(stats["rows"] or 0),
        int(stats["repeated"] or 0),
        int(stats["orphans"] or 0),
        counts,
        ids,
    )


def _check_pairing(rows, households, path: Path, households_path: Path) -> int:
    """The table's row count; a :class:`RegistryTableError` when an IDBDT repeats or is
    of no household (with example IDBDTs)."""
    n, repeated, orphans, counts, ids = _pairing(rows, households)
    if repeated:
        raise RegistryTableError(
            f"{path}: column IDBDT must be unique (one row per household); {repeated} IDBDTs "
            f"repeat, e.g. {_examples(counts.filter('count > 1'))}"
        )
    if orphans:
        lonely = counts.join(ids, "IDBDT", "left_anti")
        raise RegistryTableError(
            f"{path}: {orphans} IDBDTs are not households of {households_path}, e.g. "
            f"{_examples(lonely)}; every row must belong to a household"
        )
    return n


def _prefixed(frame, table: str):
    from pyspark.sql import functions as F

    prefix = JOINED[table]
    return frame.select(*(F.col(f"`{c}`").alias(prefix + c) for c in frame.columns))


def _areas(spark, path: Path | None) -> pd.DataFrame | None:
    if path is None:
        return None
    frame = spark.read.parquet(str(path))
    with quiet_pyspark():
        table = chunks.as_read_locally(frame.toPandas(), "areas", dict(frame.dtypes))
    return validate_table(table, "areas", file=str(path))


def spark_frame(spark, data_dir: str | Path, *, elderly_age: int = 60,
                chunk_size: int = 100_000) -> tuple[Any, int, int]:  # fmt: skip
    """The targeting frame of a Parquet registry as a Spark DataFrame (with ``_pos``),
    its household count and bucket count (:mod:`slrt_ml.spark.compare_frame`)."""
    from pyspark.sql import functions as F

    files = find_registry(data_dir)
    hh = _read(spark, files["households"], "households", position=True)
    members = _read(spark, files["members"], "members", position=True)
    n = _check_pairing(hh, hh, files["households"], files["households"])
    joined = hh
    for table in JOINED:
        rows = _read(spark, files[table], table)
        _check_pairing(rows, hh, files[table], files["households"])
        side = _prefixed(rows, table)
        key = F.col("IDBDT") == F.col(f"`{JOINED[table]}IDBDT`")
        joined = joined.join(side, key, "left")
    buckets = max(spark.sparkContext.defaultParallelism, math.ceil(n / max(chunk_size, 1)))
    types = {"households": dict(hh.drop(chunks.POS).dtypes),
             "members": dict(members.drop(chunks.POS).dtypes),
             **{t: dict(_read(spark, files[t], t).dtypes) for t in JOINED}}  # fmt: skip
    optional = [name for name, (table, column) in OPTIONAL_COLUMNS.items()
                if column in types[table]]  # fmt: skip
    run = bucket_frame(_areas(spark, files.get("areas")), types, folder=Path(data_dir),
                       elderly_age=elderly_age, version=DEFAULT_VERSION, optional=optional)  # fmt: skip
    bucket = F.pmod(F.xxhash64(F.col("IDBDT")), F.lit(buckets))
    left = joined.withColumn(chunks.BUCKET, bucket).groupBy(chunks.BUCKET)
    right = members.withColumn(chunks.BUCKET, bucket).groupBy(chunks.BUCKET)
    return left.cogroup(right).applyInPandas(run, frame_schema(optional)), n, buckets


def with_scores(spark, frame, scores_path: Path, models: list[str], n_households: int):
    """``frame`` joined with the score table on IDBDT; every household must have exactly
    one score row and every score row a household.

    Raises
    ------
    ScoreTableError
        Naming the score file, the count and example IDBDTs (never NIK: the frame has none).
    """
    scores = spark.read.parquet(str(scores_path))
    missing = [c for c in ("IDBDT", *models) if c not in scores.columns]
    if missing:
        raise ScoreTableError(
            f"{scores_path}: missing columns {missing}; it needs IDBDT and one score column "
            f"per model of the run ({models})"
        )
    scores = scores.select("IDBDT", *(f"`{m}`" for m in models))
    n, repeated, orphans, counts, ids = _pairing(scores, frame)
    if repeated:
        raise ScoreTableError(f"{scores_path}: {repeated} IDBDTs have more than one score "
                              f"row, e.g. {_examples(counts.filter('count > 1'))}")  # fmt: skip
    if orphans:
        lonely = counts.join(ids, "IDBDT", "left_anti")
        raise ScoreTableError(
            f"{orphans} score rows are of no household of the registry, in {scores_path}, "
            f"e.g. IDBDT {_examples(lonely)}: compare against the data the run was trained on"
        )
    if n != n_households:  # unique and all known: fewer rows means households without one
        lonely = frame.select("IDBDT").join(counts, "IDBDT", "left_anti")
        raise ScoreTableError(
            f"{n_households - n} households have no score row in {scores_path}, e.g. IDBDT "
            f"{_examples(lonely)}: the run was trained on other data; compare against the "
            "data it was trained on"
        )
    return frame.join(scores, "IDBDT", "inner")


def _collect(frame, models: list[str]) -> pd.DataFrame:
    """The household columns on the driver (Arrow), in the local engine's row order."""
    optional = [c for c in OPTIONAL_COLUMNS if c in frame.columns]
    columns = [*FRAME_COLUMNS, *optional, *models]
    with quiet_pyspark():
        local = frame.orderBy(chunks.POS).select(*(f"`{c}`" for c in columns)).toPandas()
    for name, kind in FRAME_COLUMNS.items():
        local[name] = local[name].astype("string" if kind == "string" else local[name].dtype)
    return local


def _max_desil(rule: Any, frame: pd.DataFrame) -> int | None:
    """K of the ``desil:K`` rule when the reference is listed by its published desil."""
    if getattr(rule, "is_desil", False) and f"{REFERENCE}_desil" in frame.columns:
        return int(rule.amount)
    return None


def compare_spark(
    run_dir: str | Path, data_dir: str | Path, *, master: str = "local[2]", spark=None,
    quota: str | int | float = "siksng", by: str | None = None, bootstrap: int = 1000,
    seed: int = 0, weight: str = "household", elderly_age: int = 60,
    chunk_size: int = 100_000,
) -> SparkComparison:  # fmt: skip
    """Compare a run with SIKS-NG on a Parquet registry, reading and counting with Spark.

    Parameters as :func:`slrt_ml.pipeline.compare.run_comparison` (``data_dir``: the
    registry folder the run was trained on, as Parquet), plus ``master`` (or an active
    ``spark`` session), ``elderly_age`` (config ``features.elderly_age``) and
    ``chunk_size`` (households per bucket).

    Raises
    ------
    ScoreTableError, RegistryTableError, SchemaError, QuotaError
        Bad or mismatched input, each naming the file.
    SparkConsistencyError
        When Spark's per-desa totals do not give the local point estimates and slices.
    """
    start = time.perf_counter()
    spark = spark or spark_session(master)
    manifest = read_manifest(run_dir)
    models = list(manifest["models"])
    try:
        rule = parse_quota(quota, reference_names=(REFERENCE,))
    except ValueError as error:
        raise QuotaError(f"--quota: {error}") from None
    frame, n, buckets = spark_frame(spark, data_dir, elderly_age=elderly_age,
                                    chunk_size=chunk_size)  # fmt: skip
    from pyspark import StorageLevel

    with worker_errors():
        frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            if (rows := frame.count()) != n:  # one frame row per validated household
                raise RuntimeError(f"the targeting frame has {rows} rows for {n} households")
            scored = with_scores(spark, frame, RunFolder(run_dir).oof_scores, models, n)
            local = _collect(scored, models)
            meta = _metadata(Path(data_dir))
            views = available_views(local, population=meta.get("generator") == "slrt_ml.synth")
            comparison = compare_with_reference(
                local, models, reference=REFERENCE, quota=rule, by=by, bootstrap=bootstrap,
                seed=seed, weight=weight, views=views,
            )  # fmt: skip
            comparison.gap_decomposition = meta.get("gap_decomposition")
            area = "cluster" if by == "KDDESA" else by
            cuts = selection_cuts(comparison, local, area)
            cells = spark_cell_totals(spark, scored, cuts, models, reference=REFERENCE,
                                      weight=weight, views=views, area=area,
                                      max_desil=_max_desil(rule, local))  # fmt: skip
        finally:
            frame.unpersist()
    check_totals(comparison, cells)
    return SparkComparison(comparison, desa_totals(cells), cells, n, buckets,
                           int(local.memory_usage(deep=True).sum()),
                           time.perf_counter() - start)  # fmt: skip


def compare_and_write_spark(run_dir: str | Path, data_dir: str | Path, *, lang: str = "en",
                            **options: Any) -> tuple[dict[str, Path], SparkComparison]:  # fmt: skip
    """:func:`compare_spark`, then the local engine's files (``selections.parquet``,
    ``comparison.csv``, ``slices.csv``, ``report.md``, ``report.html``) in the run folder;
    the report without the explanations and prelist sections."""
    result = compare_spark(run_dir, data_dir, **options)
    synthetic = _metadata(Path(data_dir)).get("generator") == "slrt_ml.synth"
    paths = write_comparison(run_dir, result.comparison, synthetic=synthetic, lang=lang)
    return paths, result
