"""The report of a real run: area names, the champion's explanations and the scored prelist
(slrt_ml.pipeline.report_inputs through slrt_ml.pipeline.compare)."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from slrt_ml.config import config_from_dict
from slrt_ml.data.synth.generator import make_registry
from slrt_ml.evaluation.report_text import words
from slrt_ml.pipeline.compare import compare_and_write, rewrite_report
from slrt_ml.pipeline.in_memory import targeting_data
from slrt_ml.pipeline.report_inputs import prelist_summary, report_names
from slrt_ml.pipeline.train import train

FAST = config_from_dict({"models": ["pmt_ols", "logit"], "cv": {"folds": 3}})


@pytest.fixture(scope="module")
def data():
    return targeting_data(make_registry(households=1_200, seed=11))


@pytest.fixture(scope="module")
def run(data, tmp_path_factory):
    return train(data, tmp_path_factory.mktemp("run") / "run", FAST, progress=False).run_dir


def test_registry_area_names_replace_kecamatan_codes(data):
    names = report_names(data)
    areas = data.extra["areas"]
    first = areas.iloc[0]
    code = first["KDPROP"] + first["KDKAB"] + first["KDKEC"]
    assert names.area_name("KDKEC", code) == first["NMKEC"]


@pytest.mark.parametrize("lang", ["id", "en"])
def test_compare_writes_the_report_in_its_language_with_the_champions_explanations(run, data, lang):
    paths, comparison = compare_and_write(run, data, bootstrap=20, seed=0, lang=lang)
    page = paths["report"].read_text(encoding="utf-8")
    assert paths["welfare_curves"].exists() and "<h2>Verification visits</h2>" in page
    w = words(lang)
    assert f'<html lang="{lang}">' in page and f"<h2>{w['explanations']}</h2>" in page
    why = page[page.index(w["explanations"]) :]
    why = why[: why.index("<h2>")] if "<h2>" in why else why  # this section only
    assert why.count('alt="IDBDT ') == 3  # three waterfalls
    rows = re.findall(r"<tr><th>([^<]+)</th><td>(\d\.\d{3})</td>", why)
    assert len(rows) >= 3  # items with their mean |contribution|, largest first
    assert [float(v) for _, v in rows] == sorted((float(v) for _, v in rows), reverse=True)
    names = set(data.extra["areas"]["NMKEC"])
    assert any(name in page for name in names)  # kecamatan by name in the gap table
    assert w["prelist"] not in page  # not scored: no prelist section


def _scored_set(folder, selected_by_kec: dict[str, tuple[str, int, int]]):
    """A published scoring output set: output, rejects and the manifest naming them."""
    rows = []
    for code, (name, scored, selected) in selected_by_kec.items():
        rows += [{"KDKEC": code, "NMKEC": name, "IDBDT": f"{code}{i:04d}",
                  "selected": i < selected} for i in range(scored)]  # fmt: skip
    out = folder / "scored.csv"
    pd.DataFrame(rows).to_csv(out, index=False)
    pd.DataFrame({"IDBDT": ["1", "2", "3"],
                  "reason": ["Umur: out of range ('250')", "Umur: out of range ('-1'); "
                             "Lantai: not a code ('99')", "members without a household record"]}
                 ).to_csv(folder / "scored.rejects.csv", index=False)  # fmt: skip
    manifest = {"run_id": "x", "files": {"output": {"file": "scored.csv"},
                                          "rejects": {"file": "scored.rejects.csv"}},
                "input_rows": len(rows) + 3, "scored_rows": len(rows), "rejected_rows": 3}  # fmt: skip
    (folder / "scored.csv.manifest.json").write_text(json.dumps(manifest))
    return out


def test_prelist_summary_counts_selected_per_kecamatan_and_rejects_by_rule(tmp_path):
    out = _scored_set(tmp_path, {"7399010": ("Tonra", 5, 2), "7399020": ("Bonto", 4, 3)})
    summary = prelist_summary(out)
    assert summary.counts == {"input_rows": 12, "scored_rows": 9, "rejected_rows": 3,
                              "selected": 5}  # fmt: skip
    assert summary.per_area.to_dict("list") == {
        "code": ["7399020", "7399010"], "name": ["Bonto", "Tonra"], "scored": [4, 5],
        "selected": [3, 2]}  # fmt: skip
    reasons = dict(zip(summary.rejects["reason"], summary.rejects["households"], strict=True))
    assert reasons == {"Umur: out of range": 2, "Lantai: not a code": 1,
                       "members without a household record": 1}  # fmt: skip
    assert prelist_summary(tmp_path / "never_scored.csv") is None


def test_the_report_is_written_again_with_the_scored_prelist(run, data, tmp_path):
    _, comparison = compare_and_write(run, data, bootstrap=0, explain=False)
    out = _scored_set(tmp_path, {"7399010": ("Tonra", 5, 2)})
    page = rewrite_report(run, data, comparison, lang="id", explain=False, scored=out)["report"]
    text = page.read_text(encoding="utf-8")
    listed = text[text.index("<h2>Daftar awal yang dinilai</h2>") :]
    assert "Tonra" in listed and "Umur: out of range" in listed
    assert "<th>terpilih</th><td>2</td>" in listed


def test_cli_compare_writes_the_report_in_the_language_asked(run, data, monkeypatch):
    from typer.testing import CliRunner

    from slrt_ml.cli import app
    from slrt_ml.pipeline import commands

    monkeypatch.setattr(commands, "targeting_data", lambda *args: data)
    monkeypatch.setattr(commands, "compare_run", lambda run_dir, targeting, config, **flags:
                        compare_and_write(run_dir, targeting, bootstrap=0, lang=flags["lang"],
                                          scored=flags["scored"]))  # fmt: skip
    result = CliRunner().invoke(app, ["compare", "--run", str(run), "--data", str(run),
                                      "--lang", "id", "--no-track"])  # fmt: skip
    assert result.exit_code == 0, result.output
    page = (run / "report.html").read_text(encoding="utf-8")
    assert '<html lang="id">' in page and "<h2>Mengapa model juara memberi skor itu</h2>" in page
    assert "Galat eksklusi" in result.output  # the console table speaks Indonesian too
