"""The targeting frame of a mapped household table (mapping mode).

:func:`mapped_targeting_data` turns a household table and its
:class:`~slrt_ml.data.mapping.DatasetMapping` into the same
:class:`~slrt_ml.targeting.frame.TargetingData` a PBDT registry gives, so training,
comparison, explanation and scoring run through the same code. In mapping mode there are
no PKH components: every household is eligible and the target is its poor label. The
reference system's score and list come from mapped columns, given scores, or a scorecard
fitted on the data; its list is the top :func:`coverage_quota` of its score. Fitting is
the models stage's job, so a mapping with ``reference.fit`` needs the fitting function
passed in (``fit_reference=slrt_ml.models.reference.fitted_reference_scores``).

>>> from slrt_ml.data.mapping import mapping_from_dict
>>> mapping = mapping_from_dict({
...     "name": "toy", "id": "hh", "label": "poor",
...     "reference": {"name": "ref", "selected": "ref_flag"},
...     "features": {"numeric": ["rooms"], "categorical": ["roof"], "binary": ["tv"]}})
>>> table = pd.DataFrame({"hh": [1, 2, 3, 4], "poor": [1, 0, 1, 0], "ref_flag": [1, 0, 0, 1],
...                       "rooms": [1, 4, 2, 3], "roof": ["zinc", "tile", "zinc", "tile"],
...                       "tv": ["no", "yes", "no", "yes"]})
>>> data = mapped_targeting_data(table, mapping)
>>> data.features.dtypes.astype(str).tolist()
['float32', 'string', 'float32']
>>> data.frame[["IDBDT", "eligible", "target", "ref_selected"]].values.tolist()
[['1', 1, 1, 1], ['2', 1, 0, 0], ['3', 1, 1, 0], ['4', 1, 0, 1]]
"""

from __future__ import annotations

import warnings
from typing import Any, Protocol

import numpy as np
import pandas as pd

from slrt_ml.data.mapped_table import (
    EXAMPLES,
    apply_recode,
    binary_values,
    check_mapped_columns,
    id_examples,
    mapped_features,
    numeric_values,
    text_values,
)
from slrt_ml.data.mapping import AREA_LEVELS, STANDARD_SLICES, DatasetMapping, MappingError
from slrt_ml.targeting.frame import TargetingData
from slrt_ml.targeting.labels import check_label_prevalence, text_label_hint
from slrt_ml.targeting.selection import select_under_quota

__all__ = ["ReferenceFit", "coverage_quota", "feature_missing", "mapped_targeting_data"]

#: a household-size ("persons") column with a median above this looks like an expansion factor
PERSONS_PLAUSIBLE = 30


class ReferenceFit(Protocol):
    """Fits a reference scorecard: out-of-fold scores (higher = poorer), one per household.

    :func:`slrt_ml.models.reference.fitted_reference_scores` is the implementation.
    """

    def __call__(
        self,
        features: pd.DataFrame,
        poor: np.ndarray,
        groups: np.ndarray,
        *,
        welfare_target: np.ndarray | None,
        model: str,
        folds: int,
        seed: int,
        sample_weight: np.ndarray | None = None,
    ) -> np.ndarray: ...


def _poor_label(table: pd.DataFrame, mapping: DatasetMapping, ids: pd.Series) -> pd.Series:
    col, source = mapping.label, mapping.source
    if mapping.poor_values:
        text = text_values(table, col)
        values = text.map(mapping.poor_values.get, na_action="ignore")
        unknown = (values.isna() & text.notna()).to_numpy()
        if unknown.any():
            raise MappingError(
                f"{source}: label column {col!r} has values not listed in poor_values "
                f"{sorted(mapping.poor_values)}: (id: value) {id_examples(text, unknown, ids)}; "
                "add them to poor_values with 0 or 1"
            )
    else:
        hint = text_label_hint(table[col], column=col, source=source)
        if hint:
            raise MappingError(hint)
        values = pd.to_numeric(table[col], errors="coerce").reset_index(drop=True)
    missing = values.isna().to_numpy()
    if missing.any():
        raise MappingError(
            f"{source}: label column {col!r} has {int(missing.sum())} missing value(s), e.g. "
            f"households {ids[missing].head(EXAMPLES).tolist()}; drop them or fill the label"
        )
    bad = ~values.isin([0, 1]).to_numpy()
    if bad.any():
        shown = table[col].reset_index(drop=True)
        raise MappingError(
            f"{source}: label column {col!r} must be 0/1 (1 = poor) but {int(bad.sum())} "
            f"value(s) are not: (id: value) {id_examples(shown, bad, ids)}; add 'poor_values' "
            "to the mapping, e.g. poor_values: {1: 1, 2: 1, 3: 0, 4: 0}"
        )
    return values.astype("int8")


