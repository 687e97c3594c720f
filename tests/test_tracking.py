"""Tracking: params/guard/record units, and the full train -> compare -> score flow in MLflow.

The flow runs twice: against the default local store (SQLite in a temporary working
folder) and against a real ``mlflow server`` (tests/mlflow_server.py). Run folders are
written by ``slrt_ml.pipeline.train.train`` with real fitted ``logit`` and ``pmt_ols`` models.
"""

from __future__ import annotations

import json
import re
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from slrt_ml import tracking
from slrt_ml.data.codebook import get_codebook
from slrt_ml.tracking import PersonalDataError, check_no_personal_data

# --- a small registry with real-looking NIKs ----------------------------------------------

_ADULT = {
    "Sta_kawin": "2",
    "Partisipasi_sekolah": "2",
    "Jenjang_sekolah": "7",
    "Sta_bekerja": "1",
    "Jumlah_jamkerja": 40,
    "Lapangan_usaha": "1",
    "Status_pekerjaan": "1",
}
_CHILD = {
    "Sta_kawin": "1",
    "Partisipasi_sekolah": "1",
    "Jenjang_sekolah": "1",
    "Ijazah_tertinggi": "0",
    "Sta_bekerja": "2",
    "Jumlah_jamkerja": None,
    "Lapangan_usaha": None,
    "Status_pekerjaan": None,
}


def _households(rng: np.random.Generator, n: int) -> pd.DataFrame:
    columns = {}
    for name, spec in get_codebook().household.items():
        low = int(spec.min or 0)
        if spec.kind == "code":
            columns[name] = rng.choice(list(spec.codes), n)
        elif spec.kind == "yes_no":
            columns[name] = rng.choice(list(spec.yes_no), n)
        elif spec.kind == "count":
            columns[name] = rng.integers(low, low + 5, n)
        elif spec.kind == "measure":
            columns[name] = rng.uniform(10, 200, n).round(1)
    hh = pd.DataFrame(columns)
    desa = rng.integers(1, 9, n)
    hh["IDBDT"] = [f"H{i:05d}" for i in range(n)]
    hh["KDPROP"], hh["KDKAB"] = "73", "11"
    hh["KDKEC"] = [f"{10 * (1 + d % 2):03d}" for d in desa]
    hh["KDDESA"] = [f"{d:03d}" for d in desa]
    return hh


def _nik(rng: np.random.Generator, serial: int, sex: str, age: int) -> str:
    day = int(rng.integers(1, 29)) + (40 if sex == "2" else 0)
    return f"731102{day:02d}{int(rng.integers(1, 13)):02d}{(2024 - age) % 100:02d}{serial:04d}"


