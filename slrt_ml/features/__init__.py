"""Household features from the registry, one module per group of questions.

:func:`household_features` builds every feature; :func:`member_aggregates`,
:func:`pkh_components`, :func:`housing_features` and :func:`area_features` build one
group each. :data:`FEATURES` describes every column and :func:`describe_answer` turns a
value back into the household's own answer.

>>> info = FEATURES["punya_lemari_es"]
>>> info.items, info.kind
(('Ada_lemari_es',), 'binary')
>>> describe_answer("punya_lemari_es", 0)
'Tidak punya lemari es'
>>> describe_answer("n_anak_sd", 3)
'3 anak usia SD'
>>> describe_answer("jenis_lantai", "9")
'Lantai: tanah'
"""

from slrt_ml.features.area import area_features
from slrt_ml.features.catalogue import (
    CATEGORICAL_FEATURES,
    FEATURES,
    FORBIDDEN_COLUMNS,
    MISSING_CATEGORY,
    NUMERIC_FEATURES,
    PKH_BENEFIT_2020,
    PKH_MAX_COMPONENTS,
    SEVERE_DISABILITY_CODES,
    FeatureError,
    FeatureInfo,
    describe_answer,
)
from slrt_ml.features.components import pkh_components
from slrt_ml.features.households import household_features
from slrt_ml.features.housing import housing_features
from slrt_ml.features.members import member_aggregates

__all__ = [
    "FeatureInfo",
    "FeatureError",
    "FEATURES",
    "CATEGORICAL_FEATURES",
    "NUMERIC_FEATURES",
    "FORBIDDEN_COLUMNS",
    "MISSING_CATEGORY",
    "PKH_BENEFIT_2020",
    "PKH_MAX_COMPONENTS",
    "SEVERE_DISABILITY_CODES",
    "pkh_components",
    "member_aggregates",
    "housing_features",
    "area_features",
    "household_features",
    "describe_answer",
]
