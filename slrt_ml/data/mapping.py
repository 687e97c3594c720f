"""Bring your own household table: a YAML mapping says which column plays which role.

A mapping (``configs/datasets/*.yaml``) names the household id, the area/cluster, the
``weight`` (persons per household, for person-weighted comparisons), the
``survey_weight`` (the survey's expansion factor: models train with it), the poor label and/or welfare, the reference system's score or
flag (or asks for a fitted PMT scorecard), the group slices, and which columns are
numeric, categorical or binary features, and optionally ``labels:`` (names for feature
columns and their codes, so explanations read as words) and ``names:`` (the report's
title, the id header and the words for area levels). This module only reads the YAML into a typed
:class:`DatasetMapping` and checks it; :mod:`slrt_ml.data.mapped_table` reads and types the
table, :mod:`slrt_ml.targeting.mapped` turns both into the targeting frame.

>>> mapping = mapping_from_dict({
...     "name": "toy", "id": "hh", "label": "poor",
...     "reference": {"name": "ref", "selected": "ref_flag"},
...     "features": {"numeric": ["rooms"], "categorical": ["roof"], "binary": ["tv"]}})
>>> mapping.features.columns, mapping.reference.selected
(('rooms', 'roof', 'tv'), 'ref_flag')
>>> mapping_from_dict({"name": "toy", "id": "hh", "lable": "poor"})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
slrt_ml.data.mapping.MappingError: mapping: unknown key 'lable'; known keys: name, id, ...
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from slrt_ml.config import reject_unknown_keys

__all__ = [
    "MappingError",
    "FeatureSpec",
    "ReferenceSpec",
    "NamesSpec",
    "LabelSpec",
    "DatasetMapping",
    "STANDARD_SLICES",
    "AREA_LEVELS",
    "load_mapping",
    "mapping_from_dict",
    "mapping_digest",
]

#: slice columns every targeting frame carries (0/1); a mapping may add its own
STANDARD_SLICES = ("urban", "female_head", "elderly_head", "disabled_member")
AREA_LEVELS = ("KDKAB", "KDKEC")
_FRAME_COLUMNS = frozenset(
    {"IDBDT", "cluster", *AREA_LEVELS, "eligible", "target", "poor", "welfare", "persons"}
)


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
class LabelSpec:
    """Words for the explanations of a mapped table (the optional ``labels:`` section).

    ``columns``: feature column -> its name (``rooms: Jumlah kamar``); ``values``: feature
    column -> {code: name} (``roof: {1: Genteng, 2: Seng}``). A reason then reads
    "Jumlah kamar: 3" or "Atap: Seng" instead of "rooms: 3" or "roof: 2". Codes are kept
    as text ("1"), as the explanations look them up; unlabelled columns and codes keep
    their raw wording. Labels change words only: they are not part of the mapping digest.
    """

    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class NamesSpec:
    """How the report names things for a mapped table (the optional ``names:`` section).

    ``title``: the report's title; ``id``: the household id's header; ``cluster``: the
    word for a cluster (``"household"``, ``"village"``); ``areas``: area level -> its word
    (``KDKEC: district``). Left out, the report says "kecamatan", "desa" and names the
    reference system in its title. Names are wording: not part of the mapping digest.
    """

    title: str | None = None
    id: str | None = None
    cluster: str | None = None
    areas: dict[str, str] = field(default_factory=dict)


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
    weight: str | None = None  # persons per household (compare --weight person); None: 1
    survey_weight: str | None = None  # the survey's expansion factor (training weights); None: 1
    slices: dict[str, str] = field(default_factory=dict)  # slice name -> column
    recode: dict[str, dict[str, Any]] = field(default_factory=dict)  # column -> {text: value}
    reference: ReferenceSpec = field(default_factory=ReferenceSpec)
    labels: LabelSpec = field(default_factory=LabelSpec)
    names: NamesSpec = field(default_factory=NamesSpec)
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
            "survey_weight": self.survey_weight,
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
    reject_unknown_keys(raw, _known(FeatureSpec), "features", error=MappingError, source=source)
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
    reject_unknown_keys(raw, _known(ReferenceSpec), "reference", error=MappingError, source=source)
    spec = ReferenceSpec(**raw)
    if not (spec.score or spec.selected or spec.fit):
        raise MappingError(
            f"{source}: reference needs a 'score' column, a 'selected' column or "
            "'fit: pmt_ols' (a PMT scorecard fitted on the data)"
        )
    return spec


def _labels(raw: Any, features: FeatureSpec, source: str) -> LabelSpec:
    raw = _block(raw, "labels", source)
    reject_unknown_keys(raw, _known(LabelSpec), "labels", error=MappingError, source=source)
    columns = {str(k): v for k, v in _block(raw.get("columns"), "labels.columns", source).items()}
    values = {str(col): _block(codes, f"labels.values.{col}", source)
              for col, codes in _block(raw.get("values"), "labels.values", source).items()}  # fmt: skip
    for where, named in (("columns", columns), ("values", values)):
        unknown = [c for c in named if c not in features.columns]
        if unknown:
            raise MappingError(
                f"{source}: labels.{where} names {len(unknown)} column(s) that are not "
                f"features: {unknown[:5]}; label only columns listed under features"
            )
    texts = [(f"labels.columns.{c}", v) for c, v in columns.items()]
    texts += [
        (f"labels.values.{c}.{k}", v) for c, codes in values.items() for k, v in codes.items()
    ]
    bad = [(where, v) for where, v in texts if not isinstance(v, str) or not v.strip()]
    if bad:
        raise MappingError(
            f"{source}: {len(bad)} label(s) are not text, e.g. {bad[:3]}; write each label "
            "as a non-empty string"
        )
    return LabelSpec(
        columns=columns,
        values={c: {str(k): v for k, v in codes.items()} for c, codes in values.items()},
    )


def _names_section(raw: Any, source: str) -> NamesSpec:
    raw = _block(raw, "names", source)
    reject_unknown_keys(raw, _known(NamesSpec), "names", error=MappingError, source=source)
    areas = {str(k): v for k, v in _block(raw.get("areas"), "names.areas", source).items()}
    unknown = [k for k in areas if k not in AREA_LEVELS]
    if unknown:
        raise MappingError(
            f"{source}: names.areas names unknown area level(s) {unknown}; use {AREA_LEVELS}"
        )
    texts = [(f"names.{k}", raw[k]) for k in ("title", "id", "cluster") if k in raw]
    texts += [(f"names.areas.{k}", v) for k, v in areas.items()]
    bad = [(where, v) for where, v in texts if not isinstance(v, str) or not v.strip()]
    if bad:
        raise MappingError(
            f"{source}: {len(bad)} name(s) are not text, e.g. {bad[:3]}; write each name "
            "as a non-empty string"
        )
    return NamesSpec(title=raw.get("title"), id=raw.get("id"), cluster=raw.get("cluster"),
                     areas=areas)  # fmt: skip


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
    outcome = {mapping.label, mapping.welfare, mapping.reference.score, mapping.reference.selected,
               mapping.survey_weight}  # fmt: skip
    leaks = [c for c in mapping.features.columns if c in outcome or c == mapping.id]
    if leaks:
        raise MappingError(
            f"{source}: feature columns {leaks} are the id, the label, the welfare, the survey "
            "weight or the reference system's output; a model must not see them"
        )


def mapping_from_dict(
    raw: dict[str, Any], *, source: str = "mapping", base_dir: Path | None = None
) -> DatasetMapping:
    """Build a :class:`DatasetMapping`; unknown keys raise :class:`MappingError` naming them."""
    raw = dict(_block(raw, "the top level", source))
    reject_unknown_keys(raw, _known(DatasetMapping), "", error=MappingError, source=source)
    missing = [k for k in ("name", "id") if not raw.get(k)]
    if missing:
        raise MappingError(f"{source}: required keys missing: {missing}")
    raw["features"] = _features(raw.get("features"), source)
    raw["reference"] = _reference(raw.get("reference"), source)
    raw["labels"] = _labels(raw.get("labels"), raw["features"], source)
    raw["names"] = _names_section(raw.get("names"), source)
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
    for key in ("id", "label", "welfare", "cluster", "weight", "survey_weight"):
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


def mapping_digest(mapping: DatasetMapping) -> str:
    """A content digest of what the mapping says (not its comments, file name or table path).

    >>> a = mapping_from_dict({"name": "t", "id": "hh", "label": "poor",
    ...                        "reference": {"selected": "ref"}}, source="a.yaml")
    >>> mapping_digest(a) == mapping_digest(dataclasses.replace(a, source="b.yaml"))
    True
    >>> mapping_digest(a) == mapping_digest(dataclasses.replace(a, label="other"))
    False
    """
    content = dataclasses.asdict(mapping)
    for key in ("source", "table", "labels", "names"):  # labels and names are wording
        content.pop(key)
    text = json.dumps(content, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