def _members(rng: np.random.Generator, households: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for i, idbdt in enumerate(households["IDBDT"]):
        for line in range(1, int(rng.integers(1, 5)) + 1):
            age = int(rng.integers(25, 70)) if line <= 2 else int(rng.integers(0, 18))
            sex = "1" if line == 1 else str(rng.integers(1, 3))
            relation = {1: "1", 2: "2"}.get(line, "3")
            rows.append({
                "IDBDT": idbdt, "NoART": line, "NIK": _nik(rng, i, sex, age), "Hub_KRT": relation,
                "Jnskel": sex, "Umur": age, "Sta_hamil": None if sex == "1" else "2",
                "Jenis_cacat": "0", "Penyakit_kronis": "0",
                "Ijazah_tertinggi": str(rng.integers(0, 6)), **(_CHILD if age < 18 else _ADULT),
            })  # fmt: skip
    members = pd.DataFrame(rows)
    households["Jumlah_ART"] = (
        members.groupby("IDBDT").size().reindex(households["IDBDT"]).to_numpy()
    )
    return members


def make_registry(n: int = 240, seed: int = 0) -> types.SimpleNamespace:
    """Households whose poverty follows floor, wall and floor area, with NIKs in the members."""
    rng = np.random.default_rng(seed)
    hh = _households(rng, n)
    members = _members(rng, hh)
    desa = sorted(set(zip(hh["KDKEC"], hh["KDDESA"], strict=True)))
    areas = pd.DataFrame({
        "KDPROP": "73", "KDKAB": "11", "KDKEC": [k for k, _ in desa], "KDDESA": [d for _, d in desa],
        "NMKEC": "Tanete Riattang", "NMDESA": "Bajoe",
        "Klasifikasi": ["1" if i % 2 else "2" for i in range(len(desa))],
    })  # fmt: skip
    latent = hh["Lantai"].astype(int) + hh["Dinding"].astype(int) - hh["Luas_lantai"] / 40
    latent = latent + rng.normal(0, 2, n)
    truth = pd.DataFrame(
        {
            "IDBDT": hh["IDBDT"],
            "welfare_pc": np.exp(13 - latent / 10),
            "poor": (latent > np.quantile(latent, 0.6)).astype("int8"),
        }
    )
    siksng = pd.DataFrame(
        {
            "IDBDT": hh["IDBDT"],
            "pkh_eligible": rng.integers(0, 2, n).astype("int8"),
            "desil": rng.integers(1, 11, n),
            "periode": "2024-03",
        }
    )
    return types.SimpleNamespace(
        households=hh,
        members=members,
        areas=areas,
        siksng=siksng,
        truth=truth,
        metadata={"codebook_version": "pbdt2015"},
        folder="tiny-registry",
    )


# Hand-set comparison: logit and pmt_ols tie on exclusion error; pmt_ols leaks less -> champion.
COMPARISON = pd.DataFrame(
    [("siksng", "exclusion_error", 0.50, 0.42, 0.58), ("siksng", "inclusion_error", 0.45, np.nan, np.nan),
     ("logit", "exclusion_error", 0.30, 0.22, 0.38), ("logit", "inclusion_error", 0.33, 0.25, 0.41),
     ("pmt_ols", "exclusion_error", 0.30, 0.21, 0.39), ("pmt_ols", "inclusion_error", 0.31, 0.24, 0.40)],
    columns=["system", "metric", "estimate", "ci_low", "ci_high"],
)  # fmt: skip


def _write_compare_outputs(run_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    COMPARISON.to_csv(run_dir / "comparison.csv", index=False)
    (run_dir / "report.html").write_text("<html><body>exclusion error by system</body></html>")
    (run_dir / "summary.md").write_text(
        "| system | exclusion_error |\n|---|---|\n| logit | 0.30 |\n"
    )
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0.05, 0.6], [0.7, 0.2])
    fig.savefig(run_dir / "coverage_curve.png")
    plt.close(fig)


@pytest.fixture(scope="module")
def registry() -> types.SimpleNamespace:
    return make_registry()


@pytest.fixture(scope="module")
def trained_run(registry, tmp_path_factory) -> Path:
    """A run folder written by experiment.train (real logit and pmt_ols) plus compare outputs."""
    from slrt_ml.config import config_from_dict
    from slrt_ml.pipeline import train as experiment

    run_dir = tmp_path_factory.mktemp("runs") / "run-1"
    data = experiment.registry_targeting_data(registry)
    config = config_from_dict({"seed": 11, "models": ["logit", "pmt_ols"], "cv": {"folds": 2}})
    experiment.train(data, run_dir, config, progress=False)
    registry.areas.to_parquet(run_dir / tracking.AREAS_FILE)
    _write_compare_outputs(run_dir)
    return run_dir


def _copy_run(run_dir: Path, dest: Path) -> Path:
    import shutil

    return Path(shutil.copytree(run_dir, dest / run_dir.name))


# --- unit tests ----------------------------------------------------------------------------


def test_flatten_params_dots_nested_keys_and_cuts_long_values():
    flat = tracking.flatten_params({"cv": {"folds": 5, "inner": {"a": None}}, "note": "x" * 600})
    assert flat["cv.folds"] == "5" and flat["cv.inner.a"] == "null"
    assert len(flat["note"]) == 500 and flat["note"].endswith("...")


@pytest.mark.parametrize(
    "obj",
    [
        pd.DataFrame({"IDBDT": ["H1"], "nik": ["x"]}),
        pd.DataFrame({"IDBDT": ["H1"], "Nama_ART": ["Siti"]}),
        pd.DataFrame({"IDBDT": ["H1"], "id": ["7311024507880001"]}),
        pd.DataFrame({"IDBDT": ["H1"], "id": [7311024507880001]}),
        {"config": {"note": "see 7311020101800002 please"}},
        ["ok", "3201015205900003"],
    ],
    ids=["nik-column", "name-column", "nik-string", "nik-integer", "nested-dict", "list"],
)
def test_guard_refuses_nik_and_names(obj):
    with pytest.raises(PersonalDataError, match="refusing to log to MLflow"):
        check_no_personal_data(obj, where="example")


