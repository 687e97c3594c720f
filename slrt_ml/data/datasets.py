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
fitted on the data (``pmt_scorecard``; see ``configs/datasets/costa_rica.yaml``). The
targeting data and the end-to-end run are in :mod:`slrt_ml.pipeline.costa_rica`.
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
]

COSTA_RICA_REQUIREMENT = "tid-costa-rica-poverty-prediction==0.0.3"
COSTA_RICA_WHEEL = "tid_costa_rica_poverty_prediction-0.0.3-py3-none-any.whl"
COSTA_RICA_MEMBER = "cr_analysis/datasets/raw/train.csv"
COSTA_RICA_SHA256 = "8f2f060d81613c467197616784033da8864986aa2d89318393e496bb9961c2c5"
# Shipped inside the package; configs/datasets/costa_rica.yaml is the documented copy.
COSTA_RICA_MAPPING = Path(str(resources.files("slrt_ml") / "resources" / "costa_rica.yaml"))

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
