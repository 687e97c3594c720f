from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from slrt_ml.data.mapping import (
    STANDARD_SLICES,
    MappingError,
    compare_with_reference,
    coverage_quota,
    fitted_reference_scores,
    load_mapping,
    mapped_features,
    mapped_targeting_data,
    mapping_from_dict,
)

FRAME_COLUMNS = [
    "IDBDT",
    "cluster",
    "KDKAB",
    "KDKEC",
    "eligible",
    "target",
    "poor",
    "welfare",
    "persons",
    *STANDARD_SLICES,
]


def _raw(**overrides):
    raw = {
        "name": "toy",
        "id": "hh",
        "label": "status",
        "poor_values": {1: 1, 2: 1, 3: 0, 4: 0},
        "cluster": "village",
        "areas": {"KDKAB": "district"},
        "weight": "size",
        "reference": {"name": "scorecard", "score": "pmt", "coverage": "poor_share"},
        "slices": {"urban": "town", "female_head": "fem", "tenure": "tenure"},
        "recode": {"edu": {"yes": 1, "no": 0}},
        "features": {"numeric": ["rooms", "edu"], "categorical": ["roof"], "binary": ["tv"]},
    }
    raw.update(overrides)
    return raw


def _table():
    return pd.DataFrame(
        {
            "hh": [101, 102, 103, 104],
            "status": [1, 4, 3, 2],  # poor: 1, 0, 0, 1
            "village": [7, 7, 8, 8],
            "district": ["A", "A", "B", "B"],
            "size": [5, 2, 3, 4],
            "pmt": [0.9, 0.1, 0.5, 0.7],
            "town": [1, 0, 0, 1],
            "fem": ["yes", "no", "no", "yes"],
            "tenure": ["own", "rent", "own", "rent"],
            "rooms": [1, 4, 3, 2],
            "edu": ["yes", "12", "no", "6"],
            "roof": ["zinc", "tile", "zinc", "thatch"],
            "tv": [0, 1, 1, 0],
        }
    )


def test_features_are_exactly_the_mapped_columns_typed_for_the_models():
    features = mapped_features(_table(), mapping_from_dict(_raw()))
    assert features.columns.tolist() == ["rooms", "edu", "roof", "tv"]
    assert features.index.tolist() == ["101", "102", "103", "104"]
    assert features["edu"].tolist() == [1.0, 12.0, 0.0, 6.0]  # recode yes/no, then numbers
    assert str(features["roof"].dtype) == "string"
    assert features["rooms"].dtype == np.float32 and features["tv"].dtype == np.float32


def test_targeting_frame_in_mapping_mode():
    data = mapped_targeting_data(_table(), mapping_from_dict(_raw()))
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
    frame = mapped_targeting_data(_table(), mapping_from_dict(_raw())).frame
    # two poor households -> the two highest scores (0.9, 0.7) are selected
    assert frame["scorecard_selected"].tolist() == [1, 0, 0, 1]
    assert frame["scorecard_score"].tolist() == [0.9, 0.1, 0.5, 0.7]


def test_reference_score_where_lower_is_poorer_is_negated():
    raw = _raw(reference={"name": "sc", "score": "pmt", "higher_is_poorer": False, "coverage": 1})
    frame = mapped_targeting_data(_table(), mapping_from_dict(raw)).frame
    assert frame["sc_selected"].tolist() == [0, 1, 0, 0]


def test_reference_scores_argument_overrides_and_must_cover_every_household():
    mapping = mapping_from_dict(_raw())
    given = pd.Series([0.0, 3.0, 2.0, 1.0], index=["101", "102", "103", "104"])
    frame = mapped_targeting_data(_table(), mapping, reference_scores=given).frame
    assert frame["scorecard_selected"].tolist() == [0, 1, 1, 0]
    with pytest.raises(MappingError, match=r"miss 1 households, e.g. \['104'\]"):
        mapped_targeting_data(_table(), mapping, reference_scores=given.iloc[:3])


def test_coverage_quota_rules():
    poor = np.array([1, 0, 1, 0, 0, 0, 0, 0])
    assert coverage_quota("poor_share", poor) == 2
    assert coverage_quota(0.25, poor) == 2
    assert coverage_quota(3, poor) == 3
    with pytest.raises(MappingError, match="share in"):
        coverage_quota(-0.5, poor)


