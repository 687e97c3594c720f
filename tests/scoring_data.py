"""Test data shared by the scoring tests: a small registry, two fitted models, broken prelists."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pandas as pd

from slrt_ml.data.io import write_table
from slrt_ml.data.synth.generator import make_registry
from slrt_ml.features.drift import feature_profile
from slrt_ml.features.households import household_features
from slrt_ml.models import make_model, save_model


@functools.cache
def small_registry() -> dict[str, pd.DataFrame]:
    """500 synthetic households (seed 7), built once per session."""
    return make_registry(households=500, seed=7)


@functools.cache
def fitted_models() -> tuple[dict, dict]:
    """({"gbm", "logit"} fitted on :func:`small_registry`, the training feature profile)."""
    registry = small_registry()
    X = household_features(registry["households"], registry["members"], registry["areas"])
    poor = registry["truth"].set_index("IDBDT")["poor"].reindex(X.index).to_numpy()
    gbm = make_model("gbm", {"n_estimators": 20, "max_depth": 3}).fit(X, poor)
    logit = make_model("logit", {"max_iter": 300}).fit(X, poor)
    return {"gbm": gbm, "logit": logit}, feature_profile(X)


def broken_prelist(registry, folder: Path, *, sort: bool = True):
    """Write a prelist with an unknown code, a missing head and a duplicated IDBDT."""
    hh, mem = registry["prelist_households"].copy(), registry["prelist_members"].copy()
    hh.loc[hh.index[0], "Lantai"] = "77"  # unknown code
    headless = hh["IDBDT"].iloc[1]
    mem = mem[~((mem["IDBDT"] == headless) & (mem["Hub_KRT"] == "1"))]  # missing head
    hh = pd.concat([hh, hh.iloc[[2]]])  # duplicated IDBDT
    if sort:
        hh = hh.sort_values("IDBDT", kind="stable")
    write_table(hh, folder / "prelist_households.parquet")
    write_table(mem, folder / "prelist_members.csv")
    write_table(registry["areas"], folder / "areas.parquet")
    return hh, mem


def run_folder(tmp_path: Path, models: dict, profile: dict) -> Path:
    """A minimal run folder: saved models, manifest, feature profile, comparison."""
    run = tmp_path / "run"
    for name, model in models.items():
        save_model(model, run / "models" / name)
    (run / "manifest.json").write_text(json.dumps({"models": list(models)}))
    (run / "feature_profile.json").write_text(json.dumps(profile))
    pd.DataFrame({"system": ["gbm", "logit"], "metric": ["exclusion_error"] * 2,
                  "estimate": [0.4, 0.3], "ci_low": 0, "ci_high": 1}).to_csv(
        run / "comparison.csv", index=False)  # fmt: skip
    return run
