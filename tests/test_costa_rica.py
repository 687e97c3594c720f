import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from slrt_ml.data.datasets import (
    COSTA_RICA_MAPPING,
    COSTA_RICA_MEMBER,
    COSTA_RICA_WHEEL,
    HOUSEHOLD_COLUMNS,
    ONE_HOT_GROUPS,
    DataIntegrityError,
    HeadlessHouseholdWarning,
    costa_rica_households,
    read_costa_rica_members,
)
from slrt_ml.data.mapping import load_mapping
from slrt_ml.pipeline.costa_rica import comparison_summary, costa_rica_run
from slrt_ml.targeting.mapped import mapped_targeting_data

PEOPLE = [  # idhogar, parentesco1, age, female, escolari, dis, Target
    ("h1", 1, 45, 0, 9, 0, 2),
    ("h1", 0, 10, 0, 3, 1, 2),
    ("h2", 1, 70, 1, 6, 0, 4),
    ("h3", 0, 30, 1, 11, 0, 3),  # h3 has no head: the oldest member (50) stands in
    ("h3", 0, 50, 0, 5, 0, 1),
]


def _members() -> pd.DataFrame:
    columns = set(HOUSEHOLD_COLUMNS) | {c for cols in ONE_HOT_GROUPS.values() for c in cols}
    people = pd.DataFrame(0, index=range(len(PEOPLE)), columns=sorted(columns))
    cols = ["idhogar", "parentesco1", "age", "female", "escolari", "dis", "Target"]
    people[cols] = pd.DataFrame(PEOPLE, columns=cols)
    people["hhsize"] = people.groupby("idhogar")["idhogar"].transform("size")
    people["male"] = 1 - people["female"]
    people.loc[people["idhogar"] == "h1", ["lugar1", "area1", "paredblolad"]] = 1
    people.loc[people["idhogar"] == "h2", ["lugar5", "area2"]] = 1
    people.loc[people["idhogar"] == "h3", ["lugar1", "area2", "paredmad"]] = 1
    people["edjefe"] = ["9", "9", "no", "yes", "yes"]
    people["v2a1"] = [100_000.0, 100_000.0, np.nan, np.nan, np.nan]
    return people


def _households():
    with pytest.warns(HeadlessHouseholdWarning, match=r"1 household\(s\) have no head .*\['h3'\]"):
        return costa_rica_households(_members())


def test_people_become_one_row_per_household_from_the_head():
    table, info = _households()
    assert table["idhogar"].tolist() == ["h1", "h2", "h3"]
    assert table["Target"].tolist() == [2, 4, 1]
    assert table["head_age"].tolist() == [45, 70, 50]
    assert table["head_imputed"].tolist() == [0, 0, 1]
    assert table["elderly_head"].tolist() == [0, 1, 0]
    assert table["female_head"].tolist() == [0, 1, 0]
    assert table["n_disabled"].tolist() == [1, 0, 0]
    assert table["disabled_member"].tolist() == [1, 0, 0]
    assert table["region"].tolist() == ["Central", "Huetar Atlantica", "Central"]
    assert table["region_zone"].tolist() == [
        "Central urban",
        "Huetar Atlantica rural",
        "Central rural",
    ]
    assert table["wall"].tolist() == ["paredblolad", pd.NA, "paredmad"]
    assert table["rent"].tolist() == [100_000.0, 0.0, 0.0]
    assert info["headless_households"]["count"] == 1
    assert info["headless_households"]["ids"] == ["h3"]
    assert info["households_with_mixed_target"] == 1  # h3: 3 and 1


def test_member_file_without_required_columns_is_refused():
    with pytest.raises(ValueError, match=r"2 column\(s\) missing: \['lugar6', 'parentesco1'\]"):
        costa_rica_households(_members().drop(columns=["lugar6", "parentesco1"]))


