"""The optional ``names:`` section of a dataset mapping: the report's words for the data."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from slrt_ml.data.mapping import MappingError, NamesSpec, mapping_digest, mapping_from_dict
from slrt_ml.pipeline.report_inputs import report_names

BASE = {"name": "toy", "id": "hh", "label": "poor", "reference": {"name": "pmt", "selected": "r"}}


def _mapping(names):
    return mapping_from_dict({**BASE, "names": names}, source="toy.yaml")


def test_names_are_read_and_default_to_nothing():
    mapping = _mapping({"title": "Survey X: models and the PMT", "id": "household id",
                        "cluster": "village", "areas": {"KDKEC": "district"}})  # fmt: skip
    assert mapping.names == NamesSpec(title="Survey X: models and the PMT", id="household id",
                                      cluster="village", areas={"KDKEC": "district"})  # fmt: skip
    assert mapping_from_dict(BASE).names == NamesSpec()


@pytest.mark.parametrize(
    ("names", "message"),
    [
        ({"titel": "x"}, "toy.yaml: unknown key 'names.titel'; known keys: title, id"),
        (
            {"areas": {"KDDESA": "village"}},
            r"names.areas names unknown area level\(s\) \['KDDESA'\]",
        ),
        ({"title": 3}, r"1 name\(s\) are not text, e.g. \[\('names.title', 3\)\]"),
        ({"areas": {"KDKEC": " "}}, r"names.areas.KDKEC"),
        (["title"], "'names' must be a mapping"),
    ],
)
def test_bad_names_are_refused_with_the_key_and_the_fix(names, message):
    with pytest.raises(MappingError, match=message):
        _mapping(names)


def test_names_are_wording_not_part_of_the_digest():
    plain = mapping_from_dict(BASE)
    named = dataclasses.replace(plain, names=NamesSpec(title="t", areas={"KDKAB": "province"}))
    assert mapping_digest(plain) == mapping_digest(named)


def test_report_names_come_from_the_mapping(tmp_path):
    path = tmp_path / "toy.yaml"
    path.write_text(
        "name: toy\nid: hh\nlabel: poor\nreference: {name: pmt, selected: r}\n"
        "names: {title: Toy survey, id: household, cluster: village, areas: {KDKEC: district}}\n"
    )
    names = report_names(SimpleNamespace(extra={"mapping": str(path)}))
    assert names.title == "Toy survey" and names.id_header == "household"
    assert names.level("KDKEC", "kecamatan") == "district"
    assert names.level("cluster", "desa") == "village"
    assert names.level("KDKAB", "kabupaten") == "kabupaten"  # not mapped: the default word


def test_without_names_the_report_uses_the_mappings_own_columns(tmp_path):
    path = tmp_path / "bare.yaml"
    path.write_text(
        "name: toy\nid: hh\nlabel: poor\nreference: {name: pmt, selected: r}\n"
        "areas: {KDKEC: region_zone}\n"
    )
    names = report_names(SimpleNamespace(extra={"mapping": str(path)}))
    assert names.title is None and names.id_header == "hh"
    assert names.level("KDKEC", "kecamatan") == "region_zone"
    assert names.level("cluster", "desa") == "household"  # each household its own cluster