def test_guard_message_never_shows_the_nik():
    with pytest.raises(PersonalDataError) as caught:
        check_no_personal_data({"tag": "7311024507880001"}, where="tags")
    assert "7311024507880001" not in str(caught.value)
    assert "tags['tag']" in str(caught.value)


@pytest.mark.parametrize(
    "value",
    [
        "0000000000000000",
        "7311029907880001",
        "0.7311024507880001",
        "a7311024507880001",
        "73110245078800011",
        0.7311024507880001,
        "9f2c01ab7311024507880001",
    ],
    ids=["zeros", "day-99", "float-digits", "hex-prefix", "17-digits", "float", "digest"],
)
def test_guard_accepts_numbers_that_are_not_niks(value):
    check_no_personal_data({"value": value, "NMDESA": "Bajoe"})


def test_guard_scans_files(tmp_path):
    (tmp_path / "ok.json").write_text(json.dumps({"seed": 1}))
    check_no_personal_data(tmp_path / "ok.json")
    (tmp_path / "bad.csv").write_text("IDBDT,score\nH1,7311024507880001\n")
    with pytest.raises(PersonalDataError, match=r"bad\.csv"):
        check_no_personal_data(tmp_path, where="artifacts")


def test_registry_records_drop_nik_and_round_trip(registry):
    records = tracking.registry_records(registry.households, registry.members)
    assert len(records) == len(registry.households) and "NIK" not in records["members"].iloc[0]
    households, members = tracking.records_to_tables(records)
    assert len(members) == len(registry.members) and "NIK" not in members.columns
    assert members["Umur"].dtype == "int64" and members["Jumlah_jamkerja"].dtype == "Int64"
    assert households["Lantai"].dtype == "string" and households["Luas_lantai"].dtype == "float64"
    expected = (
        registry.members.drop(columns="NIK").sort_values(["IDBDT", "NoART"]).reset_index(drop=True)
    )
    pd.testing.assert_series_equal(members["Umur"], expected["Umur"], check_dtype=False)


def test_records_without_members_column_name_the_fix():
    with pytest.raises(KeyError, match="registry_records"):
        tracking.records_to_tables(pd.DataFrame({"IDBDT": ["H1"]}))


