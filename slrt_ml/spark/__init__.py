"""National scale on Apache Spark: the local engine's stages, run by Spark (docs/SPARK.md).

``score`` (:func:`~slrt_ml.spark.score.score_prelist_spark`: the same chunk function as
the local engine, per-desa windows, a partitioned output published atomically),
``synth`` (:func:`~slrt_ml.spark.synth.synth_registry_spark`: one kabupaten per task),
``session`` (a small session; pyspark imported inside functions). This package sits at
the pipeline level: it imports the stages and :mod:`slrt_ml.pipeline`, and nothing below
it imports it. Submodules are imported on use: ``from slrt_ml.spark.score import
score_prelist_spark``.
"""

__all__: list[str] = []