def _welfare(
    table: pd.DataFrame, mapping: DatasetMapping, ids: pd.Series
) -> tuple[np.ndarray, np.ndarray | None]:
    """Welfare per household (NaN when unmapped) and log(welfare / poverty line) if known."""
    n = len(table)
    if mapping.welfare is None:
        return np.full(n, np.nan), None
    welfare = numeric_values(table, mapping.welfare, ids, mapping.source)
    if mapping.poverty_line is None:
        return welfare, None
    if isinstance(mapping.poverty_line, str):
        line = numeric_values(table, mapping.poverty_line, ids, mapping.source)
    else:
        line = np.full(n, float(mapping.poverty_line))
    return welfare, np.log(np.clip(welfare, 1e-9, None) / line)


def _positive(
    table: pd.DataFrame, mapping: DatasetMapping, col: str, ids: pd.Series, what: str
) -> np.ndarray:
    values = numeric_values(table, col, ids, mapping.source)
    bad = ~(np.isfinite(values) & (values > 0))
    if bad.any():
        raise MappingError(
            f"{mapping.source}: column {col!r} ({what}) must be a positive finite number; "
            f"{int(bad.sum())} value(s) are not: (id: value) "
            f"{id_examples(table[col].reset_index(drop=True), bad, ids)}"
        )
    return values


def _persons(table: pd.DataFrame, mapping: DatasetMapping, ids: pd.Series) -> np.ndarray:
    if mapping.weight is None:
        return np.ones(len(table))
    persons = _positive(table, mapping, mapping.weight, ids, "weight: persons per household")
    if np.any(persons % 1 != 0) or np.median(persons) > PERSONS_PLAUSIBLE:
        warnings.warn(
            f"{mapping.source}: 'weight: {mapping.weight}' is read as persons per household "
            f"(used by compare --weight person), but its values (median "
            f"{np.median(persons):g}) look like a survey expansion factor; map that under "
            "'survey_weight:' instead",
            UserWarning,
            stacklevel=3,
        )
    return persons


def _survey_weight(table: pd.DataFrame, mapping: DatasetMapping, ids: pd.Series) -> np.ndarray:
    if mapping.survey_weight is None:
        return np.ones(len(table))
    return _positive(
        table, mapping, mapping.survey_weight, ids, "survey_weight: the expansion factor"
    )


def _slice_flag(
    table: pd.DataFrame, mapping: DatasetMapping, name: str, ids: pd.Series
) -> np.ndarray:
    flag = binary_values(table, mapping.slices[name], ids, mapping.source)
    if np.isnan(flag).any():
        raise MappingError(
            f"{mapping.source}: slice {name!r} (column {mapping.slices[name]!r}) has "
            f"{int(np.isnan(flag).sum())} missing value(s); fill them with 0 or 1"
        )
    return flag.astype(np.int8)


def _area_columns(table: pd.DataFrame, mapping: DatasetMapping, ids: pd.Series) -> pd.DataFrame:
    cluster = text_values(table, mapping.cluster) if mapping.cluster else ids
    if cluster.isna().any():
        raise MappingError(
            f"{mapping.source}: cluster column {mapping.cluster!r} has "
            f"{int(cluster.isna().sum())} missing value(s); every household needs a cluster"
        )
    levels = {
        lv: text_values(table, mapping.areas[lv]) if lv in mapping.areas else cluster
        for lv in AREA_LEVELS
    }
    return pd.DataFrame({"cluster": cluster, **levels})


def coverage_quota(coverage: str | float | int, poor: np.ndarray) -> int:
    """How many households the reference selects: ``"poor_share"`` = as many as are poor.

    Parameters
    ----------
    coverage
        ``"poor_share"``, a share in (0, 1] (rounded half up) or a count (an int, or > 1).
    poor
        The 0/1 poor label of every household.

    Returns
    -------
    int
        The number of households to select.

    Raises
    ------
    MappingError
        A count outside [0, n] or a share outside (0, 1].

    >>> coverage_quota("poor_share", np.array([1, 0, 1, 0, 0]))
    2
    >>> coverage_quota(0.5, np.array([1, 0, 1, 0, 0])), coverage_quota(4, np.zeros(5))
    (3, 4)
    """
    n = len(poor)
    if coverage == "poor_share":
        return int(np.asarray(poor).sum())
    value = float(coverage)
    if isinstance(coverage, int) or value > 1:
        if not 0 <= value <= n:
            raise MappingError(f"reference coverage {coverage!r} is not a count in [0, {n}]")
        return int(value)
    if not 0 < value <= 1:
        raise MappingError(
            f"reference coverage must be 'poor_share', a share in (0, 1] or a count; got {coverage!r}"
        )
    return int(np.floor(value * n + 0.5))


