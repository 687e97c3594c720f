"""Reading and typing a mapped household table (slrt_ml.data.mapped_table)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mapping_cases import raw_mapping, toy_table

from slrt_ml.data.io import read_table
from slrt_ml.data.mapped_table import mapped_features, mapped_rejects, read_mapped_table
from slrt_ml.data.mapping import MappingError, mapping_from_dict


def test_features_are_exactly_the_mapped_columns_typed_for_the_models():
    features = mapped_features(toy_table(), mapping_from_dict(raw_mapping()))
    assert features.columns.tolist() == ["rooms", "edu", "roof", "tv"]
    assert features.index.tolist() == ["101", "102", "103", "104"]
    assert features["edu"].tolist() == [1.0, 12.0, 0.0, 6.0]  # recode yes/no, then numbers
    assert str(features["roof"].dtype) == "string"
    assert features["rooms"].dtype == np.float32 and features["tv"].dtype == np.float32


def test_duplicate_household_ids_are_refused():
    with pytest.raises(MappingError, match=r"must be unique .* 1 duplicated, e.g. \['101'\]"):
        mapped_features(
            toy_table().assign(hh=[101, 101, 103, 104]), mapping_from_dict(raw_mapping())
        )


def test_survey_tables_read_na_as_missing_registry_tables_keep_it_as_text(tmp_path: Path):
    # A mapped table is a survey export (R writes NA for missing); in the PBDT registry
    # "NA" can be a real code or name, so only an empty cell is missing there.
    mapping = mapping_from_dict(raw_mapping(), source="toy.yaml")
    table = toy_table().astype({"roof": object, "rooms": object})
    table.loc[1, ["roof", "rooms"]] = "NA"
    table.loc[2, "roof"] = ""
    table.to_csv(tmp_path / "survey.csv", index=False)
    read = read_mapped_table(mapping, tmp_path / "survey.csv")
    assert read["roof"].isna().tolist() == [False, True, True, False]
    assert read["hh"].dtype == "string" and read["rooms"].dtype == np.float64
    features = mapped_features(read, mapping)
    assert np.isnan(features.loc["102", "rooms"]) and features["roof"].isna().sum() == 2

    pd.DataFrame({"IDBDT": ["NA", "7"], "NAMA": ["NA", ""]}).to_csv(
        tmp_path / "truth.csv", index=False
    )
    truth = read_table(tmp_path / "truth.csv", "truth")
    assert truth["IDBDT"].tolist()[0] == "NA" and truth["NAMA"].isna().tolist() == [False, True]


def test_csv_codes_keep_leading_zeros_and_the_delimiter_is_sniffed(tmp_path: Path):
    mapping = mapping_from_dict(raw_mapping())
    table = toy_table().assign(hh=["007", "008", "009", "010"])
    table.to_csv(tmp_path / "t.csv", index=False, sep=";")
    read = read_mapped_table(mapping, tmp_path / "t.csv")
    assert read["hh"].tolist() == ["007", "008", "009", "010"]
    assert read.columns.tolist() == table.columns.tolist()


def test_read_mapped_table_names_what_is_missing(tmp_path: Path):
    mapping = mapping_from_dict(raw_mapping(), source="toy.yaml")
    with pytest.raises(MappingError, match="toy.yaml: no household table given"):
        read_mapped_table(mapping)
    with pytest.raises(MappingError, match=r"nothere\.csv does not exist \(mapping toy.yaml\)"):
        read_mapped_table(mapping, tmp_path / "nothere.csv")
    (tmp_path / "t.json").write_text("{}")
    with pytest.raises(MappingError, match=r"must be \.csv, \.parquet or \.xlsx"):
        read_mapped_table(mapping, tmp_path / "t.json")


def test_rejects_name_each_bad_row_and_leave_good_rows_missing():
    mapping = mapping_from_dict(raw_mapping())
    table = toy_table().assign(rooms=[1, "two", 3, 2], village=[7, None, 8, 8])
    reasons = mapped_rejects(table, mapping)
    assert reasons.isna().tolist() == [True, False, True, True]
    assert reasons[1] == "village: missing (<missing>); rooms: not a number (two)"
