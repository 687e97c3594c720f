"""Training beyond one machine: ``gbm`` with ``xgboost.spark``, the others on a sample.

Two paths (docs/SPARK.md, "Training on Spark"), both on the table of
:func:`slrt_ml.spark.train_table.training_table` (the local feature function, run per
bucket of households):

- ``gbm`` (:func:`fit_gbm_spark`): the one-hot encoder is fitted from statistics Spark
  aggregates over the training sample (level counts, medians, weighted means: exactly
  what :class:`~slrt_ml.models._encoding.FeatureEncoder` learns locally), every partition
  is encoded with it (``mapInPandas``), and ``xgboost.spark.SparkXGBClassifier`` (the
  local gbm is an ``XGBClassifier``, ``binary:logistic``) trains with the local model's
  own parameters (:meth:`GradientBoostingModel.xgboost_params`), ``num_workers`` = the
  executor cores (``defaultParallelism``) and the training weights as ``weight_col``.
  Its booster (``get_booster()``) becomes the ``booster_`` of an ordinary
  :class:`~slrt_ml.models.trees.GradientBoostingModel`, so saving, scoring and exact
  TreeSHAP reasons are unchanged.
- every other family (:func:`fit_sampled`): a stratified sample is drawn in Spark
  (:func:`slrt_ml.spark.train_sample.stratified_sample`: by desa or kecamatan, at least
  ``min_per_stratum`` households per stratum, deterministic per seed), collected to the
  driver and fitted by the local trainer with weight = training weight x inverse
  inclusion probability ``N_h / n_h``. When the training sample has at most
  ``sample_size`` households, all of them are collected (inclusion probability 1) and
  the fit is the local one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from slrt_ml.config import Config
from slrt_ml.models import PovertyModel
from slrt_ml.models._encoding import MISSING, OTHER, FeatureEncoder
from slrt_ml.models.cv import fit_model, new_model
from slrt_ml.models.trees import GradientBoostingModel
from slrt_ml.spark.session import quiet_pyspark
from slrt_ml.spark.train_sample import (
    DEFAULT_SAMPLE_SIZE,
    collect_sample,
    stratified_sample,
    welfare_target,
)
from slrt_ml.spark.train_table import SparkTrainingTable

__all__ = ["SparkTraining", "encoder_from_spark", "fit_gbm_spark", "fit_sampled",
           "train_models_spark"]  # fmt: skip

_LABEL, _FIT_WEIGHT = "_label", "_fit_weight"


@dataclass
class SparkTraining:
    """Models fitted by :func:`train_models_spark` and how each was trained."""

    models: dict[str, PovertyModel]
    paths: dict[str, dict[str, Any]] = field(default_factory=dict)


# -- the encoder from Spark aggregates ------------------------------------------------------


def _level_counts(rows, categorical: list[str]) -> dict[str, dict[str, int]]:
    """Unweighted level counts per categorical column (missing = ``__missing__``)."""
    from pyspark.sql import functions as F

    if not categorical:
        return {}
    pairs = F.explode(F.array(*[
        F.struct(F.lit(c).alias("column"), F.coalesce(F.col(f"`{c}`"), F.lit(MISSING)).alias("level"))
        for c in categorical
    ]))  # fmt: skip
    counted = rows.select(pairs.alias("p")).groupBy("p.column", "p.level").count().collect()
    counts: dict[str, dict[str, int]] = {c: {} for c in categorical}
    for row in counted:
        counts[row["column"]][row["level"]] = int(row["count"])
    return counts


def _numeric_stats(rows, numeric: list[str], weight: str) -> dict[str, tuple[float, ...]]:
    """Per numeric column: median of non-missing values, weighted mean and variance."""
    from pyspark.sql import functions as F

    aggs = []
    for i, c in enumerate(numeric):
        x = F.col(f"`{c}`").cast("double")
        value = F.when(~F.isnan(x), x)
        w = F.when(value.isNotNull() & (F.col(weight) > 0), F.col(weight))
        aggs += [F.percentile(value, F.lit(0.5)).alias(f"m{i}"), F.sum(w).alias(f"w{i}"),
                 F.sum(w * value).alias(f"s{i}"), F.sum(w * value * value).alias(f"q{i}")]  # fmt: skip
    if not aggs:
        return {}
    row = rows.agg(*aggs).collect()[0]
    stats = {}
    for i, c in enumerate(numeric):
        total = row[f"w{i}"] or 0.0
        mean = (row[f"s{i}"] / total) if total > 0 else 0.0
        var = max((row[f"q{i}"] / total) - mean * mean, 0.0) if total > 0 else 0.0
        median = row[f"m{i}"]
        stats[c] = (0.0 if median is None else float(median), float(mean), float(var))
    return stats


def encoder_from_spark(table: SparkTrainingTable, template: FeatureEncoder) -> FeatureEncoder:
    """``template`` (an unfitted :class:`FeatureEncoder`) fitted on the training sample
    from Spark aggregates, with what ``template.fit`` would learn on the collected rows:
    the same kept levels (unweighted counts >= ``min_frequency``, sorted, ``__other__``
    when some were pooled) and medians; weighted means and scales up to float rounding
    (one pass: ``E[x^2] - mean^2``)."""
    rows = table.train_rows
    enc = template
    enc.feature_names_in_ = np.asarray(table.features, dtype=object)
    enc.n_features_in_ = len(table.features)
    enc.categorical_columns_ = list(table.categorical)
    enc.numeric_columns_ = [c for c in table.features if c not in table.categorical]
    with quiet_pyspark():
        counts = _level_counts(rows, enc.categorical_columns_)
        stats = _numeric_stats(rows, enc.numeric_columns_, "_weight")
    enc.categories_ = {}
    for c in enc.categorical_columns_:
        kept = sorted(level for level, n in counts[c].items() if n >= enc.min_frequency)
        pooled = len(kept) < len(counts[c])
        enc.categories_[c] = kept + [OTHER] if pooled and enc.mode == "onehot" else kept
    enc.cardinalities_ = {c: len(levels) + 1 for c, levels in enc.categories_.items()}
    enc.medians_ = {c: stats[c][0] for c in enc.numeric_columns_}
    enc.means_ = {c: stats[c][1] for c in enc.numeric_columns_}
    enc.scales_ = {c: float(np.sqrt(stats[c][2])) if stats[c][2] > 0 else 1.0
                   for c in enc.numeric_columns_}  # fmt: skip
    enc.sources_ = enc._sources()  # the encoder's own naming of the encoded columns
    return enc


# -- gbm on xgboost.spark -----------------------------------------------------------------


def _class_factors(rows, class_weight) -> np.ndarray:
    """Weight factor per class (0, 1) as ``balanced_weight`` applies it; checks that both
    classes have households of positive weight."""
    from pyspark.sql import functions as F

    found = rows.filter(F.col("_weight") > 0).groupBy("_poor").agg(F.sum("_weight").alias("w"))
    totals = np.zeros(2)
    for row in found.collect():
        totals[int(row["_poor"])] = float(row["w"])
    if (totals > 0).sum() < 2:
        only = "poor" if totals[1] > 0 else "not poor"
        raise ValueError(f"households with a positive training weight hold only one class "
                         f"({only}); both poor and not-poor households need weight > 0")  # fmt: skip
    if class_weight is None:
        return np.ones(2)
    if class_weight == "balanced":
        return totals.sum() / (2.0 * totals)
    if isinstance(class_weight, dict) and set(class_weight) <= {0, 1}:
        return np.array([class_weight.get(0, 1.0), class_weight.get(1, 1.0)], dtype=float)
    raise ValueError(
        f"class_weight must be None, 'balanced' or a dict {{0: w, 1: w}}, got {class_weight!r}"
    )


def _encoded_rows(table: SparkTrainingTable, encoder: FeatureEncoder, factors: np.ndarray,
                  num_workers: int):  # fmt: skip
    """Training rows encoded per partition, in input order, ``num_workers`` partitions."""
    from pyspark.sql import functions as F

    names = [f"f{i}" for i in range(len(encoder.sources_))]
    schema = ", ".join([f"{n} float" for n in names] + [f"{_LABEL} int", f"{_FIT_WEIGHT} double"])
    broadcast = table.frame.sparkSession.sparkContext.broadcast(encoder)
    features = list(table.features)

    def encode(batches):
        enc = broadcast.value
        for batch in batches:
            frame = batch[features].astype({c: "string" for c in enc.categorical_columns_})
            encoded = enc.transform(frame).to_numpy(np.float32)
            out = pd.DataFrame(encoded, columns=names)
            out[_LABEL] = batch["_poor"].to_numpy(np.int32)
            out[_FIT_WEIGHT] = batch["_weight"].to_numpy(float) * factors[out[_LABEL].to_numpy()]
            yield out

    rows = table.train_rows.repartitionByRange(num_workers, F.col("_pos"))
    rows = rows.sortWithinPartitions("_pos").select(
        "_poor", "_weight", *[F.col(f"`{c}`") for c in features]
    )
    return rows.mapInPandas(encode, schema), names


def fit_gbm_spark(
    table: SparkTrainingTable,
    model: GradientBoostingModel | None = None,
    *,
    num_workers: int | None = None,
) -> GradientBoostingModel:
    """Fit the ``gbm`` family with ``xgboost.spark`` on the training sample of ``table``.

    Parameters
    ----------
    table : SparkTrainingTable
        From :func:`slrt_ml.spark.train_table.training_table`.
    model : GradientBoostingModel, optional
        Unfitted, with its parameters (default: ``make_model("gbm")``).
    num_workers : int, optional
        XGBoost workers (barrier tasks); default the executor cores
        (``sparkContext.defaultParallelism``). One worker reproduces the local booster.

    Returns
    -------
    GradientBoostingModel
        Fitted: ``encoder_``, ``classes_`` and ``booster_`` (an ``XGBClassifier`` holding
        the booster Spark trained), as a local fit would leave it.
    """
    from xgboost import XGBClassifier
    from xgboost.spark import SparkXGBClassifier

    model = model if model is not None else GradientBoostingModel()
    spark = table.frame.sparkSession
    workers = int(num_workers or spark.sparkContext.defaultParallelism)
    params = model.xgboost_params()
    # xgboost.spark logs INFO lines on the driver and passes its level to the workers
    logging.getLogger("XGBoost-PySpark").setLevel(logging.WARNING)
    with quiet_pyspark():
        factors = _class_factors(table.train_rows, model.class_weight)
        encoder = encoder_from_spark(table, model._make_encoder())  # the family's own encoder
        rows, names = _encoded_rows(table, encoder, factors, workers)
        estimator = SparkXGBClassifier(features_col=names, label_col=_LABEL,
                                       weight_col=_FIT_WEIGHT, num_workers=workers,
                                       feature_names=list(encoder.sources_), missing=np.nan,
                                       verbose=False, **params)  # fmt: skip
        fitted = estimator.fit(rows)
    booster = XGBClassifier(**params, n_jobs=model.n_jobs)
    booster.load_model(bytearray(fitted.get_booster().save_raw("ubj")))
    model.encoder_ = encoder
    model.n_features_in_ = encoder.n_features_in_
    model.feature_names_in_ = encoder.feature_names_in_
    model.classes_ = np.array([0, 1], dtype=np.int8)
    model.booster_ = booster
    return model


# -- the other families: sample, collect, fit locally ----------------------------------------


def fit_sampled(
    table: SparkTrainingTable,
    model: PovertyModel,
    *,
    sample_size: int = DEFAULT_SAMPLE_SIZE,
    strata: str = "desa",
    seed: int = 0,
    poverty_lines: Mapping[str, float] | None = None,
) -> tuple[PovertyModel, dict[str, Any]]:
    """Fit ``model`` (any family) by the local trainer on a stratified sample of ``table``.

    Returns the fitted model and a summary of the sample (``path``, ``strata``,
    ``sample_size``, ``drawn``, ``population``). See the module docstring for the weights.
    """
    sample, info = stratified_sample(table, sample_size, strata=strata, seed=seed)
    frame = collect_sample(sample, table)
    y = frame["_poor"].to_numpy(np.int8)
    if getattr(model, "uses_welfare", False):
        target = welfare_target(frame, table.features, poverty_lines)
        y = y if target is None else target
    weight = frame["_weight"].to_numpy(float) * frame["_ipw"].to_numpy(float)
    fit_model(model, frame[table.features], y, frame["_desa"].to_numpy(), weight)
    return model, info


def train_models_spark(
    table: SparkTrainingTable,
    config: Config,
    *,
    sample_size: int = DEFAULT_SAMPLE_SIZE,
    strata: str = "desa",
    num_workers: int | None = None,
    poverty_lines: Mapping[str, float] | None = None,
) -> SparkTraining:
    """Every model of ``config.models`` fitted on Spark with the config's parameters and seed:
    ``gbm`` by :func:`fit_gbm_spark`, the others by :func:`fit_sampled`."""
    result = SparkTraining({})
    for name in config.models:
        model = new_model(name, config)
        if isinstance(model, GradientBoostingModel):
            workers = int(num_workers or table.frame.sparkSession.sparkContext.defaultParallelism)
            result.models[name] = fit_gbm_spark(table, model, num_workers=workers)
            result.paths[name] = {"path": "xgboost.spark", "num_workers": workers,
                                  "rows": table.n_train}  # fmt: skip
        else:
            result.models[name], info = fit_sampled(table, model, sample_size=sample_size,
                                                    strata=strata, seed=config.seed,
                                                    poverty_lines=poverty_lines)  # fmt: skip
            result.paths[name] = info
    return result
