"""Every `slrt-ml` command through CliRunner, and `--config` defaults that flags override.

A tiny synthetic registry is trained on once (one model, three folds); the precedence tests
replace the library call behind a command by a recorder, so they run in milliseconds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from typer.testing import CliRunner

import slrt_ml.pipeline.commands as commands
import slrt_ml.pipeline.costa_rica as costa_rica
import slrt_ml.pipeline.demo as demo_module
import slrt_ml.pipeline.score as score_module
import slrt_ml.pipeline.train as train_module
import slrt_ml.tracking as tracking
from slrt_ml.cli import app

runner = CliRunner()

TINY = """
seed: 3
models: [pmt_ols, logit]
cv: {folds: 3, shuffle: false}
compare: {bootstrap: 20, quota: 0.3}
tracking: {enabled: false}
scoring: {chunk_size: 250, top_k: 2, quota_share: 0.25}
"""


@pytest.fixture(autouse=True)
def _tmp_path_is_a_run(tmp_path):
    """Commands check ``--run``/``--model`` before any work: make ``tmp_path`` a run folder."""
    (tmp_path / "manifest.json").write_text(json.dumps({"models": ["logit"]}))
    (tmp_path / "models" / "logit").mkdir(parents=True)


def _flat(text: str) -> str:
    """CLI output without rich's line wrapping and box drawing."""
    return " ".join(re.sub(r"[│╭╮╰╯─┃━┏┓┗┛┡┩└┘]", " ", text).split())


def _ok(args: list) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    if result.exit_code != 0:
        raise AssertionError(f"exit {result.exit_code}: {result.output}") from result.exception
    return _flat(result.output)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli")
    (root / "tiny.yaml").write_text(TINY)
    registry = root / "registry"
    text = _ok(["data", "synth", "--out", registry, "--households", 1200, "--seed", 11])
    assert re.search(r"wrote \d+ tables and metadata.json to", text)
    return {"root": root, "config": root / "tiny.yaml", "registry": registry, "run": root / "run"}


