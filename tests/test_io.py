"""File IO: formats, delimiters, codes kept as strings, atomic writes, the validate command."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import make_tiny_registry
from typer.testing import CliRunner

from slrt_ml.cli import app
from slrt_ml.data import io as io
from slrt_ml.data.io import (
    TableReadError,
    TableWriter,
    atomic_path,
    find_table,
    iter_table_chunks,
    read_table,
    write_table,
)
from slrt_ml.data.registry import load_prelist, load_registry
from slrt_ml.data.schema import SchemaError, validate_table


def _write_registry(folder, registry, suffix=".parquet"):
    for name in ("households", "members", "areas", "siksng", "truth"):
        write_table(getattr(registry, name), folder / f"{name}{suffix}")
    return folder


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


# --- writing ----------------------------------------------------------------------------------


def test_parquet_is_deterministic(tmp_path, tiny):
    first = write_table(tiny.households, tmp_path / "a.parquet").read_bytes()
    second = write_table(tiny.households.copy(), tmp_path / "b.parquet").read_bytes()
    assert first == second


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".xlsx"])
def test_round_trip_keeps_codes_as_strings(tmp_path, tiny, suffix):
    path = write_table(tiny.households, tmp_path / f"households{suffix}")
    back = read_table(path, "households")
    assert back["KDKEC"].dtype == "string"
    assert back["KDKEC"].tolist() == ["010", "020", "010", "020", "010"]
    assert back["Lantai"].tolist() == tiny.households["Lantai"].tolist()
    pd.testing.assert_frame_equal(
        validate_table(back, "households"),
        validate_table(tiny.households, "households"),
    )


def test_named_index_is_written_as_a_column(tmp_path):
    scores = pd.DataFrame({"score": [0.5]}, index=pd.Index(["001"], name="IDBDT"))
    back = pd.read_parquet(write_table(scores, tmp_path / "s.parquet"))
    assert back.columns.tolist() == ["IDBDT", "score"]


def test_unknown_suffix_is_refused(tmp_path, tiny):
    with pytest.raises(ValueError, match=r"unsupported table format '\.json'"):
        write_table(tiny.truth, tmp_path / "truth.json")


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".xlsx"])
def test_table_writer_writes_chunks(tmp_path, tiny, suffix):
    path = tmp_path / f"members{suffix}"
    with TableWriter(path) as writer:
        writer.write(tiny.members.iloc[:4])
        writer.write(tiny.members.iloc[4:])
    back = read_table(path, "members")
    assert back["NIK"].tolist() == tiny.members["NIK"].tolist()
    assert writer.rows == len(tiny.members) == len(back)
    assert _leftovers(tmp_path) == [path.name]


def test_table_writer_rejects_a_chunk_with_other_columns(tmp_path, tiny):
    path = tmp_path / "truth.parquet"
    with pytest.raises(
        ValueError, match=r"truth.parquet: chunk columns differ.*missing \['poor'\]"
    ):
        with TableWriter(path) as writer:
            writer.write(tiny.truth)
            writer.write(tiny.truth.drop(columns="poor"))
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".xlsx"])
def test_interrupted_table_writer_leaves_previous_file_untouched(tmp_path, tiny, suffix):
    path = tmp_path / f"households{suffix}"
    write_table(tiny.households.iloc[:2], path)
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="power cut"):
        with TableWriter(path) as writer:
            writer.write(tiny.households)
            raise RuntimeError("power cut")
    assert path.read_bytes() == before
    assert _leftovers(tmp_path) == [path.name]


def test_writer_failing_midway_leaves_no_file(tmp_path, tiny, monkeypatch):
    calls = []

    def failing_csv(df, path, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        df.to_csv(path, index=False, mode=kwargs.get("mode", "w"), header=kwargs.get("header"))

    monkeypatch.setattr(io, "_write_csv", failing_csv)
    with pytest.raises(OSError, match="disk full"):
        with TableWriter(tmp_path / "members.csv") as writer:
            writer.write(tiny.members.iloc[:3])
            writer.write(tiny.members.iloc[3:])
    assert _leftovers(tmp_path) == []


def test_write_table_failing_keeps_previous_file(tmp_path, tiny, monkeypatch):
    path = write_table(tiny.truth, tmp_path / "truth.parquet")
    before = path.read_bytes()

    def half_written(df, tmp):
        tmp.write_bytes(b"PAR1 half")
        raise OSError("disk full")

    monkeypatch.setitem(io._WRITERS, ".parquet", half_written)
    with pytest.raises(OSError, match="disk full"):
        write_table(tiny.truth.iloc[:1], path)
    assert path.read_bytes() == before
    assert _leftovers(tmp_path) == ["truth.parquet"]


def test_atomic_path_removes_temp_on_error(tmp_path):
    with pytest.raises(KeyError), atomic_path(tmp_path / "x.txt") as tmp:
        tmp.write_text("partial")
        raise KeyError("boom")
    assert _leftovers(tmp_path) == []


# --- reading ----------------------------------------------------------------------------------


@pytest.mark.parametrize("sep", [",", ";", "|", "\t"])
def test_csv_delimiter_is_sniffed(tmp_path, tiny, sep):
    path = tmp_path / "households.csv"
    tiny.households.to_csv(path, sep=sep, index=False)
    back = read_table(path, "households")
    assert back.shape == tiny.households.shape
    assert back["KDKEC"].tolist()[:2] == ["010", "020"]


def test_codes_with_leading_zeros_stay_strings(tmp_path):
    path = tmp_path / "areas.csv"
    path.write_text(
        "KDPROP|KDKAB|KDKEC|KDDESA|NMKEC|NMDESA|Klasifikasi\n"
        "73|11|073|001|Tanete Riattang|Bajoe|1\n",
        encoding="utf-8",
    )
    back = read_table(path, "areas")
    assert back.loc[0, "KDKEC"] == "073" and back.loc[0, "KDDESA"] == "001"
    assert back["Klasifikasi"].dtype == "string"


def test_numbers_stored_as_area_codes_are_errors_not_repaired(tmp_path, tiny):
    households = tiny.households.assign(KDKEC=[10, 20, 10, 20, 10])
    back = read_table(write_table(households, tmp_path / "households.parquet"), "households")
    with pytest.raises(SchemaError, match="column KDKEC, rule 'area code format': 5 row"):
        validate_table(back, "households")


def test_read_errors_name_the_file(tmp_path):
    path = tmp_path / "households.parquet"
    path.write_bytes(b"not parquet")
    with pytest.raises(TableReadError, match=r"households.parquet: cannot read it"):
        read_table(path, "households")
    with pytest.raises(TableReadError, match=r"nothing.csv: no such file"):
        read_table(tmp_path / "nothing.csv", "households")


def test_find_table_none_or_several(tmp_path, tiny):
    with pytest.raises(TableReadError, match=r"no households.parquet, households.csv"):
        find_table(tmp_path, "households")
    write_table(tiny.households, tmp_path / "households.csv")
    assert find_table(tmp_path, "households").name == "households.csv"
    write_table(tiny.households, tmp_path / "households.parquet")
    with pytest.raises(TableReadError, match="several files for table 'households'"):
        find_table(tmp_path, "households")


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".xlsx"])
def test_chunks_add_up_to_the_table(tmp_path, suffix):
    members = make_tiny_registry(8).members
    path = write_table(members, tmp_path / f"members{suffix}")
    chunks = list(iter_table_chunks(path, "members", chunksize=4))
    assert [len(c) for c in chunks] == [4] * (len(members) // 4) + [len(members) % 4] * bool(
        len(members) % 4
    )
    whole = pd.concat(chunks, ignore_index=True)
    assert whole["NIK"].dtype == "string"
    assert whole["NIK"].tolist() == members["NIK"].tolist()


def test_load_registry_validates_every_file(tmp_path, tiny):
    registry = load_registry(_write_registry(tmp_path, tiny))
    assert registry.households["Jumlah_ART"].dtype == "int64"
    assert registry.siksng["pkh_eligible"].dtype == "int8"
    assert registry.folder == tmp_path and registry.metadata == {}


def test_load_registry_optional_tables_and_metadata(tmp_path, tiny):
    write_table(tiny.households, tmp_path / "households.csv")
    write_table(tiny.members, tmp_path / "members.csv")
    (tmp_path / "metadata.json").write_text('{"seed": 7}', encoding="utf-8")
    registry = load_registry(tmp_path)
    assert registry.truth is None and registry.areas is None
    assert registry.metadata == {"seed": 7}


def test_load_registry_raises_one_error_for_all_files(tmp_path, tiny):
    tiny.households.loc[0, "Lantai"] = "11"
    tiny.truth.loc[0, "poor"] = 2
    _write_registry(tmp_path, tiny, ".csv")
    with pytest.raises(SchemaError) as info:
        load_registry(tmp_path)
    assert {(p.column, p.rule) for p in info.value.problems} == {
        ("Lantai", "code list"),
        ("poor", "flag 0/1"),
    }
    assert "households.csv" in str(info.value) and "truth.csv" in str(info.value)
    raw = load_registry(tmp_path, validate=False)
    assert raw.households.loc[0, "Lantai"] == "11"


def test_load_prelist_reads_without_validation(tmp_path, tiny):
    tiny.households.loc[0, "Lantai"] = "11"
    write_table(tiny.households, tmp_path / "prelist_households.parquet")
    write_table(tiny.members, tmp_path / "prelist_members.parquet")
    households, members = load_prelist(tmp_path)
    assert len(households) == 5 and len(members) == len(tiny.members)
    with pytest.raises(SchemaError, match="Lantai"):
        load_prelist(tmp_path, validate=True)


# --- slrt-ml data validate --------------------------------------------------------------------


def test_cli_validate_valid_folder(tmp_path, tiny):
    result = CliRunner().invoke(app, ["data", "validate", str(_write_registry(tmp_path, tiny))])
    assert result.exit_code == 0, result.output
    assert "households.parquet" in result.output and "valid" in result.output


def test_cli_validate_reports_all_five_problems(tmp_path, tiny):
    households = tiny.households.copy()
    households.loc[0, "Lantai"] = "11"
    households.loc[1, "IDBDT"] = ""
    households.loc[3, "IDBDT"] = households.loc[2, "IDBDT"]
    households.loc[4, "KDKAB"] = "73.1"
    members = tiny.members
    members = members[~((members["IDBDT"] == "7311000004") & (members["Hub_KRT"] == "1"))]
    write_table(households, tmp_path / "households.csv")
    write_table(members, tmp_path / "members.csv")
    result = CliRunner().invoke(
        app, ["data", "validate", str(tmp_path / "households.csv"), str(tmp_path / "members.csv")]
    )
    assert result.exit_code == 1
    out = result.output
    assert "column Lantai, rule 'code list'" in out
    assert "column IDBDT, rule 'not empty'" in out
    assert "column IDBDT, rule 'unique'" in out
    assert "column KDKAB, rule 'area code format'" in out
    assert "column Hub_KRT, rule 'one head per household'" in out
    assert "Traceback" not in out
    assert not any(nik in out for nik in tiny.members["NIK"])


def test_cli_validate_unreadable_input_is_an_error_not_a_traceback(tmp_path):
    (tmp_path / "notes.csv").write_text("a,b\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["data", "validate", str(tmp_path / "notes.csv")])
    assert result.exit_code == 1
    assert "cannot tell the table kind" in result.output


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_synthetic_registry_folder_loads_and_validates(tmp_path, fmt):
    from slrt_ml.data.synth.generator import generate_registry

    generate_registry(tmp_path, households=300, seed=5, fmt=fmt)
    registry = load_registry(tmp_path)
    assert len(registry.households) == 300
    assert registry.metadata["codebook_version"] == "pbdt2015"
    result = CliRunner().invoke(app, ["data", "validate", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "prelist_members" in result.output


# --- safe cells, booleans in every format, unreadable files (issue 12) ------------------------


def test_formula_cells_are_neutralised_in_csv_and_xlsx_but_numbers_are_kept(tmp_path):
    from slrt_ml.data.io import FORMULA_PREFIXES

    cells = [p + "HYPERLINK(1)" for p in FORMULA_PREFIXES] + ["ok", None]
    frame = pd.DataFrame({"IDBDT": pd.array(cells, dtype="string"), "x": range(len(cells))})
    frame["x"] -= 3  # negative numbers stay numbers
    for suffix in (".csv", ".xlsx"):
        path = write_table(frame, tmp_path / f"t{suffix}")
        back = pd.read_csv(path, dtype={"IDBDT": str}, keep_default_na=False) if suffix == ".csv" \
            else pd.read_excel(path, dtype={"IDBDT": str})  # fmt: skip
        texts = back["IDBDT"].tolist()
        assert all(t.startswith("'") for t in texts[: len(FORMULA_PREFIXES)]), texts
        assert texts[len(FORMULA_PREFIXES)] == "ok"
        assert back["x"].tolist() == frame["x"].tolist()
    import openpyxl

    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx").active
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_negative_numbers_in_a_mixed_column_stay_numbers(tmp_path):
    # comparison tables can come out as object columns: -0.04 is a number, "-x" is text
    frame = pd.DataFrame({"estimate": pd.Series([-0.04, 0.5, "-x"], dtype=object)})
    back = pd.read_csv(write_table(frame, tmp_path / "c.csv"), keep_default_na=False)
    assert back["estimate"].tolist() == ["-0.04", "0.5", "'-x"]


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".xlsx"])
def test_booleans_survive_every_format(tmp_path, suffix):
    selected = pd.array([True, False, True, pd.NA], dtype="boolean")
    frame = pd.DataFrame({"IDBDT": ["1", "2", "3", "4"], "selected": selected,
                          "plain": [True, False, False, True]})  # fmt: skip
    path = write_table(frame, tmp_path / f"t{suffix}")
    if suffix == ".csv":
        back = pd.read_csv(path)
    elif suffix == ".xlsx":
        back = pd.read_excel(path)
    else:
        back = pd.read_parquet(path)
    assert back["selected"].tolist()[:3] == [True, False, True]
    assert pd.isna(back["selected"].iloc[3])
    assert back["plain"].tolist() == [True, False, False, True]


@pytest.mark.parametrize("damage", ["empty", "corrupt_parquet", "corrupt_xlsx", "repeated"])
def test_an_unreadable_file_is_a_table_read_error_naming_it(tmp_path, damage):
    from slrt_ml.data.io import TableReadError, iter_table_chunks

    frame = pd.DataFrame({"IDBDT": ["1", "2"], "KDPROP": ["73", "73"]})
    path = {"empty": tmp_path / "households.csv", "corrupt_parquet": tmp_path / "households.parquet",
            "corrupt_xlsx": tmp_path / "households.xlsx",
            "repeated": tmp_path / "households.csv"}[damage]  # fmt: skip
    if damage == "empty":
        path.write_bytes(b"")
    elif damage == "repeated":
        path.write_text("IDBDT,KDPROP,KDPROP\n1,73,73\n")
    else:
        write_table(frame, path)
        data = bytearray(path.read_bytes())
        data[len(data) // 3 : len(data) // 3 + 40] = b"\x00" * 40
        path.write_bytes(bytes(data[: len(data) - 7]))
    with pytest.raises(TableReadError, match=path.name):
        read_table(path, "households")
    with pytest.raises(TableReadError, match=path.name):
        list(iter_table_chunks(path, "households", chunksize=1))
