"""The targeting frame of a mapped table (slrt_ml.targeting.mapped)."""

import numpy as np
import pandas as pd
import pytest
from mapping_cases import fitted_mapping, raw_mapping, survey_table, toy_table

from slrt_ml.data.mapping import STANDARD_SLICES, MappingError, mapping_from_dict
from slrt_ml.targeting.labels import LabelError
from slrt_ml.targeting.mapped import coverage_quota, mapped_targeting_data

FRAME_COLUMNS = [
    "IDBDT",
    "cluster",
    "KDKAB",
    "KDKEC",
    "eligible",
    "eligible_now",
    "target",
    "poor",
    "welfare",
    "labelled",
    "survey_weight",
    "pkh_benefit",
    "persons",
    *STANDARD_SLICES,
]


def test_targeting_frame_in_mapping_mode():
    data = mapped_targeting_data(toy_table(), mapping_from_dict(raw_mapping()))
    frame = data.frame
    assert frame.columns.tolist() == [
        *FRAME_COLUMNS,
        "scorecard_selected",
        "scorecard_score",
        "tenure",
    ]
    assert frame["cluster"].tolist() == ["7", "7", "8", "8"]
    assert frame["KDKAB"].tolist() == ["A", "A", "B", "B"]
    assert frame["KDKEC"].tolist() == frame["cluster"].tolist()  # unmapped level = cluster
    assert frame["eligible"].tolist() == [1, 1, 1, 1]
    assert frame["poor"].tolist() == [1, 0, 0, 1]
    assert frame["target"].tolist() == frame["poor"].tolist()
    assert frame["persons"].tolist() == [5.0, 2.0, 3.0, 4.0]
    assert frame["female_head"].tolist() == [1, 0, 0, 1]
    assert frame["elderly_head"].tolist() == [0, 0, 0, 0]
    assert data.extra["unmapped_slices"] == ["elderly_head", "disabled_member"]
    assert data.extra["slices"] == ["tenure"]
    assert data.reference == "scorecard" and data.welfare_target is None


def test_reference_list_is_the_top_of_its_score_at_the_poor_share():
    frame = mapped_targeting_data(toy_table(), mapping_from_dict(raw_mapping())).frame
    # two poor households -> the two highest scores (0.9, 0.7) are selected
    assert frame["scorecard_selected"].tolist() == [1, 0, 0, 1]
    assert frame["scorecard_score"].tolist() == [0.9, 0.1, 0.5, 0.7]


def test_reference_score_where_lower_is_poorer_is_negated():
    raw = raw_mapping(
        reference={"name": "sc", "score": "pmt", "higher_is_poorer": False, "coverage": 1}
    )
    frame = mapped_targeting_data(toy_table(), mapping_from_dict(raw)).frame
    assert frame["sc_selected"].tolist() == [0, 1, 0, 0]


def test_reference_scores_argument_overrides_and_must_cover_every_household():
    mapping = mapping_from_dict(raw_mapping())
    given = pd.Series([0.0, 3.0, 2.0, 1.0], index=["101", "102", "103", "104"])
    frame = mapped_targeting_data(toy_table(), mapping, reference_scores=given).frame
    assert frame["scorecard_selected"].tolist() == [0, 1, 1, 0]
    with pytest.raises(MappingError, match=r"miss 1 households, e.g. \['104'\]"):
        mapped_targeting_data(toy_table(), mapping, reference_scores=given.iloc[:3])


def test_coverage_quota_rules():
    poor = np.array([1, 0, 1, 0, 0, 0, 0, 0])
    assert coverage_quota("poor_share", poor) == 2
    assert coverage_quota(0.25, poor) == 2
    assert coverage_quota(3, poor) == 3
    with pytest.raises(MappingError, match="share in"):
        coverage_quota(-0.5, poor)


def test_missing_mapped_columns_are_all_named_with_their_role_and_file():
    table = toy_table().drop(columns=["rooms", "town"])
    with pytest.raises(MappingError) as err:
        mapped_targeting_data(table, mapping_from_dict(raw_mapping(), source="toy.yaml"))
    message = str(err.value)
    assert message.startswith("toy.yaml: 2 mapped column(s) missing")
    assert "'town' (slices.urban)" in message and "'rooms' (features.numeric)" in message


def test_label_outside_poor_values_is_named_with_examples():
    table = toy_table().assign(status=[1, 5, 3, 2])
    with pytest.raises(
        MappingError, match=r"'status' has values not listed in poor_values .*102: '5'"
    ):
        mapped_targeting_data(table, mapping_from_dict(raw_mapping()))


def test_label_that_is_not_0_1_asks_for_poor_values():
    with pytest.raises(
        MappingError,
        match=r"must be 0/1 .* 2 value\(s\) are not: \(id: value\) 102: 4, 103: 3; add 'poor_values'",
    ):
        mapped_targeting_data(
            toy_table().assign(status=[1, 4, 3, 0]),
            mapping_from_dict(raw_mapping(poor_values=None)),
        )


def test_bad_feature_values_are_named_with_examples():
    with pytest.raises(MappingError, match=r"'tv' is mapped as binary .* 103: 2"):
        mapped_targeting_data(toy_table().assign(tv=[0, 1, 2, 0]), mapping_from_dict(raw_mapping()))
    with pytest.raises(MappingError, match=r"'edu' is mapped as numeric .* 102: 'some'.*'recode'"):
        mapped_targeting_data(
            toy_table().assign(edu=["yes", "some", "no", "6"]), mapping_from_dict(raw_mapping())
        )


