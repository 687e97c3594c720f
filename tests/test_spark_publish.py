"""The Spark output folder's publication rules (no Spark needed)."""

from __future__ import annotations

import json

import pytest

from slrt_ml.spark.publish import NotSparkOutputError, new_staging, publish
from slrt_ml.spark.synth import kabupaten_layout


def test_a_folder_not_written_by_a_spark_run_is_never_replaced(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(NotSparkOutputError, match="not the output folder of a Spark"):
        new_staging(tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_publish_swaps_in_the_new_run_and_clears_leftovers(tmp_path):
    out = tmp_path / "out"
    first = new_staging(out)
    (first / "a.txt").write_text("1")
    publish(first, out, {"input_rows": 1})
    crashed = new_staging(out)  # a run that never published
    (crashed / "half.txt").write_text("x")
    second = new_staging(out)  # the next run clears the crashed one's folder
    assert not crashed.exists()
    (second / "b.txt").write_text("2")
    publish(second, out, {"input_rows": 2})
    assert sorted(p.name for p in out.iterdir()) == ["b.txt", "manifest.json"]
    assert json.loads((out / "manifest.json").read_text())["input_rows"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_kabupaten_layout_covers_every_household_over_several_provinces():
    layout = kabupaten_layout(1_300_001)
    assert sum(k["households"] for k in layout) == 1_300_001 and len(layout) == 7
    assert {k["kdprop"] for k in layout} == {"72", "73", "74"}
    assert len({(k["kdprop"], k["kdkab"]) for k in layout}) == len(layout)
