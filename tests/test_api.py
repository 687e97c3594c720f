"""The notebook API: lazy re-exports from ``slrt_ml`` and the in-memory helpers of ``slrt_ml.pipeline.in_memory``."""

from __future__ import annotations

import importlib
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import slrt_ml
from slrt_ml.config import config_from_dict
from slrt_ml.data.schema import SchemaError
from slrt_ml.data.synth.generator import generate_registry, make_registry
from slrt_ml.pipeline.compare import run_comparison
from slrt_ml.pipeline.in_memory import (
    compare_scores,
    cross_validated_scores,
    targeting_data,
    validate_registry,
)
from slrt_ml.pipeline.train import train

HEAVY = ("tensorflow", "mlflow", "shap", "pandas", "sklearn", "xgboost", "keras")


@pytest.fixture(scope="module")
def tables():
    return make_registry(households=600, seed=3)


@pytest.fixture(scope="module")
def data(tables):
    return targeting_data(tables)


# --- lazy re-exports ------------------------------------------------------------------------


def test_import_loads_no_heavy_library():
    code = (
        "import sys, slrt_ml; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules)); "
        "print(slrt_ml.__version__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded, version = out.stdout.splitlines()
    assert loaded == "", f"import slrt_ml imported {loaded}"
    assert version == "0.1.0"


def test_every_export_is_the_modules_own_object():
    for name in slrt_ml.__all__:
        if name == "__version__":
            continue
        module = importlib.import_module(f"slrt_ml.{slrt_ml._EXPORTS[name]}")
        assert getattr(slrt_ml, name) is getattr(module, name), name
    assert set(slrt_ml._EXPORTS) <= set(dir(slrt_ml))


def test_every_export_points_at_the_module_or_subpackage_that_defines_it():
    moved = []
    for name, module in slrt_ml._EXPORTS.items():
        home = getattr(getattr(slrt_ml, name), "__module__", None)
        if home is not None and not f"{home}.".startswith(f"slrt_ml.{module}."):
            moved.append(f"{name}: {module} (defined in {home})")
    assert moved == [], "re-exports through another module: " + "; ".join(moved)


def test_unknown_attribute_names_the_module():
    with pytest.raises(AttributeError, match="module 'slrt_ml' has no attribute 'no_such_thing'"):
        slrt_ml.no_such_thing  # noqa: B018


def test_the_flow_the_issue_lists_is_exported():
    for name in ("load_registry", "validate_registry", "household_features", "train",
                 "compare_and_write", "explain_households", "score_prelist"):  # fmt: skip
        assert name in slrt_ml.__all__


# --- validate_registry / targeting_data -----------------------------------------------------


def test_validate_registry_gives_canonical_tables(tables):
    registry = validate_registry(tables)
    assert len(registry.households) == 600
    assert registry.households["IDBDT"].dtype == "string"
    assert registry.metadata["generator"] == "slrt_ml.synth"
    assert registry.truth is not None and registry.siksng is not None


def test_validate_registry_reports_every_table_at_once(tables):
    broken = dict(tables)
    broken["households"] = tables["households"].assign(Lantai="99")
    broken["members"] = tables["members"].assign(Jnskel="7")
    with pytest.raises(SchemaError) as err:
        validate_registry(broken)
    files = {(p.file, p.column) for p in err.value.problems}
    assert ("households", "Lantai") in files and ("members", "Jnskel") in files


def test_validate_registry_needs_households_and_members(tables):
    with pytest.raises(KeyError, match="needs the tables 'households' and 'members'"):
        validate_registry({"households": tables["households"]})


def test_targeting_data_is_the_same_from_memory_and_from_a_folder(tmp_path, data):
    generate_registry(tmp_path / "reg", households=600, seed=3)
    from_folder = targeting_data(tmp_path / "reg")
    pd.testing.assert_frame_equal(from_folder.features, data.features)
    pd.testing.assert_frame_equal(from_folder.frame, data.frame)
    assert from_folder.digest == data.digest
    assert data.synthetic


def test_targeting_data_rejects_other_inputs():
    with pytest.raises(TypeError, match="folder path, a Registry or a dict of tables, not int"):
        targeting_data(3)


# --- cross_validated_scores / compare_scores ------------------------------------------------


def test_scores_and_comparison_match_the_run_folder_path(tmp_path, data):
    config = config_from_dict({"seed": 7, "models": ["pmt_ols"], "cv": {"folds": 3},
                               "tracking": {"enabled": False}})  # fmt: skip
    result = train(data, tmp_path / "run", config, progress=False)
    scores = cross_validated_scores(data, ["pmt_ols"], folds=3, seed=7)
    pd.testing.assert_frame_equal(scores, result.oof_scores)
    in_memory = compare_scores(data, scores, bootstrap=30, seed=1)
    from_run = run_comparison(tmp_path / "run", data, bootstrap=30, seed=1)
    pd.testing.assert_frame_equal(in_memory.table, from_run.table)


def test_compare_scores_at_equal_coverage(data):
    rng = np.random.default_rng(0)
    comparison = compare_scores(data, {"noise": rng.random(len(data.frame))}, bootstrap=0,
                                views=["population"])  # fmt: skip
    selected = comparison.selections.groupby("system")["selected"].sum()
    assert selected["noise"] == selected["siksng"] == data.frame["siksng_selected"].sum()


def test_compare_scores_oracle_at_the_target_count_makes_no_avoidable_error(data):
    """Selecting exactly the visible target households: no inclusion error, and the only
    exclusion error is the target that the recorded member file shows as ineligible (no
    system can select those; the target is defined on the current, true state)."""
    frame = data.frame
    visible = (frame["target"] == 1) & (frame["eligible"] == 1)
    comparison = compare_scores(data, {"oracle": visible.to_numpy(float)},
                                quota=int(visible.sum()), bootstrap=0, views=["population"])  # fmt: skip
    unseen = int(((frame["target"] == 1) & (frame["eligible"] == 0)).sum())
    expected = unseen / int(frame["target"].sum())
    assert comparison.estimate("oracle", "inclusion_error") == 0.0
    assert comparison.estimate("oracle", "exclusion_error") == pytest.approx(expected, abs=1e-12)


def test_compare_scores_rejects_misaligned_scores(data):
    scores = pd.DataFrame({"IDBDT": data.frame["IDBDT"][::-1].to_numpy(), "x": 0.0})
    with pytest.raises(ValueError, match="not in the order of data.frame"):
        compare_scores(data, scores, bootstrap=0)
    with pytest.raises(ValueError, match="score 'x' has 3 values but the data has 600"):
        compare_scores(data, {"x": [0.1, 0.2, 0.3]}, bootstrap=0)
