"""The training table on Spark: the toolkit's own features, built per bucket of households.

:func:`training_table` reads a registry folder's Parquet data (``households``,
``members``, ``truth`` and optionally ``areas``; each a file ``<name>.parquet`` or a
dataset folder, e.g. partitioned as ``data synth --engine spark`` writes it), joins the
truth columns to the households, hashes households and members on ``IDBDT`` into buckets
and runs :func:`slrt_ml.features.household_features` -- the function the local
``slrt-ml train`` calls -- on each bucket (``cogroup(...).applyInPandas``, as the Spark
scoring engine does). Every household's features depend on its own rows (and the areas
table) only, so a bucket gives the same values as the whole registry.

The result is one Spark row per household: ``IDBDT``, ``_pos`` (input order), the
kecamatan and desa keys (``_kec``, ``_desa``: the strata of the sample and the desa
groups), ``_poor``, ``_welfare``, ``_train`` (in the training sample, config
``train.sample``), ``_weight`` (its training weight: the survey weight for
``labelled``, 1 for ``all``, 0 outside) and the feature columns. It is persisted
(memory and disk), because the encoder statistics, the encoding and XGBoost each read it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from slrt_ml.data.codebook import area_keys
from slrt_ml.data.io import TableReadError
from slrt_ml.features import household_features
from slrt_ml.spark import chunks
from slrt_ml.spark.score import read_with_position
from slrt_ml.spark.session import quiet_pyspark, spark_session, worker_errors

__all__ = ["SparkTrainingTable", "TrainingDataError", "training_table"]

#: truth columns carried next to the household columns (prefixed ``_t_`` in the join)
_TRUTH = ("poor", "welfare_pc", "in_survey", "survey_weight")
_META = ["IDBDT", "_pos", "_kec", "_desa", "_poor", "_welfare", "_labelled", "_sw"]
_META_DDL = ("IDBDT string, _pos bigint, _kec string, _desa string, _poor int, "
             "_welfare double, _labelled int, _sw double")  # fmt: skip


class TrainingDataError(ValueError):
    """Bad training data on Spark: the message names the path, column, rule and examples."""


@dataclass
class SparkTrainingTable:
    """The persisted Spark table of :func:`training_table` and what describes it."""

    frame: Any  # pyspark DataFrame
    features: list[str]  # feature columns, in household_features order
    categorical: list[str]  # the string ones among them
    n_households: int
    n_train: int
    folder: Path
    sample_rule: str
    areas: pd.DataFrame | None = None

    @property
    def train_rows(self):
        """The training sample (``_train``), as a Spark DataFrame."""
        return self.frame.filter("_train")


def _dataset(folder: Path, name: str) -> Path | None:
    for candidate in (folder / f"{name}.parquet", folder / name):
        if candidate.is_file() or (candidate.is_dir() and any(candidate.rglob("*.parquet"))):
            return candidate
    return None


def _paths(folder: Path) -> dict[str, Path | None]:
    paths = {name: _dataset(folder, name) for name in ("households", "members", "truth", "areas")}
    missing = [name for name in ("households", "members", "truth") if paths[name] is None]
    if missing:
        raise TableReadError(
            f"{folder}: training on Spark needs Parquet {', '.join(missing)} (a file "
            "<name>.parquet or a dataset folder); convert CSV tables to Parquet or train "
            "with --engine local"
        )
    return paths


def _areas(spark, path: Path | None) -> pd.DataFrame | None:
    """The validated areas table on the driver (small: one row per desa)."""
    from slrt_ml.data.schema import validate_table

    if path is None:
        return None
    with quiet_pyspark():
        frame = spark.read.parquet(str(path))
        types = dict(frame.dtypes)
        local = frame.toPandas()
    return validate_table(chunks.as_read_locally(local, "areas", types), "areas", file=str(path))


def _truth(spark, path: Path):
    """The truth columns, checked: ``IDBDT`` unique, ``poor`` present."""
    from pyspark.sql import functions as F

    truth = spark.read.parquet(str(path))
    if "IDBDT" not in truth.columns or "poor" not in truth.columns:
        raise TrainingDataError(f"{path}: the truth needs columns IDBDT and poor; it has "
                                f"{truth.columns[:20]}")  # fmt: skip
    repeated = truth.groupBy("IDBDT").count().filter("count > 1").limit(5).collect()
    if repeated:
        raise TrainingDataError(f"{path}: column IDBDT must be unique in the truth; repeated "
                                f"e.g. {[row['IDBDT'] for row in repeated]}")  # fmt: skip
    columns = [F.col(c).alias(f"_t_{c}") for c in _TRUTH if c in truth.columns]
    return truth.select(F.col("IDBDT").cast("string").alias("_t_IDBDT"), *columns)


def _examples(ids: pd.Series, bad: np.ndarray) -> list[str]:
    return ids[bad].astype(str).head(5).tolist()


def _targets(hh: pd.DataFrame, truth_path: str) -> pd.DataFrame:
    """``_poor``, ``_welfare``, ``_labelled``, ``_sw`` of a bucket's households (the local
    rules of :func:`slrt_ml.targeting.frame.targeting_frame`, checked the same way)."""
    ids = hh["IDBDT"]
    poor = pd.to_numeric(hh["_t_poor"], errors="coerce")
    bad = ~poor.isin([0, 1]).to_numpy()
    if bad.any():
        raise TrainingDataError(f"{truth_path}: column 'poor' must be 0/1 for every household "
                                f"(missing truth rows count); not for e.g. IDBDT "
                                f"{_examples(ids, bad)}")  # fmt: skip
    labelled = np.ones(len(hh), np.int32)
    if "_t_in_survey" in hh:
        flag = pd.to_numeric(hh["_t_in_survey"], errors="coerce")
        bad = ~flag.isin([0, 1]).to_numpy()
        if bad.any():
            raise TrainingDataError(f"{truth_path}: column 'in_survey' must be 0/1; not for "
                                    f"e.g. IDBDT {_examples(ids, bad)}")  # fmt: skip
        labelled = flag.to_numpy(np.int32)
    if "_t_survey_weight" in hh:
        weight = pd.to_numeric(hh["_t_survey_weight"], errors="coerce").to_numpy(np.float64)
        bad = (labelled == 1) & ~(np.isfinite(weight) & (weight > 0))
        if bad.any():
            raise TrainingDataError(
                f"{truth_path}: column 'survey_weight' must be a positive finite expansion "
                f"factor on every surveyed household (in_survey = 1); not for e.g. IDBDT "
                f"{_examples(ids, bad)}"
            )
        weight = np.where(labelled == 1, weight, 0.0)
    else:
        weight = labelled.astype(np.float64)
    welfare = hh["_t_welfare_pc"] if "_t_welfare_pc" in hh else pd.Series(np.nan, index=hh.index)
    return pd.DataFrame({"_poor": poor.to_numpy(np.int32),
                         "_welfare": pd.to_numeric(welfare, errors="coerce").to_numpy(float),
                         "_labelled": labelled, "_sw": weight})  # fmt: skip


def bucket_features(areas, hh_types: dict[str, str], mem_types: dict[str, str],
                    elderly_age: float, feature_names: list[str], truth_path: str):  # fmt: skip
    """The function ``applyInPandas`` runs on one bucket: the local features + targets."""

    def run(hh: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
        hh = hh.sort_values(chunks.POS, kind="stable") if len(hh) else hh
        positions = hh[chunks.POS].to_numpy(np.int64) if len(hh) else np.zeros(0, np.int64)
        hh = chunks.as_read_locally(hh, "households", hh_types)
        if len(hh) == 0:
            return pd.DataFrame(columns=[*_META, *feature_names])
        members = chunks.as_read_locally(members, "members", mem_types)
        features = household_features(hh.drop(columns=[c for c in hh if c.startswith("_t_")]),
                                      members, areas, elderly_age=elderly_age)  # fmt: skip
        keys = area_keys(hh)
        meta = pd.DataFrame({"IDBDT": hh["IDBDT"].astype(str).to_numpy(), "_pos": positions,
                             "_kec": keys["kecamatan"].astype(str).to_numpy(),
                             "_desa": keys["desa"].astype(str).to_numpy()})  # fmt: skip
        meta = pd.concat([meta, _targets(hh, truth_path)], axis=1)
        body = features.reset_index(drop=True)[feature_names]
        body = body.astype({c: object for c in body.columns if body[c].dtype == "string"})
        return pd.concat([meta, body], axis=1)

    return run


def _feature_schema(spark, hh, members, areas, elderly_age) -> tuple[list[str], list[str]]:
    """Feature names and categorical ones, from the local function on a few households."""
    hh_types = dict(hh.drop(chunks.POS).dtypes)
    sample = chunks.as_read_locally(hh.limit(3).toPandas(), "households", hh_types)
    ids = sample["IDBDT"].astype(str).tolist()
    mem = members.filter(members["IDBDT"].cast("string").isin(ids)).toPandas()
    mem = chunks.as_read_locally(mem, "members", dict(members.drop(chunks.POS).dtypes))
    probe = household_features(sample, mem, areas, elderly_age=elderly_age)
    categorical = [
        str(c) for c, t in probe.dtypes.items() if t == "string" or pd.api.types.is_object_dtype(t)
    ]
    return [str(c) for c in probe.columns], categorical


def _ddl(features: list[str], categorical: list[str]) -> str:
    body = ", ".join(f"`{c}` {'string' if c in categorical else 'float'}" for c in features)
    return f"{_META_DDL}, {body}"


def training_table(
    registry: str | Path,
    *,
    spark=None,
    master: str = "local[2]",
    sample_rule: str = "labelled",
    elderly_age: float = 60,
    households_per_bucket: int = 20_000,
) -> SparkTrainingTable:
    """Features, labels, strata and training weights of every household, on Spark.

    Parameters
    ----------
    registry : str or Path
        A folder with Parquet ``households``, ``members``, ``truth`` (and ``areas``).
    spark : SparkSession, optional
        Default: :func:`slrt_ml.spark.session.spark_session` on ``master``.
    sample_rule : {"labelled", "all"}
        Config ``train.sample``: the labelled households with their survey weights, or
        every household with weight 1 (as :func:`slrt_ml.models.cv.training_sample`).
    elderly_age : float
        Config ``features.elderly_age``.
    households_per_bucket : int
        About this many households per feature task.

    Raises
    ------
    TableReadError
        A required table is missing or not Parquet.
    TrainingDataError
        Bad truth values (names the path, column and example IDBDTs), or an empty sample.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    if sample_rule not in ("labelled", "all"):
        raise ValueError(f"sample_rule must be 'labelled' or 'all', got {sample_rule!r}")
    folder = Path(registry)
    paths = _paths(folder)
    spark = spark or spark_session(master)
    with quiet_pyspark():
        areas = _areas(spark, paths["areas"])
        hh = read_with_position(spark, paths["households"], "households")
        members = read_with_position(spark, paths["members"], "members")
        truth = _truth(spark, paths["truth"])
        features, categorical = _feature_schema(spark, hh, members, areas, elderly_age)
        n = hh.count()
        buckets = max(spark.sparkContext.defaultParallelism, math.ceil(n / households_per_bucket))
        joined = hh.join(truth, hh["IDBDT"].cast("string") == truth["_t_IDBDT"], "left")
        joined = joined.drop("_t_IDBDT")
        run = bucket_features(areas, dict(joined.drop(chunks.POS).dtypes),
                              dict(members.drop(chunks.POS).dtypes), elderly_age, features,
                              str(paths["truth"]))  # fmt: skip
        bucket = F.pmod(F.xxhash64(F.col("IDBDT").cast("string")), F.lit(buckets))
        left = joined.withColumn(chunks.BUCKET, bucket).groupBy(chunks.BUCKET)
        right = members.withColumn(chunks.BUCKET, bucket).groupBy(chunks.BUCKET)
        table = left.cogroup(right).applyInPandas(run, _ddl(features, categorical))
        if sample_rule == "all":
            table = table.withColumn("_train", F.lit(True)).withColumn("_weight", F.lit(1.0))
        else:
            table = table.withColumn("_train", F.col("_labelled") == 1)
            table = table.withColumn(
                "_weight", F.when(F.col("_train"), F.col("_sw")).otherwise(0.0)
            )
        table = table.persist(StorageLevel.MEMORY_AND_DISK)
        with worker_errors():  # a bad code in a bucket: the check's own message
            n_train = table.filter("_train").count()
    if n_train == 0:
        table.unpersist()
        raise TrainingDataError(f"{folder}: no labelled household to train on (train.sample)")
    return SparkTrainingTable(table, features, categorical, n, n_train, folder, sample_rule,
                              areas)  # fmt: skip
