"""Registry records: one row per household with a JSON members column, and back."""

from __future__ import annotations

import types

import pandas as pd
import pytest
from tracking_data import make_registry  # tests/ is on sys.path

from slrt_ml.data.records import records_to_tables, registry_records


@pytest.fixture(scope="module")
def registry() -> types.SimpleNamespace:
    return make_registry()


def test_registry_records_drop_nik_and_round_trip(registry):
    records = registry_records(registry.households, registry.members)
    assert len(records) == len(registry.households) and "NIK" not in records["members"].iloc[0]
    households, members = records_to_tables(records)
    assert len(members) == len(registry.members) and "NIK" not in members.columns
    assert members["Umur"].dtype == "int64" and members["Jumlah_jamkerja"].dtype == "Int64"
    assert households["Lantai"].dtype == "string" and households["Luas_lantai"].dtype == "float64"
    expected = (
        registry.members.drop(columns="NIK").sort_values(["IDBDT", "NoART"]).reset_index(drop=True)
    )
    pd.testing.assert_series_equal(members["Umur"], expected["Umur"], check_dtype=False)


def test_row_order_of_members_does_not_change_the_records(registry):
    shuffled = registry.members.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(
        registry_records(registry.households, shuffled),
        registry_records(registry.households, registry.members),
    )


def test_household_without_members_gets_an_empty_list():
    households = pd.DataFrame({"IDBDT": ["H1", "H2"], "Lantai": ["9", "2"]})
    members = pd.DataFrame({"IDBDT": ["H1"], "NoART": [1], "Umur": [41]})
    records = registry_records(households, members)
    assert records["members"].tolist() == ['[{"NoART": 1, "Umur": 41}]', "[]"]
    _, back = records_to_tables(records)
    assert back["IDBDT"].tolist() == ["H1"]


def test_records_without_members_column_name_the_fix():
    with pytest.raises(KeyError, match="registry_records"):
        records_to_tables(pd.DataFrame({"IDBDT": ["H1"]}))


def test_tables_without_idbdt_are_refused():
    with pytest.raises(KeyError, match="IDBDT"):
        registry_records(pd.DataFrame({"Lantai": ["9"]}), pd.DataFrame({"IDBDT": ["H1"]}))
