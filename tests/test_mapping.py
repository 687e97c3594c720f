"""YAML -> typed dataset mapping: unknown keys, role rules, paths (slrt_ml.data.mapping)."""

from pathlib import Path

import pytest
from mapping_cases import raw_mapping

from slrt_ml.data.mapping import MappingError, load_mapping, mapping_digest, mapping_from_dict


def test_unknown_keys_are_rejected_by_name():
    with pytest.raises(MappingError, match="unknown key 'lable'"):
        mapping_from_dict(raw_mapping(lable="x"))
    with pytest.raises(MappingError, match=r"unknown key 'features.numerc'; known keys: numeric"):
        mapping_from_dict(raw_mapping(features={"numerc": ["rooms"]}))
    with pytest.raises(MappingError, match="unknown key 'reference.scor'"):
        mapping_from_dict(raw_mapping(reference={"scor": "pmt"}))


def test_mapping_rules_are_checked():
    with pytest.raises(MappingError, match="required keys missing: \\['id'\\]"):
        mapping_from_dict({"name": "toy", "label": "poor", "reference": {"fit": "pmt_ols"}})
    with pytest.raises(MappingError, match="map 'label'"):
        mapping_from_dict(raw_mapping(label=None))
    with pytest.raises(MappingError, match="needs a 'score' column"):
        mapping_from_dict(raw_mapping(reference={"name": "x"}))
    with pytest.raises(MappingError, match=r"feature columns \['pmt'\] .* must not see them"):
        mapping_from_dict(raw_mapping(features={"numeric": ["pmt"]}))
    with pytest.raises(
        MappingError, match="'rooms' is listed as features.numeric and features.binary"
    ):
        mapping_from_dict(raw_mapping(features={"numeric": ["rooms"], "binary": ["rooms"]}))
    with pytest.raises(MappingError, match=r"slice name\(s\) \['cluster'\] clash"):
        mapping_from_dict(raw_mapping(slices={"cluster": "tenure"}))


def test_load_mapping_resolves_the_table_relative_to_the_yaml(tmp_path: Path):
    folder = tmp_path / "configs"
    folder.mkdir()
    path = folder / "toy.yaml"
    path.write_text(
        "name: toy\nid: hh\nlabel: poor\ntable: ../data/hh.csv\n"
        "reference: {fit: pmt_ols}\nfeatures: {numeric: [rooms]}\n"
    )
    mapping = load_mapping(path)
    assert mapping.table == folder.resolve() / "../data/hh.csv"
    assert mapping.source == str(path)


def test_load_mapping_refuses_yaml_tags_and_names_the_file(tmp_path: Path):
    path = tmp_path / "evil.yaml"
    path.write_text("name: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(Exception, match="constructor"):
        load_mapping(path)
    path.write_text("name: toy\nid: hh\nlabel: poor\nreference: {fit: pmt_ols}\nweigth: size\n")
    with pytest.raises(MappingError, match=r"evil.yaml: unknown key 'weigth'"):
        load_mapping(path)


def test_survey_weight_is_its_own_role_distinct_from_persons():
    mapping = mapping_from_dict(raw_mapping(survey_weight="expansion"))
    assert mapping.survey_weight == "expansion" and mapping.weight == "size"
    assert mapping.columns_by_role()["expansion"] == "survey_weight"
    assert mapping_digest(mapping) != mapping_digest(mapping_from_dict(raw_mapping()))


def test_survey_weight_cannot_be_a_feature():
    features = {"numeric": ["rooms", "expansion"]}
    with pytest.raises(MappingError, match=r"\['expansion'\].*survey weight"):
        mapping_from_dict(raw_mapping(survey_weight="expansion", features=features))


def test_labels_name_feature_columns_and_their_codes():
    labels = {"columns": {"roof": "Atap", "rooms": "Jumlah kamar"},
              "values": {"roof": {1: "Genteng", "2": "Seng"}}}  # fmt: skip
    mapping = mapping_from_dict(raw_mapping(labels=labels))
    assert mapping.labels.columns == {"roof": "Atap", "rooms": "Jumlah kamar"}
    assert mapping.labels.values == {"roof": {"1": "Genteng", "2": "Seng"}}  # codes as text
    assert mapping_from_dict(raw_mapping()).labels.columns == {}
    # wording only: the digest of what the mapping means does not change
    assert mapping_digest(mapping) == mapping_digest(mapping_from_dict(raw_mapping()))


def test_labels_are_checked_by_name():
    with pytest.raises(MappingError, match=r"unknown key 'labels.colums'; known keys: columns"):
        mapping_from_dict(raw_mapping(labels={"colums": {"roof": "Atap"}}))
    with pytest.raises(MappingError, match=r"labels.columns names 1 column\(s\).*\['romos'\]"):
        mapping_from_dict(raw_mapping(labels={"columns": {"romos": "Kamar"}}))
    with pytest.raises(MappingError, match=r"labels.values names 1 column\(s\).*\['pmt'\]"):
        mapping_from_dict(raw_mapping(labels={"values": {"pmt": {1: "x"}}}))
    with pytest.raises(MappingError, match=r"1 label\(s\) are not text.*labels.values.roof.1"):
        mapping_from_dict(raw_mapping(labels={"values": {"roof": {1: 5}}}))
    with pytest.raises(MappingError, match="'labels.values.roof' must be a mapping"):
        mapping_from_dict(raw_mapping(labels={"values": {"roof": ["Genteng"]}}))
