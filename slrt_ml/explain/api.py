"""Per-household explanations: SHAP values of every model, grouped to questionnaire answers.

**Sign convention.** Every contribution is in the model's *margin* space, the space of
``model.decision_function`` (= ``poverty_score``, higher = poorer): log-odds of being
poor for the classifiers, minus predicted log welfare for the OLS proxy-means test. A
positive contribution pushes the household toward "poorer". For every household
``base_value + sum(contributions) == decision_function`` (tests check it per family).

How each family is explained (exact where an exact method exists):

- ``pmt_ols``, ``logit``: linear SHAP in closed form, ``coef * (x - training mean)`` on
  the standardised / one-hot columns (``model.contributions``);
- ``gbm`` (XGBoost): exact TreeSHAP from XGBoost's ``pred_contribs=True``;
- ``ebm``: the additive terms themselves (``eval_terms``); a pairwise interaction term is
  split half and half between its two features;
- ``rf`` (scikit-learn forest): shap's exact ``TreeExplainer`` on the vote share, rescaled
  to the log-odds margin: each value is multiplied by ``(logit(p) - logit(p0)) / (p - p0)``
  (``p0`` the base vote share), which keeps the signs, the ranking of reasons and exact
  additivity in log-odds;
- ``mlp`` (Keras): DeepLIFT (rescale rule, the method behind shap's DeepExplainer) on the
  dense head, whose input is the numerics and the embedding vectors concatenated; the
  dimensions of each embedding are summed back to its column. The reference is a small
  fixed background: by default one point, the training mean of the numerics (0 after
  standardising) and the mean vector of each embedding table. DeepLIFT is exactly
  additive: base (mean head output at the references) + contributions = the logit.

Contributions of encoded columns are summed back to ``household_features`` columns (all
one-hot columns of ``jenis_lantai`` become one "Lantai" contribution), labelled with the
household's own answer (:func:`slrt_ml.features.households.describe_answer`). SHAP is imported here
only, inside functions.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from slrt_ml.explain.reasons import BASE, grouping_matrix, tidy_explanations, top_reasons

__all__ = [
    "BASE",
    "Explanation",
    "encoded_contributions",
    "feature_contributions",
    "explain_households",
    "reason_columns",
    "model_margin",
    "deeplift_head",
    "plot_waterfall",
]

_PROBA_FLOOR = 1e-6
#: rows per DeepLIFT slice (about 10 MB of float64 activations per 128-unit layer)
_DEEPLIFT_ROWS = 10_000


@dataclass
class Explanation:
    """Explanations of one model for a set of households.

    ``table``: tidy ``IDBDT, item, feature, answer, contribution, base_value, model``;
    ``reasons``: one row per household (index IDBDT) with ``score, base_value,
    reason_1..k``.
    """

    table: pd.DataFrame
    reasons: pd.DataFrame
    model: str


def _family(model: Any) -> str:
    return str(getattr(model, "name", type(model).__name__))


def encoded_contributions(model: Any, features: pd.DataFrame, *, background=None) -> pd.DataFrame:
    """Contributions per encoded column plus ``__base__``; rows sum to the margin.

    ``background`` (household_features rows) is used by the ``mlp`` family only, as the
    DeepLIFT references; other families ignore it.
    """
    family = _family(model)
    encoded = model.encoder_.transform(features)
    if family == "rf":
        return _forest_contributions(model, encoded)
    if family == "mlp":
        return _network_contributions(model, encoded, background)
    if hasattr(model, "_encoded_contributions"):
        return model._encoded_contributions(encoded)
    raise TypeError(
        f"no explainer for model family {family!r}; known families: pmt_ols, logit, gbm, "
        "rf, ebm, mlp (models from slrt_ml.models.make_model)"
    )


def _grouped(model: Any, contributions: pd.DataFrame, feature_names) -> tuple[np.ndarray, list]:
    columns = [c for c in contributions.columns if c != BASE]
    sources = dict(getattr(model.encoder_, "sources_", {}))
    sources.update(getattr(model, "embedding_sources_", {}))
    matrix, names = grouping_matrix(columns, sources, feature_names)
    return contributions[columns].to_numpy(np.float64) @ matrix, names


def feature_contributions(model: Any, features: pd.DataFrame, *, background=None) -> pd.DataFrame:
    """Contributions per ``household_features`` column plus ``__base__`` (index IDBDT)."""
    encoded = encoded_contributions(model, features, background=background)
    values, names = _grouped(model, encoded, list(model.encoder_.feature_names_in_))
    out = pd.DataFrame(values, columns=names, index=features.index)
    out[BASE] = encoded[BASE].to_numpy(np.float64)
    return out


def reason_columns(
    model: Any, features: pd.DataFrame, *, top_k: int = 5, background=None
) -> pd.DataFrame:
    """``score, base_value, reason_1..k`` per household: the fast path of batch scoring.

    ``score`` is the margin rebuilt from the contributions (base + sum), equal to
    ``model.poverty_score`` within floating-point tolerance; the model is not called a
    second time for it. Contributions stay NumPy arrays from the model to the reasons
    (no per-chunk DataFrames of encoded columns).
    """
    values, base, names = _contribution_matrix(model, features, background)
    reasons = top_reasons(values, features, names, top_k)
    reasons.insert(0, "base_value", base)
    reasons.insert(0, "score", base + values.sum(axis=1))
    return reasons


def model_margin(model: Any, features: pd.DataFrame) -> np.ndarray:
    """``model.poverty_score(features)``, with the Keras network called once per chunk
    through ``predict_on_batch`` (one traced function for any chunk size: no retracing
    warnings, about 5x faster than ``predict`` on 100k rows; identical values)."""
    if _family(model) != "mlp":
        return np.asarray(model.poverty_score(features), dtype=np.float64)
    inputs = model._inputs(model.encoder_.transform(features))
    return np.asarray(model.network_.predict_on_batch(inputs), dtype=np.float64).ravel()


def _contribution_matrix(model: Any, features: pd.DataFrame, background):
    """(contributions per feature (n, f), base (n,), feature names) as arrays."""
    family = _family(model)
    if family not in ("gbm", "ebm"):
        contrib = feature_contributions(model, features, background=background)
        base = contrib.pop(BASE).to_numpy(np.float64)
        return contrib.to_numpy(np.float64), base, list(contrib.columns)
    encoded = model.encoder_.transform(features)
    columns = list(encoded.columns)
    sources = dict(getattr(model.encoder_, "sources_", {}))
    matrix, names = grouping_matrix(columns, sources, list(model.encoder_.feature_names_in_))
    if family == "gbm":
        per_column, base, _ = _tree_contributions(model, encoded)
        return per_column @ matrix, base, names
    terms, base, split = _additive_terms(model, encoded)
    return terms @ (split @ matrix), base, names  # terms -> columns -> features in one product


def _tree_contributions(model: Any, encoded: pd.DataFrame):
    """Exact path-dependent TreeSHAP of the XGBoost model (the values of XGBoost's
    ``pred_contribs``, checked against it in the tests) for the whole chunk at once.

    A tree's SHAP values depend on a row only through which way it goes at each split
    node, so for shallow trees (up to ``_MAX_TABLE_NODES`` split nodes) they are
    tabulated once per tree over every pattern of split decisions; a row then costs one
    comparison per split node and one table lookup. Base + row sum is the margin, so
    the model is not called a second time.
    """
    columns = list(encoded.columns)
    x = encoded.to_numpy(np.float32)
    tabulated = _xgboost_trees(model, columns)
    if tabulated is None:
        return _xgboost_pred_contribs(model, x, columns)
    trees, base = tabulated
    x = np.asfortranarray(x)  # contiguous columns for the comparisons
    has_nan = np.isnan(x).any(axis=0)
    by_column = np.zeros((len(columns), len(x)))  # column-major: contiguous adds
    code = np.empty(len(x), dtype=np.int32)
    for nodes, table, used in trees:
        code[:] = 0
        for bit, split in enumerate(nodes):
            code |= _goes_yes(x, split, has_nan) << bit
        by_column[used] += table.T[:, code]
    return by_column.T, np.full(len(x), base), columns


def _xgboost_pred_contribs(model: Any, x: np.ndarray, columns: list[str]):
    from xgboost import DMatrix

    booster = model.booster_.get_booster()
    matrix = DMatrix(x, feature_names=columns, nthread=int(getattr(model, "n_jobs", 0) or 0))
    values = booster.predict(matrix, pred_contribs=True).astype(np.float64)
    return values[:, :-1], values[:, -1], columns


def _goes_yes(x: np.ndarray, split: tuple, has_nan: np.ndarray) -> np.ndarray:
    column, threshold, missing_yes = split
    goes = x[:, column] < threshold
    if has_nan[column]:
        goes = np.where(np.isnan(x[:, column]), missing_yes, goes)
    return goes.astype(np.int32)


_MAX_TABLE_NODES = 12


_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _xgboost_trees(model: Any, columns: list[str]) -> tuple[list[tuple], float] | None:
    """Per tree (split nodes, SHAP table over decision patterns, columns used) and the
    base value (base margin + every tree's expected value), cached per model; None when
    a tree is too deep to tabulate (XGBoost's own ``pred_contribs`` is used then)."""
    booster = model.booster_.get_booster()
    cached = _TABLES.get(booster)
    if cached is not None and cached[0] == columns:
        return cached[1]
    import json

    from xgboost import DMatrix

    dumps = [json.loads(d) for d in booster.get_dump(dump_format="json", with_stats=True)]
    index = {c: i for i, c in enumerate(columns)}
    trees = []
    for dump in dumps:
        nodes, leaves = _split_nodes_and_leaves(dump, index)
        if len(nodes) > _MAX_TABLE_NODES:
            _TABLES[booster] = (columns, None)
            return None
        table, used = _shap_table(nodes, leaves)
        trees.append((nodes, table, used))
    probe = np.zeros((1, len(columns)), np.float32)
    margin = float(booster.predict(DMatrix(probe, feature_names=columns), output_margin=True)[0])
    # margin = base margin + sum of expected tree values + SHAP row sum, for any row
    shap_sum = sum(_probe_shap(nodes, table, probe) for nodes, table, _ in trees)
    base = margin - shap_sum
    _TABLES[booster] = (columns, (trees, base))
    return trees, base


def _probe_shap(nodes, table, probe) -> float:
    """One tree's SHAP row sum for one row."""
    code = 0
    for bit, (column, threshold, missing_yes) in enumerate(nodes):
        value = probe[0, column]
        code |= int(bool(missing_yes) if np.isnan(value) else bool(value < threshold)) << bit
    return float(table[code].sum())


def _split_nodes_and_leaves(root: dict, index: dict[str, int]):
    """Split nodes [(column, float32 threshold, missing goes yes)] and leaves
    [(value, cover share, [(node, goes yes, cover ratio of the child)])]."""
    nodes, leaves = [], []

    def walk(node, share, path):
        if "leaf" in node:
            leaves.append((float(node["leaf"]), share, path))
            return
        me = len(nodes)
        nodes.append((index[node["split"]], np.float32(node["split_condition"]),
                      node["missing"] == node["yes"]))  # fmt: skip
        children = {c["nodeid"]: c for c in node["children"]}
        for child_id, go_yes in ((node["yes"], True), (node["no"], False)):
            ratio = float(children[child_id]["cover"]) / float(node["cover"])
            walk(children[child_id], share * ratio, [*path, (me, go_yes, ratio)])

    walk(root, 1.0, [])
    return nodes, leaves


def _shap_table(nodes: list, leaves: list) -> tuple[np.ndarray, list[int]]:
    """SHAP values of one tree for every pattern of split decisions (2^nodes rows).

    For a leaf with value v the path's game is v * prod over its features f of
    (a_f if f is known else b_f): a_f = 1 when the row follows every split on f, b_f =
    the product of the cover ratios of those splits. Its Shapley value for feature i is
    v (a_i - b_i) * sum over subsets S of the other path features of
    |S|! (k - |S| - 1)! / k! prod_S a_f prod_(not S) b_f (k path features): the game
    path-dependent TreeSHAP solves. Summed over leaves it is the tree's SHAP value.
    """
    from itertools import combinations
    from math import factorial

    used = sorted({column for column, _, _ in nodes})
    slot = {c: j for j, c in enumerate(used)}
    patterns = (np.arange(2 ** len(nodes))[:, None] >> np.arange(len(nodes))) & 1
    table = np.zeros((len(patterns), len(used)))
    for value, _, path in leaves:
        a, b = {}, {}
        for node, go_yes, ratio in path:
            column = nodes[node][0]
            taken = patterns[:, node] == (1 if go_yes else 0)
            a[column] = taken & a.get(column, True)
            b[column] = b.get(column, 1.0) * ratio
        k = len(a)
        for i in a:
            others = [f for f in a if f != i]
            total = np.zeros(len(patterns))
            for size in range(k):
                weight = factorial(size) * factorial(k - size - 1) / factorial(k)
                for known in combinations(others, size):
                    term = np.full(len(patterns), weight)
                    for f in others:
                        term = term * (a[f] if f in known else b[f])
                    total += term
            table[:, slot[i]] += value * (a[i] - b[i]) * total
    return table, used


def _additive_terms(model: Any, encoded: pd.DataFrame):
    """The EBM's terms (one ``eval_terms`` call per chunk), the base, and the matrix
    (terms x encoded columns) that splits a pair term half and half between its two
    columns (the same split as ``model.contributions``)."""
    ebm = model.ebm_
    terms = np.asarray(ebm.eval_terms(encoded.to_numpy()), dtype=np.float64)
    split = np.zeros((len(ebm.term_features_), encoded.shape[1]))
    for term, members in enumerate(ebm.term_features_):
        split[term, list(members)] = 1.0 / len(members)
    base = np.full(len(encoded), float(np.ravel(ebm.intercept_)[0]))
    return terms, base, split


def explain_households(
    model: Any, features: pd.DataFrame, *, model_name: str | None = None, top_k: int = 5,
    background=None,
) -> Explanation:
    """Tidy explanation table and top-k reasons for every household in ``features``."""
    name = model_name or _family(model)
    contrib = feature_contributions(model, features, background=background)
    base = contrib.pop(BASE).to_numpy()
    values = contrib.to_numpy()
    names = list(contrib.columns)
    reasons = top_reasons(values, features, names, top_k)
    reasons.insert(0, "base_value", base)
    reasons.insert(0, "score", base + values.sum(axis=1))
    table = tidy_explanations(values, base, features, names, name)
    return Explanation(table=table, reasons=reasons, model=name)


# --- random forest: TreeSHAP on the vote share, rescaled to log-odds ------------------------


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _PROBA_FLOOR, 1 - _PROBA_FLOOR)
    return np.log(p) - np.log1p(-p)


def _forest_contributions(model: Any, encoded: pd.DataFrame) -> pd.DataFrame:
    import shap

    explainer = shap.TreeExplainer(model.forest_)
    values = np.asarray(explainer.shap_values(encoded.to_numpy(), check_additivity=False))
    if values.ndim == 3:  # (n, features, classes)
        values = values[:, :, 1]
    p0 = float(np.ravel(explainer.expected_value)[-1])
    p = p0 + values.sum(axis=1)
    delta_p = p - p0
    slope = np.where(
        np.abs(delta_p) > 1e-9,
        (_logit(p) - _logit(np.array(p0))) / np.where(delta_p == 0, 1.0, delta_p),
        1.0 / (p0 * (1 - p0)),
    )
    out = pd.DataFrame(values * slope[:, None], columns=encoded.columns, index=encoded.index)
    out[BASE] = float(_logit(np.array(p0)))
    return out


# --- Keras MLP: DeepLIFT (rescale rule) on the dense head ------------------------------------


def _dense_layers(head: Any) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """(kernel, bias, activation) of the head's Dense layers; dropout is inference-identity."""
    layers = []
    for layer in head.layers:
        kind = type(layer).__name__
        if kind in ("InputLayer", "Dropout"):
            continue
        if kind != "Dense":
            raise TypeError(
                f"DeepLIFT here handles Dense/Dropout heads only; layer {layer.name!r} is {kind}"
            )
        activation = layer.get_config().get("activation", "linear")
        if activation not in ("relu", "linear"):
            raise TypeError(f"layer {layer.name!r}: activation {activation!r} not supported")
        kernel, bias = layer.get_weights()
        layers.append((kernel.astype(np.float64), bias.astype(np.float64), activation))
    return layers


def _forward(layers, x: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pre- and post-activation of every layer."""
    out, a = [], x
    for kernel, bias, activation in layers:
        z = a @ kernel + bias
        a = np.maximum(z, 0.0) if activation == "relu" else z
        out.append((z, a))
    return out


def deeplift_head(layers, x: np.ndarray, references: np.ndarray) -> tuple[np.ndarray, float]:
    """DeepLIFT rescale attributions of a Dense-ReLU stack with a linear output.

    Returns (attributions (n, width), base = mean output at the references); for each row
    ``base + attributions.sum() == output(x)`` exactly (up to float rounding).

    >>> layers = [(np.array([[1.0], [-1.0]]), np.zeros(1), "relu"),
    ...           (np.array([[2.0]]), np.array([0.5]), "linear")]
    >>> phi, base = deeplift_head(layers, np.array([[3.0, 1.0]]), np.zeros((1, 2)))
    >>> phi.tolist(), base
    ([[6.0, -2.0]], 0.5)
    """
    x = np.asarray(x, dtype=np.float64)
    ours = _forward(layers, x)
    total = np.zeros_like(x)
    outputs = []
    for ref in np.asarray(references, dtype=np.float64):
        theirs = _forward(layers, ref[None, :])
        outputs.append(float(theirs[-1][1][0, 0]))
        multiplier = np.ones((len(x), 1))
        for i in range(len(layers) - 1, -1, -1):
            kernel, _, activation = layers[i]
            if activation == "relu":
                dz = ours[i][0] - theirs[i][0]
                da = ours[i][1] - theirs[i][1]
                slope = np.where(np.abs(dz) > 1e-12, da / np.where(dz == 0, 1.0, dz),
                                 (ours[i][0] > 0).astype(np.float64))
                multiplier = multiplier * slope
            multiplier = multiplier @ kernel.T
        total += (x - ref[None, :]) * multiplier
    return total / len(references), float(np.mean(outputs))


def _default_references(model: Any) -> np.ndarray:
    """One reference: numerics at the training mean (0), each embedding at its table mean."""
    parts = [np.zeros(len(model.encoder_.numeric_columns_))]
    for i, _ in enumerate(model.encoder_.categorical_columns_):
        table = model.network_.get_layer(f"embed_{i}").get_weights()[0]
        parts.append(table.mean(axis=0))
    return np.concatenate(parts)[None, :]


def _network_contributions(model: Any, encoded: pd.DataFrame, background) -> pd.DataFrame:
    layers = _dense_layers(model.head_)
    if background is None:
        references = _default_references(model)
    else:
        references = model._embed(model.encoder_.transform(background))
    embedded = model._embed(encoded)
    # in slices, so the float64 activations of every layer stay small (memory flat)
    slices = [deeplift_head(layers, embedded[start : start + _DEEPLIFT_ROWS], references)
              for start in range(0, len(embedded), _DEEPLIFT_ROWS)]  # fmt: skip
    phi = np.concatenate([p for p, _ in slices]) if slices else np.zeros_like(embedded, float)
    base = slices[0][1] if slices else deeplift_head(layers, embedded[:1], references)[1]
    columns, blocks = [], []
    for column, part in model.embedding_slices_.items():
        columns.append(column)
        blocks.append(phi[:, part].sum(axis=1))
    out = pd.DataFrame(np.column_stack(blocks), columns=columns, index=encoded.index)
    out[BASE] = base
    return out


# --- waterfall plot for one household -----------------------------------------------------


def plot_waterfall(table: pd.DataFrame, household: str, *, max_items: int = 10, ax=None):
    """A waterfall chart of one household's explanation (rows of the tidy table).

    Starts at the base value, adds the ``max_items`` largest contributions (the rest as
    one bar), ends at the model's score. Red bars push toward "poorer", blue away.
    Returns the matplotlib Figure; the caller saves it.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    rows = table[table["IDBDT"] == household]
    if rows.empty:
        raise ValueError(f"household {household!r} is not in the explanation table; "
                         "pass an IDBDT from --households or the data")
    rows = rows.reindex(rows["contribution"].abs().sort_values(ascending=False).index)
    shown, rest = rows.iloc[:max_items], rows.iloc[max_items:]
    labels = shown["answer"].astype(str).tolist()
    values = shown["contribution"].to_numpy(float).tolist()
    if len(rest):
        labels.append(f"{len(rest)} jawaban lain")
        values.append(float(rest["contribution"].sum()))
    base = float(rows["base_value"].iloc[0])
    return _draw_waterfall(plt, labels, values, base, household, rows["model"].iloc[0], ax)


def _draw_waterfall(plt, labels, values, base, household, model, ax):
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 0.5 * len(values) + 2.2))
    else:
        fig = ax.figure
    starts = base + np.concatenate(([0.0], np.cumsum(values)[:-1]))
    positions = np.arange(len(values))[::-1]
    colours = ["#c0392b" if v > 0 else "#2e86c1" for v in values]
    ax.barh(positions, values, left=starts, color=colours)
    for y, start, value in zip(positions, starts, values, strict=True):
        ax.text(start + value, y, f" {value:+.2f}", va="center", fontsize=8)
    ax.set_yticks(positions, labels)
    score = base + sum(values)
    ax.axvline(base, color="grey", linestyle=":", label=f"Nilai dasar {base:.2f}")
    ax.axvline(score, color="black", linestyle="--", label=f"Skor akhir {score:.2f}")
    ax.set_xlabel("Skor kemiskinan (lebih tinggi = lebih miskin)")
    ax.set_title(f"Rumah tangga {household}: alasan skor ({model})")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig
