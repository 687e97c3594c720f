"""Features: hand-computed member aggregates and PKH components, invariants, no leakage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slrt_ml.data.codebook import CodebookError, get_codebook
from slrt_ml.features import (
    CATEGORICAL_FEATURES,
    FEATURES,
    FORBIDDEN_COLUMNS,
    MISSING_CATEGORY,
    NUMERIC_FEATURES,
    SEVERE_DISABILITY_CODES,
    FeatureError,
    area_features,
    describe_answer,
    household_features,
    member_aggregates,
    pkh_components,
)

CB = get_codebook()
MEMBER_CODES = ["Hub_KRT", "Jnskel", "Sta_kawin", "Sta_hamil", "Jenis_cacat", "Penyakit_kronis",
                "Partisipasi_sekolah", "Jenjang_sekolah", "Ijazah_tertinggi", "Sta_bekerja",
                "Lapangan_usaha", "Status_pekerjaan"]  # fmt: skip


def member(idbdt, no, hub, sex, age, **answers):
    """One member row; by default an adult not in school, not working, no disability."""
    row = {"IDBDT": idbdt, "NoART": no, "NIK": f"73110{no:011d}", "Hub_KRT": hub, "Jnskel": sex,
           "Umur": age, "Sta_kawin": "2", "Sta_hamil": "2" if sex == "2" else pd.NA,
           "Jenis_cacat": "0", "Penyakit_kronis": "0", "Partisipasi_sekolah": "2",
           "Jenjang_sekolah": "7", "Ijazah_tertinggi": "3", "Sta_bekerja": "2",
           "Jumlah_jamkerja": pd.NA, "Lapangan_usaha": pd.NA, "Status_pekerjaan": pd.NA}  # fmt: skip
    row.update(answers)
    return row


def pupil(idbdt, no, age, level, sex="1"):
    return member(
        idbdt,
        no,
        "3",
        sex,
        age,
        Sta_kawin="1",
        Partisipasi_sekolah="1",
        Jenjang_sekolah=level,
        Ijazah_tertinggi="0",
    )


def child(idbdt, no, age):
    return member(
        idbdt,
        no,
        "3",
        "1",
        age,
        Sta_kawin="1",
        Partisipasi_sekolah="0",
        Jenjang_sekolah=pd.NA,
        Ijazah_tertinggi="0",
    )


def members_frame(rows):
    frame = pd.DataFrame(rows)
    for column in ["IDBDT", "NIK", *MEMBER_CODES]:
        frame[column] = frame[column].astype("string")
    for column in ["NoART", "Umur"]:
        frame[column] = frame[column].astype("int64")
    frame["Jumlah_jamkerja"] = frame["Jumlah_jamkerja"].astype("Int64")
    return frame


WORKER = {"Sta_bekerja": "1", "Jumlah_jamkerja": 40, "Lapangan_usaha": "1", "Status_pekerjaan": "1"}

# H1: couple, pregnant wife, toddler, SD and SMP pupils.
# H2: widow aged 65 (single physical disability), grandson 17 out of school without an
#     SMA diploma and with an intellectual disability (severe).
# H3: seven components, only the four highest-value paid.
# H5: nobody coded as head: the oldest member is taken as head.
MEMBERS = [
    member("H1", 1, "1", "1", 40, **WORKER),
    member("H1", 2, "2", "2", 38, Sta_hamil="1", Ijazah_tertinggi="2"),
    child("H1", 3, 3),
    pupil("H1", 4, 8, "1", sex="2"),
    pupil("H1", 5, 14, "4"),
    member("H2", 1, "1", "2", 65, Sta_kawin="4", Jenis_cacat="1", Ijazah_tertinggi="0"),
    member("H2", 2, "5", "1", 17, Sta_kawin="1", Ijazah_tertinggi="2", Jenis_cacat="10"),
    member("H3", 1, "1", "1", 45, **WORKER),
    member("H3", 2, "2", "2", 41, Sta_hamil="1"),
    child("H3", 3, 1),
    child("H3", 4, 5),
    pupil("H3", 5, 10, "3"),
    pupil("H3", 6, 13, "6"),
    member("H3", 7, "6", "2", 80, Sta_kawin="4", Ijazah_tertinggi="0"),
    member("H5", 1, "8", "1", 30, **WORKER),
    member("H5", 2, "8", "2", 50, Penyakit_kronis="5"),
]


def household(idbdt, **answers):
    """One household row: valid codes everywhere, every asset answered 'no' with its own pair."""
    row = {c: "1" for c, spec in CB.household.items() if spec.kind == "code"}
    row.update({c: spec.yes_no[1] for c, spec in CB.household.items() if spec.kind == "yes_no"})
    row.update(IDBDT=idbdt, KDPROP="73", KDKAB="11", KDKEC="010", KDDESA="001", Jumlah_ART=3,
               Jumlah_Keluarga=1, Luas_lantai=40.0, Jumlah_kamar=2, Luas_atb=0.0,
               Jumlah_sapi=0, Jumlah_kerbau=0, Jumlah_kuda=0, Jumlah_babi=0, Jumlah_kambing=0,
               Percentile=5, Sta_pkh="1", Sta_kks="1")  # fmt: skip
    row.update(answers)
    return row


def households_frame(rows):
    frame = pd.DataFrame(rows)
    for column, spec in CB.household.items():
        if spec.kind in ("id", "area", "code", "yes_no"):
            frame[column] = frame[column].astype("string")
        elif spec.kind == "count":
            frame[column] = frame[column].astype("int64")
        else:
            frame[column] = frame[column].astype("float64")
    return frame


HOUSEHOLDS = [
    household("H1", Jumlah_ART=5, Lantai="9", Ada_lemari_es="3", Ada_tv="1", Jumlah_sapi=2),
    household("H2", Jumlah_ART=2, KDKEC="020"),
    household("H3", Jumlah_ART=7, KDKAB="12", KDKEC="010"),
    household("H4", Jumlah_ART=4),
    household("H5", Jumlah_ART=2),
]
AREAS = pd.DataFrame({
    "KDPROP": ["73"] * 3, "KDKAB": ["11", "11", "12"], "KDKEC": ["010", "020", "010"],
    "KDDESA": ["001"] * 3, "NMKEC": ["A", "B", "C"], "NMDESA": ["a", "b", "c"],
    "Klasifikasi": ["1", "2", "2"]}, dtype="string")  # fmt: skip


@pytest.fixture
def members():
    return members_frame(MEMBERS)


@pytest.fixture
def households():
    return households_frame(HOUSEHOLDS)


def row(frame, idbdt, columns):
    return frame.loc[idbdt, columns].astype(float).tolist()


# ----------------------------------------------------------------------------- members
def test_member_aggregates_hand_computed(members):
    agg = member_aggregates(members)
    assert agg.index.tolist() == ["H1", "H2", "H3", "H5"]
    cols = ["n_art", "n_usia_kerja", "rasio_ketergantungan", "n_anak_0_6", "n_anak_sd",
            "n_anak_smp", "n_hamil", "share_hamil", "n_bekerja", "pekerja_per_art",
            "n_anak_tidak_sekolah", "ijazah_tertinggi_art"]  # fmt: skip
    # H1: ages 40, 38, 3, 8, 14 -> 3 under 15, 2 aged 15-64; wife pregnant; head works
    assert row(agg, "H1", cols) == pytest.approx([5, 2, 1.5, 1, 1, 1, 1, 0.2, 1, 0.2, 0, 3])
    # H2: ages 65 and 17 -> 1 dependant per working-age member; the 17-year-old left school
    cols2 = [
        "n_lansia",
        "n_anak_sma",
        "n_disabilitas",
        "rasio_ketergantungan",
        "n_anak_tidak_sekolah",
        "krt_perempuan",
        "krt_umur",
        "krt_ijazah",
        "krt_bekerja",
        "ijazah_tertinggi_art",
    ]
    assert row(agg, "H2", cols2) == [1, 1, 2, 1, 1, 1, 65, 0, 0, 2]


def test_head_characteristics(members):
    agg = member_aggregates(members)
    assert row(
        agg, "H1", ["krt_perempuan", "krt_umur", "krt_ijazah", "krt_bekerja", "krt_jam_kerja"]
    ) == [0, 40, 3, 1, 40]
    assert agg.loc["H1", "krt_lapangan_usaha"] == "1"
    assert agg.loc["H2", "krt_status_kawin"] == "4"
    assert agg.loc["H2", "krt_lapangan_usaha"] == MISSING_CATEGORY  # head does not work


def test_head_falls_back_to_oldest_member(members):
    agg = member_aggregates(members)
    assert row(agg, "H5", ["krt_perempuan", "krt_umur", "n_penyakit_kronis"]) == [1, 50, 1]


def test_dependency_ratio_without_working_age_member():
    frame = members_frame([member("E", 1, "1", "1", 70), member("E", 2, "2", "2", 68)])
    assert member_aggregates(frame).loc["E", "rasio_ketergantungan"] == 2.0  # 2 / max(0, 1)


# ----------------------------------------------------------------------------- PKH
COMPONENTS = ["comp_hamil", "comp_usia_dini", "comp_sd", "comp_smp", "comp_sma",
              "comp_disabilitas_berat", "comp_lansia", "n_components", "has_component",
              "pkh_entitlement"]  # fmt: skip


def test_pkh_components_hand_computed(members):
    comp = pkh_components(members)
    assert row(comp, "H1", COMPONENTS) == [1, 1, 1, 1, 0, 0, 0, 4, 1, 3.0e6 + 3.0e6 + 0.9e6 + 1.5e6]
    # grandson 17 out of school without SMA diploma -> SMA component; code 10 is severe,
    # the widow's single physical disability (code 1) is not
    assert row(comp, "H2", COMPONENTS) == [0, 0, 0, 0, 1, 1, 1, 3, 1, 2.0e6 + 2.4e6 + 2.4e6]
    assert row(comp, "H5", COMPONENTS) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]


def test_at_most_four_highest_value_components_are_paid(members):
    comp = pkh_components(members)
    # pregnant 3.0M, two toddlers 2 x 3.0M, elderly 2.4M | SMP 1.5M, SD 0.9M not paid
    assert row(comp, "H3", COMPONENTS) == [1, 2, 1, 1, 0, 0, 1, 6, 1, 11.4e6]


def test_elderly_threshold_60_or_70(members):
    at_60 = pkh_components(members)
    at_70 = pkh_components(members, elderly_age=70)
    assert at_60.loc["H2", "comp_lansia"] == 1 and at_70.loc["H2", "comp_lansia"] == 0  # aged 65
    assert at_70.loc["H2", "pkh_entitlement"] == 4.4e6
    assert at_60.loc["H3", "comp_lansia"] == at_70.loc["H3", "comp_lansia"] == 1  # aged 80


def test_household_features_pass_the_elderly_threshold(households, members):
    at_70 = household_features(households, members, elderly_age=70)
    assert at_70.loc["H2", ["comp_lansia", "n_lansia", "pkh_entitlement"]].tolist() == [0, 1, 4.4e6]


@pytest.mark.parametrize("code", [str(c) for c in range(13)])
def test_severe_disability_codes(code):
    frame = members_frame([member("D", 1, "1", "1", 40, Jenis_cacat=code)])
    comp = pkh_components(frame)
    expected = 1.0 if code in SEVERE_DISABILITY_CODES else 0.0
    assert comp.loc["D", "comp_disabilitas_berat"] == expected
    assert comp.loc["D", "pkh_entitlement"] == expected * 2.4e6
    assert member_aggregates(frame).loc["D", "n_disabilitas"] == (code != "0")


def test_each_child_counts_under_one_school_or_age_component():
    frame = members_frame([
        pupil("K", 1, 6, "1"),  # six-year-old SD pupil: SD, not usia dini
        child("K", 2, 6),  # six, not in school: usia dini
        pupil("K", 3, 20, "10"),  # university student: no component
        member("K", 4, "3", "1", 22, Partisipasi_sekolah="2", Ijazah_tertinggi="2"),  # over 21
        member("K", 5, "3", "1", 19, Partisipasi_sekolah="2", Ijazah_tertinggi="3"),  # SMA diploma
        member("K", 6, "3", "1", 12, Partisipasi_sekolah="0", Ijazah_tertinggi="0"),  # wajib belajar
    ])  # fmt: skip
    comp = pkh_components(frame)
    assert row(comp, "K", COMPONENTS[:7]) == [0, 1, 1, 0, 1, 0, 0]


def test_wajib_belajar_counts_children_not_a_young_head_or_spouse():
    frame = members_frame([
        member("Y", 1, "1", "1", 21, Partisipasi_sekolah="2", Ijazah_tertinggi="2"),
        member("Y", 2, "2", "2", 19, Partisipasi_sekolah="2", Ijazah_tertinggi="1"),
        member("Y", 3, "4", "1", 19, Partisipasi_sekolah="2", Ijazah_tertinggi="1"),  # child-in-law
    ])  # fmt: skip
    assert pkh_components(frame).loc["Y", "comp_sma"] == 1


# ----------------------------------------------------------------------------- households
def test_household_features_shape_dtypes_and_no_nan(households, members):
    features = household_features(households, members, AREAS)
    assert features.index.tolist() == ["H1", "H2", "H3", "H4", "H5"]
    assert features.index.name == "IDBDT"
    assert set(features.columns) == set(FEATURES)
    for name in features.columns:
        expected = "string" if name in CATEGORICAL_FEATURES else "float32"
        assert str(features[name].dtype) == expected, name
    assert not features[list(NUMERIC_FEATURES)].isna().any().any()
    assert not features[list(CATEGORICAL_FEATURES)].isna().any().any()


def test_household_without_members_is_kept_and_filled(households, members):
    h4 = household_features(households, members).loc["H4"]
    assert h4["art_tidak_tercatat"] == 1 and h4["n_art"] == 4  # size from Jumlah_ART
    assert h4[
        ["n_anak_sd", "share_lansia", "krt_umur", "n_components", "pkh_entitlement"]
    ].tolist() == [0, 0, 0, 0, 0]
    assert h4["krt_status_kawin"] == MISSING_CATEGORY
    assert h4["luas_lantai_per_kapita"] == 10.0  # 40 m2 / 4 members


def test_empty_member_file_keeps_every_household(households, members):
    features = household_features(households, members.iloc[:0])
    assert features["n_art"].tolist() == [5, 2, 7, 4, 2]  # Jumlah_ART
    assert (features["art_tidak_tercatat"] == 1).all() and (features["has_component"] == 0).all()
    assert not features.isna().any().any()
    assert household_features(households.iloc[:0], members).shape == (0, len(FEATURES) - 1)


def test_housing_and_assets(households, members):
    features = household_features(households, members)
    h1 = features.loc["H1"]
    assert h1["luas_lantai_per_kapita"] == 8.0  # 40 m2 / 5 members on the member file
    assert h1["kualitas_lantai"] == 0 and h1["jenis_lantai"] == "9"
    assert h1[["punya_lemari_es", "punya_tv", "punya_mobil", "n_aset"]].tolist() == [1, 1, 0, 2]
    assert h1["ternak_tlu"] == pytest.approx(1.4)
    assert features.loc[
        "H2", ["kualitas_lantai", "listrik_pln", "daya_watt", "n_aset"]
    ].tolist() == [2, 1, 450, 0]


@pytest.mark.parametrize("item", ["Ada_lemari_es", "Ada_tv"])  # a 3/4 item and a 1/2 item
def test_yes_no_trap_both_code_pairs_decode(households, members, item):
    households[item] = pd.array(["1", "2", "3", "4", "3"], dtype="string")
    stem = {"Ada_lemari_es": "punya_lemari_es", "Ada_tv": "punya_tv"}[item]
    assert household_features(households, members)[stem].tolist() == [1, 0, 1, 0, 1]


def test_yes_no_bad_code_names_the_column(households, members):
    households["Ada_kapal"] = pd.array(["2", "5", "2", "2", "2"], dtype="string")
    with pytest.raises(CodebookError, match=r"Ada_kapal: 1 value\(s\) are not yes/no codes.*'5'"):
        household_features(households, members)


def test_area_codes_are_unique_across_kabupaten_and_urban_from_areas(households, members):
    features = household_features(households, members, AREAS)
    assert features["kabupaten"].tolist() == ["7311", "7311", "7312", "7311", "7311"]
    assert features["kecamatan"].tolist() == ["7311010", "7311020", "7312010", "7311010", "7311010"]
    assert features["perkotaan"].tolist() == [1, 0, 0, 1, 1]
    assert "perkotaan" not in household_features(households, members).columns


def test_household_in_unknown_desa_is_an_error(households):
    with pytest.raises(FeatureError, match=r"1 desa of the households are missing.*7311020001"):
        area_features(households, AREAS.iloc[[0, 2]])


# ----------------------------------------------------------------------------- no leakage
def test_forbidden_columns_never_enter_features(households, members):
    siksng_and_truth = {
        "pkh_eligible": 1,
        "desil": 1,
        "periode": "2024-01",
        "welfare_pc": 1e5,
        "poor": 1,
    }
    baseline = household_features(households.assign(**siksng_and_truth), members, AREAS)
    altered = households.copy()
    for column in ["Sta_kks", "Sta_kip", "Sta_kis", "Sta_pkh", "Sta_rastra"]:
        altered[column] = "bad code"
    altered["Percentile"] = [99, 1, 50, 7, 3]
    altered = altered.assign(pkh_eligible=0, desil=10, welfare_pc=9e9, poor=0, periode="x")
    changed_members = members.assign(NIK="0000000000000000", poor=0)
    pd.testing.assert_frame_equal(household_features(altered, changed_members, AREAS), baseline)
    dropped = households.drop(columns=["Percentile", "Sta_pkh"])
    pd.testing.assert_frame_equal(
        household_features(dropped, members.drop(columns="NIK"), AREAS), baseline
    )


def test_no_feature_is_built_from_a_forbidden_column():
    for name, info in FEATURES.items():
        assert not set(info.items) & FORBIDDEN_COLUMNS, name
        assert name not in FORBIDDEN_COLUMNS


def test_every_feature_names_real_questionnaire_items():
    known = {c for table in ("household", "member", "area") for c in CB.table(table)}
    for name, info in FEATURES.items():
        assert info.items and set(info.items) <= known, name
        assert info.label and info.kind in ("numeric", "binary", "categorical"), name


# ----------------------------------------------------------------------------- invariants
def test_row_order_does_not_change_features(households, members):
    expected = household_features(households, members, AREAS)
    shuffled = household_features(
        households.sample(frac=1, random_state=3), members.sample(frac=1, random_state=4), AREAS
    )
    pd.testing.assert_frame_equal(shuffled.loc[expected.index], expected)


def test_deterministic(households, members):
    first = household_features(households, members, AREAS)
    pd.testing.assert_frame_equal(household_features(households, members, AREAS), first)


def test_members_of_unknown_households_are_ignored(households, members):
    orphan = members_frame([member("ZZ", 1, "1", "1", 30)])
    expected = household_features(households, members)
    pd.testing.assert_frame_equal(
        household_features(households, pd.concat([members, orphan])), expected
    )


def test_missing_column_and_bad_code_errors(households, members):
    with pytest.raises(FeatureError, match=r"members: missing column\(s\) \['Umur'\]"):
        household_features(households, members.drop(columns="Umur"))
    members.loc[0, "Jenis_cacat"] = "13"
    with pytest.raises(FeatureError, match=r"Jenis_cacat: 1 value\(s\) not in the code list.*'13'"):
        pkh_components(members)
    with pytest.raises(FeatureError, match=r"IDBDT must be unique.*'H1'"):
        household_features(pd.concat([households, households.iloc[[0]]]), members)


# ----------------------------------------------------------------------------- describing
@pytest.mark.parametrize(
    ("feature", "value", "text"),
    [
        ("n_anak_sd", 3, "3 anak usia SD"),
        ("punya_lemari_es", 0, "Tidak punya lemari es"),
        ("punya_lemari_es", 1.0, "Punya lemari es"),
        ("jenis_lantai", "9", "Lantai: tanah"),
        ("sumber_air_minum", "3", "Sumber air minum: leding meteran"),
        ("krt_ijazah", 1.0, "Ijazah kepala rumah tangga: SD/sederajat"),
        ("krt_lapangan_usaha", MISSING_CATEGORY, "Lapangan usaha kepala rumah tangga: tidak ada"),
        ("luas_lantai_per_kapita", 7.5, "Luas lantai 7,5 m2 per anggota"),
        ("kecamatan", "7311010", "Kecamatan: 7311010"),
    ],
)
def test_describe_answer(feature, value, text):
    assert describe_answer(feature, value) == text


def test_describe_every_feature_value(households, members):
    features = household_features(households, members, AREAS)
    for name in features.columns:
        assert describe_answer(name, features.loc["H1", name])


def test_describe_unknown_feature_or_code():
    with pytest.raises(FeatureError, match="unknown feature 'lantai'"):
        describe_answer("lantai", 1)
    with pytest.raises(FeatureError, match=r"jenis_lantai: Lantai: code '11' is not in"):
        describe_answer("jenis_lantai", "11")


def test_feature_columns_are_numpy_friendly(households, members):
    features = household_features(households, members, AREAS)
    assert features[list(NUMERIC_FEATURES)].to_numpy().dtype == np.float32


# ----------------------------------------------------------------------------- synthetic registry
@pytest.fixture(scope="module")
def registry():
    from slrt_ml.data.synth.generator import make_registry

    return make_registry(1500, seed=2)


def test_synthetic_registry_features(registry):
    households, members = registry["households"], registry["members"]
    features = household_features(households, members, registry["areas"])
    assert features.index.tolist() == households["IDBDT"].tolist()
    assert not features.isna().any().any()
    sizes = members.groupby("IDBDT").size().reindex(features.index, fill_value=0)
    np.testing.assert_array_equal(features["n_art"].to_numpy(), sizes.to_numpy())
    assert (features["has_component"] == (features["n_components"] > 0)).all()
    assert features["pkh_entitlement"].max() <= 4 * 3.0e6


def test_pkh_target_agrees_with_the_generator(registry):
    """The generator draws PKH components with its own code: SIKS-NG fills its quota among
    households with a component by the (recorded) member file; the target uses today's."""
    features = household_features(registry["households"], registry["members"])
    truth = registry["truth"].set_index("IDBDT").reindex(features.index)
    target = int(((truth["poor"] == 1) & (truth["eligible_now"] == 1)).sum())
    assert target == registry["metadata"]["siksng_errors"]["target"]
    selected = registry["siksng"].set_index("IDBDT")["pkh_eligible"].reindex(features.index)
    assert (features.loc[selected == 1, "has_component"] == 1).all()


def test_synthetic_program_flags_and_percentile_are_ignored(registry):
    households, members = registry["households"], registry["members"]
    expected = household_features(households, members)
    shuffled = households.copy()
    rng = np.random.default_rng(0)
    for column in ["Percentile", "Sta_kks", "Sta_kip", "Sta_kis", "Sta_pkh", "Sta_rastra"]:
        shuffled[column] = rng.permutation(shuffled[column].to_numpy())
    pd.testing.assert_frame_equal(household_features(shuffled, members), expected)


def test_two_members_coded_as_head_the_older_is_taken():
    frame = members_frame([member("T", 1, "1", "1", 30), member("T", 2, "1", "2", 60),
                           member("T", 3, "3", "1", 70)])  # fmt: skip
    assert row(member_aggregates(frame), "T", ["krt_umur", "krt_perempuan"]) == [60, 1]
