"""Per-household explanations: SHAP values of every model, grouped to questionnaire answers.

**Sign convention.** Every contribution is in the model's *margin* space, the space of
``model.decision_function`` (= ``poverty_score``, higher = poorer): log-odds of being
poor for the classifiers, minus predicted log welfare for the OLS proxy-means test. A
positive contribution pushes the household toward "poorer". For every household
``base_value + sum(contributions) == decision_function`` (tests check it per family).

How each family is explained (exact where an exact method exists):

- ``pmt_ols``, ``logit``: linear SHAP in closed form, ``coef * (x - training mean)`` on
  the standardised / one-hot columns (``model.contributions``);
- ``gbm`` (XGBoost): exact TreeSHAP, the values of XGBoost's ``pred_contribs=True``
  (:mod:`slrt_ml.explain.treeshap`);
- ``ebm``: the additive terms themselves (``eval_terms``); a pairwise interaction term is
  split half and half between its two features (:func:`slrt_ml.models.ebm.term_split_matrix`);
- ``rf`` (scikit-learn forest): shap's exact ``TreeExplainer`` on the vote share, rescaled
  to the log-odds margin (:mod:`slrt_ml.explain.treeshap`);
- ``mlp`` (Keras): DeepLIFT (rescale rule) on the dense head, exactly additive
  (:mod:`slrt_ml.explain.deeplift`).

Contributions of encoded columns are summed back to ``household_features`` columns (all
one-hot columns of ``jenis_lantai`` become one "Lantai" contribution), labelled with the
household's own answer (:func:`slrt_ml.features.describe_answer`, or a mapping's
``labels``). Reasons and waterfalls sum them further, to questionnaire items within blocks
(:mod:`slrt_ml.explain.hierarchy`); location features are never a household's reason.
SHAP is imported inside functions only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from slrt_ml.data.mapping import LabelSpec
from slrt_ml.explain.deeplift import network_contributions
from slrt_ml.explain.reasons import (
    decision_direction,
    grouping_matrix,
    tidy_explanations,
    top_reasons,
)
from slrt_ml.explain.treeshap import forest_contributions, tree_contributions
from slrt_ml.models._base import BASE
from slrt_ml.models.ebm import term_split_matrix

__all__ = [
    "BASE",
    "Explanation",
    "encoded_contributions",
    "feature_contributions",
    "explain_households",
    "reason_columns",
    "model_margin",
    "contribution_matrix",
]


@dataclass
class Explanation:
    """Explanations of one model for a set of households.

    ``table``: tidy ``IDBDT, block, item, feature, answer, contribution, base_value,
    model`` (:func:`~slrt_ml.explain.reasons.tidy_explanations`); ``reasons``: one row per
    household (index IDBDT) with ``score, base_value, reasons_toward, reason_1..k``.
    """

    table: pd.DataFrame
    reasons: pd.DataFrame
    model: str


def _family(model: Any) -> str:
    return str(getattr(model, "name", type(model).__name__))


def encoded_contributions(
    model: Any, features: pd.DataFrame, *, background: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Contributions per encoded column plus ``__base__``; rows sum to the margin.

    Parameters
    ----------
    model : PovertyModel
        A fitted model from :func:`slrt_ml.models.make_model`.
    features : DataFrame
        ``household_features`` rows.
    background : DataFrame, optional
        ``household_features`` rows used as the DeepLIFT references (``mlp`` only; other
        families ignore it).

    Returns
    -------
    DataFrame
        One column per encoded column (per source column for ``mlp``) plus ``__base__``.

    Raises
    ------
    TypeError
        The model family has no explainer.
    """
    family = _family(model)
    encoded = model.encoder_.transform(features)
    if family == "rf":
        return forest_contributions(model, encoded)
    if family == "mlp":
        return network_contributions(model, encoded, background)
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


