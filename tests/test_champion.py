"""The champion rule: lowest exclusion error, ties by inclusion error, never SIKS-NG."""

from __future__ import annotations

import pandas as pd
import pytest
from tracking_data import COMPARISON  # tests/ is on sys.path

from slrt_ml.evaluation.champion import select_champion


def test_champion_ties_break_by_inclusion_error_and_never_siksng():
    assert select_champion(COMPARISON) == "pmt_ols"
    assert select_champion(COMPARISON, ["logit"]) == "logit"
    only_siksng = COMPARISON[COMPARISON["system"] == "siksng"]
    with pytest.raises(ValueError, match="no model with an exclusion_error"):
        select_champion(only_siksng)


def test_row_order_does_not_change_the_champion():
    assert select_champion(COMPARISON.iloc[::-1]) == select_champion(COMPARISON)


def test_remaining_ties_go_to_the_first_name():
    rows = pd.DataFrame({"system": ["b", "a"], "metric": "exclusion_error", "estimate": 0.3})
    assert select_champion(rows) == "a"


def test_a_table_without_exclusion_error_names_the_fix():
    rows = pd.DataFrame({"system": ["logit"], "metric": ["roc_auc"], "estimate": [0.8]})
    with pytest.raises(ValueError, match="slrt-ml compare"):
        select_champion(rows)
