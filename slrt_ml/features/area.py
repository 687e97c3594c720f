"""Area features: kabupaten and kecamatan codes, and ``perkotaan`` (urban desa).

The single rule for "urban" in the package: a household is urban when its desa's
``Klasifikasi`` in the areas table is ``"1"`` (:func:`area_features`, column
``perkotaan``). Keys are built by :func:`slrt_ml.data.codebook.area_keys`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from slrt_ml.data.codebook import AREA_CODE_COLUMNS, area_keys
from slrt_ml.features._inputs import Coded, feature_frame, household_ids, require_columns
from slrt_ml.features.catalogue import FeatureError

__all__ = ["area_columns", "area_features"]


def _area_codes(frame: pd.DataFrame) -> dict[str, pd.api.extensions.ExtensionArray]:
    """Kabupaten, kecamatan and desa keys ("7311", "7311010", "7311010001"), built once
    per distinct desa and broadcast to the rows."""
    coded = Coded(frame)
    key = np.zeros(len(frame), dtype=np.int64)
    for column in AREA_CODE_COLUMNS:
        positions, uniques = coded.factorized(column)
        key = key * (len(uniques) + 1) + positions + 1
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    keys = area_keys(frame.iloc[first])
    return {name: keys[name].array.take(inverse) for name in ("kabupaten", "kecamatan", "desa")}


def _urban(desa: pd.api.extensions.ExtensionArray, areas: pd.DataFrame) -> np.ndarray:
    """1.0 where the household's desa is classified urban (``Klasifikasi == "1"``)."""
    require_columns(areas, (*AREA_CODE_COLUMNS, "Klasifikasi"), "areas")
    area_key = pd.Index(_area_codes(areas)["desa"])
    if area_key.has_duplicates:
        duplicated = area_key[area_key.duplicated()].unique()[:5].tolist()
        raise FeatureError(f"areas: desa codes must be unique; duplicated: {duplicated}")
    urban = Coded(areas).isin("Klasifikasi", ("1",)).astype(np.float64)
    positions, distinct = pd.factorize(desa)
    found = area_key.get_indexer(distinct)[positions]
    if (found < 0).any():
        missing = pd.unique(desa[found < 0])
        raise FeatureError(
            f"areas: {len(missing)} desa of the households are missing "
            f"(KDPROP+KDKAB+KDKEC+KDDESA), e.g. {missing[:5].tolist()}; "
            "use the areas table of the same registry or pass areas=None"
        )
    return urban[found]


def area_columns(households: pd.DataFrame, areas: pd.DataFrame | None) -> dict:
    """``kabupaten``, ``kecamatan`` and, with ``areas``, ``perkotaan``, aligned with
    ``households``."""
    columns = _area_codes(households)
    desa = columns.pop("desa")
    if areas is not None:
        columns["perkotaan"] = _urban(desa, areas)
    return columns


def area_features(households: pd.DataFrame, areas: pd.DataFrame | None = None) -> pd.DataFrame:
    """Kabupaten ("7311") and kecamatan ("7311010") codes; ``perkotaan`` from the areas table.

    Codes are concatenated, never parsed as numbers, so a kecamatan code is unique across
    kabupaten. The desa is not a feature: too few households per desa to learn from.

    Parameters
    ----------
    households : DataFrame
        Holds ``IDBDT`` and the code columns ``KDPROP``, ``KDKAB``, ``KDKEC``, ``KDDESA``.
    areas : DataFrame, optional
        The areas table (the same code columns and ``Klasifikasi``); without it there is
        no ``perkotaan`` column.

    Returns
    -------
    DataFrame
        ``kabupaten`` and ``kecamatan`` (``string``) and ``perkotaan`` (``float32``,
        1.0 = urban), indexed by ``IDBDT`` in ``households`` order.

    Raises
    ------
    FeatureError
        A household's desa is not in ``areas`` (the message names the desa codes), the
        areas table repeats a desa, or ``IDBDT`` is duplicated.

    >>> hh = pd.DataFrame({"IDBDT": ["A"], "KDPROP": ["73"], "KDKAB": ["11"], "KDKEC": ["010"], "KDDESA": ["001"]})
    >>> area_features(hh).loc["A"].tolist()
    ['7311', '7311010']
    """
    return feature_frame(area_columns(households, areas), household_ids(households))
