"""The verification-budget curve: hand-computed errors after K visits, orders, visits to cut."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slrt_ml.evaluation.verification import (
    conformal_first_order,
    priority_rule_order,
    random_order,
    verification_curve,
    visits_to_cut,
)


def test_hand_computed_curve():
    target = np.array([1, 1, 1, 0, 0, 0])
    selected = np.array([1, 0, 0, 1, 1, 0])
    # visit: 1 (missed target), 3 (wrongly listed), 5 (correctly left out), 2 (missed)
    curve = verification_curve(
        target, selected, {"o": np.array([1, 3, 5, 2])}, steps=[0, 1, 2, 3, 4]
    )
    assert curve["exclusion_error"].tolist() == pytest.approx([2 / 3, 1 / 3, 1 / 3, 1 / 3, 0.0])
    assert curve["inclusion_error"].tolist() == pytest.approx([2 / 3, 2 / 4, 1 / 3, 1 / 3, 1 / 4])
    assert curve["listed"].tolist() == [3, 4, 3, 3, 4]
    assert visits_to_cut(curve, 0.3) == {"o": 1.0}
    assert np.isnan(visits_to_cut(curve, 0.9)["o"])
    with pytest.raises(ValueError, match="twice"):
        verification_curve(target, selected, {"o": np.array([1, 1])})


def test_orders_cover_the_eligible_once_and_the_priority_rule_starts_at_the_cut_off():
    score = np.array([6.0, 5.0, 4.0, 3.0, 2.0, 1.0])
    eligible = np.array([1, 1, 1, 1, 0, 1], bool)
    selected = np.array([1, 1, 0, 0, 0, 0], bool)
    order = priority_rule_order(score, selected, eligible)
    assert sorted(order.tolist()) == [0, 1, 2, 3, 5]
    assert set(order[:2].tolist()) == {1, 2}  # ranks 2 and 3 sit either side of the cut-off
    conf = conformal_first_order(np.array([0.9, 0.6, 0.1, 0.45, 0.5, 0.2]),
                                 np.array([0, 1, 0, 1, 1, 0], bool), eligible)  # fmt: skip
    assert conf.tolist() == [3, 1, 5, 0, 2]
    assert sorted(random_order(eligible, 3).tolist()) == [0, 1, 2, 3, 5]


def test_visiting_everyone_removes_every_error_among_the_eligible():
    rng = np.random.default_rng(0)
    target, selected = rng.random(200) < 0.3, rng.random(200) < 0.3
    curve = verification_curve(target, selected, {"r": random_order(np.ones(200, bool))})
    last = curve.iloc[-1]
    assert last["exclusion_error"] == 0 and last["inclusion_error"] == 0
    weights = verification_curve(target, selected, {"r": np.arange(200)}, steps=[0],
                                 sample_weight=np.ones(200))  # fmt: skip
    plain = verification_curve(target, selected, {"r": np.arange(200)}, steps=[0])
    pd.testing.assert_frame_equal(weights, plain)
