"""Housing and assets: dwelling, water, sanitation, power, cooking fuel, assets, land, livestock.

Read from the household file only; per-capita measures divide by the household size
(member count, or ``Jumlah_ART``). Yes/no items follow the codebook's PBDT rule
({1, 3} yes, {2, 4} no); any other code raises, naming the column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from slrt_ml.data.codebook import NO_CODES, YES_CODES, CodebookError, decode_yes_no
from slrt_ml.features._inputs import (
    Coded,
    check_codes,
    feature_frame,
    household_ids,
    numbers,
    require_columns,
)
from slrt_ml.features.catalogue import (
    _ASSETS,
    _DAYA_WATT,
    _HOUSEHOLD_COLUMNS,
    _HOUSING_BINARIES,
    _LIVESTOCK,
    _QUALITY,
    _RAW_CATEGORIES,
)

__all__ = ["housing_columns", "housing_features"]


_YES_NO_DECODED = {**dict.fromkeys(YES_CODES, 1.0), **dict.fromkeys(NO_CODES, 0.0)}
"""The codes ``decode_yes_no`` reads without stripping; anything else goes through it."""


def _yes_no(coded: Coded, column: str) -> np.ndarray:
    """The codebook's {1, 3} yes / {2, 4} no rule, applied to the distinct codes."""
    positions, uniques = coded.factorized(column)
    if not (positions < 0).any() and set(uniques) <= _YES_NO_DECODED.keys():
        return np.array([_YES_NO_DECODED[u] for u in uniques], dtype=np.float64)[positions]
    if (positions < 0).any():
        decode_yes_no(coded.frame[column], column)  # raises, naming the column and values
    try:
        per_code = decode_yes_no(pd.Series(uniques, dtype="string"), column).to_numpy(np.float64)
    except CodebookError:
        decode_yes_no(coded.frame[column], column)  # the same error, with row counts
        raise
    return per_code[positions]


def _assets(coded: Coded) -> dict[str, np.ndarray]:
    """Yes/no items decoded with the PBDT {1, 3} yes / {2, 4} no rule; bad codes raise."""
    out = {f"punya_{stem}": _yes_no(coded, item) for item, (stem, _) in _ASSETS.items()}
    out["n_aset"] = sum(out.values())
    out["punya_lahan"] = _yes_no(coded, "Aset_tak_bergerak")
    out["punya_rumah_lain"] = _yes_no(coded, "Rumah_lain")
    out["luas_lahan_ha"] = np.nan_to_num(numbers(coded.frame, "Luas_atb"), nan=0.0) / 10_000
    return out


def _livestock(households: pd.DataFrame) -> dict[str, np.ndarray]:
    out = {
        name: np.nan_to_num(numbers(households, item), nan=0.0)
        for item, (name, _, _) in _LIVESTOCK.items()
    }
    out["ternak_tlu"] = sum(out[name] * tlu for name, _, tlu in _LIVESTOCK.values())
    return out


def _dwelling(coded: Coded, size: np.ndarray) -> dict[str, np.ndarray]:
    frame = coded.frame
    out: dict[str, np.ndarray] = {
        "luas_lantai_per_kapita": np.nan_to_num(numbers(frame, "Luas_lantai"), nan=0.0) / size,
        "kamar_per_kapita": np.nan_to_num(numbers(frame, "Jumlah_kamar"), nan=0.0) / size,
    }
    for name, (item, codes, _, _) in _HOUSING_BINARIES.items():
        out[name] = coded.isin(item, codes).astype(np.float64)
    for item, groups in _QUALITY.items():
        out[f"kualitas_{item.lower()}"] = coded.map(item, groups, 1.0)
    out["daya_watt"] = np.where(out["listrik_pln"] == 1, coded.map("Daya", _DAYA_WATT, 0.0), 0.0)
    for name, (item, _) in _RAW_CATEGORIES.items():
        out[name] = coded.codes(item)
    return out


def housing_columns(households: pd.DataFrame, size: np.ndarray) -> dict[str, np.ndarray]:
    """Every housing, asset and livestock feature as arrays aligned with ``households``.

    ``size`` (household size) is floored at 1, with NaN taken as 1.
    """
    require_columns(households, _HOUSEHOLD_COLUMNS, "households")
    coded = Coded(households)
    code_items = (*_QUALITY, "Daya", *(i for i, *_ in _HOUSING_BINARIES.values()))
    check_codes(coded, code_items, "household", "households")
    size = np.maximum(np.nan_to_num(size, nan=1.0), 1.0)
    return {**_dwelling(coded, size), **_assets(coded), **_livestock(households)}


def housing_features(
    households: pd.DataFrame, n_art: pd.Series | np.ndarray | None = None
) -> pd.DataFrame:
    """Dwelling, water, sanitation, power, cooking fuel, assets, land and livestock.

    Quality groups of floor/wall/roof: 2 good, 1 medium, 0 poor (see ``_QUALITY``);
    ``daya_watt`` is 0 without PLN power or without a meter, 3500 for "> 2.200 watt".

    Parameters
    ----------
    households : DataFrame
        The household file (PBDT 2015 columns).
    n_art : Series or ndarray, optional
        Household size aligned with ``households``; defaults to ``Jumlah_ART``.

    Returns
    -------
    DataFrame
        One row per household, indexed by ``IDBDT`` in ``households`` order.

    Raises
    ------
    FeatureError
        A required column is missing, ``IDBDT`` is duplicated or a code is not in the codebook.

    >>> row = {c: "1" for c in _HOUSEHOLD_COLUMNS}
    >>> row.update(IDBDT="A", KDPROP="73", KDKAB="11", KDKEC="010", KDDESA="001", Jumlah_ART=4,
    ...            Luas_lantai=36.0, Jumlah_kamar=2, Lantai="9", Daya="2", Luas_atb=5000.0,
    ...            Jumlah_sapi=2, Jumlah_kerbau=0, Jumlah_kuda=0, Jumlah_babi=0, Jumlah_kambing=3)
    >>> h = housing_features(pd.DataFrame([row]))
    >>> h.loc["A", ["luas_lantai_per_kapita", "kualitas_lantai", "daya_watt", "n_aset", "ternak_tlu"]].tolist()
    [9.0, 0.0, 900.0, 15.0, 1.7000000476837158]
    """
    ids = household_ids(households)
    size = numbers(households, "Jumlah_ART") if n_art is None else np.asarray(n_art, float)
    return feature_frame(housing_columns(households, size), ids)
