"""A stratified, weighted training sample drawn in Spark, for the families without a
distributed trainer (everything but ``gbm``; docs/SPARK.md, "Training on Spark").

**Rule.** Population: the training sample of the table (config ``train.sample``), ``N``
households in strata ``h`` (desa, or kecamatan), ``N_h`` each. With ``N <= size`` every
household is taken (``n_h = N_h``, the local fit). Otherwise each stratum gets the
proportional share ``n_h = min(N_h, max(min_per_stratum, floor(size * N_h / N + 0.5)))``
(so every stratum is present and the total is ``size`` up to rounding and the minima),
drawn without replacement: the ``n_h`` households with the smallest
``xxhash64(IDBDT, seed)`` in the stratum (ties by IDBDT). The draw depends on the seed and
the data only, never on partitions or workers. Each drawn household carries its inverse
inclusion probability ``_ipw = N_h / n_h`` (these sum to ``N_h`` in every stratum); the
fit weight is the training weight (the survey weight) times ``_ipw``, so weighted totals
estimate the population's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from slrt_ml.spark.session import quiet_pyspark
from slrt_ml.targeting.frame import POVERTY_LINES_SULSEL_2024

__all__ = ["DEFAULT_SAMPLE_SIZE", "MIN_PER_STRATUM", "allocation", "collect_sample",
           "stratified_sample", "welfare_target"]  # fmt: skip

#: households collected to the driver for the local trainers (module docstring)
DEFAULT_SAMPLE_SIZE = 200_000
#: at least this many households per stratum (or all of a smaller stratum)
MIN_PER_STRATUM = 2
_STRATA = {"desa": "_desa", "kecamatan": "_kec"}


def allocation(sizes: Mapping[str, int], size: int, min_per_stratum: int = MIN_PER_STRATUM
               ) -> dict[str, int]:  # fmt: skip
    """Households to draw per stratum (module docstring).

    >>> allocation({"a": 90, "b": 9, "c": 1}, 20)
    {'a': 18, 'b': 2, 'c': 1}
    >>> allocation({"a": 5, "b": 3}, 20)
    {'a': 5, 'b': 3}
    """
    total = sum(sizes.values())
    if total <= size:
        return dict(sizes)
    return {h: min(n, max(min_per_stratum, math.floor(size * n / total + 0.5)))
            for h, n in sizes.items()}  # fmt: skip


def stratified_sample(table, size: int, *, strata: str = "desa", seed: int = 0,
                      min_per_stratum: int = MIN_PER_STRATUM):  # fmt: skip
    """The drawn training rows of ``table`` with ``_ipw``, and a summary.

    Parameters
    ----------
    table : SparkTrainingTable
        From :func:`slrt_ml.spark.train_table.training_table`.
    size : int
        Target sample size (module docstring).
    strata : {"desa", "kecamatan"}
    seed : int
        Seed of the draw (config ``seed``).

    Returns
    -------
    (pyspark DataFrame, dict)
        The sample and ``{"path", "strata", "sample_size", "drawn", "population",
        "n_strata"}``.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if strata not in _STRATA:
        raise ValueError(f"strata must be one of {sorted(_STRATA)}, got {strata!r}")
    if size < 1:
        raise ValueError(f"sample size must be at least 1, got {size}")
    key = _STRATA[strata]
    rows = table.train_rows
    spark = rows.sparkSession
    with quiet_pyspark():
        sizes = {r[key]: int(r["count"]) for r in rows.groupBy(key).count().collect()}
        drawn = allocation(sizes, size, min_per_stratum)
        plan = spark.createDataFrame(
            [(h, drawn[h], sizes[h] / drawn[h]) for h in sorted(sizes)],
            f"{key} string, _n_h int, _ipw double",
        )
        order = F.xxhash64(F.col("IDBDT"), F.lit(int(seed)))
        rank = F.row_number().over(Window.partitionBy(key).orderBy(order, F.col("IDBDT")))
        sample = (rows.join(F.broadcast(plan), key).withColumn("_rank", rank)
                  .filter(F.col("_rank") <= F.col("_n_h")).drop("_rank", "_n_h"))  # fmt: skip
    n, total = sum(drawn.values()), sum(sizes.values())
    info = {"path": "sample-then-train" if n < total else "all-then-train", "strata": strata,
            "sample_size": size, "drawn": n, "population": total, "n_strata": len(sizes)}  # fmt: skip
    return sample, info


def collect_sample(sample, table) -> pd.DataFrame:
    """The sample on the driver in input order, features typed as the local ones
    (categorical ``string``, numeric ``float32``)."""
    from pyspark.sql import functions as F

    columns = ["IDBDT", "_pos", "_kec", "_desa", "_poor", "_welfare", "_weight", "_ipw"]
    with quiet_pyspark():
        frame = sample.select(*columns, *[F.col(f"`{c}`") for c in table.features]).toPandas()
    frame = frame.sort_values("_pos", kind="stable").reset_index(drop=True)
    types = {c: ("string" if c in table.categorical else np.float32) for c in table.features}
    return frame.astype(types)


def welfare_target(frame: pd.DataFrame, features: list[str],
                   poverty_lines: Mapping[str, float] | None = None) -> np.ndarray | None:  # fmt: skip
    """``log(welfare / poverty line)`` (urban line where ``perkotaan`` is 1), as the local
    targeting frame computes it for welfare models; None when no welfare is known.

    >>> welfare_target(pd.DataFrame({"_welfare": [485_401.0], "perkotaan": [1.0]}),
    ...                ["perkotaan"]).round(6).tolist()
    [0.0]
    """
    welfare = frame["_welfare"].to_numpy(float)
    if np.isnan(welfare).all():
        return None
    lines: dict[str, Any] = {**POVERTY_LINES_SULSEL_2024, **dict(poverty_lines or {})}
    urban = frame["perkotaan"].to_numpy() == 1 if "perkotaan" in features else False
    line = np.where(urban, lines["urban"], lines["rural"])
    return np.log(np.clip(welfare, 1.0, None) / line)
