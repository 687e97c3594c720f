"""The fitted reference scorecard and the comparison against a mapped reference
(slrt_ml.models.reference, slrt_ml.evaluation.reference)."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from mapping_cases import fitted_mapping, raw_mapping, survey_table, toy_table

from slrt_ml.data.mapping import mapping_from_dict
from slrt_ml.evaluation.reference import compare_with_reference
from slrt_ml.models.reference import fitted_reference_scores
from slrt_ml.targeting.mapped import mapped_targeting_data


def test_fitted_reference_is_out_of_fold_and_selects_the_poor_share():
    table = survey_table()
    data = mapped_targeting_data(table, fitted_mapping(), fit_reference=fitted_reference_scores)
    frame = data.frame
    assert frame["pmt_scorecard_selected"].sum() == frame["poor"].sum()
    expected = fitted_reference_scores(data.features, data.poor, data.groups, folds=3, seed=1)
    np.testing.assert_allclose(frame["pmt_scorecard_score"], expected)
    assert data.extra["reference_fitted"] == {
        "model": "pmt_ols", "folds": 3, "seed": 1, "survey_weighted": False
    }  # fmt: skip
    from slrt_ml.evaluation.compare import roc_auc

    assert roc_auc(frame["poor"], frame["pmt_scorecard_score"]) > 0.7


def test_mapped_data_trains_and_compares_through_the_shared_code(tmp_path: Path):
    from slrt_ml.config import config_from_dict
    from slrt_ml.pipeline.compare import run_comparison, write_comparison
    from slrt_ml.pipeline.train import train

    data = mapped_targeting_data(
        survey_table(), fitted_mapping(), fit_reference=fitted_reference_scores
    )
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
    data = mapped_targeting_data(toy_table(), mapping_from_dict(raw_mapping()))
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


def test_fitted_reference_uses_the_survey_weight():
    table = survey_table()
    table["expansion"] = np.where(table["rooms"] >= 3, 50.0, 1.0)
    mapping = dataclasses.replace(fitted_mapping(), survey_weight="expansion")
    weighted = mapped_targeting_data(table, mapping, fit_reference=fitted_reference_scores)
    plain = mapped_targeting_data(table, fitted_mapping(), fit_reference=fitted_reference_scores)
    assert weighted.extra["reference_fitted"]["survey_weighted"] is True
    expected = fitted_reference_scores(
        weighted.features, weighted.poor, weighted.groups, folds=3, seed=1,
        sample_weight=table["expansion"].to_numpy(),
    )  # fmt: skip
    np.testing.assert_allclose(weighted.frame["pmt_scorecard_score"], expected)
    assert not np.allclose(
        weighted.frame["pmt_scorecard_score"], plain.frame["pmt_scorecard_score"]
    )
