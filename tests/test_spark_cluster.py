"""The Spark engine on a real standalone cluster: a master and one worker on 127.0.0.1.

pyspark's wheel has no ``sbin/start-master.sh``, so the test starts the same JVM classes
those scripts start (``org.apache.spark.deploy.master.Master`` and ``...worker.Worker``)
from pyspark's own jars, scores the prelist through ``spark://127.0.0.1:PORT`` and stops
both processes afterwards. The output must equal the local engine's.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scoring_data import broken_prelist, fitted_models, small_registry

from slrt_ml.data.io import write_table
from slrt_ml.pipeline.score import ScoreOptions, score_prelist

#: pyspark 4 warns on every pandas conversion under pandas 3 (and pandera imports
#: pyspark.pandas when pyspark is installed); values are checked against the local engine
PANDAS3 = "ignore:PySpark does not yet fully support pandas:FutureWarning"
pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.filterwarnings(PANDAS3)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(command: list[str], log: Path, env: dict) -> subprocess.Popen:
    with log.open("w") as handle:  # the child keeps its own descriptor
        return subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env)


def _wait_for(log: Path, text: str, proc: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}: {log.read_text()[-2000:]}")
        if log.exists() and text in log.read_text(errors="replace"):
            return
        time.sleep(0.5)
    raise TimeoutError(f"no {text!r} in {log} after {seconds} s: {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    import pyspark

    home = Path(pyspark.__file__).parent
    logs = tmp_path_factory.mktemp("cluster")
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_SCALA_VERSION": "2.13",
    }  # what sbin/load-spark-env.sh would set
    java = ["java", "-Xmx256m", "-cp", f"{home / 'jars'}/*"]
    port = _free_port()
    master_url = f"spark://127.0.0.1:{port}"
    procs = []
    try:
        master_log = logs / "master.log"
        procs.append(_start([*java, "org.apache.spark.deploy.master.Master", "--host",
                             "127.0.0.1", "--port", str(port), "--webui-port", str(_free_port())],
                            master_log, env))  # fmt: skip
        _wait_for(master_log, "I have been elected leader", procs[0])
        worker_log = logs / "worker.log"
        procs.append(_start([*java, "org.apache.spark.deploy.worker.Worker", master_url,
                             "--host", "127.0.0.1", "--cores", "2", "--memory", "1g",
                             "--webui-port", str(_free_port()), "--work-dir", str(logs / "work")],
                            worker_log, env))  # fmt: skip
        _wait_for(worker_log, "Successfully registered with master", procs[1])
        yield master_url
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_standalone_cluster_scores_like_the_local_engine(cluster, tmp_path):
    from slrt_ml.spark.score import score_prelist_spark
    from slrt_ml.spark.session import spark_session, stop_session

    hh, mem = broken_prelist(small_registry(), tmp_path)
    (tmp_path / "prelist_members.csv").unlink()
    write_table(mem, tmp_path / "prelist_members.parquet")
    models, profile = fitted_models()
    options = {"explain": True, "quota": 0.3, "chunk_size": 20}
    local = score_prelist(tmp_path, models, tmp_path / "local.parquet", progress=False,
                          **options)  # fmt: skip
    stop_session()  # one SparkContext per process: leave local mode
    spark = spark_session(cluster, conf={"spark.executor.memory": "512m",
                                         "spark.cores.max": "2"})  # fmt: skip
    try:
        assert spark.sparkContext.master == cluster
        result = score_prelist_spark(tmp_path, models, tmp_path / "spark", spark=spark,
                                     options=ScoreOptions(**options))  # fmt: skip
    finally:
        stop_session()
    a = pd.read_parquet(local.output).sort_values("IDBDT").reset_index(drop=True)
    b = pd.read_parquet(tmp_path / "spark" / "scored", partitioning=None)
    b = b.sort_values("IDBDT").reset_index(drop=True)
    assert b["IDBDT"].tolist() == a["IDBDT"].tolist()
    np.testing.assert_allclose(b["margin"], a["margin"], rtol=0, atol=1e-9)
    assert b["selected"].tolist() == a["selected"].astype(bool).tolist()
    assert b["priority_in_desa"].tolist() == a["priority_in_desa"].tolist()
    assert b["reason_1"].tolist() == a["reason_1"].astype(object).tolist()
    rejects = pd.read_parquet(tmp_path / "spark" / "rejects")
    expected = pd.read_csv(local.rejects, dtype=str, keep_default_na=False)
    assert rejects.to_dict("records") == expected.to_dict("records")
    assert (result.n_input, result.n_scored, result.n_rejected) == (51, 47, 4)