def test_resolve_tracking_uri_argument_then_env_then_local_sqlite(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking.resolve_tracking_uri(None) == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://example:5000")
    assert tracking.resolve_tracking_uri(None) == "http://example:5000"
    assert tracking.resolve_tracking_uri("http://other:1") == "http://other:1"


def test_champion_ties_break_by_inclusion_error_and_never_siksng():
    assert tracking.select_champion(COMPARISON) == "pmt_ols"
    assert tracking.select_champion(COMPARISON, ["logit"]) == "logit"
    only_siksng = COMPARISON[COMPARISON["system"] == "siksng"]
    with pytest.raises(ValueError, match="no model with an exclusion_error"):
        tracking.select_champion(only_siksng)


def test_log_comparison_needs_the_training_record(tmp_path):
    COMPARISON.to_csv(tmp_path / "comparison.csv", index=False)
    with pytest.raises(FileNotFoundError, match="call log_training"):
        tracking.log_comparison(tmp_path, tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")


def test_log_training_refuses_a_manifest_with_a_nik(trained_run, tmp_path):
    run_dir = _copy_run(trained_run, tmp_path)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["config"]["note"] = "7311024507880001"
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(PersonalDataError, match=r"manifest\.json\['config'\]\['note'\]"):
        tracking.log_training(run_dir, tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert not (tmp_path / "mlflow.db").exists()


def test_log_training_without_areas_says_where_to_put_them(trained_run, tmp_path):
    run_dir = _copy_run(trained_run, tmp_path)
    (run_dir / tracking.AREAS_FILE).unlink()
    with pytest.raises(ValueError, match=r"perkotaan.*areas\.parquet"):
        tracking.log_training(run_dir, tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert not (tmp_path / "mlflow.db").exists()


@pytest.mark.slow
def test_run_without_example_records_logs_but_registers_nothing(trained_run, tmp_path):
    from mlflow import MlflowClient

    run_dir = _copy_run(trained_run, tmp_path)
    for name in ("example_households.parquet", "example_members.parquet"):
        (run_dir / name).unlink()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with pytest.warns(UserWarning, match="no registry-record"):
        tracking.log_training(run_dir, tracking_uri=uri)
    record = json.loads((run_dir / "mlflow.json").read_text())
    assert {m["model_uri"] for m in record["models"].values()} == {None}
    with pytest.warns(UserWarning, match="no logged pyfunc model to register"):
        tracking.log_comparison(run_dir, tracking_uri=uri, register_as="slrt-none")
    assert MlflowClient(uri).search_registered_models() == []


# --- the full flow against a store --------------------------------------------------------


def _run_flow(run_dir: Path, registry, tracking_uri: str | None) -> dict[str, str]:
    dataset = registry.households.drop(columns=["Percentile"])
    parent = tracking.log_training(
        run_dir, tracking_uri=tracking_uri, dataset_frame=dataset, areas=registry.areas
    )
    compare = tracking.log_comparison(run_dir, tracking_uri=tracking_uri, register_as="slrt-test")
    scores = run_dir / "scores.csv"
    pd.DataFrame({"IDBDT": ["H00001", "H00002"], "score": [0.7, 0.2]}).to_csv(scores, index=False)
    summary = {"n_input": 2, "n_scored": 2, "n_rejected": 0, "scored_share": 1.0, "quota": "siksng"}
    score = tracking.log_scoring(
        summary, scores, tracking_uri=tracking_uri, model_uri="models:/slrt-test@champion"
    )
    return {"parent": parent, "compare": compare, "score": score}


def _check_training_run(client, run_ids: dict[str, str], run_dir: Path) -> None:
    parent = client.get_run(run_ids["parent"])
    assert parent.data.params["cv.folds"] == "2" and parent.data.params["seed"] == "11"
    assert parent.data.tags["slrt.codebook_version"] == "pbdt2015"
    assert (
        parent.data.tags["slrt.data_digest"]
        == json.loads((run_dir / "manifest.json").read_text())["data_digest"]
    )
    assert 0.5 < parent.data.metrics["logit.roc_auc"] <= 1.0
    names = {a.path for a in client.list_artifacts(run_ids["parent"])}
    assert {"manifest.json", "features.txt"} <= names
    (dataset_input,) = parent.inputs.dataset_inputs
    schema = json.loads(dataset_input.dataset.schema)["mlflow_colspec"]
    assert "Lantai" in {c["name"] for c in schema} and "NIK" not in {c["name"] for c in schema}
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{run_ids['parent']}'"
    )
    assert sorted(r.data.tags["slrt.model"] for r in children) == ["logit", "pmt_ols"]
    for child in children:
        assert "roc_auc" in child.data.metrics
        assert any(a.path == "model_folder" for a in client.list_artifacts(child.info.run_id))


def _check_comparison_run(client, run_ids: dict[str, str]) -> None:
    run = client.get_run(run_ids["compare"])
    metrics = run.data.metrics
    assert (
        metrics["pmt_ols.exclusion_error"] == 0.30
        and metrics["pmt_ols.exclusion_error.ci_low"] == 0.21
    )
    assert "siksng.inclusion_error.ci_low" not in metrics  # NaN bounds are left out
    assert len(metrics) == 6 * 3 - 2
    assert run.data.tags["slrt.training_run_id"] == run_ids["parent"]
    names = {a.path for a in client.list_artifacts(run_ids["compare"])}
    assert {"comparison.csv", "report.html", "coverage_curve.png", "summary.md"} <= names
    version = client.get_model_version_by_alias("slrt-test", "champion")
    assert version.tags["slrt.model"] == "pmt_ols"


def _check_champion_scores(registry, run_dir: Path, tracking_uri: str) -> None:
    import mlflow

    from slrt_ml.features.households import household_features
    from slrt_ml.models import load_model

    in_memory = load_model(run_dir / "models" / "pmt_ols")
    expected = in_memory.poverty_score(
        household_features(registry.households, registry.members, registry.areas)
    )
    mlflow.set_tracking_uri(tracking_uri)
    pyfunc = mlflow.pyfunc.load_model("models:/slrt-test@champion")
    scored = pyfunc.predict(tracking.registry_records(registry.households, registry.members))
    assert scored["IDBDT"].tolist() == registry.households["IDBDT"].tolist()
    np.testing.assert_allclose(scored["score"].to_numpy(), expected, rtol=1e-6)
    loaded = tracking.load_registered_model("models:/slrt-test@champion", tracking_uri=tracking_uri)
    assert type(loaded).__name__ == type(in_memory).__name__
    np.testing.assert_allclose(
        loaded.poverty_score(household_features(registry.households, registry.members, registry.areas)),
        expected)  # fmt: skip


def _logged_text(client, run_ids: dict[str, str], dest: Path) -> list[str]:
    """Everything logged by the runs: params, tags, metric names, dataset inputs, artifact bytes."""
    import mlflow

    texts = []
    experiment_id = client.get_run(run_ids["parent"]).info.experiment_id
    for run in client.search_runs([experiment_id]):
        texts += [
            json.dumps(run.data.params),
            json.dumps(run.data.tags),
            json.dumps(list(run.data.metrics)),
        ]
        texts += [
            f"{d.dataset.schema} {d.dataset.source} {d.dataset.profile}"
            for d in run.inputs.dataset_inputs
        ]
        folder = mlflow.artifacts.download_artifacts(
            run_id=run.info.run_id, artifact_path="", dst_path=str(dest / run.info.run_id)
        )
        texts += [p.read_bytes().decode("latin-1") for p in Path(folder).rglob("*") if p.is_file()]
    for model in client.search_logged_models([experiment_id]):
        folder = mlflow.artifacts.download_artifacts(
            f"models:/{model.model_id}", dst_path=str(dest / model.model_id)
        )
        texts += [p.read_bytes().decode("latin-1") for p in Path(folder).rglob("*") if p.is_file()]
    return texts


def _check_no_nik_logged(client, registry, run_ids: dict[str, str], dest: Path) -> None:
    niks = set(registry.members["NIK"])
    texts = _logged_text(client, run_ids, dest)
    assert len(texts) > 20  # the scan really saw the artifacts
    found = {m for text in texts for m in re.findall(r"\d{16}", text)} & niks
    assert not found, f"{len(found)} NIK(s) reached MLflow"
    assert not any(re.search(r'"NIK"', text) for text in texts)


def _check_flow(
    registry, run_dir: Path, run_ids: dict[str, str], tracking_uri: str, tmp_path: Path
) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri)
    _check_training_run(client, run_ids, run_dir)
    _check_comparison_run(client, run_ids)
    score = client.get_run(run_ids["score"])
    assert score.data.metrics["n_rejected"] == 0 and score.data.params["quota"] == "siksng"
    assert [a.path for a in client.list_artifacts(run_ids["score"], "outputs")] == [
        "outputs/scores.csv"
    ]
    _check_champion_scores(registry, run_dir, tracking_uri)
    _check_no_nik_logged(client, registry, run_ids, tmp_path / "download")


@pytest.mark.slow
def test_flow_in_the_default_local_store(registry, trained_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    run_dir = _copy_run(trained_run, tmp_path)
    (run_dir / tracking.AREAS_FILE).unlink()  # given to log_training instead
    run_ids = _run_flow(run_dir, registry, tracking_uri=None)
    assert (tmp_path / "mlflow.db").is_file() and (tmp_path / "mlartifacts").is_dir()
    assert not (tmp_path / "mlruns").exists()
    record = json.loads((run_dir / "mlflow.json").read_text())
    assert record["parent_run_id"] == run_ids["parent"] and set(record["models"]) == {
        "logit",
        "pmt_ols",
    }
    _check_flow(registry, run_dir, run_ids, tracking.resolve_tracking_uri(None), tmp_path)


@pytest.fixture(scope="session")
def mlflow_server_uri(tmp_path_factory):
    from mlflow_server import mlflow_server  # tests/ is on sys.path (pytest prepend mode)

    with mlflow_server(tmp_path_factory.mktemp("mlflow-server")) as uri:
        yield uri


@pytest.mark.slow
@pytest.mark.mlflow_server
def test_flow_against_a_real_mlflow_server(
    registry, trained_run, mlflow_server_uri, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    run_dir = _copy_run(trained_run, tmp_path)
    run_ids = _run_flow(run_dir, registry, tracking_uri=mlflow_server_uri)
    assert not (tmp_path / "mlflow.db").exists()
    _check_flow(registry, run_dir, run_ids, mlflow_server_uri, tmp_path)
