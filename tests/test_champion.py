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


def _noisy_table(diff_interval):
    import pandas as pd

    return pd.DataFrame({
        "system": ["siksng", "gbm", "logit", "mlp", "logit", "mlp"],
        "metric": ["exclusion_error"] * 4 + ["exclusion_error_diff_vs_best"] * 2,
        "estimate": [0.5, 0.30, 0.31, 0.305, 0.01, 0.005],
        "ci_low": [None] * 4 + [diff_interval[0], -0.01],
        "ci_high": [None] * 4 + [diff_interval[1], 0.02],
        "view": "survey",
    })  # fmt: skip


def test_champion_is_the_simplest_model_indistinguishable_from_the_best():
    from slrt_ml.evaluation.champion import champion_decision, select_champion

    decision = champion_decision(_noisy_table((-0.01, 0.03)))
    assert decision.best == "gbm" and decision.champion == "logit"
    assert decision.indistinguishable == ("logit", "gbm", "mlp")
    assert "indistinguishable" in decision.sentence() and "pmt_ols, logit" in decision.sentence()
    # logit clearly worse: gbm (simpler than mlp) wins among gbm and mlp
    assert select_champion(_noisy_table((0.005, 0.03))) == "gbm"


def test_champion_reads_the_default_view_only():
    import pandas as pd

    from slrt_ml.evaluation.champion import select_champion

    population = _noisy_table((-0.01, 0.03)).assign(view="population")
    population.loc[population["system"] == "mlp", "estimate"] = 0.01
    table = pd.concat([_noisy_table((0.005, 0.03)), population], ignore_index=True)
    assert select_champion(table) == "gbm"
