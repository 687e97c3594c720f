"""Rank, selection and verification priority per desa as Spark window functions.

The same rules as :func:`slrt_ml.targeting.priority.area_decisions`, written over a Spark
DataFrame of scored households (``desa``, ``score``, ``pos`` = input order, ``score_<m>``):

- ``rank_in_desa``: ``row_number`` over the desa ordered by score descending, then input
  order (1 = poorest);
- the quota per desa comes from the toolkit's own :func:`slrt_ml.targeting.selection.desa_quota`
  on the per-desa counts (a quota table, or a share split by largest remainder), counted
  by Spark and joined back as a small table; ``selected`` = rank <= quota;
- ``priority_in_desa``: ``row_number`` over the desa ordered by the share of voting
  models that disagree (descending), the distance ``|rank - (quota + 0.5)| / n`` to the
  cut-off, then input order; without a quota the priority is the rank;
- ``percentile_in_desa`` = ``ceil(100 * rank / n)``; the reasons shown are the poorer ones
  for a selected household and the richer ones for a household not selected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from slrt_ml.targeting.selection import desa_quota

__all__ = ["desa_quotas", "with_decisions", "output_columns"]


def desa_quotas(spark, scored, quota: Mapping[str, int] | float | None):
    """(households per desa as a pandas Series, Spark table ``desa, quota`` or None)."""
    counts = scored.groupBy("desa").count().toPandas()
    series = pd.Series(
        counts["count"].to_numpy("int64"), index=pd.Index(counts["desa"].astype(str))
    )
    series = series.sort_index()
    quotas = desa_quota(series, quota)
    if quotas is None:
        return series, None
    table = pd.DataFrame({"desa": quotas.index.astype(str), "quota": quotas.to_numpy("int64")})
    return series, spark.createDataFrame(table, "desa string, quota bigint")


def with_decisions(scored, quotas, voters: Sequence[str]):
    """``scored`` with ``n_in_desa, rank_in_desa, quota, selected, priority_in_desa``."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    by_desa = Window.partitionBy("desa")
    frame = scored.withColumn("n_in_desa", F.count(F.lit(1)).over(by_desa))
    frame = frame.withColumn("rank_in_desa", F.row_number().over(
        by_desa.orderBy(F.col("score").desc(), F.col("pos").asc())))  # fmt: skip
    if quotas is None:
        return (frame.withColumn("quota", F.lit(None).cast("bigint"))
                .withColumn("selected", F.lit(None).cast("boolean"))
                .withColumn("priority_in_desa", F.col("rank_in_desa")))  # fmt: skip
    frame = frame.join(F.broadcast(quotas), on="desa", how="left")
    frame = frame.withColumn("quota", F.coalesce(F.col("quota"), F.lit(0)))
    frame = frame.withColumn("selected", F.col("rank_in_desa") <= F.col("quota"))
    disagree = F.lit(0.0)
    if voters:
        votes = []
        for column in voters:
            rank = F.row_number().over(by_desa.orderBy(F.col(column).desc(), F.col("pos").asc()))
            frame = frame.withColumn(f"_rank_{column}", rank)
            votes.append(((F.col(f"_rank_{column}") <= F.col("quota")) != F.col("selected"))
                         .cast("double"))  # fmt: skip
        total = votes[0]
        for vote in votes[1:]:
            total = total + vote
        disagree = total / F.lit(float(len(voters)))
    distance = F.abs(F.col("rank_in_desa") - (F.col("quota") + F.lit(0.5))) / F.greatest(
        F.col("n_in_desa"), F.lit(1)).cast("double")  # fmt: skip
    frame = frame.withColumn("_disagree", disagree).withColumn("_distance", distance)
    priority = F.row_number().over(by_desa.orderBy(F.col("_disagree").desc(),
                                                   F.col("_distance").asc(), F.col("pos").asc()))  # fmt: skip
    return frame.withColumn("priority_in_desa", priority)


def output_columns(frame, areas: pd.DataFrame | None, spark, *, explain: bool, top_k: int,
                   extra: Sequence[str]):  # fmt: skip
    """The columns of the local field output (:func:`slrt_ml.pipeline.field_output.field_table`)
    plus ``KDPROP, KDKAB`` (the partition columns), from :func:`with_decisions`' frame."""
    from pyspark.sql import functions as F

    richer = F.coalesce(~F.col("selected"), F.lit(False))
    columns = [
        F.substring("desa", 5, 3).alias("KDKEC"), F.col("NMKEC"),
        F.substring("desa", 8, 3).alias("KDDESA"), F.col("NMDESA"), F.col("desa").alias("desa_code"),
        F.col("IDBDT"), F.col("prob_poor"),
        F.ceil(F.lit(100.0) * F.col("rank_in_desa") / F.col("n_in_desa")).cast("bigint")
        .alias("percentile_in_desa"),
        F.col("rank_in_desa").cast("bigint").alias("rank_in_desa"), F.col("selected"),
        F.col("priority_in_desa").cast("bigint").alias("priority_in_desa"),
        (F.when(richer, "richer").otherwise("poorer") if explain else F.lit(None).cast("string"))
        .alias("reasons_toward"),
    ]  # fmt: skip
    for slot in range(1, top_k + 1):
        reason = (F.when(richer, F.col(f"reason_richer_{slot}"))
                  .otherwise(F.col(f"reason_poorer_{slot}")) if explain
                  else F.lit(None).cast("string"))  # fmt: skip
        columns.append(reason.alias(f"reason_{slot}"))
    columns += [F.col(c) for c in extra]
    columns += [F.col("score").alias("margin"), F.substring("desa", 1, 2).alias("KDPROP"),
                F.substring("desa", 3, 2).alias("KDKAB"), F.col("pos")]  # fmt: skip
    names = _names_table(areas, spark)
    frame = frame.join(F.broadcast(names), on="desa", how="left")
    return frame.select(*columns)


def _names_table(areas: pd.DataFrame | None, spark):
    """``desa, NMKEC, NMDESA`` of the areas table (empty without one)."""
    from slrt_ml.data.codebook import area_keys

    if areas is None or not {"KDPROP", "KDKAB", "KDKEC", "KDDESA"} <= set(areas.columns):
        table = pd.DataFrame({"desa": pd.Series(dtype=object), "NMKEC": pd.Series(dtype=object),
                              "NMDESA": pd.Series(dtype=object)})  # fmt: skip
    else:
        names = areas.reindex(columns=["NMKEC", "NMDESA"]).astype("string")
        table = pd.DataFrame({"desa": area_keys(areas)["desa"].astype(str).to_numpy(),
                              "NMKEC": names["NMKEC"].astype(object).to_numpy(),
                              "NMDESA": names["NMDESA"].astype(object).to_numpy()})  # fmt: skip
        table = table.drop_duplicates("desa")
        table = table.astype(object).where(table.notna(), None)
    return spark.createDataFrame(table, "desa string, NMKEC string, NMDESA string")
