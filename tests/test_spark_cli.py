"""``slrt-ml score --engine spark`` wiring: registry models and flags reach the Spark engine.

No Spark starts here (the engine is replaced by a recorder); the engine itself is tested
in tests/test_spark_score.py and on a standalone cluster in tests/test_spark_cluster.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from slrt_ml.cli import app
from slrt_ml.pipeline import score as score_module
from slrt_ml.spark import commands as spark_commands


def test_a_registry_model_and_the_flags_reach_the_spark_engine(monkeypatch, tmp_path):
    loaded, calls = [], []
    fake_model = object()

    def fake_load(source, **kw):
        loaded.append(source)
        return {"gbm": fake_model}, {"profile": 1}, source

    def fake_engine(prelist, models, out, **kw):
        calls.append({"prelist": prelist, "models": models, "out": out, **kw})
        return SimpleNamespace(households_per_second=5.0, n_input=3, n_scored=2, n_rejected=1,
                               drift_warnings=[], drift=None, output=out, rejects=out / "rejects",
                               summary=lambda: {"n_input": 3})  # fmt: skip

    monkeypatch.setattr(score_module, "load_scoring_models", fake_load)
    monkeypatch.setattr(spark_commands, "score_prelist_spark", fake_engine)
    result = CliRunner().invoke(app, [
        "score", "--model", "models:/slrt-ml-pkh@champion", "--prelist", str(tmp_path),
        "--out", str(tmp_path / "out"), "--engine", "spark", "--master", "spark://h:7077",
        "--quota-share", "0.25", "--chunk-size", "50", "--explain", "--no-track",
        "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert loaded == ["models:/slrt-ml-pkh@champion"]
    (call,) = calls
    assert call["models"] == {"gbm": fake_model} and call["profile"] == {"profile": 1}
    assert call["master"] == "spark://h:7077"
    options = call["options"]
    assert (options.quota, options.chunk_size, options.explain) == (0.25, 50, True)
    assert "input 3 = scored 2 + rejected 1" in result.output


def test_the_spark_engine_refuses_a_mapping_table(tmp_path):
    from slrt_ml.config import load_config

    with pytest.raises(ValueError, match="--engine spark scores a --prelist folder"):
        spark_commands.spark_score_input(
            {"m": object()}, None, tmp_path / "out", prelist=None, mapping=tmp_path / "m.yaml",
            config=load_config(None), quota=None, explain=False, lang="id",
            priority_models=None, master="local[1]",
        )  # fmt: skip
