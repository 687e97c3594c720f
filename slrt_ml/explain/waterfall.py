"""The bars of one household's waterfall: named items, one remainder per block, location.

A waterfall starts at the base value and ends at the household's score. Its bars are:

1. the ``max_items`` items (:mod:`slrt_ml.explain.hierarchy`) with the largest absolute
   contribution, each worded by the household's answer behind its largest contribution;
2. one bar per block for the items not named ("Blok IV (anggota rumah tangga): 12 item
   lain"). **No remainder is larger than the largest named bar**: while one is (in
   absolute value), its largest item is named too, so the named reasons always explain
   more than any catch-all. A remainder of a single item is that item, named;
3. one "location" bar: the area features (kabupaten, kecamatan, urban desa; a mapped
   table's area columns), which say where the household lives, not what it answered.

Every feature contribution lands in exactly one bar, so ``base + sum(bars)`` is the
household's margin (the sums only regroup the exact contributions).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from slrt_ml.explain.hierarchy import BLOCK_ORDER, LOCATION, block_name

__all__ = ["name_items", "waterfall_bars"]

_COLUMNS = ["kind", "label", "value", "block", "n_items"]
_OTHER_ITEMS = {"id": "{block}: {n} item lain", "en": "{block}: {n} other items"}


def name_items(values: np.ndarray, blocks: np.ndarray, max_items: int) -> np.ndarray:
    """Which items get their own bar (boolean mask); the rest make one bar per block.

    The ``max_items`` largest ``|values|`` (non-zero ones) first; then, while a block's
    remainder is larger in absolute value than the largest named item, or holds a single
    non-zero item, its largest item is named too.

    >>> name_items(np.array([0.5, 0.2, 0.2, 0.2, -0.1]), np.array(list("aabbb")), 1).tolist()
    [True, True, False, False, False]
    >>> name_items(np.array([0.3, 0.0, 0.0]), np.array(list("abb")), 5).tolist()
    [True, False, False]
    """
    values = np.asarray(values, dtype=np.float64)
    blocks = np.asarray(blocks)
    if max_items < 1:
        raise ValueError(f"max_items must be at least 1, got {max_items}")
    size = np.abs(values)
    order = np.argsort(-size, kind="stable")
    named = np.zeros(len(values), dtype=bool)
    named[order[:max_items]] = size[order[:max_items]] > 0
    for _ in range(len(values)):
        largest = size[named].max(initial=0.0)
        promote = _item_to_promote(values, size, blocks, named, largest)
        if promote is None:
            break
        named[promote] = True
    return named


def _item_to_promote(values, size, blocks, named, largest):
    for block in pd.unique(blocks):
        rest = np.flatnonzero(~named & (blocks == block) & (size > 0))
        if len(rest) == 1 or (len(rest) and abs(values[rest].sum()) > largest):
            return rest[np.argmax(size[rest])]
    return None


def _household_items(rows: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """Item contributions of one household: arrays ``block, item, value, answer`` (the
    answer behind the item's largest contribution in the direction of its total)."""
    block = rows["block"].to_numpy(dtype=object).astype(str)
    item = rows["item"].to_numpy(dtype=object).astype(str)
    codes, uniques = pd.factorize(np.char.add(np.char.add(block, "\x00"), item), sort=False)
    contribution = rows["contribution"].to_numpy(np.float64)
    value = np.bincount(codes, weights=contribution, minlength=len(uniques))
    signed = contribution * np.where(value[codes] < 0, -1.0, 1.0)
    order = np.lexsort((-signed, codes))  # per item, its largest signed contribution first
    first = order[np.r_[True, codes[order][1:] != codes[order][:-1]]]
    answer = rows["answer"].to_numpy(dtype=object)
    return block[first], item[first], value, answer[first]


def waterfall_bars(
    table: pd.DataFrame, household: str, *, max_items: int = 10, lang: str = "id"
) -> pd.DataFrame:
    """The bars of one household's waterfall, in drawing order.

    Parameters
    ----------
    table : DataFrame
        A tidy explanation table (``Explanation.table``: ``IDBDT, block, item, answer,
        contribution, base_value``).
    household : str
        The ``IDBDT`` to draw.
    max_items : int, default 10
        Items named before block remainders; more are named when a remainder would
        otherwise be larger than the largest named item.
    lang : {"id", "en"}
        Language of the remainder and location labels.

    Returns
    -------
    DataFrame
        ``kind`` (``"item"``, ``"block"``, ``"location"``), ``label``, ``value``,
        ``block``, ``n_items``; ``attrs["base"]`` is the base value and
        ``attrs["score"]`` = base + the sum of the household's contributions (= base +
        the sum of ``value``).

    Raises
    ------
    ValueError
        ``household`` is not in ``table``, or ``max_items < 1``.
    """
    rows = table[(table["IDBDT"] == household).to_numpy(dtype=bool, na_value=False)]
    if rows.empty:
        raise ValueError(f"household {household!r} is not in the explanation table; "
                         "pass an IDBDT from --households or the data")  # fmt: skip
    block, _, value, answer = _household_items(rows)
    place = block == LOCATION
    location = float(value[place].sum())
    block, value, answer = block[~place], value[~place], answer[~place]
    named = name_items(value, block, max_items)
    shown = np.flatnonzero(named)[np.argsort(-np.abs(value[named]), kind="stable")]
    bars = [("item", answer[i], value[i], block[i], 1) for i in shown]
    bars += _block_bars(value[~named], block[~named], lang)
    if place.any():
        bars.append(("location", block_name(LOCATION, lang), location, LOCATION, int(place.sum())))
    columns = list(zip(*bars, strict=True)) if bars else [()] * len(_COLUMNS)
    out = pd.DataFrame({
        "kind": np.array(columns[0], dtype=object), "label": np.array(columns[1], dtype=object),
        "value": np.array(columns[2], dtype=np.float64), "block": np.array(columns[3], dtype=object),
        "n_items": np.array(columns[4], dtype=np.int64),
    })  # fmt: skip
    base = float(rows["base_value"].iloc[0])
    out.attrs.update(base=base, score=base + float(rows["contribution"].sum()))
    return out


def _block_bars(value: np.ndarray, block: np.ndarray, lang: str) -> list[tuple]:
    """One bar per block of the items not named; items that add nothing (0.0: unused by a
    tree model) are left out of the count."""
    value, block = value[value != 0.0], block[value != 0.0]
    rank = {b: i for i, b in enumerate(BLOCK_ORDER)}
    template = _OTHER_ITEMS["en" if lang == "en" else "id"]
    bars = []
    for b in sorted(set(block.tolist()), key=lambda b: (rank.get(b, len(rank)), b)):
        members = block == b
        label = template.format(block=block_name(b, lang), n=int(members.sum()))
        bars.append(("block", label, float(value[members].sum()), b, int(members.sum())))
    return bars