@pytest.fixture(scope="module")
def trained(project) -> dict[str, Path]:
    calls: list[dict] = []
    real = train_module.grouped_folds

    def recording(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(train_module, "grouped_folds", recording)
        text = _ok(["train", "--data", project["registry"], "--out", project["run"],
                    "--config", project["config"], "--models", "logit"])  # fmt: skip
    return {**project, "train_output": text, "fold_calls": calls}


# --- data ------------------------------------------------------------------------------------


def test_synth_then_validate_passes(project):
    text = _ok(["data", "validate", project["registry"]])
    assert "Data contract" in text and "valid" in text


def test_validate_reports_a_broken_table_with_exit_1(project, tmp_path):
    households = pd.read_parquet(project["registry"] / "households.parquet").head(20)
    households.loc[0, "Lantai"] = "11"
    households.to_csv(tmp_path / "households.csv", index=False)
    result = runner.invoke(app, ["data", "validate", str(tmp_path / "households.csv")])
    assert result.exit_code == 1
    assert "Lantai" in _flat(result.output) and "Traceback" not in result.output


def test_costa_rica_passes_the_flags_to_the_run(monkeypatch, tmp_path):
    seen = {}
    table = pd.DataFrame(columns=["system", "metric", "estimate", "ci_low", "ci_high"])

    def fake_run(out, **kwargs):
        seen.update(kwargs, out=out)
        return SimpleNamespace(table=table)

    monkeypatch.setattr(costa_rica, "costa_rica_run", fake_run)
    monkeypatch.setattr(costa_rica, "comparison_summary", lambda t: t)
    monkeypatch.setattr(costa_rica, "summary_markdown", lambda t: "| summary |")
    text = _ok(["data", "costa-rica", "--out", tmp_path, "--models", "logit, gbm",
                "--bootstrap", 10, "--folds", 3])  # fmt: skip
    assert seen["models"] == ["logit", "gbm"] and (seen["bootstrap"], seen["folds"]) == (10, 3)
    assert "| summary |" in text and "wrote comparison.csv" in text


# --- train / compare / explain / score on the tiny registry -----------------------------------


def test_train_models_flag_overrides_the_config_and_cv_shuffle_reaches_the_folds(trained):
    assert "Out-of-fold ranking quality (synthetic data)" in trained["train_output"]
    assert "roc_auc" in trained["train_output"] and "run folder:" in trained["train_output"]
    assert "MLflow run" not in trained["train_output"]  # tracking.enabled: false
    manifest = json.loads((trained["run"] / "manifest.json").read_text())
    assert manifest["models"] == ["logit"]  # --models logit over the config's two models
    assert trained["fold_calls"] == [{"shuffle": False}]  # cv.shuffle: false


def test_compare_takes_quota_and_bootstrap_from_the_config(trained):
    text = _ok(["compare", "--run", trained["run"], "--data", trained["registry"],
                "--config", trained["config"]])  # fmt: skip
    assert "report" in text and "MLflow run" not in text
    selections = pd.read_parquet(trained["run"] / "selections.parquet")
    logit = selections[selections["system"] == "logit"]
    assert logit["selected"].sum() == round(0.3 * logit["eligible"].sum())  # compare.quota: 0.3


def test_explain_takes_top_k_from_the_config_and_the_flag_overrides_it(trained):
    ids = ",".join(pd.read_parquet(trained["registry"] / "households.parquet")["IDBDT"].head(2))
    out = trained["root"] / "explained.csv"
    text = _ok(["explain", "--run", trained["run"], "--data", trained["registry"],
                "--households", ids, "--out", out, "--config", trained["config"]])  # fmt: skip
    assert "explanations (logit)" in text
    reasons = pd.read_csv(trained["root"] / "explained.reasons.csv")
    assert len(reasons) == 2 and "reason_2" in reasons and "reason_3" not in reasons
    _ok(["explain", "--run", trained["run"], "--data", trained["registry"], "--households", ids,
         "--out", out, "--config", trained["config"], "--top-k", 3])  # fmt: skip
    assert "reason_3" in pd.read_csv(trained["root"] / "explained.reasons.csv")


def test_explain_names_unknown_households(trained):
    result = runner.invoke(app, ["explain", "--run", str(trained["run"]), "--data",
                                 str(trained["registry"]), "--households", "nobody"])  # fmt: skip
    assert result.exit_code == 1
    assert "--households: 1 IDBDT not in" in _flat(result.output)


def test_score_takes_the_scoring_section_from_the_config(trained):
    out = trained["root"] / "scored.csv"
    text = _ok(["score", "--model", trained["run"], "--prelist", trained["registry"], "--out", out,
                "--explain", "--config", trained["config"]])  # fmt: skip
    counts = re.search(r"input (\d+) = scored (\d+) \+ rejected (\d+)", text)
    n_input, n_scored, n_rejected = map(int, counts.groups())
    assert n_input == n_scored + n_rejected and "MLflow run" not in text
    scored = pd.read_csv(out)
    assert "reason_2" in scored and "reason_3" not in scored  # scoring.top_k: 2
    assert 0 < scored["selected"].sum() < len(scored)  # scoring.quota_share: 0.25


# --- flags over config, config over built-in defaults (library calls recorded) ---------------


class Stop(ValueError):
    """Raised by a recorder: the command exits 1 once the call it wanted to make is seen."""


def _recorder(seen: dict):
    def record(*args, **kwargs):
        seen.update(kwargs)
        raise Stop("recorded")

    return record


@pytest.fixture
def compare_calls(monkeypatch) -> dict:
    seen: dict = {}
    monkeypatch.setattr(commands, "load_targeting_data", lambda data, config: "data")
    monkeypatch.setattr(commands, "compare_and_write", _recorder(seen))
    return seen


def _invoke(args: list) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 1 and "recorded" in result.output, result.output
    return result.output


def test_compare_without_config_uses_the_packaged_defaults(compare_calls, tmp_path):
    _invoke(["compare", "--run", tmp_path, "--data", tmp_path])
    assert compare_calls == {"quota": "siksng", "by": None, "bootstrap": 1000, "seed": 2024,
                             "weight": "household", "lang": "en", "scored": None}  # fmt: skip


def test_compare_flags_override_the_config(compare_calls, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("seed: 5\ncompare: {quota: 5000, by: KDDESA, bootstrap: 7, weight: person}\n")
    _invoke(["compare", "--run", tmp_path, "--data", tmp_path, "--config", config])
    assert compare_calls == {"quota": 5000, "by": "KDDESA", "bootstrap": 7, "seed": 5,
                             "weight": "person", "lang": "en", "scored": None}  # fmt: skip
    _invoke(["compare", "--run", tmp_path, "--data", tmp_path, "--config", config,
             "--quota", "0.1", "--by", "KDKEC", "--bootstrap", 0, "--weight", "household"])  # fmt: skip
    assert compare_calls == {"quota": "0.1", "by": "KDKEC", "bootstrap": 0, "seed": 5,
                             "weight": "household", "lang": "en", "scored": None}  # fmt: skip


@pytest.fixture
def score_calls(monkeypatch) -> dict:
    seen: dict = {}
    monkeypatch.setattr(
        score_module, "load_scoring_models", lambda *a, **k: ({"logit": None}, None, "u")
    )
    monkeypatch.setattr(commands, "score_prelist", _recorder(seen))
    return seen


def test_score_flags_override_the_scoring_config(score_calls, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("scoring: {chunk_size: 123, top_k: 2, quota_share: 0.25}\n")
    base = ["score", "--model", tmp_path, "--prelist", tmp_path, "--out", tmp_path / "o.csv"]
    _invoke(base)
    assert (score_calls["chunk_size"], score_calls["top_k"], score_calls["quota"]) == (
        100_000,
        5,
        None,
    )
    _invoke([*base, "--config", config])
    assert (score_calls["chunk_size"], score_calls["top_k"], score_calls["quota"]) == (123, 2, 0.25)
    _invoke([*base, "--config", config, "--chunk-size", 50, "--top-k", 4, "--quota-share", 0.5])
    assert (score_calls["chunk_size"], score_calls["top_k"], score_calls["quota"]) == (50, 4, 0.5)
    quota = tmp_path / "quota.csv"
    quota.write_text("KDDESA,quota\n7311010001,3\n")
    _invoke([*base, "--config", config, "--quota-file", quota])
    assert score_calls["quota"] == {"7311010001": 3}  # a quota file wins over the config's share


def _fake_scoring(out: Path) -> SimpleNamespace:
    return SimpleNamespace(
        households_per_second=10.0, n_input=3, n_scored=2, n_rejected=1, drift_warnings=[],
        drift=None, output=out, rejects=out, summary=lambda: {"n_input": 3},
    )  # fmt: skip


@pytest.mark.parametrize(("enabled", "no_track", "logged"), [(True, False, True),
                         (False, False, False), (True, True, False)])  # fmt: skip
def test_score_logs_to_mlflow_only_when_tracking_is_enabled(monkeypatch, tmp_path, enabled,
                                                            no_track, logged):  # fmt: skip
    logs: list[dict] = []
    monkeypatch.setattr(
        score_module, "load_scoring_models", lambda *a, **k: ({"logit": None}, None, "u")
    )
    monkeypatch.setattr(commands, "score_prelist", lambda *a, **k: _fake_scoring(tmp_path))
    monkeypatch.setattr(tracking, "log_scoring", lambda *a, **k: logs.append(k) or "r1")
    monkeypatch.setattr(tracking, "resolve_tracking_uri", lambda uri: "sqlite:///x.db")
    config = tmp_path / "c.yaml"
    config.write_text(f"tracking: {{enabled: {str(enabled).lower()}, experiment: mine}}\n")
    args = ["score", "--model", tmp_path, "--prelist", tmp_path, "--out", tmp_path / "o.csv",
            "--config", config, *(["--no-track"] if no_track else [])]  # fmt: skip
    text = _ok(args)
    assert "input 3 = scored 2 + rejected 1" in text
    assert [log["experiment"] for log in logs] == (["mine"] if logged else [])
    assert ("MLflow run r1" in text) is logged


def test_explain_without_top_k_uses_the_config(monkeypatch, tmp_path):
    seen: dict = {}
    monkeypatch.setattr(commands, "explained_features", lambda *a: "features")
    monkeypatch.setattr(commands, "explain_run", _recorder(seen))
    config = tmp_path / "c.yaml"
    config.write_text("scoring: {top_k: 3}\n")
    _invoke(["explain", "--run", tmp_path, "--data", tmp_path, "--config", config])
    assert seen["top_k"] == 3
    _invoke(["explain", "--run", tmp_path, "--data", tmp_path, "--config", config, "--top-k", 1])
    assert seen["top_k"] == 1


def test_demo_passes_the_config_and_no_track(monkeypatch, tmp_path):
    seen: dict = {}

    def fake_demo(out, **kwargs):
        seen.update(kwargs)
        return SimpleNamespace(
            summary=pd.DataFrame([["logit", 0.1, "[0, 1]", 0.2, "[0, 1]"]]), quota=10,
            registered_as=None, champion="logit", data_dir=out, run_dir=out, report=out,
            scored=out, explanations=out, tracking_uri=None, timings={"train": 1.0},
            scoring={"n_input": 3, "n_scored": 2, "n_rejected": 1, "households_per_second": 5.0},
        )  # fmt: skip

    monkeypatch.setattr(demo_module, "run_demo", fake_demo)
    config = tmp_path / "c.yaml"
    config.write_text("models: [logit]\n")
    text = _ok(["demo", "--out", tmp_path, "--households", 600, "--config", config, "--no-track"])
    assert seen["config"].models == ("logit",) and seen["track"] is False
    assert "champion (simplest model within noise of the lowest exclusion error): logit" in text
    assert "prelist: input 3 = scored 2 + rejected 1" in text


@pytest.mark.parametrize("command", ["train", "compare", "explain", "score", "demo"])
def test_a_bad_config_value_exits_1_naming_the_key(command, tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("cv: {folds: five}\n")
    inputs = {
        "train": ["--data", tmp_path, "--out", tmp_path / "run"],
        "compare": ["--run", tmp_path, "--data", tmp_path],
        "explain": ["--run", tmp_path, "--data", tmp_path],
        "score": ["--model", tmp_path, "--prelist", tmp_path, "--out", tmp_path / "o.csv"],
        "demo": ["--out", tmp_path],
    }[command]
    result = runner.invoke(app, [command, *map(str, inputs), "--config", str(config)])
    assert result.exit_code == 1, result.output
    text = _flat(result.output)
    assert "bad.yaml: config key 'cv.folds' must be an integer >= 2, got 'five' (str)" in text
    assert "Traceback" not in result.output


# --- help, version, choices, checks before work -------------------------------------------

COMMANDS = [["train"], ["compare"], ["explain"], ["score"], ["demo"], ["data", "synth"],
            ["data", "validate"], ["data", "costa-rica"]]  # fmt: skip


def test_version_prints_the_package_version():
    from slrt_ml import __version__

    assert _ok(["--version"]) == f"slrt-ml {__version__}"


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_help_screen_has_examples_and_no_bool_type(command):
    text = _ok([*command, "-h"])
    assert "Examples" in text and f"$ slrt-ml {' '.join(command)}" in text
    assert "<bool>" not in text


def test_choices_are_refused_listing_the_valid_ones(tmp_path):
    result = runner.invoke(app, ["compare", "--run", str(tmp_path), "--data", str(tmp_path),
                                 "--weight", "people"])  # fmt: skip
    assert result.exit_code == 2
    assert "'household', 'person'" in _flat(result.output)
    fmt = runner.invoke(app, ["data", "synth", "--out", str(tmp_path), "--format", "xls"])
    assert fmt.exit_code == 2 and "'parquet', 'csv'" in _flat(fmt.output)


def test_an_unwritable_out_fails_at_once_in_one_line(tmp_path):
    result = runner.invoke(app, ["train", "--out", "/proc/x", "--data", str(tmp_path)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == ["error: --out /proc/x: cannot write into /proc (No such file or directory); "
                     "choose a folder you can write to"]  # fmt: skip


def test_an_out_that_is_a_file_is_refused_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setattr(commands, "load_targeting_data", _recorder({}))
    (tmp_path / "run.txt").write_text("")
    result = runner.invoke(app, ["train", "--out", str(tmp_path / "run.txt"),
                                 "--data", str(tmp_path), "--no-track"])  # fmt: skip
    assert result.exit_code == 1 and "is a file; --out takes a folder" in _flat(result.output)
    assert "recorded" not in result.output  # no data was read


def test_a_missing_data_folder_is_named(tmp_path):
    result = runner.invoke(app, ["train", "--out", str(tmp_path / "r"), "--data",
                                 str(tmp_path / "nope"), "--no-track"])  # fmt: skip
    assert result.exit_code == 1
    assert f"--data {tmp_path / 'nope'}: no such folder" in _flat(result.output)


def test_validate_on_a_missing_path_says_the_path_is_missing(tmp_path):
    result = runner.invoke(app, ["data", "validate", str(tmp_path / "households.csv")])
    assert result.exit_code == 1
    text = _flat(result.output)
    assert "no such file or folder" in text and "rule" not in text


def test_score_with_an_unknown_model_name_lists_the_run_models(tmp_path):
    result = runner.invoke(app, ["score", "--model", str(tmp_path), "--prelist", str(tmp_path),
                                 "--out", str(tmp_path / "o.csv"), "--model-name", "xgb"])  # fmt: skip
    assert result.exit_code == 1
    assert f"--model-name: 'xgb' not in run {tmp_path}; its models: logit" in _flat(result.output)


def test_an_unknown_model_in_models_fails_before_training(tmp_path):
    result = runner.invoke(app, ["train", "--out", str(tmp_path / "r"), "--data", str(tmp_path),
                                 "--models", "logit,gbmm", "--no-track"])  # fmt: skip
    assert result.exit_code == 1 and "'gbmm'" in _flat(result.output)
    assert "pmt_ols, logit, gbm" in _flat(result.output)
    assert not (tmp_path / "r").exists()


def test_an_unreachable_tracking_server_fails_before_work(tmp_path):
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "d"), "--tracking-uri",
                                 "http://127.0.0.1:9"])  # fmt: skip
    assert result.exit_code == 1
    assert "no MLflow server answers" in _flat(result.output) and "--no-track" in result.output
    assert not (tmp_path / "d").exists()


def test_mlflow_hint_is_absolute():
    from slrt_ml.cli_output import mlflow_ui_hint

    program = mlflow_ui_hint("sqlite:////tmp/m.db").split()[0]
    assert program == "mlflow" or Path(program).is_absolute()


def test_verbose_flag_turns_framework_logging_on(monkeypatch):
    import os

    monkeypatch.delenv("SLRT_VERBOSE", raising=False)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    monkeypatch.setenv("MLFLOW_LOGGING_LEVEL", "WARNING")
    _ok(["--verbose", "data", "synth", "-h"])
    assert os.environ["SLRT_VERBOSE"] == "1" and os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
    assert os.environ["MLFLOW_LOGGING_LEVEL"] == "INFO"
    _ok(["data", "synth", "-h"])  # without --verbose: quiet again for this process
