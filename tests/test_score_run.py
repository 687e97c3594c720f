"""One scoring run owns its output: lock, refusal, stale locks, leftovers, the set published whole."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from scoring_data import fitted_models, run_folder, small_registry
from typer.testing import CliRunner

from slrt_ml.cli import app
from slrt_ml.data.io import write_table
from slrt_ml.pipeline.score import PrelistScorer, score_prelist
from slrt_ml.pipeline.score_run import OutputLockedError, ScoreRun, read_output_manifest

TESTS = Path(__file__).parent
ROOT = TESTS.parent


@pytest.fixture()
def prelist(tmp_path):
    registry = small_registry()
    folder = tmp_path / "prelist"
    folder.mkdir()
    write_table(registry["prelist_households"], folder / "prelist_households.parquet")
    write_table(registry["prelist_members"], folder / "prelist_members.parquet")
    write_table(registry["areas"], folder / "areas.parquet")
    return folder


def _kwargs():
    models, profile = fitted_models()
    return models, dict(quota=0.3, profile=profile, chunk_size=20, progress=False)


def test_the_manifest_names_the_set_with_row_counts_that_match_the_files(prelist, tmp_path):
    models, kwargs = _kwargs()
    out = tmp_path / "out" / "scored.parquet"
    result = score_prelist(prelist, models, out, **kwargs)
    manifest = read_output_manifest(out)
    assert (
        manifest["input_rows"]
        == result.n_input
        == len(pd.read_parquet(prelist / "prelist_households.parquet"))
    )
    assert manifest["scored_rows"] == len(pd.read_parquet(out))
    assert manifest["rejected_rows"] == len(pd.read_csv(result.rejects))
    assert manifest["scored_rows"] + manifest["rejected_rows"] == manifest["input_rows"]
    for entry in manifest["files"].values():
        path = out.parent / entry["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(".") or "lock" in p.name
                 or p.name.endswith(".parts")]  # fmt: skip
    assert leftovers == []


def test_a_second_run_on_a_locked_output_refuses_at_once(tmp_path):
    out = tmp_path / "scored.csv"
    with ScoreRun(out) as first:
        held = json.loads(first.lock.read_text())
        assert held["pid"] == os.getpid() and held["run_id"] == first.run_id
        with pytest.raises(OutputLockedError, match=r"another scoring run.*--out"):
            ScoreRun(out).acquire()
    assert not first.lock.exists()  # released on exit
    with ScoreRun(out):  # free again
        pass


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "scored.csv"
    lock = out.with_name(out.name + ".lock")
    import socket

    lock.write_text(json.dumps({"run_id": "old", "pid": dead.pid, "host": socket.gethostname()}))
    with ScoreRun(out) as run:
        assert json.loads(lock.read_text())["run_id"] == run.run_id


def test_leftovers_of_a_crashed_run_are_removed_and_a_crash_keeps_the_old_set(
    prelist, tmp_path, monkeypatch
):
    models, kwargs = _kwargs()
    out = tmp_path / "scored.parquet"
    score_prelist(prelist, models, out, **kwargs)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    (tmp_path / ".scored.deadbeef.tmp.parquet").write_bytes(b"x" * 1000)
    (tmp_path / ".scored.rejects.deadbeef.tmp.csv").write_text("half")
    (tmp_path / ".scored.parquet.0123456789ab.staging").mkdir()

    def crash(*args, **kw):
        raise RuntimeError("simulated crash while writing the drift report")

    monkeypatch.setattr("slrt_ml.pipeline.score_parts.PartsFolder.write_drift_report", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        score_prelist(prelist, models, out, **kwargs)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert after == before  # old output, rejects, drift and manifest untouched; temp files gone
    hidden = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert hidden == []


def test_two_concurrent_processes_one_output_one_refusal(prelist, tmp_path):
    models, profile = fitted_models()
    run = run_folder(tmp_path, models, profile)
    out = tmp_path / "scored.csv"
    slow = tmp_path / "slow_score.py"
    slow.write_text(
        textwrap.dedent(f"""
        import os, sys, time
        from slrt_ml.pipeline.score import PrelistScorer
        from slrt_ml.cli import app
        real = PrelistScorer.score_chunk
        def slow(self, *a, **k):  # hold the lock until the other run has tried
            end = time.monotonic() + 120
            while not os.path.exists({str(tmp_path / "go")!r}) and time.monotonic() < end:
                time.sleep(0.05)
            return real(self, *a, **k)
        PrelistScorer.score_chunk = slow
        sys.argv = ["slrt-ml", "score", "--model", {str(run)!r}, "--prelist", {str(prelist)!r},
                    "--out", {str(out)!r}, "--model-name", sys.argv[1], "--chunk-size", "10",
                    "--no-track"]
        app()
    """)
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, str(slow)]
    first = subprocess.Popen([*cmd, "gbm"], env=env, cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    lock = out.with_name(out.name + ".lock")
    deadline = time.monotonic() + 120
    while not lock.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lock.exists(), first.communicate()
    second = subprocess.run([*cmd, "logit"], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    (tmp_path / "go").touch()
    stdout, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    assert second.returncode == 1
    assert "another scoring run" in second.stdout + second.stderr
    assert "Traceback" not in second.stdout + second.stderr
    manifest = read_output_manifest(out)
    assert manifest["models"] == ["gbm"]
    assert manifest["scored_rows"] == len(pd.read_csv(out))
    solo = tmp_path / "solo.csv"
    alone = CliRunner().invoke(app, ["score", "--model", str(run), "--prelist", str(prelist),
                                     "--out", str(solo), "--model-name", "gbm",
                                     "--chunk-size", "10", "--no-track"])  # fmt: skip
    assert alone.exit_code == 0, alone.output
    pd.testing.assert_frame_equal(pd.read_csv(out), pd.read_csv(solo))


def test_a_run_with_a_different_model_refuses_to_reuse_the_parts(prelist, tmp_path, monkeypatch):
    models, kwargs = _kwargs()
    out = tmp_path / "scored.parquet"
    real = PrelistScorer.score_chunk
    calls = {"n": 0}

    def crash_on_second(self, *args, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("simulated crash")
        return real(self, *args, **kw)

    monkeypatch.setattr(PrelistScorer, "score_chunk", crash_on_second)
    with pytest.raises(RuntimeError):
        score_prelist(prelist, {"gbm": models["gbm"]}, out, **kwargs)
    monkeypatch.setattr(PrelistScorer, "score_chunk", real)
    with pytest.raises(ValueError, match=r"different scoring run.*model.*--restart"):
        score_prelist(prelist, {"logit": models["logit"]}, out, **kwargs)
    result = score_prelist(prelist, {"logit": models["logit"]}, out, restart=True, **kwargs)
    assert read_output_manifest(out)["models"] == ["logit"] and result.resumed_chunks == 0
