"""The data contract: one failing case per rule, all problems at once, NIK never shown."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from conftest import make_tiny_registry

from slrt_ml.data.schema import (
    SchemaError,
    validate_areas,
    validate_households,
    validate_members,
    validate_siksng,
    validate_truth,
)


def _problems(call, *args, **kwargs):
    with pytest.raises(SchemaError) as info:
        call(*args, **kwargs)
    return info.value


def _rule_of(error: SchemaError) -> set[tuple[str, str]]:
    return {(p.column, p.rule) for p in error.problems}


def test_tiny_registry_is_valid_and_gets_canonical_dtypes(tiny):
    households = validate_households(tiny.households)
    members = validate_members(tiny.members, tiny.households)
    assert households["KDKEC"].dtype == "string"
    assert households["Lantai"].dtype == "string"
    assert households["Jumlah_ART"].dtype == "int64"
    assert households["Luas_lantai"].dtype == "float64"
    assert members["Jumlah_jamkerja"].dtype == "Int64"
    assert members["Sta_hamil"].isna().any()
    assert validate_siksng(tiny.siksng)["pkh_eligible"].dtype == "int8"
    assert validate_truth(tiny.truth)["poor"].dtype == "int8"
    assert validate_areas(tiny.areas)["Klasifikasi"].tolist() == ["1", "2"]


@pytest.mark.parametrize(
    ("column", "value", "rule"),
    [
        ("Lantai", "11", "code list"),
        ("Ada_tv", "5", "code list"),
        ("Luas_lantai", 0.0, "range"),
        ("Jumlah_sapi", -1, "range"),
        ("Jumlah_kamar", 2.5, "whole number"),
        ("Luas_atb", "lots", "number"),
        ("KDKAB", "73.1", "area code format"),
        ("KDKEC", "7.3e1", "area code format"),
        ("KDPROP", "7", "area code format"),
        ("IDBDT", " ", "not empty"),
        ("Daya", None, "not empty"),
    ],
)
def test_each_household_rule_names_column_and_rule(tiny, column, value, rule):
    households = tiny.households.astype({column: object})
    households.loc[2, column] = value
    error = _problems(validate_households, households, file="households.csv")
    assert _rule_of(error) == {(column, rule)}
    assert re.search(rf"households.csv.*column {column}, rule '{rule}': 1 row", str(error), re.S)
    assert error.problems[0].hint


def test_area_codes_are_never_repaired(tiny):
    households = tiny.households.copy()
    households["KDKEC"] = pd.Series([10, 20, 10, 20, 10])  # numbers lost their leading zero
    error = _problems(validate_households, households)
    assert error.problems[0].examples[0] == ("7311000000", "10")
    assert "3-digit zero-padded" in error.problems[0].hint


def test_duplicated_idbdt_is_reported_with_both_rows(tiny):
    households = tiny.households.copy()
    households.loc[4, "IDBDT"] = households.loc[3, "IDBDT"]
    error = _problems(validate_households, households)
    assert _rule_of(error) == {("IDBDT", "unique")}
    assert error.problems[0].count == 2


def test_missing_required_column(tiny):
    error = _problems(validate_households, tiny.households.drop(columns=["Atap"]))
    assert _rule_of(error) == {("Atap", "required column")}
    assert "add the column Atap" in str(error)


def test_member_rules(tiny):
    members = tiny.members.astype({"Umur": object})
    members.loc[0, "Umur"] = 130
    members.loc[2, "Hub_KRT"] = "9"  # a spouse; the household keeps its head
    error = _problems(validate_members, members)
    assert _rule_of(error) == {("Umur", "range"), ("Hub_KRT", "code list")}
    assert re.search(r"column Umur, rule 'range'.*\[0, 120\]", str(error))


def test_member_without_household(tiny):
    members = tiny.members.copy()
    members.loc[members["IDBDT"] == "7311000004", "IDBDT"] = "9999999999"
    error = _problems(validate_members, members, tiny.households)
    assert ("IDBDT", "household exists") in _rule_of(error)
    assert "9999999999" in str(error)


def test_household_without_head_and_with_two_heads(tiny):
    members = tiny.members.copy()
    lost = (members["IDBDT"] == "7311000002") & (members["Hub_KRT"] == "1")
    members.loc[lost, "Hub_KRT"] = "8"
    members.loc[(members["IDBDT"] == "7311000003") & (members["NoART"] == 2), "Hub_KRT"] = "1"
    error = _problems(validate_members, members, tiny.households)
    assert _rule_of(error) == {("Hub_KRT", "one head per household")}
    assert error.problems[0].examples == [("7311000002", "0 heads"), ("7311000003", "2 heads")]


def test_head_rule_without_household_file(tiny):
    members = tiny.members.copy()
    members.loc[members["Hub_KRT"] == "1", "Hub_KRT"] = "2"
    error = _problems(validate_members, members)
    assert _rule_of(error) == {("Hub_KRT", "one head per household")}
    assert error.problems[0].count == 5  # one per household, not per member


def test_household_size_must_match_member_rows(tiny):
    households = tiny.households.copy()
    households.loc[1, "Jumlah_ART"] = 5  # household 1 has 2 member rows
    error = _problems(validate_members, tiny.members, households)
    assert _rule_of(error) == {("Jumlah_ART", "household size = member rows")}
    assert error.problems[0].examples == [("7311000001", "Jumlah_ART 5, 2 member rows")]


def test_duplicated_member_line(tiny):
    members = tiny.members.copy()
    members.loc[2, "NoART"] = 1  # household 1's second member becomes line 1 again
    error = _problems(validate_members, members)
    assert _rule_of(error) == {("NoART", "unique member line")}


NIK_CASES = [
    ("737102451290123", "NIK format"),  # 15 digits
    ("7371024512901234", "NIK sex"),  # day 45 = woman, Jnskel says man
    ("7371023512901234", "NIK birth date"),  # day 35 decodes to neither sex
    ("7371021513901234", "NIK birth date"),  # month 13
]


@pytest.mark.parametrize(("nik", "rule"), NIK_CASES)
def test_nik_rules_never_show_the_number(tiny, nik, rule):
    members = tiny.members.copy()
    members.loc[0, "NIK"] = nik  # the head of household 0, a man
    error = _problems(validate_members, members)
    assert _rule_of(error) == {("NIK", rule)}
    message = str(error)
    assert nik not in message and nik[6:] not in message
    assert error.problems[0].examples == [("7311000000 NoART 1", "737102" + "*" * (len(nik) - 6))]


def test_siksng_and_truth_rules(tiny):
    siksng = tiny.siksng.copy()
    siksng.loc[0, "pkh_eligible"] = 2
    siksng.loc[1, "desil"] = 11
    siksng.loc[2, "periode"] = "03/2024"
    error = _problems(validate_siksng, siksng)
    assert _rule_of(error) == {
        ("pkh_eligible", "flag 0/1"),
        ("desil", "range"),
        ("periode", "period format"),
    }
    truth = tiny.truth.copy()
    truth.loc[0, "welfare_pc"] = -1.0
    truth.loc[1, "poor"] = 3
    error = _problems(validate_truth, truth)
    assert _rule_of(error) == {("welfare_pc", "range"), ("poor", "flag 0/1")}


def test_area_rules(tiny):
    areas = tiny.areas.copy()
    areas.loc[0, "Klasifikasi"] = "3"
    areas.loc[1, "KDDESA"] = "1"
    error = _problems(validate_areas, areas)
    assert _rule_of(error) == {("Klasifikasi", "code list"), ("KDDESA", "area code format")}


def test_one_error_lists_every_problem_with_at_most_five_examples():
    registry = make_tiny_registry(12)
    households = registry.households.copy()
    households["Lantai"] = "11"
    households.loc[0, "Atap"] = "0"
    error = _problems(validate_households, households)
    assert _rule_of(error) == {("Lantai", "code list"), ("Atap", "code list")}
    lantai = next(p for p in error.problems if p.column == "Lantai")
    assert lantai.count == 12 and len(lantai.examples) == 5


def test_synthetic_registry_validates():
    from slrt_ml.data.synth.generator import make_registry

    registry = make_registry(households=300, seed=3)
    households = validate_households(registry["households"])
    validate_members(registry["members"], registry["households"])
    validate_areas(registry["areas"])
    validate_siksng(registry["siksng"])
    validate_truth(registry["truth"])
    validate_members(registry["prelist_members"], registry["prelist_households"])
    assert len(households) == 300
