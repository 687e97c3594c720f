"""YAML configs into typed objects; unknown keys and values of the wrong type are rejected.

The file is read with ``yaml.safe_load`` only. Every section has defaults, so an empty file
is a valid config. Each key is read by one consumer:

- ``seed``, ``models``, ``model_params``, ``cv.*``, ``features.elderly_age``, ``train.sample``:
  ``slrt-ml train``
  (and ``demo``);
- ``compare.*``: the defaults of ``slrt-ml compare`` (``--quota``, ``--by``, ``--bootstrap``,
  ``--weight`` override them);
- ``scoring.*``: the defaults of ``slrt-ml score`` (``--chunk-size``, ``--top-k``,
  ``--quota-share``) and ``slrt-ml explain`` (``--top-k``);
- ``tracking.*``: whether and where ``train``, ``compare`` and ``score`` log to MLflow.

This module imports nothing from ``slrt_ml``: it is a leaf every stage may use.

>>> cfg = config_from_dict({"cv": {"folds": 3}, "models": ["logit"]})
>>> cfg.cv.folds, cfg.models
(3, ('logit',))
>>> config_from_dict({"cv": {"fold": 3}})
Traceback (most recent call last):
...
slrt_ml.config.ConfigError: unknown key 'cv.fold'; known keys: folds, shuffle
>>> config_from_dict({"cv": {"folds": "five"}})
Traceback (most recent call last):
...
slrt_ml.config.ConfigError: config key 'cv.folds' must be an integer >= 2, got 'five' (str)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml

__all__ = [
    "ConfigError",
    "Config",
    "CVConfig",
    "FeatureConfig",
    "TrainConfig",
    "CompareConfig",
    "TrackingConfig",
    "ScoringConfig",
    "DEFAULT_CONFIG_PATH",
    "DEFAULT_MODELS",
    "load_config",
    "config_from_dict",
    "config_to_dict",
    "overridden",
    "reject_unknown_keys",
]

#: Every model name ``slrt_ml.models.make_model`` knows (a test keeps the two equal).
DEFAULT_MODELS = ("pmt_ols", "logit", "gbm", "rf", "ebm", "mlp")
# Shipped inside the package so an installed wheel has it; configs/default.yaml is the
# documented copy (a test checks the two are equal).
DEFAULT_CONFIG_PATH = Path(str(resources.files("slrt_ml") / "resources" / "default.yaml"))


class ConfigError(ValueError):
    """A config file has an unknown key or a value of the wrong kind."""


@dataclass(frozen=True)
class CVConfig:
    folds: int = 5  # grouped by desa: row folds leak area effects
    shuffle: bool = True  # shuffle the desa before they are dealt into folds (seeded)


@dataclass(frozen=True)
class FeatureConfig:
    elderly_age: int = 60  # PKH guidelines: 60+, some use 70+


@dataclass(frozen=True)
class TrainConfig:
    # "labelled": fit on the households with a label (truth's in_survey; all when absent),
    # weighted by their survey weight; "all": every household, unweighted (only sound
    # when the truth is known for every household, as in a synthetic registry)
    sample: str = "labelled"


@dataclass(frozen=True)
class CompareConfig:
    quota: str | int | float = "siksng"  # "siksng", a count (5000) or a share (0.2)
    by: str | None = None  # None (overall), "KDKEC" or "KDDESA"
    bootstrap: int = 1000
    weight: str = "household"  # or "person"


@dataclass(frozen=True)
class TrackingConfig:
    enabled: bool = True
    experiment: str = "slrt-ml"
    registered_model_name: str = "slrt-ml-pkh"


@dataclass(frozen=True)
class ScoringConfig:
    chunk_size: int = 100_000
    top_k: int = 5
    quota_share: float | None = None


@dataclass(frozen=True)
class Config:
    seed: int = 2024
    models: tuple[str, ...] = DEFAULT_MODELS
    cv: CVConfig = field(default_factory=CVConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    model_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    compare: CompareConfig = field(default_factory=CompareConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    source: str | None = None  # the file it came from, for the manifest

    def params_for(self, model: str) -> dict[str, Any]:
        """The ``model_params`` of ``model`` (a copy; empty when none are given)."""
        return dict(self.model_params.get(model) or {})

    def with_models(self, models: list[str] | tuple[str, ...] | None) -> Config:
        """This config with ``models`` replaced (unchanged when ``models`` is empty)."""
        if not models:
            return self
        return dataclasses.replace(self, models=_models("models", list(models)))


_SECTIONS = {
    "cv": CVConfig,
    "features": FeatureConfig,
    "train": TrainConfig,
    "compare": CompareConfig,
    "tracking": TrackingConfig,
    "scoring": ScoringConfig,
}


def reject_unknown_keys(
    given: Iterable[Any],
    known: Iterable[str],
    where: str = "",
    *,
    error: type[Exception] = ConfigError,
    source: str | None = None,
) -> None:
    """Raise ``error`` naming the first key of ``given`` that is not in ``known``.

    The one check behind every YAML file the package reads (configs, dataset mappings).

    Parameters
    ----------
    given : iterable
        The keys found (a mapping's keys).
    known : iterable of str
        The keys allowed, in the order the message lists them.
    where : str
        Dotted path of the section (``""`` for the top level); prefixes the key.
    error : type
        Exception class raised (:class:`ConfigError`, ``MappingError``, ...).
    source : str, optional
        File or object name put before the message.

    Raises
    ------
    error
        ``"<source>: unknown key 'section.key'; known keys: a, b"``.

    Examples
    --------
    >>> reject_unknown_keys({"folds": 3}, ["folds", "shuffle"], "cv")
    >>> reject_unknown_keys({"fold": 3}, ["folds", "shuffle"], "cv", source="my.yaml")
    Traceback (most recent call last):
    ...
    slrt_ml.config.ConfigError: my.yaml: unknown key 'cv.fold'; known keys: folds, shuffle
    """
    known = list(known)
    unknown = [k for k in given if k not in known]
    if unknown:
        key = f"{where}.{unknown[0]}" if where else str(unknown[0])
        prefix = f"{source}: " if source else ""
        raise error(f"{prefix}unknown key {key!r}; known keys: {', '.join(known)}")


# --- value checks: each returns the value (normalised) or raises naming the key -----------

Check = Callable[[str, Any], Any]


def _wrong(key: str, expected: str, value: Any) -> ConfigError:
    return ConfigError(
        f"config key {key!r} must be {expected}, got {value!r} ({type(value).__name__})"
    )


def _integer(minimum: int) -> Check:
    def check(key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise _wrong(key, f"an integer >= {minimum}", value)
        return value

    return check


def _boolean(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _wrong(key, "true or false", value)
    return value


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise _wrong(key, "a non-empty string", value)
    return value


def _choice(*choices: str | None) -> Check:
    def check(key: str, value: Any) -> str | None:
        if value not in choices:
            names = ", ".join("null" if c is None else c for c in choices)
            raise _wrong(key, f"one of {names}", value)
        return value

    return check


def _share(key: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise _wrong(key, "null or a share in (0, 1]", value)
    return float(value)


def _quota(key: str, value: Any) -> str | int | float:
    """A reference name ("siksng"), a count of households (>= 1) or a share in (0, 1]."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    if isinstance(value, float) and 0 < value <= 1:
        return value
    raise _wrong(key, "'siksng', a count >= 1 or a share in (0, 1]", value)


def _models(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [m.strip() for m in value.split(",") if m.strip()]
    if not isinstance(value, list | tuple) or not value:
        raise _wrong(key, f"a non-empty list of model names ({', '.join(DEFAULT_MODELS)})", value)
    unknown = [m for m in value if m not in DEFAULT_MODELS]
    if unknown:
        raise ConfigError(
            f"config key {key!r}: unknown model(s) {', '.join(map(repr, unknown))}; "
            f"known models: {', '.join(DEFAULT_MODELS)}"
        )
    return tuple(value)


_CHECKS: dict[str, Check] = {
    "seed": _integer(0),
    "cv.folds": _integer(2),
    "cv.shuffle": _boolean,
    "features.elderly_age": _integer(0),
    "train.sample": _choice("labelled", "all"),
    "compare.quota": _quota,
    "compare.by": _choice(None, "KDKEC", "KDDESA"),
    "compare.bootstrap": _integer(0),
    "compare.weight": _choice("household", "person"),
    "tracking.enabled": _boolean,
    "tracking.experiment": _text,
    "tracking.registered_model_name": _text,
    "scoring.chunk_size": _integer(1),
    "scoring.top_k": _integer(1),
    "scoring.quota_share": _share,
}


def _section(cls: type, raw: Any, where: str) -> Any:
    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        raise ConfigError(f"config section {where!r} must be a mapping, got {type(raw).__name__}")
    reject_unknown_keys(raw, [f.name for f in dataclasses.fields(cls)], where)
    return cls(**{k: _CHECKS[f"{where}.{k}"](f"{where}.{k}", v) for k, v in raw.items()})


def _model_params(raw: Any) -> dict[str, dict[str, Any]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(v, dict | None) for v in raw.values()):
        raise ConfigError("model_params must map a model name to a mapping of parameters")
    reject_unknown_keys(raw, DEFAULT_MODELS, "model_params")
    return {k: dict(v or {}) for k, v in raw.items()}


def config_from_dict(raw: Mapping[str, Any] | None, *, source: str | None = None) -> Config:
    """Build a :class:`Config` from a mapping (the parsed YAML).

    Parameters
    ----------
    raw : mapping or None
        Sections as in ``configs/default.yaml``; missing keys take their defaults.
    source : str, optional
        The file it came from (recorded in the run manifest).

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        For an unknown key (named with its section) or a value of the wrong type or
        range (naming the key, the expected type and the value).
    """
    raw = dict(raw or {})
    reject_unknown_keys(raw, [f.name for f in dataclasses.fields(Config) if f.name != "source"])
    kwargs: dict[str, Any] = {k: _section(cls, raw.get(k), k) for k, cls in _SECTIONS.items()}
    if "models" in raw:
        kwargs["models"] = _models("models", raw["models"])
    kwargs["model_params"] = _model_params(raw.get("model_params"))
    if "seed" in raw:
        kwargs["seed"] = _CHECKS["seed"]("seed", raw["seed"])
    return Config(**kwargs, source=source)


def load_config(path: str | Path | None = None) -> Config:
    """Read a YAML config with ``yaml.safe_load`` (default: the packaged ``default.yaml``).

    Parameters
    ----------
    path : str or Path, optional
        The YAML file; ``None`` reads :data:`DEFAULT_CONFIG_PATH`.

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        When the file does not exist or holds an unknown key or a bad value (the message
        starts with the file name).
    """
    path = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    if not path.exists():
        if path == DEFAULT_CONFIG_PATH:
            return Config()
        raise ConfigError(f"config file {path} does not exist")
    with path.open(encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    try:
        return config_from_dict(raw, source=str(path.resolve()))
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


Section = TypeVar(
    "Section", CVConfig, FeatureConfig, TrainConfig, CompareConfig, TrackingConfig, ScoringConfig
)


def overridden(section: Section, **flags: Any) -> Section:
    """``section`` with every flag that was given (not ``None``) put in place of its value.

    Command-line flags override the config this way: a flag left out is ``None``.

    >>> overridden(CompareConfig(), quota="0.2", by=None).quota
    '0.2'
    >>> overridden(CompareConfig(), by=None).by is None and CompareConfig().quota
    'siksng'
    """
    return dataclasses.replace(section, **{k: v for k, v in flags.items() if v is not None})


def config_to_dict(config: Config) -> dict[str, Any]:
    """A plain dict (for the manifest and MLflow params)."""
    out = dataclasses.asdict(config)
    out["models"] = list(config.models)
    return out
