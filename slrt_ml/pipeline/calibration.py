"""Probability of being poor: a Platt calibration of the margin, kept in the run folder.

The output of batch scoring shows a probability, not a log-odds margin. The margin of a
model (``poverty_score``) is turned into one of two ways:

1. When the run folder has ``calibration.json`` (written by ``train`` from the run's
   out-of-fold scores and labels, :func:`write_calibration`), the model's Platt
   calibration ``p = 1 / (1 + exp(-(slope * margin + intercept)))``. The file is data
   (two numbers per model, checked on reading), never code.
2. Otherwise the family's own probability: ``expit(margin)`` for the families whose
   margin is the log-odds of ``predict_proba`` (logit, gbm, ebm, rf, mlp; a test checks
   it), ``predict_proba`` for ``pmt_ols`` (normal model of the welfare residual).

Out-of-fold scores are fitted on other folds, so a calibration fit on them is not fitted
on the households it is judged on.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from slrt_ml.data.io import atomic_path

__all__ = [
    "CALIBRATION_FILE",
    "CalibrationError",
    "attach_calibration",
    "fit_platt",
    "poor_probability",
    "read_calibration",
    "write_calibration",
]

CALIBRATION_FILE = "calibration.json"
_LOG_ODDS_FAMILIES = frozenset({"logit", "gbm", "ebm", "rf", "mlp"})


class CalibrationError(ValueError):
    """``calibration.json`` does not hold what :func:`write_calibration` writes."""


def fit_platt(margin: np.ndarray, poor: np.ndarray) -> dict[str, Any]:
    """Platt scaling: a one-feature logistic regression of the label on the margin.

    Rows with a missing margin or label are left out; ``n`` counts the rows used.

    >>> m = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 0.5, -0.5, 1.5])
    >>> p = fit_platt(m, np.array([0, 0, 1, 1, 1, 0, 0, 1]))
    >>> p["method"], p["n"], p["slope"] > 0
    ('platt', 8, True)
    """
    margin, poor = np.asarray(margin, np.float64), np.asarray(poor, np.float64)
    ok = np.isfinite(margin) & np.isfinite(poor)
    fit = LogisticRegression(C=1e6).fit(margin[ok, None], poor[ok].astype(int))
    return {"method": "platt", "slope": float(fit.coef_[0, 0]),
            "intercept": float(fit.intercept_[0]), "n": int(ok.sum())}  # fmt: skip


def write_calibration(path: str | Path, oof: pd.DataFrame, poor: np.ndarray) -> Path:
    """Fit :func:`fit_platt` for every score column of ``oof`` (not ``IDBDT``); write JSON.

    ``oof`` rows are aligned with ``poor`` (the run's ``oof_scores.parquet``). With a
    single class in ``poor`` no model is calibrated. Written atomically; returns the path.
    """
    path = Path(path)
    poor = np.asarray(poor, np.float64)
    if len(np.unique(poor[np.isfinite(poor)])) < 2:  # nothing to fit: families' own probability
        models: dict[str, Any] = {}
    else:
        models = {name: fit_platt(oof[name].to_numpy(np.float64), poor)
                  for name in oof.columns if name != "IDBDT"}  # fmt: skip
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps({"fitted_on": "out-of-fold scores", "models": models},
                                  indent=2), encoding="utf-8")  # fmt: skip
    return path


def read_calibration(run_dir: str | Path) -> dict[str, dict[str, float]]:
    """Model name -> Platt parameters from ``<run_dir>/calibration.json`` ({} if absent).

    Raises
    ------
    CalibrationError
        When an entry is not ``{"method": "platt", "slope": <finite>, "intercept": <finite>}``.
    """
    path = Path(run_dir) / CALIBRATION_FILE
    if not path.is_file():
        return {}
    models = json.loads(path.read_text(encoding="utf-8")).get("models", {})
    for name, params in models.items():
        numbers = [params.get("slope"), params.get("intercept")]
        if params.get("method") != "platt" or not all(
            isinstance(v, int | float) and math.isfinite(v) for v in numbers
        ):
            raise CalibrationError(
                f"{path}: model {name!r}: expected method 'platt' with finite slope and "
                f"intercept, got {params}; delete the file or retrain to rewrite it"
            )
    return models


def attach_calibration(models: Mapping[str, Any], run_dir: str | Path) -> None:
    """Give each loaded model its run's calibration (``poverty_calibration_``), if any."""
    calibration = read_calibration(run_dir)
    for name, model in models.items():
        if name in calibration:
            model.poverty_calibration_ = calibration[name]


def poor_probability(model: Any, margin: np.ndarray, features: pd.DataFrame) -> np.ndarray:
    """Probability of being poor for each household (module docstring: which one)."""
    params = getattr(model, "poverty_calibration_", None)
    margin = np.asarray(margin, np.float64)
    if params is not None:
        return expit(params["slope"] * margin + params["intercept"])
    if str(getattr(model, "name", "")) in _LOG_ODDS_FAMILIES:
        return expit(margin)
    return np.asarray(model.predict_proba(features), np.float64)[:, 1]
