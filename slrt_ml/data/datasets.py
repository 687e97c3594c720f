"""Public real data for the researcher's path: the Costa Rican household poverty data.

The Inter-American Development Bank's Costa Rica data (Kaggle 2018; 9,557 people in 2,988
households; housing, assets, education, household composition and a 4-level poverty
``Target``) is fetched from the package registry, never committed:
``pip download --no-deps --only-binary=:all: tid-costa-rica-poverty-prediction==0.0.3``
puts a wheel in the cache folder (``$SLRT_ML_CACHE`` or ``~/.cache/slrt_ml``); the
person file ``cr_analysis/datasets/raw/train.csv`` is read from it with :mod:`zipfile`
(the wheel is never installed) and its sha256 verified. A user-provided ``train.csv``
(the same file from Kaggle) may be passed instead.

Like ``io``, this module reads files: it is the edge where public data enters.

Household rows: the head's row (``parentesco1 == 1``) carries the household-level columns.
Households without a head (15 in ``train.csv``) are **kept**, with their oldest member
standing in for the head (``head_imputed = 1``); their count and ids go into a warning and
into the returned info. The household label is the head's ``Target`` (the competition's
rule); households whose members disagree are counted in the info.

This data has no existing eligibility system, so the reference is a PMT-OLS scorecard
fitted on the data (``pmt_scorecard``; see ``configs/datasets/costa_rica.yaml``).
"""

from __future__ import annotations

import hashlib
import io as _bytes_io
import os
import subprocess
import sys
import tempfile
import warnings
import zipfile
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "COSTA_RICA_REQUIREMENT",
    "COSTA_RICA_SHA256",
    "COSTA_RICA_MAPPING",
    "HeadlessHouseholdWarning",
    "DataIntegrityError",
    "cache_folder",
    "fetch_costa_rica_wheel",
    "read_costa_rica_members",
    "costa_rica_households",
    "costa_rica_data",
    "costa_rica_config",
    "costa_rica_run",
    "comparison_summary",
    "summary_markdown",
]

COSTA_RICA_REQUIREMENT = "tid-costa-rica-poverty-prediction==0.0.3"
COSTA_RICA_WHEEL = "tid_costa_rica_poverty_prediction-0.0.3-py3-none-any.whl"
COSTA_RICA_MEMBER = "cr_analysis/datasets/raw/train.csv"
COSTA_RICA_SHA256 = "8f2f060d81613c467197616784033da8864986aa2d89318393e496bb9961c2c5"
# Shipped inside the package; configs/datasets/costa_rica.yaml is the documented copy.
COSTA_RICA_MAPPING = Path(str(resources.files("slrt_ml") / "resources" / "costa_rica.yaml"))
COSTA_RICA_MODELS = ("pmt_ols", "logit", "gbm", "ebm")

REGIONS = {
    "lugar1": "Central",
    "lugar2": "Chorotega",
    "lugar3": "Pacifico central",
    "lugar4": "Brunca",
    "lugar5": "Huetar Atlantica",
    "lugar6": "Huetar Norte",
}
# one-hot column groups of the codebook -> one categorical feature each (level = the column)
ONE_HOT_GROUPS = {
    "wall": [
        "paredblolad",
        "paredzocalo",
        "paredpreb",
        "pareddes",
        "paredmad",
        "paredzinc",
        "paredfibras",
        "paredother",
    ],
    "floor": ["pisomoscer", "pisocemento", "pisoother", "pisonatur", "pisonotiene", "pisomadera"],
    "roof": ["techozinc", "techoentrepiso", "techocane", "techootro"],
    "water": ["abastaguadentro", "abastaguafuera", "abastaguano"],
    "electricity": ["public", "planpri", "noelec", "coopele"],
    "toilet": ["sanitario1", "sanitario2", "sanitario3", "sanitario5", "sanitario6"],
    "cooking_energy": [f"energcocinar{i}" for i in range(1, 5)],
    "rubbish": [f"elimbasu{i}" for i in range(1, 7)],
    "wall_state": ["epared1", "epared2", "epared3"],
    "roof_state": ["etecho1", "etecho2", "etecho3"],
    "floor_state": ["eviv1", "eviv2", "eviv3"],
    "tenure": [f"tipovivi{i}" for i in range(1, 6)],
    "region": list(REGIONS),
    "head_education": [f"instlevel{i}" for i in range(1, 10)],
    "head_civil_status": [f"estadocivil{i}" for i in range(1, 8)],
}
HOUSEHOLD_COLUMNS = [
    "idhogar",
    "Target",
    "v2a1",
    "rooms",
    "bedrooms",
    "overcrowding",
    "v18q1",
    "r4h1",
    "r4h2",
    "r4m1",
    "r4m2",
    "hogar_nin",
    "hogar_adul",
    "hogar_mayor",
    "hhsize",
    "dependency",
    "edjefe",
    "edjefa",
    "meaneduc",
    "qmobilephone",
    "hacdor",
    "hacapo",
    "v14a",
    "refrig",
    "cielorazo",
    "computer",
    "television",
    "mobilephone",
    "area1",
    "female",
    "age",
    "escolari",
    "dis",
    "parentesco1",
]
ELDERLY_AGE = 60


class HeadlessHouseholdWarning(UserWarning):
    """Some households have no member with ``parentesco1 == 1``; a stand-in head is used."""


class DataIntegrityError(ValueError):
    """Downloaded data does not have the published sha256."""


# --- fetching --------------------------------------------------------------------------------


def cache_folder(folder: str | Path | None = None) -> Path:
    """Where fetched public data is kept: ``folder``, ``$SLRT_ML_CACHE`` or ``~/.cache/slrt_ml``."""
    if folder is not None:
        return Path(folder)
    env = os.environ.get("SLRT_ML_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "slrt_ml"


def fetch_costa_rica_wheel(cache: str | Path | None = None) -> Path:
    """The data wheel in the cache, downloaded with ``pip download`` when absent (not installed)."""
    folder = cache_folder(cache) / "costa_rica"
    wheel = folder / COSTA_RICA_WHEEL
    if wheel.exists():
        return wheel
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as tmp:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--ignore-requires-python",
            COSTA_RICA_REQUIREMENT,
            "-d",
            tmp,
            "-q",
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        got = Path(tmp) / COSTA_RICA_WHEEL
        if done.returncode != 0 or not got.exists():
            raise RuntimeError(
                f"could not download {COSTA_RICA_REQUIREMENT} from the package registry "
                f"(pip exit {done.returncode}: {done.stderr.strip()[-400:]}); download train.csv "
                "of the Kaggle 'Costa Rican Household Poverty Level Prediction' competition "
                "and pass it with --train-csv"
            )
        os.replace(got, wheel)  # atomic: a broken download never sits in the cache
    return wheel


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_costa_rica_members(
    train_csv: str | Path | None = None, *, cache: str | Path | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The person file (one row per person) and where it came from.

    Without ``train_csv`` the registry wheel is fetched and its ``train.csv`` must have the
    published sha256 (else :class:`DataIntegrityError`). A user-provided file that differs
    from it is read with a warning (``info["sha256_verified"] = False``).
    """
    if train_csv is None:
        wheel = fetch_costa_rica_wheel(cache)
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(COSTA_RICA_MEMBER)
        source = f"{wheel.name}!{COSTA_RICA_MEMBER}"
    else:
        data = Path(train_csv).read_bytes()
        source = str(train_csv)
    digest = _sha256(data)
    verified = digest == COSTA_RICA_SHA256
    if not verified and train_csv is None:
        raise DataIntegrityError(
            f"{source}: sha256 {digest} differs from the published {COSTA_RICA_SHA256}; "
            f"delete {wheel} and fetch again, or pass a verified train.csv"
        )
    if not verified:
        warnings.warn(
            f"{source}: sha256 {digest[:12]}... is not the published train.csv "
            f"({COSTA_RICA_SHA256[:12]}...); results may differ",
            stacklevel=2,
        )
    members = pd.read_csv(_bytes_io.BytesIO(data), dtype={"idhogar": "string", "Id": "string"})
    return members, {"source": source, "sha256": digest, "sha256_verified": verified}


# --- people -> households ---------------------------------------------------------------------


def _check_member_columns(members: pd.DataFrame) -> None:
    needed = set(HOUSEHOLD_COLUMNS) | {c for cols in ONE_HOT_GROUPS.values() for c in cols}
    missing = sorted(needed - set(members.columns))
    if missing:
        raise ValueError(
            f"Costa Rica person file: {len(missing)} column(s) missing: {missing[:10]}; "
            "pass the competition's train.csv (143 columns, with Target)"
        )


def _representatives(members: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """One row per household: the head, or the oldest member where no head is recorded."""
    keys = pd.DataFrame(
        {
            "idhogar": members["idhogar"].to_numpy(),
            "is_head": (members["parentesco1"] == 1).to_numpy(),
            "age": members["age"].to_numpy(),
            "row": np.arange(len(members)),
        }
    )
    ranked = keys.sort_values(
        ["idhogar", "is_head", "age", "row"], ascending=[True, False, False, True], kind="stable"
    )
    first = ranked.drop_duplicates("idhogar", keep="first").sort_values("row")
    headless = sorted(first.loc[~first["is_head"], "idhogar"].astype(str))
    return members.iloc[first["row"].to_numpy()].reset_index(drop=True), headless


def _one_hot_level(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """The name of the column that is 1 in each row (first if several; <NA> if none)."""
    block = frame[columns].to_numpy() == 1
    levels = np.array(columns, dtype=object)[block.argmax(axis=1)]
    return pd.Series(levels, index=frame.index, dtype="string").where(block.any(axis=1))


def _household_table(heads: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    base = heads[
        [
            c
            for c in HOUSEHOLD_COLUMNS
            if c not in ("parentesco1", "dis", "v2a1", "area1", "female", "age", "escolari")
        ]
    ]
    derived = {name: _one_hot_level(heads, columns) for name, columns in ONE_HOT_GROUPS.items()}
    region = derived["region"].map(REGIONS.get, na_action="ignore").astype("string")
    n_disabled = members.groupby("idhogar")["dis"].sum().reindex(heads["idhogar"]).to_numpy()
    derived |= {
        "region": region,
        "region_zone": region + np.where(heads["area1"] == 1, " urban", " rural"),
        "urban": heads["area1"].astype("int8"),
        "female_head": heads["female"].astype("int8"),
        "elderly_head": (heads["age"] >= ELDERLY_AGE).astype("int8"),
        "n_disabled": pd.Series(n_disabled, index=heads.index),
        "disabled_member": pd.Series((n_disabled > 0).astype("int8"), index=heads.index),
        "head_age": heads["age"],
        "head_escolari": heads["escolari"],
        # No rent recorded = no rent paid (owners, precarious, borrowed); no tablet count = none.
        "rent": heads["v2a1"].fillna(0.0),
        "v18q1": heads["v18q1"].fillna(0),
    }
    return pd.concat([base.drop(columns=["v18q1"]), pd.DataFrame(derived)], axis=1)


def costa_rica_households(members: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Aggregate the person file to one row per household (see the module docstring).

    Returns the household table (``idhogar``, ``Target`` of the head, household columns,
    the derived columns the mapping names, ``head_imputed``) and an info dict with the
    headless households (count and ids) and the households whose members' Target differ.
    """
    _check_member_columns(members)
    heads, headless = _representatives(members)
    table = _household_table(heads, members)
    table["head_imputed"] = table["idhogar"].isin(headless).astype("int8")
    disagree = members.groupby("idhogar")["Target"].nunique()
    info = {
        "people": len(members),
        "households": len(table),
        "headless_households": {
            "count": len(headless),
            "ids": headless,
            "rule": "kept; the oldest member stands in for the head",
        },
        "households_with_mixed_target": int((disagree > 1).sum()),
    }
    if headless:
        warnings.warn(
            f"Costa Rica data: {len(headless)} household(s) have no head (parentesco1 == 1): "
            f"{headless}; kept, with the oldest member standing in for the head "
            "(head_imputed = 1)",
            HeadlessHouseholdWarning,
            stacklevel=2,
        )
    return table, info


def costa_rica_data(
    train_csv: str | Path | None = None,
    *,
    cache: str | Path | None = None,
    mapping: str | Path | None = None,
) -> tuple[Any, dict[str, Any]]:
    """The Costa Rica data as :class:`~slrt_ml.pipeline.train.TargetingData`, and its info.

    Fetches (or reads ``train_csv``), aggregates to households, applies the mapping
    (default ``configs/datasets/costa_rica.yaml``) and fits the reference PMT scorecard.
    """
    from slrt_ml.data.mapping import load_mapping, mapped_targeting_data

    members, source = read_costa_rica_members(train_csv, cache=cache)
    households, info = costa_rica_households(members)
    data = mapped_targeting_data(households, load_mapping(mapping or COSTA_RICA_MAPPING))
    info = {**source, **info, "poor_households": int(data.frame["poor"].sum())}
    data.extra["costa_rica"] = info
    return data, info


# --- the end-to-end run ------------------------------------------------------------------------

#: small settings for 2,988 households on 2 cores (the defaults are sized for registries)
COSTA_RICA_MODEL_PARAMS: dict[str, dict[str, Any]] = {
    "gbm": {"n_estimators": 200, "max_depth": 3},
    "rf": {"n_estimators": 200, "min_samples_leaf": 5},
    "ebm": {"interactions": 5, "outer_bags": 2, "max_rounds": 1000},
    "mlp": {"hidden": [64, 32], "epochs": 30, "batch_size": 256, "patience": 4},
}


def costa_rica_config(
    models: tuple[str, ...] | list[str] = COSTA_RICA_MODELS,
    *,
    folds: int = 5,
    seed: int = 2024,
    model_params: dict[str, dict] | None = None,
) -> Any:
    """Training settings for the Costa Rica run (grouped CV; households are the clusters)."""
    from slrt_ml.config import config_from_dict

    params = {**COSTA_RICA_MODEL_PARAMS, **(model_params or {})}
    return config_from_dict(
        {
            "seed": seed,
            "models": list(models),
            "cv": {"folds": folds},
            "model_params": {m: params.get(m, {}) for m in models},
            "tracking": {"enabled": False},
        }
    )


COSTA_RICA_TITLE = "Costa Rica households: models and the PMT scorecard at equal coverage"


def _save_comparison(run_dir: Path, comparison: Any, info: dict[str, Any]) -> None:
    """The run folder's comparison files and reports (real data: no synthetic banner)."""
    import json

    from slrt_ml.data.io import atomic_path, write_table
    from slrt_ml.pipeline.train import write_comparison

    write_comparison(run_dir, comparison, synthetic=False, title=COSTA_RICA_TITLE)
    write_table(comparison.slices, run_dir / "slices.csv")
    with atomic_path(run_dir / "costa_rica.json") as tmp:
        tmp.write_text(json.dumps(info, indent=2, default=str), encoding="utf-8")


def costa_rica_run(
    out: str | Path,
    *,
    train_csv: str | Path | None = None,
    models: tuple[str, ...] | list[str] = COSTA_RICA_MODELS,
    bootstrap: int = 1000,
    folds: int = 5,
    seed: int = 2024,
    weight: str = "household",
    cache: str | Path | None = None,
    model_params: dict[str, dict] | None = None,
    progress: bool = False,
) -> Any:
    """Fetch, aggregate, train ``models`` with grouped CV, compare with the PMT scorecard.

    Every model selects as many households as the scorecard (the number of poor
    households) and is measured against the poor label with paired bootstrap intervals
    (``bootstrap`` replicates; households are the clusters). Writes the run folder ``out``
    (models, ``oof_scores.parquet``, ``comparison.csv``, ``selections.parquet``,
    ``report.md``, ``report.html``, ``slices.csv``, ``costa_rica.json``) and returns the
    :class:`~slrt_ml.evaluation.compare.Comparison`.
    """
    from slrt_ml.pipeline.train import run_comparison, train

    data, info = costa_rica_data(train_csv, cache=cache)
    config = costa_rica_config(models, folds=folds, seed=seed, model_params=model_params)
    train(data, out, config, progress=progress)
    comparison = run_comparison(
        out, data, quota="reference", bootstrap=bootstrap, seed=seed, weight=weight
    )
    reference = {k: v for k, v in data.extra.items() if k != "costa_rica"}
    _save_comparison(Path(out), comparison, {**info, "reference": reference})
    return comparison


SUMMARY_METRICS = (
    "exclusion_error",
    "inclusion_error",
    "mistargeting",
    "targeting_differential",
    "roc_auc",
    "pr_auc",
)


def _cell(row: pd.Series) -> str:
    if pd.isna(row["ci_low"]):
        return f"{row['estimate']:.3f}"
    return f"{row['estimate']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]"


def comparison_summary(
    table: pd.DataFrame,
    reference: str = "pmt_scorecard",
    metrics: tuple[str, ...] = SUMMARY_METRICS,
) -> pd.DataFrame:
    """One row per system: each metric as ``estimate [ci_low, ci_high]``, and the
    exclusion-error difference from the reference (model minus reference) with its interval.

    >>> table = pd.DataFrame({"system": ["ref", "m", "m"],
    ...     "metric": ["exclusion_error", "exclusion_error", "exclusion_error_diff_vs_ref"],
    ...     "estimate": [0.5, 0.4, -0.1], "ci_low": [0.45, 0.35, -0.15],
    ...     "ci_high": [0.55, 0.45, -0.05]})
    >>> comparison_summary(table, "ref", ("exclusion_error",)).to_dict("records")[1]
    {'system': 'm', 'exclusion_error': '0.400 [0.350, 0.450]', 'exclusion_error_diff_vs_ref': '-0.100 [-0.150, -0.050]'}
    """
    wanted = [*metrics, f"exclusion_error_diff_vs_{reference}"]
    rows = table[table["metric"].isin(wanted)].assign(cell=lambda t: t.apply(_cell, axis=1))
    wide = rows.pivot(index="system", columns="metric", values="cell")
    order = list(dict.fromkeys(table["system"]))
    wide = wide.reindex(index=order, columns=[m for m in wanted if m in wide.columns])
    return wide.fillna("").reset_index().rename_axis(columns=None)


def summary_markdown(summary: pd.DataFrame) -> str:
    """A pipe table (GitHub markdown) of a small frame.

    >>> print(summary_markdown(pd.DataFrame({"system": ["logit"], "auc": ["0.81"]})))
    | system | auc |
    |---|---|
    | logit | 0.81 |
    """
    lines = [
        "| " + " | ".join(map(str, summary.columns)) + " |",
        "|" + "---|" * len(summary.columns),
    ]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in summary.itertuples(index=False)]
    return "\n".join(lines)
