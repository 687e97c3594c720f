"""Per-household explanations of every model family, grouped to questionnaire answers.

:func:`explain_households` gives the tidy table and the top-k reasons;
:func:`reason_columns` the reasons alone (batch scoring); :func:`waterfall_bars` and
:func:`plot_waterfall` one household's waterfall. Contributions roll up block -> item ->
answer (:func:`feature_hierarchy`); a mapped table's area columns are
:func:`mapped_location`. Exact methods live in :mod:`~slrt_ml.explain.treeshap` (XGBoost, random
forest) and :mod:`~slrt_ml.explain.deeplift` (Keras); shap is imported inside functions.
"""

from slrt_ml.explain.api import (
    BASE,
    Explanation,
    encoded_contributions,
    explain_households,
    feature_contributions,
    model_margin,
    reason_columns,
)
from slrt_ml.explain.deeplift import deeplift_head
from slrt_ml.explain.hierarchy import feature_hierarchy, mapped_location
from slrt_ml.explain.plots import plot_waterfall
from slrt_ml.explain.waterfall import waterfall_bars

__all__ = [
    "BASE",
    "Explanation",
    "deeplift_head",
    "encoded_contributions",
    "explain_households",
    "feature_contributions",
    "feature_hierarchy",
    "mapped_location",
    "model_margin",
    "plot_waterfall",
    "reason_columns",
    "waterfall_bars",
]
