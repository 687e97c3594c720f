"""The model families by name: ``MODELS``, ``MODEL_NAMES`` and :func:`make_model`.

>>> sorted(MODEL_NAMES)
['ebm', 'gbm', 'logit', 'mlp', 'pmt_ols', 'rf']
>>> make_model("gbm", {"max_depth": 3}).max_depth
3
>>> make_model("gbm", {"depth": 3})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: model 'gbm' has no parameter 'depth' (did you mean 'max_depth'?); ...
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from ._base import PovertyModel
from .ebm import ExplainableBoostingModel
from .linear import PMTOLS, LogitModel
from .mlp import MLPModel
from .trees import GradientBoostingModel, RandomForestModel

__all__ = ["MODELS", "MODEL_NAMES", "make_model"]

MODELS: dict[str, type[PovertyModel]] = {
    cls.name: cls
    for cls in (
        PMTOLS,
        LogitModel,
        GradientBoostingModel,
        RandomForestModel,
        ExplainableBoostingModel,
        MLPModel,
    )
}
MODEL_NAMES: tuple[str, ...] = tuple(MODELS)


def make_model(name: str, params: Mapping[str, Any] | None = None) -> PovertyModel:
    """A new, unfitted model by name, with parameters (e.g. from a YAML config) set.

    Parameters
    ----------
    name : str
        One of :data:`MODEL_NAMES`.
    params : mapping, optional
        Constructor parameters of the family.

    Returns
    -------
    PovertyModel
        The unfitted model.

    Raises
    ------
    ValueError
        Unknown name or parameter key; the message names it and the valid choices.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(MODEL_NAMES)}")
    model = MODELS[name]()
    valid = model.get_params(deep=False)
    for key in params or {}:
        if key not in valid:
            raise ValueError(_unknown_param_message(name, key, sorted(valid)))
    return model.set_params(**dict(params or {}))


def _unknown_param_message(name: str, key: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"model {name!r} has no parameter {key!r}{hint}; its parameters: {', '.join(valid)}"
