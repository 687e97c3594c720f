"""From per-column contributions to readable reasons: grouping, labels, top-k, tidy table.

Helpers of :mod:`slrt_ml.explain.api` and of prelist scoring; everything here is
plain NumPy/pandas (no SHAP), vectorised so reasons can be written for millions of rows.

Grouping: an encoded column (``jenis_lantai=9``) belongs to the ``household_features``
column it came from (``encoder.sources_``); all one-hot columns of a feature are summed
into one contribution, so the household's *answer* to the item gets one number. A
pairwise term of an additive model (``"a & b"``) is split half and half between its two
features (the symmetric Shapley split of a two-player term,
:func:`slrt_ml.models.ebm.term_shares`).

Reasons are *items* (:mod:`slrt_ml.explain.hierarchy`): the contributions of every
feature of one questionnaire item (or member group) are summed, and the item is worded
by the household's answer behind its largest contribution, so "Lantai: tanah" counts
once, not once per encoding of the floor.

Direction: a reason toward ``"poorer"`` is a positive item contribution (the answers that
pushed the score up), toward ``"richer"`` a negative one; a direction may be given per
household (:func:`decision_direction`: selected households toward poorer, the others
toward richer). Location features (:data:`AREA_FEATURES`: kabupaten, kecamatan, urban
desa, plus a mapped table's area columns) are the same for every household of a desa and
are not the household's own answers: they are never reasons (scoring reports them once
per desa, the waterfall as one "location" bar). Answers are worded in Indonesian
(``lang="id"``, the questionnaire's words) or English (``lang="en"``: the codebook's
English glosses); a mapped table's columns and codes by its mapping's ``labels``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from slrt_ml.data.codebook import CodebookError, get_codebook
from slrt_ml.data.mapping import LabelSpec
from slrt_ml.explain.hierarchy import AREA_FEATURES, feature_hierarchy
from slrt_ml.features import FEATURES, describe_answer
from slrt_ml.models._base import BASE
from slrt_ml.models.ebm import term_shares

__all__ = [
    "AREA_FEATURES",
    "BASE",
    "PAIR_SEPARATOR",
    "grouping_matrix",
    "item_label",
    "answer_labels",
    "decision_direction",
    "top_reasons",
    "tidy_explanations",
]

PAIR_SEPARATOR = " & "


def _source_weights(column: str, sources: Mapping[str, str]) -> dict[str, float]:
    if column in sources:
        return {sources[column]: 1.0}
    if PAIR_SEPARATOR in column:
        return term_shares([sources.get(p, p) for p in column.split(PAIR_SEPARATOR)])
    return {column: 1.0}


def grouping_matrix(
    columns: Sequence[str], sources: Mapping[str, str], features: Sequence[str] | None = None
) -> tuple[np.ndarray, list[str]]:
    """Matrix ``G`` (encoded columns x features) so that ``contrib @ G`` sums to features.

    >>> G, names = grouping_matrix(["Lantai=2", "Lantai=9", "Luas"],
    ...                            {"Lantai=2": "Lantai", "Lantai=9": "Lantai", "Luas": "Luas"})
    >>> names, G.tolist()
    (['Lantai', 'Luas'], [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> grouping_matrix(["a & b"], {})[0].tolist()
    [[0.5, 0.5]]
    """
    weights = [_source_weights(str(c), sources) for c in columns]
    names = list(features) if features is not None else []
    for w in weights:
        names += [f for f in w if f not in names]
    index = {f: i for i, f in enumerate(names)}
    matrix = np.zeros((len(columns), len(names)))
    for row, w in enumerate(weights):
        for feature, share in w.items():
            matrix[row, index[feature]] += share
    return matrix, names


def item_label(feature: str) -> str:
    """The Indonesian name of a feature (its questionnaire item); the name if unknown.

    >>> item_label("not_a_feature")
    'not_a_feature'
    """
    info = FEATURES.get(feature)
    return info.label if info is not None else feature


@lru_cache(maxsize=65_536)
def _describe(feature: str, value: object, lang: str = "id") -> str:
    if feature not in FEATURES:
        return f"{feature}: {value}"
    if lang == "en":
        return _describe_en(feature, value)
    return describe_answer(feature, value)


def _describe_en(feature: str, value: object) -> str:
    """English wording: the codebook's gloss of a coded item and its answer; other
    features by their name (derived features have no English label of their own).

    >>> _describe_en("punya_lemari_es", 0.0), _describe_en("jenis_lantai", "9")
    ('punya lemari es: no', 'Main floor material: earth')
    """
    info = FEATURES[feature]
    name = feature.replace("_", " ")
    spec = None
    if info.source is not None:
        try:
            spec = get_codebook().spec(*info.source)  # type: ignore[arg-type]
            name = spec.gloss[:1].upper() + spec.gloss[1:]
        except CodebookError:
            spec = None
    if value is None:
        return f"{name}: missing"
    if info.kind == "categorical":
        code = spec.codes.get(str(value)) if spec is not None else None
        return f"{name}: {code.gloss if code is not None else value}"
    if info.kind == "binary":
        return f"{name}: {'yes' if float(value) >= 0.5 else 'no'}"  # type: ignore[arg-type]
    return f"{name}: {float(value):g}"  # type: ignore[arg-type]


def _plain(value: object) -> object:
    """Hashable, canonical value: 3.0 -> 3, NA -> None (cache key and label input)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, float | np.floating):
        return int(value) if float(value).is_integer() else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _labelled(feature: str, value: object, lang: str, labels: LabelSpec) -> str:
    """The answer as "column label: value label" by a mapping's ``labels`` (raw words
    where unlabelled).

    >>> spec = LabelSpec(columns={"roof": "Atap"}, values={"roof": {"2": "Seng"}})
    >>> _labelled("roof", "2", "id", spec), _labelled("roof", 3, "en", spec)
    ('Atap: Seng', 'Atap: 3')
    """
    name = labels.columns.get(feature, feature)
    if value is None:
        return f"{name}: {'missing' if lang == 'en' else 'tidak ada'}"
    return f"{name}: {labels.values.get(feature, {}).get(str(value), str(value))}"


def answer_labels(
    feature: str, values: np.ndarray, lang: str = "id", labels: LabelSpec | None = None
) -> np.ndarray:
    """The household's own answer for each value, in Indonesian (``lang="id"``) or English
    (``"en"``), or by a mapping's ``labels`` when they name ``feature``; one label is built
    per unique value."""
    values = np.asarray(values)
    if values.dtype == object:
        values = pd.Series(values, dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    if labels is not None and (feature in labels.columns or feature in labels.values):
        words = [_labelled(feature, _plain(u), lang, labels) for u in uniques]
    else:
        words = [_describe(feature, _plain(u), lang) for u in uniques]
    out = np.array(words, dtype=object)
    return out[codes] if len(out) else np.array([], dtype=object)


def decision_direction(selected: bool | Sequence[bool] | np.ndarray | None, n: int) -> np.ndarray:
    """Direction of each household's reasons: ``"poorer"`` where selected (or unknown),
    ``"richer"`` where not selected; ``None`` gives everyone ``"poorer"``.

    >>> decision_direction([True, False, None], 3).tolist()
    ['poorer', 'richer', 'poorer']
    >>> decision_direction(False, 2).tolist(), decision_direction(None, 1).tolist()
    (['richer', 'richer'], ['poorer'])
    """
    if selected is None:
        return np.full(n, "poorer", dtype=object)
    flags = pd.array(np.broadcast_to(np.asarray(selected, dtype=object), (n,)), dtype="boolean")
    richer = np.asarray(flags.fillna(True)) == False  # noqa: E712 (NA -> poorer)
    return np.where(richer, "richer", "poorer").astype(object)


def _direction_sign(direction: str | Sequence[str] | np.ndarray, n: int) -> np.ndarray:
    wanted = np.broadcast_to(np.asarray(direction, dtype=object), (n,))
    bad = sorted({str(d) for d in wanted} - {"poorer", "richer"})
    if bad:
        raise ValueError(f"direction: 'poorer' or 'richer' per household, got {bad[:3]}")
    return np.where(wanted == "poorer", 1.0, -1.0)


def _top_positive(contrib: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the k largest contributions per row (largest first); -1 if not > 0.

    k passes of ``argmax`` over the positive contributions (a row's chosen cell is then
    knocked out), ~3x faster than a full ``argpartition`` for small k; equal values come
    in column order.

    >>> _top_positive(np.array([[0.1, 0.3, -0.2, 0.3], [0.0, -1.0, 0.5, 0.2]]), 3).tolist()
    [[1, 3, 0], [2, 3, -1]]
    """
    k = min(k, contrib.shape[1])
    top = np.full((len(contrib), k), -1, dtype=np.int64)
    if k == 0 or len(contrib) == 0:
        return top
    if np.isnan(contrib).any():
        return _top_positive_sorted(contrib, k)
    work = np.where(contrib > 0, contrib, -np.inf)
    rows = np.arange(len(contrib))
    for slot in range(k):
        best = np.argmax(work, axis=1)
        positive = work[rows, best] > 0
        top[positive, slot] = best[positive]
        work[rows, best] = -np.inf
    return top


def _top_positive_sorted(contrib: np.ndarray, k: int) -> np.ndarray:
    """:func:`_top_positive` by partition and sort (kept for rows with NaN values)."""
    part = np.argpartition(-contrib, k - 1, axis=1)[:, :k]
    values = np.take_along_axis(contrib, part, axis=1)
    order = np.argsort(-values, axis=1, kind="stable")
    top = np.take_along_axis(part, order, axis=1)
    top[np.take_along_axis(values, order, axis=1) <= 0] = -1
    return top


def top_reasons(
    contrib: np.ndarray,
    features: pd.DataFrame,
    names: Sequence[str],
    k: int,
    *,
    direction: str | Sequence[str] | np.ndarray = "poorer",
    exclude: Sequence[str] = (),
    lang: str = "id",
    labels: LabelSpec | None = None,
    location: Sequence[str] = (),
) -> pd.DataFrame:
    """``reason_1..k``: the k items that pushed each household most toward ``direction``.

    Contributions are summed per item (:func:`~slrt_ml.explain.hierarchy.feature_hierarchy`);
    toward ``"poorer"`` only items with a positive total are reasons (largest first),
    toward ``"richer"`` only negative ones (most negative first). ``direction`` is one
    word for all households or one per household (:func:`decision_direction`). A
    household with fewer than ``k`` such items gets missing values in the last columns.
    Location features (:data:`AREA_FEATURES` and ``location``) and those in ``exclude``
    are never reasons. An item is worded by the household's answer behind its largest
    contribution toward ``direction``. ``features`` holds the household's own feature
    values (columns ``names``), aligned with the rows of ``contrib``.

    Labels are built once per feature and distinct answer (a lookup table), only for the
    households where that item is among the top k, so the cost is one pass over the
    top-k cells, not one Python call per household.

    >>> f = pd.DataFrame({"u": [20.0, 60.0], "v": [1.0, 0.0]}, index=["h1", "h2"])
    >>> top_reasons(np.array([[0.5, 0.2], [-0.1, 0.3]]), f, ["u", "v"], 2).to_dict("list")
    {'reason_1': ['u: 20', 'v: 0'], 'reason_2': ['v: 1', None]}
    >>> top_reasons(np.array([[0.5, 0.2], [-0.1, 0.3]]), f, ["u", "v"], 2,
    ...             direction=["poorer", "richer"]).to_dict("list")
    {'reason_1': ['u: 20', 'u: 60'], 'reason_2': ['v: 1', None]}
    """
    hierarchy = feature_hierarchy(names, location=location)
    if isinstance(direction, str) and direction in ("poorer", "richer"):  # one sign for all
        values = np.array(contrib, dtype=np.float64)
        if direction == "richer":
            np.negative(values, out=values)
    else:
        values = (
            np.array(contrib, dtype=np.float64) * _direction_sign(direction, len(contrib))[:, None]
        )
    dropped = set(hierarchy.location) | set(exclude)
    values[:, [j for j, name in enumerate(names) if name in dropped]] = 0.0  # never a reason
    matrix = hierarchy.item_matrix()
    top = _top_positive(values @ matrix, k)
    cells = np.full(top.shape, None, dtype=object)
    for item, cells_of_item in _cells_by_feature(top):
        rows, slots = np.divmod(cells_of_item, top.shape[1])
        columns = np.flatnonzero(matrix[:, item])
        answer = columns[np.argmax(values[np.ix_(rows, columns)], axis=1)]
        for j in np.unique(answer):
            at = answer == j
            words = answer_labels(names[j], _values(features, names[j], rows[at]), lang, labels)
            cells[rows[at], slots[at]] = words
    out = {f"reason_{slot + 1}": pd.array(cells[:, slot], dtype="string")
           for slot in range(top.shape[1])}  # fmt: skip
    for slot in range(top.shape[1], k):
        out[f"reason_{slot + 1}"] = pd.array([None] * len(top), dtype="string")
    return pd.DataFrame(out, index=features.index)


def _cells_by_feature(top: np.ndarray):
    """(feature index, flat cell positions in row-major order) for each chosen feature:
    one sort instead of one scan of the whole top-k matrix per feature.

    >>> [(j, cells.tolist()) for j, cells in _cells_by_feature(np.array([[2, 0], [0, -1]]))]
    [(0, [1, 2]), (2, [0])]
    >>> list(_cells_by_feature(np.array([[-1, -1]])))
    []
    """
    flat = top.ravel()
    order = np.argsort(flat, kind="stable")
    order = order[flat[order] >= 0]
    features, starts = np.unique(flat[order], return_index=True)
    if len(features):
        yield from zip(features.tolist(), np.split(order, starts[1:]), strict=True)


def _values(features: pd.DataFrame, name: str, rows: np.ndarray) -> np.ndarray:
    if name not in features.columns:  # a term without a household value (e.g. a pair)
        return np.full(len(rows), None, dtype=object)
    column = features[name]
    if pd.api.types.is_numeric_dtype(column.dtype):
        return column.to_numpy()[rows]
    return column.take(rows).to_numpy(dtype=object)


def tidy_explanations(
    contrib: np.ndarray,
    base: np.ndarray,
    features: pd.DataFrame,
    names: Sequence[str],
    model: str,
    *,
    lang: str = "id",
    labels: LabelSpec | None = None,
    location: Sequence[str] = (),
) -> pd.DataFrame:
    """Long table ``IDBDT, block, item, feature, answer, contribution, base_value, model``.

    One row per household and feature (the answer level), largest contribution toward
    "poorer" first within each household. ``block`` is the block key of
    :mod:`slrt_ml.explain.hierarchy` (``"III"``, ``"IV"``, ``"V"``, ``"other"``,
    ``"location"``), ``item`` the item's name in ``lang`` (or the mapping's column label):
    summing ``contribution`` by ``IDBDT, item`` gives the item contributions of the
    reasons and the waterfall. ``features`` is indexed by IDBDT and aligned with ``contrib``.
    """
    n, f = contrib.shape
    hierarchy = feature_hierarchy(names, location=location, lang=lang,
                                  column_labels=labels.columns if labels else None)  # fmt: skip
    rows = np.repeat(np.arange(n), f)
    cols = np.tile(np.arange(f), n)
    answers = np.empty(n * f, dtype=object)
    for j, name in enumerate(names):
        answers[cols == j] = answer_labels(name, _values(features, name, np.arange(n)), lang,
                                           labels)  # fmt: skip
    item_names = np.array([hierarchy.item_names[i] for i in hierarchy.items], dtype=object)
    table = pd.DataFrame(
        {
            "IDBDT": pd.array(features.index.to_numpy()[rows], dtype="string"),
            "block": pd.array(np.asarray(hierarchy.blocks, dtype=object)[cols], dtype="string"),
            "item": pd.array(item_names[cols], dtype="string"),
            "feature": pd.array(np.asarray(names, dtype=object)[cols], dtype="string"),
            "answer": pd.array(answers, dtype="string"),
            "contribution": contrib.reshape(-1).astype(np.float64),
            "base_value": np.asarray(base, dtype=np.float64)[rows],
            "model": pd.array([model] * (n * f), dtype="string"),
        }
    )
    order = np.lexsort((-table["contribution"].to_numpy(), rows))
    return table.iloc[order].reset_index(drop=True)