def test_welfare_and_poverty_line_give_label_and_log_ratio():
    raw = raw_mapping(label=None, poor_values=None, welfare="spend", poverty_line=100.0)
    table = toy_table().assign(spend=[50.0, 200.0, 100.0, 80.0])
    data = mapped_targeting_data(table, mapping_from_dict(raw))
    assert data.frame["poor"].tolist() == [1, 0, 0, 1]
    np.testing.assert_allclose(data.welfare_target.to_numpy(), np.log([0.5, 2.0, 1.0, 0.8]))
    assert data.frame["welfare"].tolist() == [50.0, 200.0, 100.0, 80.0]


def test_row_order_does_not_change_the_frame():
    mapping = mapping_from_dict(raw_mapping())
    a = mapped_targeting_data(toy_table(), mapping).frame
    b = mapped_targeting_data(toy_table().iloc[[2, 0, 3, 1]], mapping).frame
    b = b.set_index("IDBDT").loc[a["IDBDT"]].reset_index()
    pd.testing.assert_frame_equal(a, b)


def test_a_fitted_reference_needs_the_fitting_function():
    with pytest.raises(MappingError, match=r"reference.fit: pmt_ols .* pass fit_reference="):
        mapped_targeting_data(survey_table(), fitted_mapping())


# --- survey weights and guard rails on the label ----------------------------------------------


def test_survey_weight_column_becomes_the_frame_weight():
    table = toy_table().assign(expansion=[120.5, 80.0, 95.25, 300.0])
    data = mapped_targeting_data(table, mapping_from_dict(raw_mapping(survey_weight="expansion")))
    assert data.frame["survey_weight"].tolist() == [120.5, 80.0, 95.25, 300.0]
    np.testing.assert_array_equal(data.sample_weight, [120.5, 80.0, 95.25, 300.0])
    assert data.frame["persons"].tolist() == [5.0, 2.0, 3.0, 4.0]  # `weight:` stays persons
    assert data.labelled.all() and data.frame["labelled"].eq(1).all()
    assert data.frame["pkh_benefit"].isna().all()  # no PKH components in mapping mode
    assert data.extra["survey_weight_column"] == "expansion"


def test_without_survey_weight_every_household_weighs_one():
    data = mapped_targeting_data(toy_table(), mapping_from_dict(raw_mapping()))
    assert data.frame["survey_weight"].tolist() == [1.0] * 4
    assert data.extra["survey_weight_column"] is None


@pytest.mark.parametrize("bad", [0, -1.5, np.nan, np.inf])
def test_survey_weight_must_be_positive_and_finite(bad):
    table = toy_table().assign(expansion=[1.0, bad, 2.0, 3.0])
    with pytest.raises(MappingError, match=r"'expansion' \(survey_weight.*positive finite.*102"):
        mapped_targeting_data(table, mapping_from_dict(raw_mapping(survey_weight="expansion")))


def test_an_expansion_factor_mapped_as_weight_warns():
    table = toy_table().assign(size=[120.5, 80.0, 95.25, 300.0])
    with pytest.warns(UserWarning, match="survey_weight"):
        mapped_targeting_data(table, mapping_from_dict(raw_mapping()))


def test_a_one_class_label_is_an_error_naming_the_column():
    table = toy_table().assign(status=[1, 2, 1, 2])  # poor_values send every code to 1
    with pytest.raises(LabelError, match=r"label 'status' has one class \(4 of 4.*poor_values"):
        mapped_targeting_data(table, mapping_from_dict(raw_mapping()))


def test_welfare_in_logs_against_a_line_in_levels_is_caught():
    table = survey_table()
    table["welfare"] = np.log(np.linspace(200_000, 2_000_000, len(table)))  # logs
    mapping = mapping_from_dict({"name": "s", "id": "hh", "welfare": "welfare",
                                 "poverty_line": 450_000, "cluster": "village",
                                 "reference": {"fit": "pmt_ols"},
                                 "features": {"numeric": ["rooms"]}})  # fmt: skip
    with pytest.raises(LabelError, match="one class.*logs"):
        mapped_targeting_data(table, mapping)


def test_a_weighted_prevalence_under_one_percent_is_an_error():
    table = survey_table()
    table["expansion"] = np.where(table["poor"] == 1, 0.01, 100.0)
    mapping = mapping_from_dict({"name": "s", "id": "hh", "label": "poor", "cluster": "village",
                                 "survey_weight": "expansion", "reference": {"fit": "pmt_ols"},
                                 "features": {"numeric": ["rooms"]}})  # fmt: skip
    with pytest.raises(LabelError, match=r"prevalence outside \[1%, 99%\]"):
        mapped_targeting_data(table, mapping)


def test_a_text_label_gets_the_poor_values_hint():
    table = toy_table().assign(status=["Pobre", "No pobre", "No pobre", "Pobre"])
    with pytest.raises(MappingError, match=r"holds text \(e.g. \['No pobre', 'Pobre'\]\)"):
        mapped_targeting_data(table, mapping_from_dict(raw_mapping(poor_values=None)))


def test_missing_feature_values_are_counted_per_column():
    table = toy_table().assign(rooms=[1, None, None, 2], roof=["zinc", None, "tile", "zinc"])
    data = mapped_targeting_data(table, mapping_from_dict(raw_mapping()))
    assert data.extra["feature_missing"] == {"rooms": 2, "roof": 1}
