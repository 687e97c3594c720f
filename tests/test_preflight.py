"""Checks made before any work: each names the flag, the thing and the fix."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from slrt_ml.preflight import (
    PreflightError,
    check_input_file,
    check_input_folder,
    check_output_file,
    check_output_folder,
    check_run_folder,
    check_run_models,
    check_tracking_uri,
)


def test_output_folder_may_not_exist_yet_and_is_not_created(tmp_path):
    check_output_folder(tmp_path / "a" / "b")
    assert not (tmp_path / "a").exists()
    assert list(tmp_path.iterdir()) == []  # the write probe leaves nothing behind


def test_output_folder_under_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(
        PreflightError, match=r"--out .*/f/run: .*/f is a file; --out takes a folder"
    ):
        check_output_folder(tmp_path / "f" / "run")
    with pytest.raises(PreflightError, match=r"--out .*/f: is a file"):
        check_output_folder(tmp_path / "f")


def test_output_folder_without_write_permission_is_refused(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    if os.geteuid() == 0:
        # root writes through permission bits: make the write probe meet the refusal a
        # normal user meets (the message path is what is tested; /proc covers real root)
        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr("slrt_ml.preflight.tempfile.NamedTemporaryFile", refuse)
    with pytest.raises(PreflightError, match="cannot write into"):
        check_output_folder(locked / "run")


def test_proc_is_not_writable_even_for_root():
    with pytest.raises(PreflightError, match=r"--out /proc/x: cannot write into /proc"):
        check_output_folder(Path("/proc/x"))


def test_output_file_needs_a_known_format_and_not_a_folder(tmp_path):
    check_output_file(tmp_path / "new" / "scores.parquet")
    with pytest.raises(PreflightError, match=r"unknown format '.txt'; use one of .parquet, .csv"):
        check_output_file(tmp_path / "scores.txt")
    with pytest.raises(PreflightError, match="is a folder; give a file name such as"):
        check_output_file(tmp_path)


def test_inputs_must_exist_with_the_right_kind(tmp_path):
    (tmp_path / "m.yaml").write_text("")
    check_input_file(tmp_path / "m.yaml", "--mapping")
    check_input_folder(tmp_path, "--data")
    check_input_file(None, "--table")
    with pytest.raises(PreflightError, match=r"--mapping .*: is a folder"):
        check_input_file(tmp_path, "--mapping")
    with pytest.raises(PreflightError, match=r"--data .*m.yaml: is a file; --data takes a folder"):
        check_input_folder(tmp_path / "m.yaml", "--data")
    with pytest.raises(PreflightError, match=r"--data .*nope: no such folder"):
        check_input_folder(tmp_path / "nope", "--data")


def test_run_folder_and_its_models(tmp_path):
    with pytest.raises(PreflightError, match="no manifest.json, so not a run folder"):
        check_run_folder(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"models": ["logit", "gbm"]}))
    (tmp_path / "models" / "logit").mkdir(parents=True)
    (tmp_path / "models" / "gbm").mkdir()
    assert check_run_folder(tmp_path)["models"] == ["logit", "gbm"]
    check_run_models(tmp_path, ["gbm"])
    check_run_models(tmp_path, None)
    with pytest.raises(PreflightError, match=r"'rf', 'mlp' not in run .*; its models: logit, gbm"):
        check_run_models(tmp_path, ["rf", "logit", "mlp"])


def test_tracking_uri_checks(tmp_path):
    check_tracking_uri(f"sqlite:///{tmp_path / 'new' / 'mlflow.db'}")
    check_tracking_uri("databricks")  # not checked
    with pytest.raises(PreflightError, match=r"is a folder, not a database.*--no-track"):
        check_tracking_uri(f"sqlite:///{tmp_path}")
    with pytest.raises(PreflightError, match=r"sqlite:////proc/m.db: cannot write into /proc"):
        check_tracking_uri("sqlite:////proc/m.db")
    with pytest.raises(PreflightError, match=r"no MLflow server answers .*pass --no-track"):
        check_tracking_uri("http://127.0.0.1:9", timeout=1)
