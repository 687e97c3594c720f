"""Exact SHAP values of tree ensembles: XGBoost (tabulated TreeSHAP) and random forests.

``gbm`` (XGBoost): a tree's path-dependent TreeSHAP values depend on a row only through
which way it goes at each split node, so for shallow trees (up to ``_MAX_TABLE_NODES``
split nodes) they are tabulated once per tree over every pattern of split decisions; a
row then costs one comparison per split node and one table lookup. Deeper trees use
XGBoost's own ``pred_contribs``. Both give the same values (checked in the tests).

``rf`` (scikit-learn forest): shap's exact ``TreeExplainer`` on the vote share, rescaled to
the log-odds margin: each value is multiplied by ``(logit(p) - logit(p0)) / (p - p0)``
(``p0`` the base vote share), which keeps the signs, the ranking of reasons and exact
additivity in log-odds. shap and xgboost are imported inside functions only.
"""

from __future__ import annotations

import json
import weakref
from itertools import combinations
from math import factorial
from typing import Any

import numpy as np
import pandas as pd

from slrt_ml.models._base import BASE

__all__ = ["forest_contributions", "tree_contributions"]

_PROBA_FLOOR = 1e-6
#: trees with more split nodes than this are not tabulated (2^nodes table rows)
_MAX_TABLE_NODES = 12

_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def tree_contributions(
    model: Any, encoded: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Exact path-dependent TreeSHAP of a fitted ``gbm`` model for a whole chunk at once.

    The values of XGBoost's ``pred_contribs``; base + row sum is the margin, so the model
    is not called a second time.

    Parameters
    ----------
    model : GradientBoostingModel
        A fitted ``gbm`` model (``model.booster_``).
    encoded : DataFrame
        Rows encoded by ``model.encoder_``.

    Returns
    -------
    (ndarray, ndarray, list of str)
        Contributions (rows x encoded columns), the base value of each row and the
        encoded column names.
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


def _xgboost_trees(model: Any, columns: list[str]) -> tuple[list[tuple], float] | None:
    """Per tree (split nodes, SHAP table over decision patterns, columns used) and the
    base value (base margin + every tree's expected value), cached per model; None when
    a tree is too deep to tabulate (XGBoost's own ``pred_contribs`` is used then)."""
    booster = model.booster_.get_booster()
    cached = _TABLES.get(booster)
    if cached is not None and cached[0] == columns:
        return cached[1]
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


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _PROBA_FLOOR, 1 - _PROBA_FLOOR)
    return np.log(p) - np.log1p(-p)


def forest_contributions(model: Any, encoded: pd.DataFrame) -> pd.DataFrame:
    """TreeSHAP of a fitted ``rf`` model on the vote share, rescaled to log-odds.

    Parameters
    ----------
    model : RandomForestModel
        A fitted ``rf`` model (``model.forest_``).
    encoded : DataFrame
        Rows encoded by ``model.encoder_``.

    Returns
    -------
    DataFrame
        One column per encoded column plus ``__base__``; rows sum to the log-odds margin.
    """
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
