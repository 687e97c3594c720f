"""Shared cases for the dataset-mapping tests: a toy mapping, its table, a survey."""

from __future__ import annotations

import numpy as np
import pandas as pd

from slrt_ml.data.mapping import mapping_from_dict


def raw_mapping(**overrides):
    raw = {
        "name": "toy",
        "id": "hh",
        "label": "status",
        "poor_values": {1: 1, 2: 1, 3: 0, 4: 0},
        "cluster": "village",
        "areas": {"KDKAB": "district"},
        "weight": "size",
        "reference": {"name": "scorecard", "score": "pmt", "coverage": "poor_share"},
        "slices": {"urban": "town", "female_head": "fem", "tenure": "tenure"},
        "recode": {"edu": {"yes": 1, "no": 0}},
        "features": {"numeric": ["rooms", "edu"], "categorical": ["roof"], "binary": ["tv"]},
    }
    raw.update(overrides)
    return raw


def toy_table():
    return pd.DataFrame(
        {
            "hh": [101, 102, 103, 104],
            "status": [1, 4, 3, 2],  # poor: 1, 0, 0, 1
            "village": [7, 7, 8, 8],
            "district": ["A", "A", "B", "B"],
            "size": [5, 2, 3, 4],
            "pmt": [0.9, 0.1, 0.5, 0.7],
            "town": [1, 0, 0, 1],
            "fem": ["yes", "no", "no", "yes"],
            "tenure": ["own", "rent", "own", "rent"],
            "rooms": [1, 4, 3, 2],
            "edu": ["yes", "12", "no", "6"],
            "roof": ["zinc", "tile", "zinc", "thatch"],
            "tv": [0, 1, 1, 0],
        }
    )


def survey_table(n=240, seed=3):
    rng = np.random.default_rng(seed)
    rooms = rng.integers(1, 6, n)
    tv = rng.integers(0, 2, n)
    latent = 1.5 - 0.6 * rooms - 0.8 * tv + rng.normal(0, 0.7, n)
    return pd.DataFrame(
        {
            "hh": np.arange(n),
            "village": np.arange(n) // 8,
            "poor": (latent > np.quantile(latent, 0.7)).astype(int),
            "rooms": rooms,
            "tv": tv,
            "roof": rng.choice(["zinc", "tile"], n),
        }
    )


def fitted_mapping(**reference):
    return mapping_from_dict(
        {
            "name": "survey",
            "id": "hh",
            "label": "poor",
            "cluster": "village",
            "reference": {
                "name": "pmt_scorecard",
                "fit": "pmt_ols",
                "folds": 3,
                "seed": 1,
                **reference,
            },
            "features": {"numeric": ["rooms"], "binary": ["tv"], "categorical": ["roof"]},
        }
    )