def test_unknown_keys_are_rejected_by_name():
    with pytest.raises(MappingError, match="unknown key 'lable'"):
        mapping_from_dict(_raw(lable="x"))
    with pytest.raises(MappingError, match=r"unknown key 'features.numerc'; known keys: numeric"):
        mapping_from_dict(_raw(features={"numerc": ["rooms"]}))
    with pytest.raises(MappingError, match="unknown key 'reference.scor'"):
        mapping_from_dict(_raw(reference={"scor": "pmt"}))


def test_mapping_rules_are_checked():
    with pytest.raises(MappingError, match="required keys missing: \\['id'\\]"):
        mapping_from_dict({"name": "toy", "label": "poor", "reference": {"fit": "pmt_ols"}})
    with pytest.raises(MappingError, match="map 'label'"):
        mapping_from_dict(_raw(label=None))
    with pytest.raises(MappingError, match="needs a 'score' column"):
        mapping_from_dict(_raw(reference={"name": "x"}))
    with pytest.raises(MappingError, match=r"feature columns \['pmt'\] .* must not see them"):
        mapping_from_dict(_raw(features={"numeric": ["pmt"]}))
    with pytest.raises(
        MappingError, match="'rooms' is listed as features.numeric and features.binary"
    ):
        mapping_from_dict(_raw(features={"numeric": ["rooms"], "binary": ["rooms"]}))
    with pytest.raises(MappingError, match=r"slice name\(s\) \['cluster'\] clash"):
        mapping_from_dict(_raw(slices={"cluster": "tenure"}))


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


def test_missing_mapped_columns_are_all_named_with_their_role_and_file():
    table = _table().drop(columns=["rooms", "town"])
    with pytest.raises(MappingError) as err:
        mapped_targeting_data(table, mapping_from_dict(_raw(), source="toy.yaml"))
    message = str(err.value)
    assert message.startswith("toy.yaml: 2 mapped column(s) missing")
    assert "'town' (slices.urban)" in message and "'rooms' (features.numeric)" in message


def test_label_outside_poor_values_is_named_with_examples():
    table = _table().assign(status=[1, 5, 3, 2])
    with pytest.raises(
        MappingError, match=r"'status' has values not listed in poor_values .*102: '5'"
    ):
        mapped_targeting_data(table, mapping_from_dict(_raw()))


def test_label_that_is_not_0_1_asks_for_poor_values():
    with pytest.raises(
        MappingError,
        match=r"must be 0/1 .* 2 value\(s\) are not: \(id: value\) 102: 4, 103: 3; add 'poor_values'",
    ):
        mapped_targeting_data(
            _table().assign(status=[1, 4, 3, 0]), mapping_from_dict(_raw(poor_values=None))
        )


def test_bad_feature_values_are_named_with_examples():
    with pytest.raises(MappingError, match=r"'tv' is mapped as binary .* 103: 2"):
        mapped_targeting_data(_table().assign(tv=[0, 1, 2, 0]), mapping_from_dict(_raw()))
    with pytest.raises(MappingError, match=r"'edu' is mapped as numeric .* 102: 'some'.*'recode'"):
        mapped_targeting_data(
            _table().assign(edu=["yes", "some", "no", "6"]), mapping_from_dict(_raw())
        )


def test_duplicate_household_ids_are_refused():
    with pytest.raises(MappingError, match=r"must be unique .* 1 duplicated, e.g. \['101'\]"):
        mapped_features(_table().assign(hh=[101, 101, 103, 104]), mapping_from_dict(_raw()))


def test_welfare_and_poverty_line_give_label_and_log_ratio():
    raw = _raw(label=None, poor_values=None, welfare="spend", poverty_line=100.0)
    table = _table().assign(spend=[50.0, 200.0, 100.0, 80.0])
    data = mapped_targeting_data(table, mapping_from_dict(raw))
    assert data.frame["poor"].tolist() == [1, 0, 0, 1]
    np.testing.assert_allclose(data.welfare_target.to_numpy(), np.log([0.5, 2.0, 1.0, 0.8]))
    assert data.frame["welfare"].tolist() == [50.0, 200.0, 100.0, 80.0]


def test_row_order_does_not_change_the_frame():
    mapping = mapping_from_dict(_raw())
    a = mapped_targeting_data(_table(), mapping).frame
    b = mapped_targeting_data(_table().iloc[[2, 0, 3, 1]], mapping).frame
    b = b.set_index("IDBDT").loc[a["IDBDT"]].reset_index()
    pd.testing.assert_frame_equal(a, b)