def test_shipped_mapping_applies_to_the_household_table():
    table, _ = _households()
    mapping = load_mapping(COSTA_RICA_MAPPING)
    data = mapped_targeting_data(table, mapping, reference_scores=np.array([0.9, 0.1, 0.5]))
    frame = data.frame
    assert frame["poor"].tolist() == [1, 0, 1]  # Target 1 or 2
    assert frame["pmt_scorecard_selected"].tolist() == [1, 0, 1]  # coverage = poor share
    assert frame["KDKAB"].tolist() == ["Central", "Huetar Atlantica", "Central"]
    assert frame["cluster"].tolist() == ["h1", "h2", "h3"]  # households are the clusters
    assert frame["persons"].tolist() == [2.0, 1.0, 2.0]
    assert data.features["edjefe"].tolist() == [9.0, 0.0, 1.0]  # "no" = 0, "yes" = 1
    assert set(data.features.columns) == set(mapping.features.columns)


def test_user_train_csv_with_other_bytes_is_read_with_a_warning(tmp_path: Path):
    path = tmp_path / "train.csv"
    _members().to_csv(path, index=False)
    with pytest.warns(UserWarning, match="is not the published train.csv"):
        members, info = read_costa_rica_members(path)
    assert len(members) == len(PEOPLE) and info["sha256_verified"] is False


def test_cached_wheel_with_wrong_data_fails_the_sha256_check(tmp_path: Path):
    wheel = tmp_path / "costa_rica" / COSTA_RICA_WHEEL
    wheel.parent.mkdir()
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(COSTA_RICA_MEMBER, _members().to_csv(index=False))
    with pytest.raises(DataIntegrityError, match="differs from the published 8f2f060d"):
        read_costa_rica_members(cache=tmp_path)


@pytest.mark.slow
@pytest.mark.realdata
def test_costa_rica_end_to_end(tmp_path: Path):
    models = ("pmt_ols", "logit", "gbm", "ebm", "mlp")
    tiny = {
        "mlp": {"hidden": [16], "epochs": 3, "batch_size": 256, "patience": 2},
        "ebm": {"interactions": 0, "outer_bags": 1, "max_rounds": 300},
    }
    with pytest.warns(HeadlessHouseholdWarning):
        comparison = costa_rica_run(
            tmp_path / "run", models=models, bootstrap=100, folds=3, model_params=tiny
        )
    info = pd.read_json(tmp_path / "run" / "costa_rica.json", typ="series")
    assert info["sha256_verified"] and info["people"] == 9557 and info["households"] == 2988
    members, _ = read_costa_rica_members()
    headless = (members.groupby("idhogar")["parentesco1"].sum() == 0).sum()
    assert info["headless_households"]["count"] == headless > 0

    table = comparison.table
    assert comparison.systems == ["pmt_scorecard", *models]
    assert set(table["system"]) == set(comparison.systems)
    with_ci = table.dropna(subset=["ci_low", "ci_high"])
    assert len(with_ci) > 0
    assert (
        (with_ci["ci_low"] <= with_ci["estimate"] + 1e-12)
        & (with_ci["estimate"] <= with_ci["ci_high"] + 1e-12)
    ).all()
    # equal coverage: every system selects as many households as are poor
    selected = comparison.selections.groupby("system")["selected"].sum()
    assert (selected == comparison.selections.query("system == 'logit'")["target"].sum()).all()
    for system in comparison.systems:
        assert comparison.estimate(system, "exclusion_error") == pytest.approx(
            comparison.estimate(system, "inclusion_error")
        )
        assert comparison.estimate(system, "roc_auc") > 0.6
    summary = comparison_summary(table)
    assert summary["system"].tolist() == comparison.systems
    assert (tmp_path / "run" / "comparison.csv").exists()
    # real data: reports name the scorecard, carry the model differences, no synthetic banner
    page = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    differences = page.split("<h2>Difference from pmt_scorecard (model - pmt_scorecard)</h2>")[1]
    assert all(f"<th>{m}</th>" in differences.split("<h2>")[0] for m in models)
    assert "SIKS-NG" not in page
    text = (tmp_path / "run" / "report.md").read_text(encoding="utf-8")
    assert text.startswith("# Costa Rica households") and "| tenure |" in text
