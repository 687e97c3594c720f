"""National scale on Apache Spark: the local engine's stages, run by Spark (docs/SPARK.md).

``score`` (:func:`~slrt_ml.spark.score.score_prelist_spark`: the same chunk function as
the local engine, per-desa windows, a partitioned output published atomically),
``synth`` (:func:`~slrt_ml.spark.synth.synth_registry_spark`: one kabupaten per task),
``compare`` (:func:`~slrt_ml.spark.compare.compare_and_write_spark`: the targeting frame
and per-desa totals on Spark, the local comparison on the driver), ``train``
(:func:`~slrt_ml.spark.train.fit_gbm_spark` on ``xgboost.spark``; a stratified sample for
the other families),
``session`` (a small session; pyspark imported inside functions). This package sits at
the pipeline level: it imports the stages and :mod:`slrt_ml.pipeline`, and nothing below
it imports it. Submodules are imported on use: ``from slrt_ml.spark.score import
score_prelist_spark``.
"""

__all__: list[str] = []
