"""The parts folder of a streamed scoring run: resume, signature, restart, compact table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scoring_data import broken_prelist, fitted_models, small_registry

from slrt_ml.pipeline.score import PrelistScorer, score_prelist
from slrt_ml.pipeline.score_parts import PartsConflictError, PartsFolder, parts_signature


def test_resume_after_a_crash_gives_the_same_output(tmp_path, monkeypatch):
    broken_prelist(small_registry(), tmp_path)
    models, profile = fitted_models()
    kwargs = dict(explain=True, top_k=2, quota=0.25, profile=profile, chunk_size=11, progress=False)
    clean = score_prelist(tmp_path, models, tmp_path / "clean.parquet", **kwargs)
    real, calls = PrelistScorer.score_chunk, {"n": 0}

    def crash_on_third(self, *args, **kw):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("simulated crash")
        return real(self, *args, **kw)

    monkeypatch.setattr(PrelistScorer, "score_chunk", crash_on_third)
    out = tmp_path / "resumed.parquet"
    with pytest.raises(RuntimeError, match="simulated crash"):
        score_prelist(tmp_path, models, out, **kwargs)
    assert not out.exists()  # atomic: no half-written output
    state = json.loads((tmp_path / "resumed.parquet.parts" / "manifest.json").read_text())
    assert state["done"] == [0, 1]
    monkeypatch.setattr(PrelistScorer, "score_chunk", real)
    resumed = score_prelist(tmp_path, models, out, **kwargs)
    assert resumed.resumed_chunks == 2
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(clean.output))


def _scored(ids, desa, score):
    return pd.DataFrame({"IDBDT": ids, "desa": desa, "score": score, "score_b": score})


def test_a_changed_signature_refuses_and_restart_starts_clean(tmp_path):
    data = tmp_path / "hh.csv"
    data.write_text("IDBDT\n1\n")
    signature = parts_signature([data], {"top_k": 5})
    assert signature["options"] == {"top_k": "5"}
    assert len(signature["files"][str(data)][2]) == 64  # sha256 of the file
    parts = PartsFolder.open(tmp_path / "o.parts", signature, restart=False)
    parts.save_part(0, _scored(["1"], ["d"], [0.5]), pd.DataFrame(columns=["IDBDT", "reason"]), {})
    assert PartsFolder.open(tmp_path / "o.parts", signature, restart=False).done == {0}
    other = parts_signature([data], {"top_k": 3})
    with pytest.raises(PartsConflictError, match=r"option top_k changed.*--restart"):
        PartsFolder.open(tmp_path / "o.parts", other, restart=False)
    assert PartsFolder.open(tmp_path / "o.parts", signature, restart=False).done == {0}  # kept
    data.write_text("IDBDT\n2\n")  # same size, new content
    with pytest.raises(PartsConflictError, match="file hh.csv changed"):
        PartsFolder.open(tmp_path / "o.parts", parts_signature([data], {"top_k": 5}), restart=False)
    assert PartsFolder.open(tmp_path / "o.parts", other, restart=True).done == set()


def test_a_folder_not_created_by_a_scoring_run_is_never_deleted(tmp_path):
    foreign = tmp_path / "o.parts"
    foreign.mkdir()
    (foreign / "thesis.docx").write_text("keep me")
    for restart in (False, True):
        with pytest.raises(PartsConflictError, match="not created by a scoring run"):
            PartsFolder.open(foreign, {"files": {}, "options": {}}, restart=restart)
    assert (foreign / "thesis.docx").read_text() == "keep me"


def test_compact_codes_a_desa_the_same_across_parts(tmp_path):
    parts = PartsFolder.open(tmp_path / "o.parts", {}, restart=False)
    empty = pd.DataFrame(columns=["IDBDT", "reason"])
    parts.save_part(1, _scored(["3"], ["y"], [0.3]), empty, {})
    parts.save_part(0, _scored(["1", "2"], ["x", "y"], [0.1, 0.2]), empty, {})
    compact = parts.compact(["score_b"])
    assert compact.area_names == ["x", "y"] and compact.area.tolist() == [0, 1, 1]
    assert compact.score.tolist() == [0.1, 0.2, 0.3] and compact.sizes == [2, 1]
    np.testing.assert_array_equal(compact.others[:, 0], compact.score)


def test_rejects_count_households_apart_from_orphan_members(tmp_path):
    parts = PartsFolder.open(tmp_path / "o.parts", {}, restart=False)
    rejects = pd.DataFrame(
        {
            "IDBDT": ["1", "2", "9"],
            "reason": ["Lantai: unknown code", "no head", "members without a household record"],
        }
    )
    parts.save_part(0, _scored([], [], []), rejects, {})
    assert parts.write_rejects(tmp_path / "r.csv", tmp_path / "o.csv") == (2, 1)
    assert len(pd.read_csv(tmp_path / "r.csv")) == 2  # households only: rows on disk = count
    assert pd.read_csv(tmp_path / "o.csv", dtype=str)["IDBDT"].tolist() == ["9"]
    assert parts.write_drift_report(None, tmp_path / "d.csv")[0] is None


def test_a_different_conformal_level_never_reuses_parts():
    """``score --conformal`` attaches the calibration to the main model; the model's content
    hash (part of the parts signature) changes with it, so a resumed run with another
    level (or none) refuses instead of mixing prediction sets."""
    from slrt_ml.pipeline.policy import attach_conformal
    from slrt_ml.pipeline.score import _model_ids, load_scoring_models

    run = Path(__file__).resolve().parents[1] / "models" / "pkh_synthetic"
    models, _, _ = load_scoring_models(run)
    plain = _model_ids(models)
    attach_conformal(models, run, 0.1)
    at_10 = _model_ids(models)
    attach_conformal(models, run, 0.2)
    assert len({tuple(plain), tuple(at_10), tuple(_model_ids(models))}) == 3