def feature_contributions(
    model: Any, features: pd.DataFrame, *, background: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Contributions per ``household_features`` column plus ``__base__``.

    Parameters
    ----------
    model : PovertyModel
        A fitted model from :func:`slrt_ml.models.make_model`.
    features : DataFrame
        ``household_features`` rows (index IDBDT).
    background : DataFrame, optional
        DeepLIFT references for the ``mlp`` family (see :func:`encoded_contributions`).

    Returns
    -------
    DataFrame
        One column per feature the model was fitted on plus ``__base__``, on
        ``features.index``; each row sums to the household's margin.
    """
    encoded = encoded_contributions(model, features, background=background)
    values, names = _grouped(model, encoded, list(model.encoder_.feature_names_in_))
    out = pd.DataFrame(values, columns=names, index=features.index)
    out[BASE] = encoded[BASE].to_numpy(np.float64)
    return out


def reason_columns(
    model: Any,
    features: pd.DataFrame,
    *,
    top_k: int = 5,
    background: pd.DataFrame | None = None,
    selected: bool | Sequence[bool] | np.ndarray | None = None,
    lang: str = "id",
    labels: LabelSpec | None = None,
    location: tuple[str, ...] = (),
) -> pd.DataFrame:
    """``score, base_value, reasons_toward, reason_1..k`` per household (fast path).

    ``score`` is the margin rebuilt from the contributions (base + sum), equal to
    ``model.poverty_score`` within floating-point tolerance; the model is not called a
    second time for it. Contributions stay NumPy arrays from the model to the reasons
    (no per-chunk DataFrames of encoded columns).

    Parameters
    ----------
    model : PovertyModel
        A fitted model.
    features : DataFrame
        ``household_features`` rows (index IDBDT).
    top_k : int, default 5
        Number of reason columns.
    background : DataFrame, optional
        DeepLIFT references for the ``mlp`` family.
    selected : bool or array of bool, optional
        The decision per household (or one for all): reasons of a selected household
        push toward "poorer", of a household not selected toward "richer". ``None``
        (default, as before this option existed): every household's reasons toward
        "poorer".
    lang : {"id", "en"}
        Language of the reasons.
    labels : LabelSpec, optional
        A mapping's ``labels`` (:class:`slrt_ml.data.mapping.LabelSpec`): mapped columns
        and codes read as words.
    location : tuple of str
        Area features besides the registry's (a mapped table's area columns): never reasons.

    Returns
    -------
    DataFrame
        ``score``, ``base_value``, ``reasons_toward`` and ``reason_1`` ..
        ``reason_<top_k>`` (items, ``string``, missing when fewer items push that way),
        on ``features.index``.
    """
    values, base, names = _contribution_matrix(model, features, background)
    return _reason_frame(values, base, names, features, top_k, selected, lang, labels, location)


def _reason_frame(values, base, names, features, top_k, selected, lang, labels, location):
    direction = decision_direction(selected, len(features))
    reasons = top_reasons(values, features, names, top_k, direction=direction, lang=lang,
                          labels=labels, location=location)  # fmt: skip
    reasons.insert(0, "reasons_toward", pd.array(direction, dtype="string"))
    reasons.insert(0, "base_value", base)
    reasons.insert(0, "score", base + values.sum(axis=1))
    return reasons


def model_margin(model: Any, features: pd.DataFrame) -> np.ndarray:
    """``model.poverty_score(features)``, with the Keras network called once per chunk.

    ``predict_on_batch`` gives one traced function for any chunk size: no retracing
    warnings, about 5x faster than ``predict`` on 100k rows; identical values.

    Parameters
    ----------
    model : PovertyModel
        A fitted model.
    features : DataFrame
        ``household_features`` rows.

    Returns
    -------
    ndarray
        The margin (``float64``), one per row.
    """
    if _family(model) != "mlp":
        return np.asarray(model.poverty_score(features), dtype=np.float64)
    inputs = model._inputs(model.encoder_.transform(features))
    return np.asarray(model.network_.predict_on_batch(inputs), dtype=np.float64).ravel()


def contribution_matrix(
    model: Any, features: pd.DataFrame, *, background: pd.DataFrame | None = None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(contributions per feature (n, f), base (n,), feature names) as arrays: the fast
    path of :func:`reason_columns`, for callers that pick reasons themselves (batch scoring:
    both directions, area features left out)."""
    return _contribution_matrix(model, features, background)


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
        per_column, base, _ = tree_contributions(model, encoded)
        return per_column @ matrix, base, names
    terms, base, split = _additive_terms(model, encoded)
    return terms @ (split @ matrix), base, names  # terms -> columns -> features in one product


def _additive_terms(model: Any, encoded: pd.DataFrame):
    """The EBM's terms (one ``eval_terms`` call per chunk), the base, and the matrix
    (terms x encoded columns) that splits a pair term half and half between its two
    columns (:func:`slrt_ml.models.ebm.term_split_matrix`, as ``model.contributions``)."""
    ebm = model.ebm_
    terms = np.asarray(ebm.eval_terms(encoded.to_numpy()), dtype=np.float64)
    split = term_split_matrix(ebm.term_features_, encoded.shape[1])
    base = np.full(len(encoded), float(np.ravel(ebm.intercept_)[0]))
    return terms, base, split


def explain_households(
    model: Any,
    features: pd.DataFrame,
    *,
    model_name: str | None = None,
    top_k: int = 5,
    background: pd.DataFrame | None = None,
    selected: bool | Sequence[bool] | np.ndarray | None = None,
    lang: str = "id",
    labels: LabelSpec | None = None,
    location: tuple[str, ...] = (),
) -> Explanation:
    """Tidy explanation table and top-k reasons for every household in ``features``.

    Parameters
    ----------
    model : PovertyModel
        A fitted model.
    features : DataFrame
        ``household_features`` rows (index IDBDT).
    model_name : str, optional
        Name in the ``model`` column; default the model's family name.
    top_k : int, default 5
        Number of reasons per household.
    background : DataFrame, optional
        DeepLIFT references for the ``mlp`` family.
    selected, lang, labels, location
        As in :func:`reason_columns`; ``lang``, ``labels`` and ``location`` also word the
        tidy table (answers, item names, blocks).

    Returns
    -------
    Explanation
        The tidy table, the reasons and the model name.
    """
    name = model_name or _family(model)
    contrib = feature_contributions(model, features, background=background)
    base = contrib.pop(BASE).to_numpy(np.float64)
    values = contrib.to_numpy(np.float64)
    names = list(contrib.columns)
    reasons = _reason_frame(values, base, names, features, top_k, selected, lang, labels,
                            location)  # fmt: skip
    table = tidy_explanations(values, base, features, names, name, lang=lang, labels=labels,
                              location=location)  # fmt: skip
    return Explanation(table=table, reasons=reasons, model=name)
