"""Registry folders: `data validate` closes the gaps of issue 12 (tables, formats, ids, codes)."""

from __future__ import annotations

import pytest
from conftest import make_tiny_registry

from slrt_ml.data.io import write_table
from slrt_ml.data.registry import load_registry, validate_paths


def _write(folder, tiny, **replace):
    tables = {"households": tiny.households, "members": tiny.members, "areas": tiny.areas,
              "siksng": tiny.siksng, "truth": tiny.truth} | replace  # fmt: skip
    for name, frame in tables.items():
        if frame is not None:
            write_table(frame, folder / f"{name}.csv")
    return folder


def _problems(folder):
    return [(str(r.path), p.column, p.rule, str(p)) for r in validate_paths([folder])
            for p in r.problems]  # fmt: skip


def test_a_valid_folder_has_no_problem(tmp_path):
    assert _problems(_write(tmp_path, make_tiny_registry())) == []


def test_a_missing_member_table_is_an_error(tmp_path):
    problems = _problems(_write(tmp_path, make_tiny_registry(), members=None))
    assert [(c, r) for _, c, r, _ in problems] == [("members", "required table")]


def test_one_table_in_two_formats_is_an_error(tmp_path):
    tiny = make_tiny_registry()
    _write(tmp_path, tiny)
    write_table(tiny.households, tmp_path / "households.parquet")
    problems = _problems(tmp_path)
    assert ("households", "one file per table") in [(c, r) for _, c, r, _ in problems]
    assert "households.csv" in next(m for _, _, r, m in problems if r == "one file per table")


@pytest.mark.parametrize("table", ["truth", "siksng"])
def test_ids_of_truth_and_siksng_must_be_households(tmp_path, table):
    tiny = make_tiny_registry()
    frame = getattr(tiny, table).copy()
    frame.loc[0, "IDBDT"] = "NOT_A_HOUSEHOLD"
    problems = _problems(_write(tmp_path, tiny, **{table: frame}))
    found = [(path, c, r, m) for path, c, r, m in problems if r == "household exists"]
    assert len(found) == 1 and found[0][0].endswith(f"{table}.csv")
    assert "NOT_A_HOUSEHOLD" in found[0][3]
    with pytest.raises(ValueError, match="household exists"):
        load_registry(tmp_path)


@pytest.mark.parametrize("code", ["٧٣", "７３"])
def test_area_codes_take_ascii_digits_only(tmp_path, code):
    tiny = make_tiny_registry()
    hh = tiny.households.copy()
    hh["KDPROP"] = hh["KDPROP"].astype(object)
    hh.loc[0, "KDPROP"] = code
    problems = _problems(_write(tmp_path, tiny, households=hh))
    assert ("KDPROP", "area code format") in [(c, r) for _, c, r, _ in problems]


@pytest.mark.parametrize("bad", ["=HYPERLINK(1)", "+62", "@x", "-1", "a b", "x" * 41])
def test_an_id_has_a_documented_format(tmp_path, bad):
    tiny = make_tiny_registry()
    hh, mem = tiny.households.copy(), tiny.members.copy()
    old = hh.loc[0, "IDBDT"]
    hh.loc[0, "IDBDT"] = bad
    mem.loc[mem["IDBDT"] == old, "IDBDT"] = bad
    problems = _problems(_write(tmp_path, tiny, households=hh, members=mem, siksng=None,
                                truth=None))  # fmt: skip
    assert ("IDBDT", "id format") in [(c, r) for _, c, r, _ in problems]


def test_a_repeated_header_and_an_unreadable_file_are_reported_per_file(tmp_path):
    _write(tmp_path, make_tiny_registry())
    text = (tmp_path / "areas.csv").read_text()
    (tmp_path / "areas.csv").write_text(text.replace("KDKAB", "KDPROP", 1))
    (tmp_path / "truth.csv").write_bytes(b"")
    problems = _problems(tmp_path)
    by_file = {path.rsplit("/", 1)[-1]: m for path, _, _, m in problems}
    assert "appear more than once" in by_file["areas.csv"]
    assert "empty" in by_file["truth.csv"]


def test_non_finite_numbers_are_problems_not_crashes(tmp_path):
    tiny = make_tiny_registry()
    hh = tiny.households.copy()
    hh["Jumlah_ART"] = hh["Jumlah_ART"].astype(float)
    hh.loc[0, "Jumlah_ART"] = float("inf")
    problems = _problems(_write(tmp_path, tiny, households=hh))
    assert any(c == "Jumlah_ART" and "finite" in m for _, c, _, m in problems)
