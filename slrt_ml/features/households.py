"""All household features in one frame: member aggregates, PKH components, housing, area.

Every function here is **stateless per household**: a household's features depend on its
own rows of the household and member files (and its desa's row of the area file) and on
nothing learned from other households. So features can be built once for the whole
registry without leaking across cross-validation folds; the only learned preprocessing
(one-hot vocabularies, scaling) lives in ``slrt_ml.models._encoding.FeatureEncoder`` and
is fitted on training folds only.

Output of :func:`household_features`: one row per household, indexed by ``IDBDT`` in the
order of the household file; numeric and binary columns are ``float32`` with no NaN,
categorical columns (listed in :data:`CATEGORICAL_FEATURES`) are ``string`` codes.
Each column is described in :data:`FEATURES` (questionnaire items, Indonesian label,
kind); :func:`describe_answer` turns a value back into the household's own answer.

Definitions and imputations (all fixed rules, never statistics of the data):

- Household size ``n_art`` is the number of member rows. A household with no member rows
  gets ``n_art`` from ``Jumlah_ART`` (at least 1), ``art_tidak_tercatat = 1``, member
  counts and shares 0, head's age/education/hours 0, head's binaries 0 and head's
  categoricals ``"tidak_ada"`` (:data:`MISSING_CATEGORY`).
- Dependency ratio = (members aged < 15 + members aged 65+) / members aged 15-64; with no
  working-age member the denominator is taken as 1 (so it equals the dependants count).
- The head is the member with ``Hub_KRT == "1"``; with several, or none, the oldest of
  them (or of all members), then the lowest ``NoART``.
- Shares are counts divided by ``n_art``.
- Land area ``luas_lahan_ha`` is ``Luas_atb`` in hectares, 0 when missing.
- Livestock in tropical livestock units (FAO): cattle and buffalo 0.7, horse 0.8, pig 0.2,
  goat/sheep 0.1.

PKH components follow DESIGN §2 and the 2020 benefit schedule, see :func:`pkh_components`.

Program flags (``Sta_kks`` ... ``Sta_rastra``), the registry's ``Percentile``, SIKS-NG's
output, the truth and ``NIK`` never enter the features (:data:`FORBIDDEN_COLUMNS`).

The pieces live in :mod:`~slrt_ml.features.members` (member aggregates and the head),
:mod:`~slrt_ml.features.components` (PKH components), :mod:`~slrt_ml.features.housing`
and :mod:`~slrt_ml.features.area`; this module joins them into one frame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from slrt_ml.features._inputs import feature_frame, household_ids, numbers, require_columns
from slrt_ml.features.area import area_columns
from slrt_ml.features.catalogue import _HOUSEHOLD_COLUMNS
from slrt_ml.features.components import pkh_columns
from slrt_ml.features.housing import housing_columns
from slrt_ml.features.members import member_columns, prepare_members

__all__ = ["household_features"]


def household_features(
    households: pd.DataFrame,
    members: pd.DataFrame,
    areas: pd.DataFrame | None = None,
    *,
    elderly_age: float = 60,
) -> pd.DataFrame:
    """All features, one row per household, indexed by ``IDBDT`` in ``households`` order.

    Columns of :data:`FORBIDDEN_COLUMNS` in the inputs are ignored. Households without
    member rows are kept (see the module docstring for how they are filled); members of
    households not in ``households`` are ignored. Numeric columns are ``float32`` without
    NaN; categorical ones (:data:`CATEGORICAL_FEATURES`) are ``string``. ``perkotaan`` is
    present only when ``areas`` is given. ``elderly_age`` is passed to :func:`pkh_components`
    (``comp_lansia``); ``n_lansia`` always counts members aged 60+.

    Parameters
    ----------
    households : DataFrame
        The household file (PBDT 2015 columns); ``IDBDT`` unique.
    members : DataFrame
        The member file.
    areas : DataFrame, optional
        The areas table, for ``perkotaan``.
    elderly_age : float, default 60
        Age from which a member counts under the PKH elderly component.

    Returns
    -------
    DataFrame
        One row per household, columns of :data:`FEATURES` (``perkotaan`` only with ``areas``).

    Raises
    ------
    FeatureError
        A required column is missing, a code is not in the codebook, ``IDBDT`` is
        duplicated or a household's desa is not in ``areas``.
    """
    # FORBIDDEN_COLUMNS are never read: every builder takes its columns by name (no copy
    # of the frames to drop them, which cost ~0.1 s per 100k households)
    require_columns(households, _HOUSEHOLD_COLUMNS, "households")
    ids = household_ids(households)
    m, _ = prepare_members(members, ids)
    columns = member_columns(m)
    no_members = columns["art_tidak_tercatat"] == 1
    if no_members.any():
        fallback = np.maximum(np.nan_to_num(numbers(households, "Jumlah_ART"), nan=1.0), 1.0)
        columns["n_art"] = np.where(no_members, fallback, columns["n_art"])
    columns.update(pkh_columns(m, elderly_age))
    columns.update(housing_columns(households, columns["n_art"]))
    columns.update(area_columns(households, areas))
    return feature_frame(columns, ids)
