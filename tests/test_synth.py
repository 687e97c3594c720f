"""Synthetic registry: determinism, contract, marginals, NIK, and SIKS-NG's calibration."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from slrt_ml.cli import app
from slrt_ml.data import schema as schema
from slrt_ml.data.codebook import get_codebook
from slrt_ml.data.synth.areas import make_areas
from slrt_ml.data.synth.generator import generate_registry, iter_registry, make_registry
from slrt_ml.data.synth.parameters import POVERTY_LINES, SynthParameters

CB = get_codebook("pbdt2015")
SMALL_CHUNKS = SynthParameters(chunk_size=700)


@pytest.fixture(scope="module")
def reg():
    """The default profile at the demo's size (20,000 households; about a second)."""
    return make_registry(households=20_000, seed=0)


def _digests(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


# ------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_same_seed_gives_byte_identical_files(tmp_path, fmt):
    a = generate_registry(tmp_path / "a", 2_000, seed=7, fmt=fmt, params=SMALL_CHUNKS)
    b = generate_registry(tmp_path / "b", 2_000, seed=7, fmt=fmt, params=SMALL_CHUNKS)
    assert a == b
    digests = _digests(tmp_path / "a")
    assert digests == _digests(tmp_path / "b")
    assert len(digests) == 8  # seven tables and metadata.json, no temporary files left


def test_different_seed_gives_different_files(tmp_path):
    generate_registry(tmp_path / "a", 1_000, seed=1)
    generate_registry(tmp_path / "b", 1_000, seed=2)
    a, b = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert all(a[name] != b[name] for name in a if name != "areas.parquet")


def test_files_hold_the_in_memory_registry(tmp_path):
    meta = generate_registry(tmp_path, 1_500, seed=3, params=SMALL_CHUNKS)
    memory = make_registry(1_500, seed=3, params=SMALL_CHUNKS)
    for name in ("households", "members", "siksng", "truth", "prelist_members"):
        on_disk = pd.read_parquet(tmp_path / f"{name}.parquet")
        pd.testing.assert_frame_equal(on_disk, memory[name], check_dtype=False)
    written = json.loads((tmp_path / "metadata.json").read_text())
    assert written["siksng_errors"] == memory["metadata"]["siksng_errors"] == meta["siksng_errors"]
    assert written["counts"]["members"] == len(memory["members"])


def test_chunks_stream_and_the_quota_is_global():
    chunks = [name for name, _ in iter_registry(2_000, seed=0, params=SMALL_CHUNKS)]
    assert chunks.count("households") == 3 and chunks.count("prelist_households") == 1
    assert chunks[0] == "areas" and chunks[-1] == "metadata"
    small = make_registry(2_000, seed=0, params=SMALL_CHUNKS)
    assert small["siksng"]["pkh_eligible"].sum() == round(SMALL_CHUNKS.quota_share * 2_000)
    assert sorted(small["households"]["Percentile"]) == sorted(np.arange(2_000) * 100 // 2_000 + 1)


def test_committed_sample_is_what_the_generator_writes(tmp_path):
    """data/ must be regenerated (see data/README.md) whenever the generator changes."""
    sample = Path(__file__).parents[1] / "data"
    generate_registry(tmp_path, 2_000, seed=2024)
    fresh = _digests(tmp_path)
    committed = {name: digest for name, digest in _digests(sample).items() if name in fresh}
    assert committed == fresh, (
        "regenerate: slrt-ml data synth --out data --households 2000 --seed 2024"
    )


def test_bad_arguments_name_the_fix(tmp_path):
    with pytest.raises(ValueError, match="households must be at least 1"):
        make_registry(0)
    with pytest.raises(ValueError, match="format must be 'parquet' or 'csv'"):
        generate_registry(tmp_path, 10, fmt="xlsx")


# ----------------------------------------------------------------------------- contract


def test_tables_pass_the_schema(reg):
    households = schema.validate_households(reg["households"])
    schema.validate_members(reg["members"], households)
    schema.validate_areas(reg["areas"])
    schema.validate_siksng(reg["siksng"])
    schema.validate_truth(reg["truth"])
    prelist = schema.validate_households(reg["prelist_households"])
    schema.validate_members(reg["prelist_members"], prelist)


@pytest.mark.parametrize("table", ["household", "member"])
def test_columns_and_codes_follow_the_codebook(reg, table):
    frame = reg["households" if table == "household" else "members"]
    specs = CB.table(table)
    assert list(frame.columns) == list(specs)
    for name, spec in specs.items():
        values = frame[name].dropna()
        if spec.kind == "code":
            assert set(values) <= set(spec.codes), name
        elif spec.kind == "yes_no":
            assert set(values) == set(spec.yes_no), name  # each item its own pair
        if not spec.nullable:
            assert frame[name].notna().all(), name


def test_areas_are_the_default_kabupaten():
    areas = make_areas()
    assert len(areas) == 280 and areas["KDKEC"].nunique() == 31
    assert set(areas["KDPROP"]) == {"73"} and set(areas["Klasifikasi"]) == {"1", "2"}
    assert not areas.duplicated(["KDKEC", "KDDESA"]).any()
    assert areas["KDDESA"].str.fullmatch(r"\d{3}").all()


def test_ids_are_unique_and_prelist_ids_are_new(reg):
    ids, prelist = reg["households"]["IDBDT"], reg["prelist_households"]["IDBDT"]
    assert ids.is_unique and prelist.is_unique
    assert not set(ids) & set(prelist)
    assert len(prelist) == 2_000


# ----------------------------------------------------------------------------- members


def test_one_head_per_household_and_sizes_match(reg):
    members, households = reg["members"], reg["households"].set_index("IDBDT")
    heads = members[members["Hub_KRT"] == "1"].groupby("IDBDT").size()
    assert heads.reindex(households.index).eq(1).all()
    sizes = members.groupby("IDBDT").size()
    assert sizes.reindex(households.index).eq(households["Jumlah_ART"]).all()
    assert (members["NoART"] == members.groupby("IDBDT").cumcount() + 1).all()


def test_nik_encodes_region_birth_date_and_sex(reg):
    m = reg["members"].merge(reg["households"][["IDBDT", "KDKEC"]], on="IDBDT")
    nik = m["NIK"]
    assert nik.str.fullmatch(r"\d{16}").all()
    assert (nik.str[:6] == "7399" + m["KDKEC"].str[-2:]).all()
    day, month, yy = (
        nik.str[6:8].astype(int),
        nik.str[8:10].astype(int),
        nik.str[10:12].astype(int),
    )
    assert ((day > 40) == (m["Jnskel"] == "2")).all()
    day = day - 40 * (day > 40)
    # the century is the one that makes the person 0-99 years old on 2024-06-30
    year = np.where(yy <= 24, 2000 + yy, 1900 + yy)
    year = np.where((m["Umur"] >= 94) & (year > 1924), year - 100, year)
    birthday_passed = (month < 6) | ((month == 6) & (day <= 30))
    age_now = 2024 - year - (~birthday_passed).astype(int)
    # Umur is the age the registry recorded 24-72 months earlier: up to 6 years younger
    # than the NIK's birth date gives today (fewer for households formed since), by the
    # same number of years within a household
    years_back = pd.Series(age_now - m["Umur"].to_numpy()).groupby(m["IDBDT"].to_numpy())
    assert years_back.min().between(0, 6).all() and (years_back.nunique() == 1).all()
    assert (years_back.min() >= 2).mean() > 0.9
    assert pd.to_datetime(dict(year=year, month=month, day=day), errors="coerce").notna().all()


def test_member_items_are_consistent_with_age_and_sex(reg):
    m = reg["members"]
    age = m["Umur"]
    fertile = (m["Jnskel"] == "2") & age.between(15, 49)
    assert (m["Sta_hamil"].notna() == fertile).all()
    assert 0.01 < (m["Sta_hamil"] == "1").sum() / fertile.sum() < 0.1
    assert ((m["Partisipasi_sekolah"] == "0") == m["Jenjang_sekolah"].isna()).all()
    assert (m.loc[age <= 6, "Partisipasi_sekolah"] == "0").all()
    pupils = m[m["Partisipasi_sekolah"] == "1"]
    assert pupils["Umur"].between(7, 24).all()
    assert (pupils.loc[pupils["Umur"] <= 12, "Jenjang_sekolah"].isin(["1", "2", "3"])).all()
    working = m["Sta_bekerja"] == "1"
    for column in ("Jumlah_jamkerja", "Lapangan_usaha", "Status_pekerjaan"):
        assert (m[column].notna() == working).all(), column
    assert (m.loc[age < 10, "Sta_bekerja"] == "2").all()
    assert (m["Jenis_cacat"] == "0").mean() > 0.9
    assert (m.loc[m["Sta_kawin"] != "1", "Umur"] >= 16).all()


# ---------------------------------------------------------------------------- marginals


def test_marginals_within_stated_bounds(reg):
    h, truth = reg["households"], reg["truth"]
    # Sulawesi Selatan about 3.9 today; the record misses the children born since
    assert 3.5 <= h["Jumlah_ART"].mean() <= 4.2
    assert 0.20 <= truth["poor"].mean() <= 0.30  # the poor among DTKS households
    assert 0.02 <= (h["Lantai"] == "9").mean() <= 0.10
    assert 0.90 <= (h["Sumber_penerangan"] == "1").mean() <= 0.98
    assert 0.7 <= (reg["members"].groupby("IDBDT")["Jnskel"].first() == "1").mean() <= 0.95


def test_poor_is_welfare_below_the_area_poverty_line(reg):
    areas = reg["areas"].set_index(["KDKEC", "KDDESA"])["Klasifikasi"]
    h = reg["households"].join(areas, on=["KDKEC", "KDDESA"]).merge(reg["truth"], on="IDBDT")
    line = np.where(h["Klasifikasi"] == "1", POVERTY_LINES["urban"], POVERTY_LINES["rural"])
    assert (h["poor"] == (h["welfare_pc"] < line).astype(int)).all()


def test_percentile_and_desil_come_from_one_rank(reg):
    merged = reg["households"].merge(reg["siksng"], on="IDBDT")
    assert (merged["desil"] == (merged["Percentile"] - 1) // 10 + 1).all()
    assert merged["desil"].value_counts().eq(2_000).all()
    assert set(reg["siksng"]["periode"]) == {"2024-06"}
    # the official PMT ranks the poor lower, but far from perfectly
    by_poor = merged.merge(reg["truth"], on="IDBDT").groupby("poor")["Percentile"].mean()
    assert by_poor[1] + 15 < by_poor[0]


# ----------------------------------------------------------------------------- SIKS-NG


def _has_pkh_component(members: pd.DataFrame) -> pd.Series:
    """Written again here from DESIGN §2, independently of synth's helper."""
    age = members["Umur"]
    level = pd.to_numeric(members["Jenjang_sekolah"]).fillna(0)
    diploma = members["Ijazah_tertinggi"].astype(int)
    component = (
        (age <= 6)
        | (members["Sta_hamil"] == "1").fillna(False)
        | ((members["Partisipasi_sekolah"] == "1") & level.between(1, 9))
        | (age.between(6, 21) & ~members["Hub_KRT"].isin(["1", "2"]) & (diploma < 3))
        | members["Jenis_cacat"].isin(["6", "7", "8", "9", "10", "12"])
        | (age >= 60)
    )
    return component.groupby(members["IDBDT"]).any()


def test_siksng_exclusion_error_is_calibrated(reg):
    truth = reg["truth"].set_index("IDBDT")
    target = (truth["poor"] == 1) & (truth["eligible_now"] == 1)
    selected = reg["siksng"].set_index("IDBDT")["pkh_eligible"].reindex(truth.index) == 1
    exclusion = (target & ~selected).sum() / target.sum()
    inclusion = (selected & ~target).sum() / selected.sum()
    errors = reg["metadata"]["siksng_errors"]
    assert exclusion == pytest.approx(errors["exclusion_error"])
    assert inclusion == pytest.approx(errors["inclusion_error"])
    assert 0.45 <= exclusion <= 0.55  # Alatas et al. (2012): 0.52
    assert errors["selected"] == 4_200 and errors["target"] == target.sum()


def test_siksng_selects_by_the_recorded_member_file(reg):
    """Default profile: the quota is filled among households with a PKH component by the
    member file as recorded, which differs from today's (truth's eligible_now)."""
    truth = reg["truth"].set_index("IDBDT")
    recorded = _has_pkh_component(reg["members"]).reindex(truth.index)
    selected = reg["siksng"].set_index("IDBDT")["pkh_eligible"].reindex(truth.index) == 1
    assert recorded[selected].all()
    differs = (recorded != (truth["eligible_now"] == 1)).mean()
    assert 0.02 < differs < 0.3


def test_calibration_holds_across_seeds():
    for seed in (1, 11):
        errors = make_registry(20_000, seed=seed)["metadata"]["siksng_errors"]
        assert 0.45 <= errors["exclusion_error"] <= 0.55, seed


def test_without_handicaps_siksng_errs_less():
    noisy = make_registry(5_000, seed=4)["metadata"]["siksng_errors"]
    fair = make_registry(5_000, seed=4, params=SynthParameters.named("no_handicaps"))
    assert fair["metadata"]["siksng_errors"]["exclusion_error"] < noisy["exclusion_error"] - 0.05


# --------------------------------------------------------------------------------- CLI


def test_cli_writes_a_registry_and_reports_errors(tmp_path):
    result = CliRunner().invoke(
        app, ["data", "synth", "--out", str(tmp_path), "--households", "500", "--seed", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "exclusion error" in result.output and str(tmp_path) in result.output
    meta = json.loads((tmp_path / "metadata.json").read_text())
    assert meta["counts"]["households"] == 500 and meta["seed"] == 1
    assert (tmp_path / "prelist_members.parquet").exists()
    assert meta["parameters"]["profile"] == "default"


def test_cli_profile_switches_off_the_handicaps(tmp_path):
    args = ["data", "synth", "--out", str(tmp_path), "--households", "300"]
    result = CliRunner().invoke(app, [*args, "--profile", "no_handicaps"])
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "metadata.json").read_text())
    assert meta["parameters"]["profile"] == "no_handicaps"
    assert meta["parameters"]["pmt_noise"] == 0 and not meta["parameters"]["stale_eligibility"]
    bad = CliRunner().invoke(app, [*args, "--profile", "fair"])
    assert bad.exit_code != 0 and "no_handicaps" in bad.output


def test_cli_rejects_an_unknown_format(tmp_path):
    result = CliRunner().invoke(app, ["data", "synth", "--out", str(tmp_path), "--format", "xls"])
    assert result.exit_code != 0
    assert "parquet" in result.output and "csv" in result.output
