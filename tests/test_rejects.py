"""Row-level rejects for batch scoring: valid rows kept, the rest explained, NIK never shown."""

from __future__ import annotations

import pytest

from slrt_ml.data.rejects import household_rejects
from slrt_ml.data.schema import SchemaError


def test_household_rejects_keep_valid_rows_and_explain_the_rest(tiny):
    households = tiny.households.copy()
    households.loc[0, "Lantai"] = "11"
    households.loc[2, "KDKAB"] = "73.1"
    members = tiny.members.copy()
    members.loc[members["IDBDT"] == "7311000003", "Hub_KRT"] = "3"  # no head left
    members.loc[len(members)] = members.iloc[0].to_dict() | {"IDBDT": "X1"}
    rejects = household_rejects(households, members)
    assert rejects["IDBDT"].tolist() == ["7311000000", "7311000002", "7311000003", "X1"]
    reasons = dict(zip(rejects["IDBDT"], rejects["reason"], strict=True))
    assert reasons["7311000000"] == "Lantai: code list ('11')"
    assert "KDKAB: area code format ('73.1')" in reasons["7311000002"]
    assert "one head per household" in reasons["7311000003"]
    assert reasons["X1"] == "members without a household record"


def test_household_rejects_of_member_problems_and_duplicates(tiny):
    households = tiny.households.copy()
    households.loc[4, "IDBDT"] = households.loc[3, "IDBDT"]
    members = tiny.members.copy()
    members.loc[0, "NIK"] = "7371024512901234"  # sex mismatch on household 0's head
    rejects = household_rejects(households, members)
    first = rejects[rejects["IDBDT"] == "7311000000"]["reason"].item()
    assert first.startswith("member 1 NIK: NIK sex") and "7371024512901234" not in first
    assert (rejects["IDBDT"] == "7311000003").sum() == 2  # both copies rejected


def test_household_rejects_empty_for_a_valid_registry(tiny):
    rejects = household_rejects(tiny.households, tiny.members)
    assert rejects.empty and list(rejects.columns) == ["IDBDT", "reason"]


def test_household_rejects_raise_on_missing_columns(tiny):
    with pytest.raises(SchemaError, match="column Hub_KRT, rule 'required column'"):
        household_rejects(tiny.households, tiny.members.drop(columns=["Hub_KRT"]))


def test_synthetic_registry_has_no_rejects():
    from slrt_ml.data.synth.generator import make_registry

    registry = make_registry(households=300, seed=3)
    assert household_rejects(registry["households"], registry["members"]).empty
