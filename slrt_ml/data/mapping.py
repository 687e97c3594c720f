"""Bring your own household table: a YAML mapping says which column plays which role.

A mapping (``configs/datasets/*.yaml``) names the household id, the area/cluster, the
weight (household size), the poor label and/or welfare, the reference system's score or
flag (or asks for a fitted PMT scorecard), the group slices, and which columns are
numeric, categorical or binary features. :func:`mapped_targeting_data` turns a table and
its mapping into the same :class:`~slrt_ml.pipeline.train.TargetingData` a PBDT registry
gives, so training, comparison, explanation and scoring run through the same code.

In mapping mode there are no PKH components: every household is eligible and the target
is its poor label.

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
>>> mapping_from_dict({"name": "toy", "id": "hh", "lable": "poor"})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
slrt_ml.data.mapping.MappingError: mapping: unknown key 'lable'; known keys: name, id, ...
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

__all__ = [
    "MappingError",
    "FeatureSpec",
    "ReferenceSpec",
    "DatasetMapping",
    "STANDARD_SLICES",
    "load_mapping",
    "mapping_from_dict",
    "mapped_features",
    "mapped_targeting_data",
    "fitted_reference_scores",
    "coverage_quota",
    "compare_with_reference",
    "mapping_digest",
    "read_mapped_table",
    "mapped_rejects",
]

#: slice columns every targeting frame carries (0/1); a mapping may add its own
STANDARD_SLICES = ("urban", "female_head", "elderly_head", "disabled_member")
AREA_LEVELS = ("KDKAB", "KDKEC")
_FRAME_COLUMNS = frozenset(
    {"IDBDT", "cluster", *AREA_LEVELS, "eligible", "target", "poor", "welfare", "persons"}
)
_BINARY_WORDS = {"1": 1, "0": 0, "yes": 1, "no": 0, "true": 1, "false": 0, "1.0": 1, "0.0": 0}
_EXAMPLES = 5


class MappingError(ValueError):
    """A dataset mapping is malformed, or the table does not match it."""


@dataclass(frozen=True)
class FeatureSpec:
    """Feature columns by kind: numeric -> float32, binary (0/1, yes/no) -> float32 0/1,
    categorical -> pandas ``string`` (the model encoders detect categoricals by dtype)."""

    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    binary: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.numeric + self.categorical + self.binary


@dataclass(frozen=True)
class ReferenceSpec:
    """The existing targeting system every model is compared with at equal coverage.

    Give its ranking (``score``, higher = poorer unless ``higher_is_poorer: false``) and/or
    its list (``selected``, 0/1). Without either, ``fit`` names a model (``pmt_ols``: a
    PMT scorecard) fitted with grouped cross-validation; its out-of-fold scores are the
    reference ranking. A missing list is the top ``coverage`` of the ranking:
    ``"poor_share"`` (as many households as are poor), a share in (0, 1] or a count.
    """

    name: str = "reference"
    score: str | None = None
    selected: str | None = None
    higher_is_poorer: bool = True
    fit: str | None = None
    coverage: str | float | int = "poor_share"
    folds: int = 5
    seed: int = 0


@dataclass(frozen=True)
class DatasetMapping:
    """Which column of a household table plays which role (see the module docstring)."""

    name: str
    id: str
    features: FeatureSpec = field(default_factory=FeatureSpec)
    label: str | None = None
    poor_values: dict[str, int] | None = None  # raw label value (as text) -> 0/1
    welfare: str | None = None
    poverty_line: float | str | None = None  # a number or a column
    cluster: str | None = None  # None: every household is its own cluster
    areas: dict[str, str] = field(default_factory=dict)  # KDKAB / KDKEC -> column
    weight: str | None = None  # persons per household; None: 1
    slices: dict[str, str] = field(default_factory=dict)  # slice name -> column
    recode: dict[str, dict[str, Any]] = field(default_factory=dict)  # column -> {text: value}
    reference: ReferenceSpec = field(default_factory=ReferenceSpec)
    table: Path | None = None  # the household table, relative to the YAML file
    description: str = ""
    codebook_version: str | None = None
    source: str = "mapping"  # the YAML file, for error messages

    @property
    def extra_slices(self) -> tuple[str, ...]:
        return tuple(s for s in self.slices if s not in STANDARD_SLICES)

    def columns_by_role(self) -> dict[str, str]:
        """Every mapped table column -> the role that needs it (first role wins)."""
        roles: dict[str, str] = {self.id: "id"}
        scalar = {
            "label": self.label,
            "welfare": self.welfare,
            "cluster": self.cluster,
            "weight": self.weight,
            "reference.score": self.reference.score,
            "reference.selected": self.reference.selected,
        }
        if isinstance(self.poverty_line, str):
            scalar["poverty_line"] = self.poverty_line
        roles |= {col: role for role, col in scalar.items() if col and col not in roles}
        for where, block in (("areas", self.areas), ("slices", self.slices)):
            roles |= {col: f"{where}.{k}" for k, col in block.items() if col not in roles}
        for kind in ("numeric", "categorical", "binary"):
            for col in getattr(self.features, kind):
                roles.setdefault(col, f"features.{kind}")
        return roles


# --- reading the YAML -----------------------------------------------------------------------


def _known(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.name != "source"]


def _reject_unknown(raw: dict, cls: type, where: str, source: str) -> None:
    known = _known(cls)
    unknown = [k for k in raw if k not in known]
    if unknown:
        key = f"{where}.{unknown[0]}" if where else str(unknown[0])
        raise MappingError(f"{source}: unknown key {key!r}; known keys: {', '.join(known)}")


def _block(raw: Any, where: str, source: str) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise MappingError(f"{source}: {where!r} must be a mapping, got {type(raw).__name__}")
    return raw


def _names(raw: Any, where: str, source: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(c, str | int) for c in raw):
        raise MappingError(f"{source}: {where!r} must be a list of column names")
    return tuple(str(c) for c in raw)


def _features(raw: Any, source: str) -> FeatureSpec:
    raw = _block(raw, "features", source)
    _reject_unknown(raw, FeatureSpec, "features", source)
    spec = FeatureSpec(**{k: _names(v, f"features.{k}", source) for k, v in raw.items()})
    seen: dict[str, str] = {}
    for kind in ("numeric", "categorical", "binary"):
        for col in getattr(spec, kind):
            if col in seen:
                raise MappingError(
                    f"{source}: column {col!r} is listed as features.{seen[col]} and "
                    f"features.{kind}; give each feature one kind"
                )
            seen[col] = kind
    return spec


def _reference(raw: Any, source: str) -> ReferenceSpec:
    raw = _block(raw, "reference", source)
    _reject_unknown(raw, ReferenceSpec, "reference", source)
    spec = ReferenceSpec(**raw)
    if not (spec.score or spec.selected or spec.fit):
        raise MappingError(
            f"{source}: reference needs a 'score' column, a 'selected' column or "
            "'fit: pmt_ols' (a PMT scorecard fitted on the data)"
        )
    return spec


def _check_roles(mapping: DatasetMapping) -> None:
    source = mapping.source
    if mapping.label is None and (mapping.welfare is None or mapping.poverty_line is None):
        raise MappingError(
            f"{source}: map 'label' (the 0/1 poor flag) or both 'welfare' and 'poverty_line'"
        )
    clashes = [s for s in mapping.extra_slices if s in _FRAME_COLUMNS]
    if clashes:
        raise MappingError(
            f"{source}: slice name(s) {clashes} clash with targeting-frame columns; rename them"
        )
    bad_areas = [k for k in mapping.areas if k not in AREA_LEVELS]
    if bad_areas:
        raise MappingError(f"{source}: unknown area level {bad_areas[0]!r}; use {AREA_LEVELS}")
    outcome = {mapping.label, mapping.welfare, mapping.reference.score, mapping.reference.selected}
    leaks = [c for c in mapping.features.columns if c in outcome or c == mapping.id]
    if leaks:
        raise MappingError(
            f"{source}: feature columns {leaks} are the id, the label, the welfare or the "
            "reference system's output; a model must not see them"
        )


def mapping_from_dict(
    raw: dict[str, Any], *, source: str = "mapping", base_dir: Path | None = None
) -> DatasetMapping:
    """Build a :class:`DatasetMapping`; unknown keys raise :class:`MappingError` naming them."""
    raw = dict(_block(raw, "the top level", source))
    _reject_unknown(raw, DatasetMapping, "", source)
    missing = [k for k in ("name", "id") if not raw.get(k)]
    if missing:
        raise MappingError(f"{source}: required keys missing: {missing}")
    raw["features"] = _features(raw.get("features"), source)
    raw["reference"] = _reference(raw.get("reference"), source)
    for key in ("areas", "slices"):
        raw[key] = {str(k): str(v) for k, v in _block(raw.get(key), key, source).items()}
    raw["recode"] = {
        str(col): {str(k): v for k, v in _block(codes, f"recode.{col}", source).items()}
        for col, codes in _block(raw.get("recode"), "recode", source).items()
    }
    if raw.get("poor_values") is not None:
        raw["poor_values"] = {
            str(k): int(v) for k, v in _block(raw["poor_values"], "poor_values", source).items()
        }
    if raw.get("table") is not None:
        raw["table"] = (base_dir or Path.cwd()) / str(raw["table"])
    for key in ("id", "label", "welfare", "cluster", "weight"):
        if raw.get(key) is not None:
            raw[key] = str(raw[key])
    mapping = DatasetMapping(**raw, source=source)
    _check_roles(mapping)
    return mapping


def load_mapping(path: str | Path) -> DatasetMapping:
    """Read a dataset mapping YAML with ``yaml.safe_load``; ``table`` is relative to it."""
    path = Path(path)
    if not path.exists():
        raise MappingError(f"dataset mapping {path} does not exist")
    with path.open(encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    if not isinstance(raw, dict):
        raise MappingError(f"{path}: the top level must be a mapping of keys")
    return mapping_from_dict(raw, source=str(path), base_dir=path.resolve().parent)


# --- the table against the mapping -------------------------------------------------------


def _check_columns(table: pd.DataFrame, mapping: DatasetMapping, roles: dict[str, str]) -> None:
    present = {str(c) for c in table.columns}
    missing = [f"{col!r} ({role})" for col, role in roles.items() if col not in present]
    if missing:
        raise MappingError(
            f"{mapping.source}: {len(missing)} mapped column(s) missing from the household "
            f"table: {', '.join(missing)}; the table has {len(present)} columns, e.g. "
            f"{sorted(present)[:8]}; fix the mapping or the table"
        )


def _examples(values: pd.Series, bad: np.ndarray, ids: pd.Series) -> str:
    rows = np.flatnonzero(bad)[:_EXAMPLES]
    return ", ".join(f"{ids.iloc[i]}: {_shown(values.iloc[i])}" for i in rows)


def _shown(value: Any) -> str:
    """A value as a user would type it: text quoted, numbers plain."""
    return repr(value) if isinstance(value, str) else str(value)


def _recoded(table: pd.DataFrame, mapping: DatasetMapping) -> pd.DataFrame:
    if not mapping.recode:
        return table
    table = table.copy()
    for col, codes in mapping.recode.items():
        if col in table:
            text = table[col].astype("string").str.strip()
            table[col] = text.map(lambda v, c=codes: c.get(v, v) if v is not pd.NA else v)
    return table


def _numeric(table: pd.DataFrame, col: str, ids: pd.Series, source: str) -> np.ndarray:
    values = pd.to_numeric(table[col], errors="coerce")
    bad = (values.isna() & table[col].notna()).to_numpy()
    if bad.any():
        raise MappingError(
            f"{source}: column {col!r} is mapped as numeric but {int(bad.sum())} value(s) are "
            f"not numbers (id: value) {_examples(table[col], bad, ids)}; add a 'recode' entry "
            f"for {col!r} or map it as categorical"
        )
    return values.to_numpy(dtype=np.float64)


def _binary(table: pd.DataFrame, col: str, ids: pd.Series, source: str) -> np.ndarray:
    text = table[col].astype("string").str.strip().str.lower()
    values = text.map(_BINARY_WORDS.get, na_action="ignore")
    bad = (values.isna() & text.notna()).to_numpy()
    if bad.any():
        raise MappingError(
            f"{source}: column {col!r} is mapped as binary but {int(bad.sum())} value(s) are "
            f"not 0/1 or yes/no (id: value) {_examples(table[col], bad, ids)}; "
            "map it as numeric or categorical instead"
        )
    return values.to_numpy(dtype=np.float32, na_value=np.nan)


def _categorical(table: pd.DataFrame, col: str) -> pd.Series:
    values = table[col]
    if pd.api.types.is_float_dtype(values) and (values.dropna() % 1 == 0).all():
        values = values.astype("Int64")  # "3", not "3.0"
    return values.astype("string").str.strip().reset_index(drop=True)


def _household_ids(table: pd.DataFrame, mapping: DatasetMapping) -> pd.Series:
    ids = _categorical(table, mapping.id)
    problems = []
    if ids.isna().any():
        problems.append(f"{int(ids.isna().sum())} missing")
    duplicated = ids[ids.duplicated(keep=False) & ids.notna()]
    if len(duplicated):
        problems.append(
            f"{duplicated.nunique()} duplicated, e.g. {duplicated.unique()[:_EXAMPLES].tolist()}"
        )
    if problems:
        raise MappingError(
            f"{mapping.source}: household id column {mapping.id!r} must be unique and present: "
            f"{'; '.join(problems)}; aggregate member rows to one row per household first"
        )
    return ids


def mapped_features(table: pd.DataFrame, mapping: DatasetMapping) -> pd.DataFrame:
    """Exactly the mapped feature columns, typed for the models, indexed by household id."""
    _check_columns(
        table,
        mapping,
        {c: mapping.columns_by_role()[c] for c in (mapping.id, *mapping.features.columns)},
    )
    table = _recoded(table, mapping).reset_index(drop=True)
    ids = _household_ids(table, mapping)
    spec, out = mapping.features, {}
    for col in spec.columns:
        if col in spec.categorical:
            out[col] = _categorical(table, col).to_numpy()
        elif col in spec.binary:
            out[col] = _binary(table, col, ids, mapping.source)
        else:
            out[col] = _numeric(table, col, ids, mapping.source).astype(np.float32)
    features = pd.DataFrame(out, index=pd.Index(ids.to_numpy(), name="IDBDT"))
    for col in spec.categorical:
        features[col] = features[col].astype("string")
    return features


def _poor_label(table: pd.DataFrame, mapping: DatasetMapping, ids: pd.Series) -> pd.Series:
    col, source = mapping.label, mapping.source
    if mapping.poor_values:
        text = _categorical(table, col)
        values = text.map(mapping.poor_values.get, na_action="ignore")
        unknown = (values.isna() & text.notna()).to_numpy()
        if unknown.any():
            raise MappingError(
                f"{source}: label column {col!r} has values not listed in poor_values "
                f"{sorted(mapping.poor_values)}: (id: value) {_examples(text, unknown, ids)}; "
                "add them to poor_values with 0 or 1"
            )
    else:
        values = pd.to_numeric(table[col], errors="coerce").reset_index(drop=True)
    missing = values.isna().to_numpy()
    if missing.any():
        raise MappingError(
            f"{source}: label column {col!r} has {int(missing.sum())} missing value(s), e.g. "
            f"households {ids[missing].head(_EXAMPLES).tolist()}; drop them or fill the label"
        )
    bad = ~values.isin([0, 1]).to_numpy()
    if bad.any():
        shown = table[col].reset_index(drop=True)
        raise MappingError(
            f"{source}: label column {col!r} must be 0/1 (1 = poor) but {int(bad.sum())} "
            f"value(s) are not: (id: value) {_examples(shown, bad, ids)}; add 'poor_values' "
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
    welfare = _numeric(table, mapping.welfare, ids, mapping.source)
    if mapping.poverty_line is None:
        return welfare, None
    if isinstance(mapping.poverty_line, str):
        line = _numeric(table, mapping.poverty_line, ids, mapping.source)
    else:
        line = np.full(n, float(mapping.poverty_line))
    return welfare, np.log(np.clip(welfare, 1e-9, None) / line)


def _persons(table: pd.DataFrame, mapping: DatasetMapping, ids: pd.Series) -> np.ndarray:
    if mapping.weight is None:
        return np.ones(len(table))
    persons = _numeric(table, mapping.weight, ids, mapping.source)
    bad = ~(persons > 0)
    if bad.any():
        raise MappingError(
            f"{mapping.source}: weight column {mapping.weight!r} must be a positive number of "
            f"persons; {int(bad.sum())} are not: (id: value) "
            f"{_examples(table[mapping.weight].reset_index(drop=True), bad, ids)}"
        )
    return persons


def _slice_flag(
    table: pd.DataFrame, mapping: DatasetMapping, name: str, ids: pd.Series
) -> np.ndarray:
    flag = _binary(table, mapping.slices[name], ids, mapping.source)
    if np.isnan(flag).any():
        raise MappingError(
            f"{mapping.source}: slice {name!r} (column {mapping.slices[name]!r}) has "
            f"{int(np.isnan(flag).sum())} missing value(s); fill them with 0 or 1"
        )
    return flag.astype(np.int8)


def _area_columns(table: pd.DataFrame, mapping: DatasetMapping, ids: pd.Series) -> pd.DataFrame:
    cluster = _categorical(table, mapping.cluster) if mapping.cluster else ids
    if cluster.isna().any():
        raise MappingError(
            f"{mapping.source}: cluster column {mapping.cluster!r} has "
            f"{int(cluster.isna().sum())} missing value(s); every household needs a cluster"
        )
    levels = {
        lv: _categorical(table, mapping.areas[lv]) if lv in mapping.areas else cluster
        for lv in AREA_LEVELS
    }
    return pd.DataFrame({"cluster": cluster, **levels})


def coverage_quota(coverage: str | float | int, poor: np.ndarray) -> int:
    """How many households the reference selects: ``"poor_share"`` = as many as are poor.

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


