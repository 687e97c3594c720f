"""The PKH benefit a household would receive if selected (slrt_ml.features.components)."""

from __future__ import annotations

import pandas as pd
import pytest

from slrt_ml.features.components import PKH_BENEFIT_2021_2024, pkh_benefit

COMPONENTS = list(PKH_BENEFIT_2021_2024)


def _counts(**rows: dict[str, int]) -> pd.DataFrame:
    frame = pd.DataFrame(0.0, index=list(rows), columns=COMPONENTS)
    for household, counts in rows.items():
        for name, count in counts.items():
            frame.loc[household, name] = float(count)
    return frame


def test_published_amounts_2021_2024():
    assert PKH_BENEFIT_2021_2024 == {
        "comp_hamil": 3_000_000, "comp_usia_dini": 3_000_000, "comp_sd": 900_000,
        "comp_smp": 1_500_000, "comp_sma": 2_000_000, "comp_disabilitas_berat": 2_400_000,
        "comp_lansia": 2_400_000,
    }  # fmt: skip


def test_pkh_benefit_by_hand():
    counts = _counts(
        none={},
        one_pupil={"comp_sd": 1},  # 900,000
        mixed={"comp_hamil": 1, "comp_sd": 2, "comp_smp": 1},  # 3.0M + 2 x 0.9M + 1.5M = 6.3M
        # six components, four paid: 3.0M (0-6) + 2.4M + 2.4M (elderly, disability) + 2.0M (SMA)
        capped={
            "comp_usia_dini": 1,
            "comp_lansia": 1,
            "comp_disabilitas_berat": 1,
            "comp_sma": 1,
            "comp_smp": 1,
            "comp_sd": 1,
        },  # fmt: skip
        three_toddlers={"comp_usia_dini": 3, "comp_sd": 3},  # 3 x 3.0M + 1 x 0.9M
    )
    benefit = pkh_benefit(counts)
    assert benefit.to_dict() == {
        "none": 0.0,
        "one_pupil": 900_000.0,
        "mixed": 6_300_000.0,
        "capped": 9_800_000.0,
        "three_toddlers": 9_900_000.0,
    }
    assert benefit.dtype == "float64" and benefit.name == "pkh_benefit"


def test_pkh_benefit_needs_every_component_count():
    with pytest.raises(KeyError, match="comp_lansia"):
        pkh_benefit(_counts(a={}).drop(columns="comp_lansia"))