def _aligned_scores(
    reference_scores: pd.Series | np.ndarray, ids: pd.Series, name: str
) -> np.ndarray:
    if isinstance(reference_scores, pd.Series):
        scores = reference_scores.copy()
        scores.index = scores.index.astype(str)
        missing = ids[~ids.isin(scores.index)]
        if len(missing):
            raise MappingError(
                f"reference_scores for {name!r} miss {len(missing)} households, e.g. "
                f"{missing.head(EXAMPLES).tolist()}; pass a score for every household"
            )
        return scores.reindex(ids.to_numpy()).to_numpy(dtype=float)
    scores = np.asarray(reference_scores, dtype=float)
    if scores.shape != (len(ids),):
        raise MappingError(f"reference_scores has shape {scores.shape}; expected ({len(ids)},)")
    return scores


def _reference_columns(
    table: pd.DataFrame,
    mapping: DatasetMapping,
    ids: pd.Series,
    features: pd.DataFrame,
    poor: np.ndarray,
    groups: np.ndarray,
    welfare_target: np.ndarray | None,
    reference_scores: pd.Series | np.ndarray | None,
    fit_reference: ReferenceFit | None,
    sample_weight: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    spec, info = mapping.reference, {"reference_fitted": None}
    if reference_scores is not None:
        score = _aligned_scores(reference_scores, ids, spec.name)
    elif spec.score:
        score = numeric_values(table, spec.score, ids, mapping.source)
        score = score if spec.higher_is_poorer else -score
    elif spec.fit and spec.selected is None:
        if fit_reference is None:
            raise MappingError(
                f"{mapping.source}: reference.fit: {spec.fit} asks for a scorecard fitted on "
                "the data; pass fit_reference=slrt_ml.models.reference.fitted_reference_scores "
                "(or reference_scores=)"
            )
        score = fit_reference(
            features,
            poor,
            groups,
            welfare_target=welfare_target,
            model=spec.fit,
            folds=spec.folds,
            seed=spec.seed,
            sample_weight=sample_weight,
        )
        info["reference_fitted"] = {"model": spec.fit, "folds": spec.folds, "seed": spec.seed,
                                    "survey_weighted": mapping.survey_weight is not None}  # fmt: skip
    else:  # only a list: selected households rank first
        score = _slice_like_flag(table, spec.selected, mapping, ids).astype(np.float64)
    if spec.selected:
        selected = _slice_like_flag(table, spec.selected, mapping, ids)
    else:
        quota = coverage_quota(spec.coverage, poor)
        selected = select_under_quota(score, quota, tiebreak=ids.to_numpy()).astype(np.int8)
        info["reference_coverage"] = {"rule": spec.coverage, "selected": quota}
    return selected, score, info


def _slice_like_flag(
    table: pd.DataFrame, col: str, mapping: DatasetMapping, ids: pd.Series
) -> np.ndarray:
    flag = binary_values(table, col, ids, mapping.source)
    return np.nan_to_num(flag, nan=0.0).astype(np.int8)


def _frame(
    table: pd.DataFrame,
    mapping: DatasetMapping,
    ids: pd.Series,
    poor: pd.Series,
    welfare: np.ndarray,
) -> pd.DataFrame:
    frame = pd.DataFrame({"IDBDT": ids.to_numpy()})
    frame = frame.join(_area_columns(table, mapping, ids))
    frame["eligible"] = np.ones(len(ids), dtype=np.int8)  # no PKH components in mapping mode
    frame["eligible_now"] = frame["eligible"]
    frame["target"] = poor.to_numpy(dtype=np.int8)
    frame["poor"] = poor.to_numpy(dtype=np.int8)
    frame["welfare"] = welfare
    frame["labelled"] = np.ones(len(ids), dtype=np.int8)  # the label is required on every row
    frame["survey_weight"] = _survey_weight(table, mapping, ids)
    frame["pkh_benefit"] = np.nan  # no PKH components in mapping mode: unknown
    frame["persons"] = _persons(table, mapping, ids)
    for name in STANDARD_SLICES:
        mapped = name in mapping.slices
        frame[name] = _slice_flag(table, mapping, name, ids) if mapped else np.int8(0)
    return frame


def feature_missing(features: pd.DataFrame) -> dict[str, int]:
    """Missing values per feature column (only columns with some), for the run manifest.

    The models fill them when they encode the features (``models._encoding``): numeric
    and binary features by the training fold's median (pmt_ols, logit, mlp) or kept as
    missing for the trees and the EBM, which route them natively; categorical features
    get their own level ``"__missing__"``.

    >>> feature_missing(pd.DataFrame({"a": [1.0, np.nan], "b": ["x", None]}, dtype=object))
    {'a': 1, 'b': 1}
    """
    counts = features.isna().sum()
    return {str(c): int(n) for c, n in counts.items() if n > 0}


def mapped_targeting_data(
    table: pd.DataFrame,
    mapping: DatasetMapping,
    *,
    reference_scores: pd.Series | np.ndarray | None = None,
    fit_reference: ReferenceFit | None = None,
) -> TargetingData:
    """A household table and its mapping as :class:`~slrt_ml.targeting.frame.TargetingData`.

    ``features`` holds exactly the mapped feature columns; ``frame`` is the targeting
    frame of docs/CONTRACTS.md (every household eligible, target = poor). Standard slices
    the mapping leaves out are 0 and listed in ``extra["unmapped_slices"]``; the mapping's
    own slices are extra string columns named in ``extra["slices"]``.

    Parameters
    ----------
    table
        One row per household, with every column the mapping names.
    mapping
        Which column plays which role.
    reference_scores
        The reference system's ranking (higher = poorer): a Series indexed by household id
        or an array aligned with ``table``. Default: the mapped ``reference.score`` column,
        a fitted scorecard (``reference.fit``) or the mapped list.
    fit_reference
        Fits the scorecard a mapping with ``reference.fit`` asks for, e.g.
        :func:`slrt_ml.models.reference.fitted_reference_scores` (grouped by cluster).

    Returns
    -------
    TargetingData
        With ``<reference>_score`` and ``<reference>_selected`` (the mapped list, or the
        top ``reference.coverage`` of the score) in ``frame``.

    Raises
    ------
    MappingError
        A mapped column is missing or holds values its role does not allow (a text label
        without ``poor_values`` says so), or the mapping asks for a fitted reference and
        ``fit_reference`` is not given.
    slrt_ml.targeting.labels.LabelError
        The label has one class or a (survey-weighted) prevalence outside [1%, 99%]; the
        message names the column and the likely causes.
    """
    check_mapped_columns(table, mapping, mapping.columns_by_role())
    features = mapped_features(table, mapping)
    table = apply_recode(table, mapping).reset_index(drop=True)
    ids = pd.Series(features.index.to_numpy(), dtype="string")
    welfare, welfare_target = _welfare(table, mapping, ids)
    poor = (
        _poor_label(table, mapping, ids)
        if mapping.label
        else pd.Series((welfare_target < 0).astype(np.int8))
    )
    frame = _frame(table, mapping, ids, poor, welfare)
    label = mapping.label or f"{mapping.welfare} < poverty_line {mapping.poverty_line}"
    check_label_prevalence(frame["poor"], column=label, source=mapping.source,
                           sample_weight=frame["survey_weight"].to_numpy())  # fmt: skip
    selected, score, info = _reference_columns(
        table,
        mapping,
        ids,
        features,
        frame["poor"].to_numpy(),
        frame["cluster"].to_numpy(),
        welfare_target,
        reference_scores,
        fit_reference,
        frame["survey_weight"].to_numpy() if mapping.survey_weight else None,
    )
    frame[f"{mapping.reference.name}_selected"] = selected
    frame[f"{mapping.reference.name}_score"] = score
    for name in mapping.extra_slices:
        frame[name] = text_values(table, mapping.slices[name]).to_numpy()
    target = (
        None
        if welfare_target is None
        else pd.Series(welfare_target, index=ids.to_numpy(), name="log_welfare_ratio")
    )
    return TargetingData(
        features=features,
        frame=frame,
        welfare_target=target,
        name=mapping.name,
        codebook_version=mapping.codebook_version,
        synthetic=False,
        reference=mapping.reference.name,
        extra={
            "slices": list(mapping.extra_slices),
            "mapping": mapping.source,
            "unmapped_slices": [s for s in STANDARD_SLICES if s not in mapping.slices],
            "survey_weight_column": mapping.survey_weight,
            "feature_missing": feature_missing(features),
            **info,
        },
    )
