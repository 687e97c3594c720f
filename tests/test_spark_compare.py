"""``slrt-ml compare --engine spark`` against the local engine on the same registry and run.

A small synthetic Parquet registry is trained on once; the local engine and the Spark
engine (local[2], several hash buckets) then compare the same run folder: the same
``comparison.csv`` and ``slices.csv`` (numbers to 1e-9, text exactly), per-desa totals
counted by Spark equal to the ones of the local lists, and a score table that does not
pair up with the households is an error naming the file and example IDBDTs.
"""

from __future__ import annotations

import re
import shutil

import numpy as np
import pandas as pd
import pytest

from slrt_ml.config import config_from_dict, load_config
from slrt_ml.data.synth.generator import generate_registry
from slrt_ml.pipeline.compare import run_comparison, write_comparison
from slrt_ml.pipeline.train import load_targeting_data, train

PANDAS3 = "ignore:PySpark does not yet fully support pandas:FutureWarning"
pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.filterwarnings(PANDAS3)]

FAST = config_from_dict({"models": ["pmt_ols", "logit"], "cv": {"folds": 3}})
BOOTSTRAP = 30
#: person weights, per-kecamatan quotas at a share: the other paths of the rule
OPTIONS = {"quota": "0.3", "by": "KDKEC", "weight": "person", "bootstrap": BOOTSTRAP, "seed": 3}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    registry = tmp_path_factory.mktemp("registry") / "reg"
    generate_registry(registry, households=1_500, seed=5)
    data = load_targeting_data(registry)
    run = train(data, tmp_path_factory.mktemp("run") / "run", FAST, progress=False)
    return registry, data, run.run_dir


def _copy(run, folder):
    return shutil.copytree(run, folder / "run")


def _assert_same_csv(local_path, spark_path):
    a, b = pd.read_csv(local_path), pd.read_csv(spark_path)
    assert list(b.columns) == list(a.columns) and len(b) == len(a) > 0
    for column in a.columns:
        if pd.api.types.is_numeric_dtype(a[column]):
            np.testing.assert_allclose(b[column], a[column], rtol=0, atol=1e-9, err_msg=column)
        else:
            assert b[column].tolist() == a[column].tolist(), column


