"""The personal-data guard: NIK-shaped strings and personal columns are refused, by name."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from slrt_ml.data.privacy import (
    PersonalDataError,
    check_no_personal_columns,
    check_no_personal_data,
    drop_personal_columns,
    is_personal_column,
)


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


def test_guard_reads_json_keys_as_column_names(tmp_path):
    (tmp_path / "rows.json").write_text(json.dumps([{"IDBDT": "H1", "no_kk": "x"}]))
    with pytest.raises(PersonalDataError, match=r"rows\.json.*\['no_kk'\]"):
        check_no_personal_data(tmp_path / "rows.json", where="artifact")


def test_personal_columns_are_named_and_dropped():
    frame = pd.DataFrame({"IDBDT": ["H1"], "NIK": ["x"], "nm_krt": ["Siti"], "NMDESA": ["Bajoe"]})
    assert [is_personal_column(c) for c in frame.columns] == [False, True, True, False]
    assert drop_personal_columns(frame).columns.tolist() == ["IDBDT", "NMDESA"]
    check_no_personal_columns(["IDBDT", "NMDESA"], "schema")
    with pytest.raises(PersonalDataError, match=r"schema: .*\['NIK', 'nm_krt'\]"):
        check_no_personal_columns(frame.columns, "schema")