def fitted_reference_scores(
    features: pd.DataFrame,
    poor: np.ndarray,
    groups: np.ndarray,
    *,
    welfare_target: np.ndarray | None = None,
    model: str = "pmt_ols",
    folds: int = 5,
    seed: int = 0,
) -> np.ndarray:
    """Out-of-fold scores (higher = poorer) of a scorecard fitted on the data itself.

    Folds are grouped by ``groups`` (the cluster); each household is scored by the model
    fitted on the folds without its cluster, so the reference is judged out of sample like
    every other model. ``pmt_ols`` regresses log welfare when it is known, else it is a
    linear probability model of the poor label.
    """
    from slrt_ml.models import make_model
    from slrt_ml.pipeline.train import grouped_folds

    scores = np.full(len(features), np.nan)
    template = make_model(model)
    uses_welfare = getattr(template, "uses_welfare", False) and welfare_target is not None
    y = np.asarray(welfare_target if uses_welfare else poor)
    for train, test in grouped_folds(np.asarray(groups), folds, seed):
        fitted = make_model(model).fit(features.iloc[train], y[train])
        scores[test] = fitted.poverty_score(features.iloc[test])
    return scores


def _aligned_scores(reference_scores: Any, ids: pd.Series, name: str) -> np.ndarray:
    if isinstance(reference_scores, pd.Series):
        scores = reference_scores.copy()
        scores.index = scores.index.astype(str)
        missing = ids[~ids.isin(scores.index)]
        if len(missing):
            raise MappingError(
                f"reference_scores for {name!r} miss {len(missing)} households, e.g. "
                f"{missing.head(_EXAMPLES).tolist()}; pass a score for every household"
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
    reference_scores: Any,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    spec, info = mapping.reference, {"reference_fitted": None}
    if reference_scores is not None:
        score = _aligned_scores(reference_scores, ids, spec.name)
    elif spec.score:
        score = _numeric(table, spec.score, ids, mapping.source)
        score = score if spec.higher_is_poorer else -score
    elif spec.fit and spec.selected is None:
        score = fitted_reference_scores(
            features,
            poor,
            groups,
            welfare_target=welfare_target,
            model=spec.fit,
            folds=spec.folds,
            seed=spec.seed,
        )
        info["reference_fitted"] = {"model": spec.fit, "folds": spec.folds, "seed": spec.seed}
    else:  # only a list: selected households rank first
        score = _slice_like_flag(table, spec.selected, mapping, ids).astype(np.float64)
    if spec.selected:
        selected = _slice_like_flag(table, spec.selected, mapping, ids)
    else:
        from slrt_ml.targeting.selection import select_under_quota

        quota = coverage_quota(spec.coverage, poor)
        selected = select_under_quota(score, quota, tiebreak=ids.to_numpy()).astype(np.int8)
        info["reference_coverage"] = {"rule": spec.coverage, "selected": quota}
    return selected, score, info


def _slice_like_flag(
    table: pd.DataFrame, col: str, mapping: DatasetMapping, ids: pd.Series
) -> np.ndarray:
    flag = _binary(table, col, ids, mapping.source)
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
    frame["target"] = poor.to_numpy(dtype=np.int8)
    frame["poor"] = poor.to_numpy(dtype=np.int8)
    frame["welfare"] = welfare
    frame["persons"] = _persons(table, mapping, ids)
    for name in STANDARD_SLICES:
        mapped = name in mapping.slices
        frame[name] = _slice_flag(table, mapping, name, ids) if mapped else np.int8(0)
    return frame


def mapped_targeting_data(
    table: pd.DataFrame,
    mapping: DatasetMapping,
    *,
    reference_scores: pd.Series | np.ndarray | None = None,
) -> Any:
    """A household table and its mapping as :class:`~slrt_ml.pipeline.train.TargetingData`.

    ``features`` holds exactly the mapped feature columns; ``frame`` is the targeting
    frame of docs/CONTRACTS.md (every household eligible, target = poor). Standard slices
    the mapping leaves out are 0 and listed in ``extra["unmapped_slices"]``; the mapping's
    own slices are extra string columns named in ``extra["slices"]``. The reference
    system's ``<name>_score``/``<name>_selected`` come from ``reference_scores`` (a Series
    indexed by household id, or an aligned array), the mapped columns, or a fitted
    scorecard (``reference.fit``), selected at ``reference.coverage``.
    """
    from slrt_ml.pipeline.train import TargetingData

    _check_columns(table, mapping, mapping.columns_by_role())
    features = mapped_features(table, mapping)
    table = _recoded(table, mapping).reset_index(drop=True)
    ids = pd.Series(features.index.to_numpy(), dtype="string")
    welfare, welfare_target = _welfare(table, mapping, ids)
    poor = (
        _poor_label(table, mapping, ids)
        if mapping.label
        else pd.Series((welfare_target < 0).astype(np.int8))
    )
    frame = _frame(table, mapping, ids, poor, welfare)
    selected, score, info = _reference_columns(
        table,
        mapping,
        ids,
        features,
        frame["poor"].to_numpy(),
        frame["cluster"].to_numpy(),
        welfare_target,
        reference_scores,
    )
    frame[f"{mapping.reference.name}_selected"] = selected
    frame[f"{mapping.reference.name}_score"] = score
    for name in mapping.extra_slices:
        frame[name] = _categorical(table, mapping.slices[name]).to_numpy()
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
            **info,
        },
    )


