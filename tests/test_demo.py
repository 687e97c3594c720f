"""`slrt-ml demo` end to end with tiny settings, into a temporary folder and local MLflow store."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from slrt_ml.cli import app

TINY = """
cv: {folds: 3}
models: [pmt_ols, logit, gbm, ebm, mlp]
model_params:
  mlp: {epochs: 2}
  gbm: {n_estimators: 40}
compare: {bootstrap: 50}
"""


@pytest.mark.slow
def test_demo_runs_end_to_end_and_leaves_a_local_mlflow_store(tmp_path, monkeypatch):
    import mlflow

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (tmp_path / "tiny.yaml").write_text(TINY)
    result = CliRunner().invoke(
        app, ["demo", "--out", "out", "--households", "1500", "--config", "tiny.yaml"]
    )
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output and "champion" in result.output
    for path in ("out/run/report.html", "out/run/comparison.csv", "out/prelist_scored.csv"):
        assert (tmp_path / path).is_file(), path
    line = next(x for x in result.output.splitlines() if x.startswith("prelist: input"))
    numbers = [int(w) for w in line.replace("(", " ").split() if w.isdigit()]
    assert numbers[0] == numbers[1] + numbers[2]  # input = scored + rejected

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("slrt-ml")
    runs = client.search_runs([experiment.experiment_id])
    stages = {run.data.tags.get("slrt.stage") for run in runs}
    assert {"train", "compare", "score"} <= stages
    champion = client.get_model_version_by_alias("slrt-ml-pkh", "champion")
    assert int(champion.version) == 1


NOISE = ("E0000", "cuInit", "NodeDef", "cudart_stub", "INFO mlflow")


@pytest.mark.slow
def test_demo_in_a_redirected_log_has_progress_lines_and_no_framework_noise(tmp_path):
    """`slrt-ml demo > log 2>&1`, as a batch job runs it: progress lines, no TF/MLflow noise."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "tiny.yaml").write_text(TINY)
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "MLFLOW_LOGGING_LEVEL", "SLRT_VERBOSE",
                        "MLFLOW_TRACKING_URI")}  # fmt: skip
    program = Path(sys.executable).parent / "slrt-ml"
    log = tmp_path / "demo.log"
    with log.open("w") as out:
        done = subprocess.run([str(program), "demo", "--out", "out", "--households", "1500",
                               "--config", "tiny.yaml"], cwd=tmp_path, env=env, stdout=out,
                              stderr=subprocess.STDOUT, timeout=1800)  # fmt: skip
    text = log.read_text()
    assert done.returncode == 0, text[-3000:]
    assert [word for word in NOISE if word in text] == [], text[-3000:]
    assert "[progress] mlp folds + final fit: 4/4 done in" in text  # 3 folds + final fit
    assert "champion (simplest model within noise of the lowest exclusion error)" in text