def _survey(n=240, seed=3):
    rng = np.random.default_rng(seed)
    rooms = rng.integers(1, 6, n)
    tv = rng.integers(0, 2, n)
    latent = 1.5 - 0.6 * rooms - 0.8 * tv + rng.normal(0, 0.7, n)
    return pd.DataFrame(
        {
            "hh": np.arange(n),
            "village": np.arange(n) // 8,
            "poor": (latent > np.quantile(latent, 0.7)).astype(int),
            "rooms": rooms,
            "tv": tv,
            "roof": rng.choice(["zinc", "tile"], n),
        }
    )


def _fitted_mapping(**reference):
    return mapping_from_dict(
        {
            "name": "survey",
            "id": "hh",
            "label": "poor",
            "cluster": "village",
            "reference": {
                "name": "pmt_scorecard",
                "fit": "pmt_ols",
                "folds": 3,
                "seed": 1,
                **reference,
            },
            "features": {"numeric": ["rooms"], "binary": ["tv"], "categorical": ["roof"]},
        }
    )


def test_fitted_reference_is_out_of_fold_and_selects_the_poor_share():
    table = _survey()
    data = mapped_targeting_data(table, _fitted_mapping())
    frame = data.frame
    assert frame["pmt_scorecard_selected"].sum() == frame["poor"].sum()
    expected = fitted_reference_scores(data.features, data.poor, data.groups, folds=3, seed=1)
    np.testing.assert_allclose(frame["pmt_scorecard_score"], expected)
    assert data.extra["reference_fitted"] == {"model": "pmt_ols", "folds": 3, "seed": 1}
    from slrt_ml.evaluation.compare import roc_auc

    assert roc_auc(frame["poor"], frame["pmt_scorecard_score"]) > 0.7


def test_mapped_data_trains_and_compares_through_the_shared_code(tmp_path: Path):
    from slrt_ml.config import config_from_dict
    from slrt_ml.pipeline.train import run_comparison, train, write_comparison

    data = mapped_targeting_data(_survey(), _fitted_mapping())
    config = config_from_dict(
        {"models": ["logit"], "cv": {"folds": 3}, "seed": 1, "tracking": {"enabled": False}}
    )
    train(data, tmp_path / "run", config, progress=False)
    comparison = run_comparison(tmp_path / "run", data, quota="pmt_scorecard", bootstrap=20, seed=0)
    assert comparison.reference == "pmt_scorecard"
    assert comparison.systems == ["pmt_scorecard", "logit"]
    assert "exclusion_error_diff_vs_pmt_scorecard" in set(comparison.table["metric"])
    assert "siksng" not in set(comparison.table["system"])
    # equal coverage at the poor share: inclusion error equals exclusion error
    for system in comparison.systems:
        assert comparison.estimate(system, "exclusion_error") == pytest.approx(
            comparison.estimate(system, "inclusion_error")
        )
    paths = write_comparison(tmp_path / "run", comparison, synthetic=False, title="survey")
    page = paths["report"].read_text(encoding="utf-8")
    differences = page.split("<h2>Difference from pmt_scorecard (model - pmt_scorecard)</h2>")[1]
    assert differences.split("<h2>")[0].count("<td>") > 0  # the logit row, not "(none)"
    assert "not evidence about the real SIKS-NG" not in page


def test_compare_with_reference_adds_the_mappings_own_slices():
    data = mapped_targeting_data(_table(), mapping_from_dict(_raw()))
    frame = data.frame.assign(model=[0.1, 0.9, 0.8, 0.2])
    comparison = compare_with_reference(
        frame, ["model"], reference="scorecard", extra_slices=["tenure"], bootstrap=0
    )
    assert comparison.reference == "scorecard"
    assert set(comparison.agreement["system"]) == {"model"}
    assert {"urban", "tenure"} <= set(comparison.slices["slice"])  # standard and the mapping's
    tenure = comparison.slices[
        (comparison.slices["slice"] == "tenure") & (comparison.slices["system"] == "scorecard")
    ]
    # scorecard selects 101 (own, poor) and 104 (rent, poor): no exclusion in either group
    assert tenure.set_index("group")["exclusion_error"].to_dict() == {"own": 0.0, "rent": 0.0}
    model = comparison.slices[
        (comparison.slices["slice"] == "tenure") & (comparison.slices["system"] == "model")
    ]
    # model selects 102 and 103 (both non-poor): every poor household is excluded
    assert model.set_index("group")["exclusion_error"].to_dict() == {"own": 1.0, "rent": 1.0}
