"""``data synth --engine spark``: a partitioned registry, the same for any number of tasks."""

from __future__ import annotations

import json

import pandas as pd
import pytest

#: pyspark 4 warns on every pandas conversion under pandas 3 (and pandera imports
#: pyspark.pandas when pyspark is installed); values are checked against the local engine
PANDAS3 = "ignore:PySpark does not yet fully support pandas:FutureWarning"
pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.filterwarnings(PANDAS3)]


def _files(root):
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*.parquet"))}


def test_registry_is_partitioned_by_kabupaten_and_the_same_for_any_task_count(spark, tmp_path):
    from slrt_ml.spark.score import score_prelist_spark
    from slrt_ml.spark.synth import synth_registry_spark

    one = synth_registry_spark(tmp_path / "one", 120, seed=3, spark=spark, tasks=1)
    six = synth_registry_spark(tmp_path / "six", 120, seed=3, spark=spark, tasks=6)
    assert one["counts"] == six["counts"] and one["counts"]["households"] == 120
    files_one, files_six = _files(tmp_path / "one"), _files(tmp_path / "six")
    assert list(files_one) == list(files_six)
    for name, path in files_one.items():
        pd.testing.assert_frame_equal(pd.read_parquet(path), pd.read_parquet(files_six[name]))
    kabupaten = sorted(p.parent.name + "/" + p.name for p in
                       (tmp_path / "one" / "households").glob("KDPROP=*/KDKAB=*"))  # fmt: skip
    assert kabupaten == ["KDPROP=72/KDKAB=98", "KDPROP=72/KDKAB=99", "KDPROP=73/KDKAB=98",
                         "KDPROP=73/KDKAB=99", "KDPROP=74/KDKAB=98", "KDPROP=74/KDKAB=99"]  # fmt: skip
    households = spark.read.parquet(str(tmp_path / "one" / "households"))
    assert dict(households.dtypes)["KDPROP"] == "string"  # codes stay text
    other = synth_registry_spark(tmp_path / "seed4", 120, seed=4, spark=spark, tasks=2)
    assert other["counts"]["households"] == 120
    first = pd.read_parquet(files_one["households/KDPROP=73/KDKAB=99/part-00000.parquet"])
    changed = pd.read_parquet(tmp_path / "seed4/households/KDPROP=73/KDKAB=99/part-00000.parquet")
    assert not first.equals(changed)
    meta = json.loads((tmp_path / "one" / "metadata.json").read_text())
    assert len({k["seed"] for k in meta["kabupaten"]}) == 6

    # the Spark engine scores the partitioned prelist: every row accounted for
    from scoring_data import fitted_models

    models, _ = fitted_models()
    result = score_prelist_spark(tmp_path / "one", {"gbm": models["gbm"]}, tmp_path / "scored",
                                 spark=spark)  # fmt: skip
    n_prelist = one["counts"]["prelist_households"]
    assert result.n_input == n_prelist == result.n_scored + result.n_rejected
    provinces = {p.name for p in (tmp_path / "scored" / "scored").glob("KDPROP=*")}
    assert provinces == {"KDPROP=72", "KDPROP=73", "KDPROP=74"} or result.n_scored < 6