# --- comparison against the mapped reference ----------------------------------------------


def compare_with_reference(
    frame: pd.DataFrame,
    systems: list[str],
    *,
    reference: str,
    extra_slices: list[str] | tuple[str, ...] = (),
    **options: Any,
) -> Any:
    """:func:`slrt_ml.evaluation.compare.compare` against ``reference``, with the mapping's own slices.

    The frame holds ``<reference>_selected``/``<reference>_score``; the slices are the
    standard ones the frame has plus ``extra_slices`` (e.g. ``data.extra["slices"]``).
    ``options`` go to ``compare`` (``quota``, ``by``, ``bootstrap``, ``seed``, ``weight``).
    """
    from slrt_ml.evaluation.compare import compare, default_slices

    standard = default_slices(frame)
    slices = [*standard, *(s for s in extra_slices if s not in standard)]
    return compare(frame, systems, reference=reference, slices=slices, **options)


# --- the mapped table on disk, its digest, and row-level rejects (CLI and batch scoring) -----


def mapping_digest(mapping: DatasetMapping) -> str:
    """A content digest of what the mapping says (not its comments, file name or table path).

    >>> a = mapping_from_dict({"name": "t", "id": "hh", "label": "poor",
    ...                        "reference": {"selected": "ref"}}, source="a.yaml")
    >>> mapping_digest(a) == mapping_digest(dataclasses.replace(a, source="b.yaml"))
    True
    >>> mapping_digest(a) == mapping_digest(dataclasses.replace(a, label="other"))
    False
    """
    import hashlib
    import json

    content = dataclasses.asdict(mapping)
    for key in ("source", "table"):
        content.pop(key)
    text = json.dumps(content, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _text_columns(mapping: DatasetMapping) -> list[str]:
    """Columns read as text so that codes keep their leading zeros ("007" stays "007")."""
    return [mapping.id, *(c for c in (mapping.cluster,) if c), *mapping.areas.values(),
            *mapping.features.categorical]  # fmt: skip


def read_mapped_table(mapping: DatasetMapping, table: str | Path | None = None) -> pd.DataFrame:
    """Read the household table of a mapping (CSV, Parquet or Excel ``.xlsx``), all columns.

    ``table`` defaults to the mapping's own ``table`` (relative to its YAML file). The id,
    cluster, area and categorical columns are read as text; everything else as the reader
    sees it (the mapping's rules type the columns later).
    """
    path = Path(table) if table is not None else mapping.table
    if path is None:
        raise MappingError(
            f"{mapping.source}: no household table given; pass --table FILE (or table=) or "
            "add 'table: <file>' to the mapping"
        )
    if not path.is_file():
        raise MappingError(f"household table {path} does not exist (mapping {mapping.source})")
    strings = dict.fromkeys(_text_columns(mapping), "string")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(encoding="utf-8-sig") as fh:
            header = fh.readline()
        sep = max([",", ";", "\t", "|"], key=header.count)
        return pd.read_csv(path, sep=sep, dtype=strings, encoding="utf-8-sig")
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix == ".xlsx":
        return pd.read_excel(path, dtype=dict.fromkeys(strings, str), engine="openpyxl")
    raise MappingError(f"{path}: household tables must be .csv, .parquet or .xlsx")


def _row_reasons(bad: np.ndarray, col: str, rule: str, values: pd.Series) -> pd.Series:
    shown = values.astype("string").fillna("<missing>")
    return pd.Series(np.where(bad, f"{col}: {rule} (" + shown + ")", pd.NA), dtype="string")


def mapped_rejects(table: pd.DataFrame, mapping: DatasetMapping) -> pd.Series:
    """Why each row cannot be scored (``<NA>`` = fine), aligned with ``table``'s rows.

    Row-level problems only: a missing or repeated household id, a missing cluster, a
    numeric feature that is not a number, a binary feature that is not 0/1 or yes/no
    (after ``recode``). Missing mapped columns are a table-level error and raise
    :class:`MappingError` naming them.

    >>> m = mapping_from_dict({"name": "t", "id": "hh", "label": "poor",
    ...     "reference": {"selected": "ref"}, "features": {"numeric": ["rooms"],
    ...     "binary": ["tv"]}})
    >>> t = pd.DataFrame({"hh": [1, 2, 2, 3], "rooms": ["2", "x", "3", "1"],
    ...                   "tv": ["yes", "no", "no", "maybe"]})
    >>> mapped_rejects(t, m).tolist()  # doctest: +NORMALIZE_WHITESPACE
    [<NA>, 'hh: repeated id (2); rooms: not a number (x)', 'hh: repeated id (2)',
     'tv: not 0/1 or yes/no (maybe)']
    """
    roles = {c: r for c, r in mapping.columns_by_role().items()
             if r in ("id", "cluster") or r.startswith("features.")}  # fmt: skip
    _check_columns(table, mapping, roles)
    table = _recoded(table, mapping).reset_index(drop=True)
    ids = _categorical(table, mapping.id)
    problems = [
        _row_reasons(ids.isna().to_numpy(), mapping.id, "missing id", table[mapping.id]),
        _row_reasons(
            (ids.duplicated(keep=False) & ids.notna()).to_numpy(), mapping.id, "repeated id", ids
        ),  # fmt: skip
    ]
    if mapping.cluster:
        cluster = table[mapping.cluster]
        problems.append(
            _row_reasons(cluster.isna().to_numpy(), mapping.cluster, "missing", cluster)
        )
    for col in mapping.features.numeric:
        bad = pd.to_numeric(table[col], errors="coerce").isna() & table[col].notna()
        problems.append(_row_reasons(bad.to_numpy(), col, "not a number", table[col]))
    for col in mapping.features.binary:
        text = table[col].astype("string").str.strip().str.lower()
        bad = text.map(_BINARY_WORDS.get, na_action="ignore").isna() & text.notna()
        problems.append(_row_reasons(bad.to_numpy(), col, "not 0/1 or yes/no", table[col]))
    return _joined(problems, len(table))


def _joined(reasons: list[pd.Series], n: int) -> pd.Series:
    out = pd.Series(pd.NA, index=range(n), dtype="string")
    for reason in reasons:
        out = (out + "; " + reason).fillna(out).fillna(reason)
    return out
