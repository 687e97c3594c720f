"""YAML configs into typed objects; unknown keys are rejected with their name.

The file is read with ``yaml.safe_load`` only. Every section has defaults, so an empty file
is a valid config; paths are resolved relative to the config file.

>>> cfg = config_from_dict({"cv": {"folds": 3}, "models": ["logit"]})
>>> cfg.cv.folds, cfg.models
(3, ('logit',))
>>> config_from_dict({"cv": {"fold": 3}})
Traceback (most recent call last):
...
slrt_ml.config.ConfigError: unknown key 'cv.fold' in config; known keys of 'cv': folds, shuffle
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "ConfigError",
    "Config",
    "CVConfig",
    "FeatureConfig",
    "CompareConfig",
    "TrackingConfig",
    "ScoringConfig",
    "DEFAULT_CONFIG_PATH",
    "load_config",
    "config_from_dict",
    "config_to_dict",
]

DEFAULT_MODELS = ("pmt_ols", "logit", "gbm", "rf", "ebm", "mlp")
# Shipped inside the package so an installed wheel has it; configs/default.yaml is the
# documented copy (a test checks the two are equal).
DEFAULT_CONFIG_PATH = Path(str(resources.files("slrt_ml") / "resources" / "default.yaml"))


class ConfigError(ValueError):
    """A config file has an unknown key or a value of the wrong kind."""


@dataclass(frozen=True)
class CVConfig:
    folds: int = 5  # grouped by desa: row folds leak area effects
    shuffle: bool = True


@dataclass(frozen=True)
class FeatureConfig:
    elderly_age: int = 60  # PKH guidelines: 60+, some use 70+


@dataclass(frozen=True)
class CompareConfig:
    quota: str = "siksng"  # "siksng", a count ("5000") or a share ("0.2")
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
    model_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    compare: CompareConfig = field(default_factory=CompareConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    source: str | None = None  # the file it came from, for the manifest

    def params_for(self, model: str) -> dict[str, Any]:
        return dict(self.model_params.get(model) or {})

    def with_models(self, models: list[str] | tuple[str, ...] | None) -> Config:
        return self if not models else dataclasses.replace(self, models=tuple(models))


_SECTIONS = {
    "cv": CVConfig,
    "features": FeatureConfig,
    "compare": CompareConfig,
    "tracking": TrackingConfig,
    "scoring": ScoringConfig,
}


def _reject_unknown(given: dict, known: list[str], where: str) -> None:
    unknown = [k for k in given if k not in known]
    if unknown:
        key = f"{where}.{unknown[0]}" if where else str(unknown[0])
        raise ConfigError(
            f"unknown key {key!r} in config; known keys of "
            f"{where or 'the top level'!r}: {', '.join(known)}"
        )


def _section(cls: type, raw: Any, where: str) -> Any:
    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        raise ConfigError(f"config section {where!r} must be a mapping, got {type(raw).__name__}")
    names = [f.name for f in dataclasses.fields(cls)]
    _reject_unknown(raw, names, where)
    return cls(**raw)


def config_from_dict(raw: dict[str, Any] | None, *, source: str | None = None) -> Config:
    """Build a :class:`Config`; unknown keys raise :class:`ConfigError` naming the key."""
    raw = dict(raw or {})
    top = [f.name for f in dataclasses.fields(Config) if f.name != "source"]
    _reject_unknown(raw, top, "")
    kwargs: dict[str, Any] = {k: _section(cls, raw.get(k), k) for k, cls in _SECTIONS.items()}
    if "models" in raw:
        models = raw["models"]
        if isinstance(models, str):
            models = [m.strip() for m in models.split(",") if m.strip()]
        kwargs["models"] = tuple(models)
    params = raw.get("model_params") or {}
    if not isinstance(params, dict) or not all(isinstance(v, dict | None) for v in params.values()):
        raise ConfigError("model_params must map a model name to a mapping of parameters")
    kwargs["model_params"] = {k: dict(v or {}) for k, v in params.items()}
    if "seed" in raw:
        kwargs["seed"] = int(raw["seed"])
    return Config(**kwargs, source=source)


def load_config(path: str | Path | None = None) -> Config:
    """Read a YAML config (default: ``configs/default.yaml``) with ``yaml.safe_load``."""
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


def config_to_dict(config: Config) -> dict[str, Any]:
    """A plain dict (for the manifest and MLflow params)."""
    out = dataclasses.asdict(config)
    out["models"] = list(config.models)
    return out