def test_cli_spark_comparison_equals_the_local_one(trained, spark, tmp_path):
    from typer.testing import CliRunner

    from slrt_ml.cli import app

    registry, data, run = trained
    cfg = load_config(None)
    local_run = _copy(run, tmp_path / "local")
    comparison = run_comparison(local_run, data, quota=cfg.compare.quota, by=cfg.compare.by,
                                bootstrap=BOOTSTRAP, seed=cfg.seed, weight=cfg.compare.weight)  # fmt: skip
    local = write_comparison(local_run, comparison, synthetic=data.synthetic)
    spark_run = _copy(run, tmp_path / "spark")
    result = CliRunner().invoke(app, ["compare", "--run", str(spark_run), "--data", str(registry),
                                      "--bootstrap", str(BOOTSTRAP), "--engine", "spark",
                                      "--master", "local[2]", "--no-track"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(comparison.views()) == 2  # survey and population views, both compared
    _assert_same_csv(local["comparison"], spark_run / "comparison.csv")
    _assert_same_csv(local["slices"], spark_run / "slices.csv")
    a, b = pd.read_parquet(local["selections"]), pd.read_parquet(spark_run / "selections.parquet")
    pd.testing.assert_frame_equal(b, a, check_exact=False, rtol=0, atol=1e-9)
    assert (spark_run / "report.html").is_file()


@pytest.fixture(scope="module")
def both(trained, spark, tmp_path_factory):
    from slrt_ml.spark.compare import compare_spark

    registry, data, run = trained
    local = run_comparison(run, data, **OPTIONS)
    result = compare_spark(run, registry, spark=spark, chunk_size=400, **OPTIONS)
    return data, local, result


def _local_desa_totals(comparison, frame) -> pd.DataFrame:
    households = frame.set_index(frame["IDBDT"].astype(str))
    pieces = []
    for view in comparison.views():
        rows = view.selections
        ids = rows["IDBDT"].astype(str)
        w = rows["survey_weight"].to_numpy() * households["persons"].reindex(ids).to_numpy()
        t, s = rows["target"].to_numpy() == 1, rows["selected"].to_numpy() == 1
        pieces.append(pd.DataFrame({
            "view": view.view, "system": rows["system"].astype(str).to_numpy(),
            "cluster": households["cluster"].reindex(ids).astype(str).to_numpy(),
            "households": w, "tp": w * (t & s), "fn": w * (t & ~s), "fp": w * (~t & s),
            "tn": w * (~t & ~s),
        }))  # fmt: skip
    keys = ["view", "system", "cluster"]
    return pd.concat(pieces).groupby(keys, as_index=False, sort=True).sum()


def test_per_area_person_weighted_comparison_equals_the_local_one(both):
    _, local, result = both
    a, b = local.long_table(), result.comparison.long_table()
    assert b[["view", "system", "metric"]].equals(a[["view", "system", "metric"]])
    for column in ("estimate", "ci_low", "ci_high"):
        np.testing.assert_allclose(b[column], a[column], rtol=0, atol=1e-9, err_msg=column)
    assert np.isfinite(b["ci_low"]).sum() > len(b) // 2  # the bootstrap ran
    assert result.buckets >= 4 and result.n_households == 1_500


def test_spark_desa_totals_equal_the_local_lists_totals(both):
    data, local, result = both
    expected = _local_desa_totals(local, data.frame)
    got = result.desa_totals.assign(cluster=lambda d: d["cluster"].astype(str))
    got = got.sort_values(["view", "system", "cluster"]).reset_index(drop=True)
    assert got[["view", "system", "cluster"]].equals(expected[["view", "system", "cluster"]])
    for column in ("households", "tp", "fn", "fp", "tn"):
        np.testing.assert_allclose(got[column], expected[column], rtol=0, atol=1e-9)
    assert got["cluster"].nunique() > 20 and (got["tp"] > 0).any()


def test_a_total_that_does_not_add_up_is_a_consistency_error(both):
    from slrt_ml.spark.compare_totals import SparkConsistencyError, check_totals

    _, local, result = both
    check_totals(local, result.cells)  # the local comparison is reproduced
    cells = result.cells.copy()
    row = cells.index[(cells["system"] == "logit") & (cells["tp"] > 0)][0]
    cells.loc[row, "tp"] += 1.0
    with pytest.raises(SparkConsistencyError, match="system logit"):
        check_totals(local, cells)


def test_the_desil_rule_lists_siksng_by_its_published_desil_on_both_engines(trained, spark):
    from slrt_ml.spark.compare import compare_spark

    registry, data, run = trained
    options = {"quota": "desil:4", "bootstrap": 10, "seed": 4}
    local = run_comparison(run, data, **options)
    result = compare_spark(run, registry, spark=spark, **options)
    a, b = local.long_table(), result.comparison.long_table()
    assert list(b.columns) == list(a.columns) and len(b) == len(a) > 0
    for column in a.columns:
        if pd.api.types.is_numeric_dtype(a[column]):
            np.testing.assert_allclose(b[column], a[column], rtol=0, atol=1e-9, err_msg=column)
        else:
            assert b[column].astype(str).tolist() == a[column].astype(str).tolist(), column
    listed = result.desa_totals.query("system == 'siksng' and view == 'population'")
    expected = data.frame["eligible"].astype(bool) & (data.frame["siksng_desil"] <= 4)
    assert (listed["tp"] + listed["fp"]).sum() == pytest.approx(expected.sum(), abs=1e-9)


def _frame(spark):
    ids = ["7399000000010", "7399000000020", "7399000000030", "7399000000040"]
    nik = ["7311015405800001"] * 4  # never printed
    return spark.createDataFrame(pd.DataFrame({"IDBDT": ids, "NIK": nik})), ids


@pytest.mark.parametrize(
    ("keep", "extra", "message"),
    [
        ([0, 2], [], r"2 households have no score row in .*oof_scores\.parquet, e\.g\. "
                     r"IDBDT \['7399000000020', '7399000000040'\]"),
        ([0, 1, 2, 3], ["7399000000099"], r"1 score rows are of no household .*7399000000099"),
        ([0, 1, 1, 2, 3], [], r"1 IDBDTs have more than one score row, e\.g\. \['7399000000020'\]"),
    ],
)  # fmt: skip
def test_score_rows_that_do_not_pair_up_are_errors_naming_the_file(spark, tmp_path, keep, extra,
                                                                   message):  # fmt: skip
    from slrt_ml.spark.compare import ScoreTableError, with_scores

    frame, ids = _frame(spark)
    rows = [ids[i] for i in keep] + extra
    path = tmp_path / "oof_scores.parquet"
    pd.DataFrame({"IDBDT": rows, "logit": np.linspace(0, 1, len(rows))}).to_parquet(path)
    with pytest.raises(ScoreTableError, match=message) as error:
        with_scores(spark, frame, path, ["logit"], 4)
    assert not re.search(r"\d{16}", str(error.value))  # no NIK


def test_a_truth_row_of_no_household_is_an_error_naming_the_file(spark, tmp_path):
    from slrt_ml.spark.compare import _check_pairing
    from slrt_ml.spark.compare_frame import RegistryTableError

    households, ids = _frame(spark)
    truth = spark.createDataFrame(pd.DataFrame({"IDBDT": [*ids, "7399000000077"]}))
    with pytest.raises(
        RegistryTableError, match=r"truth\.parquet: 1 IDBDTs are not .*7399000000077"
    ):
        _check_pairing(truth, households, tmp_path / "truth.parquet", tmp_path / "hh.parquet")
    assert _check_pairing(households, households, tmp_path / "h", tmp_path / "h") == 4


def test_the_spark_engine_refuses_a_mapping_table_and_a_scored_prelist(tmp_path):
    from slrt_ml.spark.commands import spark_compare

    cfg = load_config(None)
    with pytest.raises(ValueError, match="--engine spark compares a --data registry"):
        spark_compare(tmp_path, None, cfg, master="local[1]", mapping=tmp_path / "m.yaml")
    with pytest.raises(ValueError, match="--scored is not read by --engine spark"):
        spark_compare(tmp_path, tmp_path, cfg, master="local[1]", scored=tmp_path / "s")


def test_a_bad_code_in_a_bucket_is_the_local_checks_message(trained, spark, tmp_path):
    """A household file with an unknown answer code: Spark's worker traceback is replaced
    by the toolkit's own message (file, column, rule, examples), as the local engine says."""
    from slrt_ml.spark.compare import compare_spark
    from slrt_ml.spark.session import SparkWorkerError

    registry, _, run = trained
    broken = shutil.copytree(registry, tmp_path / "reg")
    households = pd.read_parquet(broken / "households.parquet")
    households.loc[households.index[:3], "Lantai"] = "99"
    households.to_parquet(broken / "households.parquet", index=False)
    with pytest.raises(ValueError) as local:
        load_targeting_data(broken)
    with pytest.raises(SparkWorkerError) as remote:
        compare_spark(_copy(run, tmp_path), broken, spark=spark, bootstrap=0)
    message = str(remote.value)
    assert "Lantai" in message and "households" in message and "99" in message
    assert "Traceback" not in message and "Python worker" not in message
    assert not re.search(r"\d{16}", message)  # no NIK
    assert "Lantai" in str(local.value)  # the local engine names the same column
