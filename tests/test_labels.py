import numpy as np
import pandas as pd
import pytest

from slrt_ml.targeting.labels import LabelError, check_label_prevalence, text_label_hint


@pytest.mark.parametrize("value", [0, 1])
def test_one_class_is_refused_naming_the_column(value):
    with pytest.raises(
        LabelError, match=r"truth\.csv: label 'poor' has one class .*welfare in logs"
    ):
        check_label_prevalence(np.full(50, value), column="poor", source="truth.csv")


def test_prevalence_under_one_percent_is_refused():
    label = np.zeros(1000)
    label[:5] = 1
    with pytest.raises(LabelError, match=r"5 of 1000 households poor, 0\.5%"):
        check_label_prevalence(label, column="y", source="m.yaml")


def test_weights_decide_the_prevalence():
    label = np.array([1, 0, 0, 0])
    check_label_prevalence(label, column="y", source="s")  # 25%: fine
    with pytest.raises(LabelError, match="prevalence outside"):
        check_label_prevalence(label, column="y", source="s", sample_weight=[1, 500, 500, 500])


def test_a_usable_label_passes():
    check_label_prevalence(np.r_[np.ones(2), np.zeros(198)], column="y", source="s")


def test_text_labels_get_a_poor_values_hint():
    hint = text_label_hint(pd.Series(["Pobre", "No pobre", None]), column="y", source="m.yaml")
    assert "poor_values" in hint and "'Pobre'" in hint
    assert text_label_hint(pd.Series(["1", "0", None]), column="y", source="m.yaml") is None
