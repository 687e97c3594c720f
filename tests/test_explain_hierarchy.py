"""Block -> item -> answer: the hierarchy, the waterfall invariant, mapping labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mapping_cases import raw_mapping

from slrt_ml.data.mapping import mapping_from_dict
from slrt_ml.explain import (
    explain_households,
    feature_hierarchy,
    mapped_location,
    reason_columns,
    waterfall_bars,
)
from slrt_ml.explain.hierarchy import AREA_FEATURES, LOCATION
from slrt_ml.explain.reasons import top_reasons
from slrt_ml.explain.waterfall import name_items
from slrt_ml.features import FEATURES
from slrt_ml.models import make_model

BLOCKS = ["III", "IV", "V", "other", LOCATION]


def test_every_catalogue_feature_has_one_item_and_block():
    hierarchy = feature_hierarchy(list(FEATURES))
    matrix = hierarchy.item_matrix()
    assert (matrix.sum(axis=1) == 1).all()  # each feature in exactly one item
    assert set(hierarchy.blocks) == {"III", "IV", "V", LOCATION}
    assert sorted(hierarchy.location) == sorted(AREA_FEATURES) == [
        "kabupaten", "kecamatan", "perkotaan"
    ]  # fmt: skip
    by_item = pd.Series(hierarchy.features).groupby(pd.Series(hierarchy.items)).agg(set)
    assert by_item["Sumber_airminum"] == {"sumber_air_minum", "air_layak", "air_kemasan",
                                          "air_leding"}  # fmt: skip
    assert by_item["anak_sd"] == {"n_anak_sd", "share_anak_sd", "comp_sd"}
    # one block per item: an item never straddles two blocks
    pairs = set(zip(hierarchy.items, hierarchy.blocks, strict=True))
    assert len(pairs) == len(set(hierarchy.items))
    english = feature_hierarchy(["jenis_lantai", "krt_umur"], lang="en").item_names
    assert english == {"Lantai": "Main floor material", "krt_umur": "Age of the household head"}


def test_name_items_promotes_until_no_remainder_is_larger():
    values = np.array([0.30, 0.25, 0.20, 0.15, 0.10, 0.05])
    blocks = np.array(["a", "b", "b", "b", "b", "b"])
    named = name_items(values, blocks, 1)
    # b's remainder 0.75 > 0.30: 0.25 named, then 0.50 > 0.30: 0.20 named, then 0.30 <= 0.30
    assert named.tolist() == [True, True, True, False, False, False]
    # the remainder -0.1 of b is small: its two items stay grouped
    small = name_items(np.array([1.0, -0.6, 0.5]), np.array(["a", "b", "b"]), 1)
    assert small.tolist() == [True, False, False]
    with pytest.raises(ValueError, match="max_items must be at least 1"):
        name_items(values, blocks, 0)


@st.composite
def _households(draw):
    n_items = draw(st.integers(1, 25))
    blocks = draw(st.lists(st.sampled_from(BLOCKS), min_size=n_items, max_size=n_items))
    features = draw(st.lists(st.integers(0, n_items - 1), min_size=1, max_size=60))
    value = st.one_of(st.just(0.0), st.floats(-5, 5, allow_nan=False, allow_subnormal=False))
    contrib = draw(st.lists(value, min_size=len(features), max_size=len(features)))
    return pd.DataFrame({
        "IDBDT": "h", "block": [blocks[i] for i in features],
        "item": [f"item {i}" for i in features], "feature": [f"f{j}" for j in range(len(features))],
        "answer": [f"answer {j}" for j in range(len(features))], "contribution": contrib,
        "base_value": draw(st.floats(-3, 3)), "model": "m",
    })  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(table=_households(), max_items=st.integers(1, 12))
def test_waterfall_invariant_on_random_hierarchies(table, max_items):
    bars = waterfall_bars(table, "h", max_items=max_items)
    base = table["base_value"].iloc[0]
    assert np.isclose(base + bars["value"].sum(), base + table["contribution"].sum(),
                      rtol=0, atol=1e-9)  # fmt: skip
    named = bars.loc[bars["kind"] == "item", "value"].abs()
    remainders = bars.loc[bars["kind"] == "block", "value"].abs()
    assert (remainders <= named.max()).all() if len(remainders) else True
    assert (bars.loc[bars["kind"] == "block", "n_items"] >= 2).all()
    assert (bars["kind"] == "location").sum() == int((table["block"] == LOCATION).any())
    # every answered (non-zero) item outside location is in exactly one bar
    items = table[table["block"] != LOCATION].groupby("item")["contribution"].sum()
    nonzero = int((items != 0).sum())
    assert len(named) + bars.loc[bars["kind"] == "block", "n_items"].sum() == nonzero
    assert len(named) >= min(max_items, nonzero)


def _toy(n: int = 240, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    roof = rng.choice(["1", "2", "3"], n)
    X = pd.DataFrame({
        "rooms": rng.integers(1, 6, n).astype(np.float32),
        "edu": rng.integers(0, 12, n).astype(np.float32),
        "roof": pd.array(roof, dtype="string"),
        "tv": rng.integers(0, 2, n).astype(np.float32),
        "town": rng.integers(0, 2, n).astype(np.float32),
    }, index=pd.Index([f"h{i}" for i in range(n)], name="IDBDT"))  # fmt: skip
    poor = (X["rooms"] + 2 * (roof == "2") - X["tv"] + rng.normal(0, 1, n) < 3).astype(int)
    return X, poor.to_numpy()


def test_mapping_labels_word_reasons_and_area_columns_are_location():
    mapping = mapping_from_dict(raw_mapping(
        features={"numeric": ["rooms", "edu"], "categorical": ["roof"], "binary": ["tv", "town"]},
        labels={"columns": {"roof": "Atap", "rooms": "Jumlah kamar", "tv": "Televisi"},
                "values": {"roof": {1: "Genteng", 2: "Seng", 3: "Rumbia"}, "tv": {0: "tidak"}}},
    ))  # fmt: skip
    assert mapped_location(mapping) == ("town",)  # the urban slice column
    X, poor = _toy()
    model = make_model("logit", {"max_iter": 300}).fit(X, poor)
    options = {"labels": mapping.labels, "location": mapped_location(mapping)}
    result = explain_households(model, X.iloc[:40], top_k=5, **options)
    words = result.reasons.filter(like="reason_").stack().dropna().astype(str)
    assert words.str.match(r"^(Atap: (Genteng|Seng|Rumbia)|Jumlah kamar: \d|Televisi: (1|tidak)"
                           r"|edu: \d+)$").all(), words.unique()  # fmt: skip
    assert words.str.startswith("Atap: ").any()
    table = result.table
    assert set(table.loc[table["feature"] == "town", "block"]) == {LOCATION}
    assert set(table.loc[table["feature"] == "roof", "item"]) == {"Atap"}
    bars = waterfall_bars(table, "h0", max_items=2)
    assert bars["kind"].tolist()[-1] == "location" and "town" not in " ".join(bars["label"])
    assert np.isclose(bars.attrs["score"], result.reasons.loc["h0", "score"], rtol=0, atol=1e-9)
    # without labels the raw wording stays
    raw = reason_columns(model, X.iloc[:40], top_k=5)
    assert raw.filter(like="reason_").stack().astype(str).str.contains("roof: ").any()


def test_direction_per_household_and_exclusions():
    f = pd.DataFrame({"kecamatan": ["7399007"] * 2, "u": [1.0, 2.0], "v": [0.0, 1.0]},
                     index=["a", "b"])  # fmt: skip
    contrib = np.array([[5.0, 0.5, -0.2], [-5.0, 0.1, -0.4]])
    got = top_reasons(contrib, f, ["kecamatan", "u", "v"], 2, direction=["poorer", "richer"])
    assert got.to_dict("list") == {"reason_1": ["u: 1", "v: 1"], "reason_2": [None, None]}
    with pytest.raises(ValueError, match=r"'poorer' or 'richer' per household, got \['up'\]"):
        top_reasons(contrib, f, ["kecamatan", "u", "v"], 2, direction="up")
