"""Policy curves of a run folder: welfare after transfers, conformal calibration, verification.

For a trained run and its data this writes, into the run folder:

- ``welfare_curves.csv`` (:func:`slrt_ml.evaluation.welfare.welfare_curves`): CRRA welfare,
  EDE and FGT 0/1/2 after PKH transfers (each selected household's 2021-2024 entitlement,
  within SIKS-NG's budget) and cider's budget curve, per system, with cluster-bootstrap
  intervals;
- ``conformal.json``: the Mondrian split-conformal calibration of every model
  (:class:`slrt_ml.evaluation.conformal.MondrianConformal`), which
  ``slrt-ml score --conformal ALPHA`` applies. The calibration households must be
  exchangeable with the households ``score`` sees: new households scored by the *final*
  model. So it calibrates on households with a known label outside the training sample,
  with the final model's scores (:func:`calibration_rows`; on synthetic data the truth of
  every household is known); only when there are none or too few (every label was
  trained on: a mapped table, ``train.sample=all``, a real survey) does it fall back to
  the training sample's out-of-fold scores (weaker fold models). Never a mix of the two;
- ``verification_curve.csv`` (:func:`slrt_ml.evaluation.verification.verification_curve`):
  exclusion and inclusion error after K field visits, per model and priority order.
  Conformal sets for this curve are cross-fitted over two halves of the desa, so no
  household is calibrated on itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from slrt_ml.data.io import atomic_path, write_table
from slrt_ml.evaluation.conformal import GROUPINGS, MondrianConformal
from slrt_ml.evaluation.verification import (
    conformal_first_order,
    priority_rule_order,
    random_order,
    verification_curve,
    visits_to_cut,
)
from slrt_ml.evaluation.welfare import welfare_curves, welfare_inputs
from slrt_ml.pipeline.calibration import read_calibration
from slrt_ml.pipeline.run_folder import RunFolder, load_run
from slrt_ml.targeting.frame import TargetingData
from slrt_ml.targeting.selection import select_under_quota

__all__ = [
    "CONFORMAL_FILE",
    "ConformalMissingError",
    "attach_conformal",
    "attach_conformal_option",
    "calibration_rows",
    "conformal_columns",
    "household_groups",
    "probabilities",
    "write_conformal",
    "write_policy_curves",
]

CONFORMAL_FILE = "conformal.json"
WELFARE_FILE = "welfare_curves.csv"
VERIFICATION_FILE = "verification_curve.csv"


class ConformalMissingError(FileNotFoundError):
    """``score --conformal`` on a run folder without ``conformal.json``."""


def household_groups(features: pd.DataFrame, group_by: str) -> np.ndarray:
    """The Mondrian group of each household from its features: kecamatan code or urban/rural.

    >>> household_groups(pd.DataFrame({"perkotaan": [1.0, 0.0]}), "urban").tolist()
    ['urban', 'rural']
    """
    if group_by not in GROUPINGS:
        raise ValueError(f"conformal groups must be one of {GROUPINGS}, got {group_by!r}")
    if group_by == "urban":
        column = features.get("perkotaan")
        flags = np.zeros(len(features)) if column is None else column.to_numpy(float)
        return np.where(flags == 1, "urban", "rural")
    if "kecamatan" not in features.columns:
        return np.full(len(features), "", dtype=object)  # unseen group: pooled calibration
    return features["kecamatan"].astype("string").fillna("").to_numpy(dtype=object)


def probabilities(run_dir: str | Path, oof: pd.DataFrame) -> dict[str, np.ndarray]:
    """Model -> probability of being poor from its run scores (Platt from calibration.json,
    else the logistic of the margin)."""
    calibration = read_calibration(run_dir)
    out = {}
    for name in [c for c in oof.columns if c != "IDBDT"]:
        margin = oof[name].to_numpy(np.float64)
        params = calibration.get(name)
        out[name] = expit(params["slope"] * margin + params["intercept"] if params else margin)
    return out


#: Fewest labelled households outside the training sample for ``scores="auto"`` to use them.
MIN_HELD_OUT = 1_000
SCORE_KINDS = ("auto", "final", "out_of_fold")


def calibration_rows(
    data: TargetingData, trained: np.ndarray, *, rows: np.ndarray | None = None,
    scores: str = "auto",
) -> tuple[np.ndarray, str]:  # fmt: skip
    """Which households calibrate the conformal sets, and the kind of score they carry.

    A household's label is known when it is labelled (the survey) or the data are synthetic
    (the generator's truth of every household). ``"final"``: known households *outside*
    the training sample (``trained``), whose run score is the final model's, as for a new
    household at scoring; ``"out_of_fold"``: the training sample's out-of-fold scores;
    ``"auto"``: ``"final"`` when such households exist and are at least as many as the
    training sample's or :data:`MIN_HELD_OUT`, else ``"out_of_fold"``. ``rows`` restricts
    the candidates (e.g. a calibration half).

    >>> frame = pd.DataFrame({"poor": [1, 0, 1, 0], "labelled": [1, 1, 0, 0]})
    >>> data = TargetingData(pd.DataFrame(index=range(4)), frame, None, "t", None, True)
    >>> mask, kind = calibration_rows(data, data.labelled, scores="final")
    >>> mask.tolist(), kind
    ([False, False, True, True], 'final')
    >>> calibration_rows(data, data.labelled, rows=[1, 1, 1, 0])[1]  # fewer held out
    'out_of_fold'
    """
    if scores not in SCORE_KINDS:
        raise ValueError(f"conformal scores must be one of {SCORE_KINDS}, got {scores!r}")
    trained = np.asarray(trained, bool)
    known = data.labelled | bool(data.synthetic)
    if rows is not None:
        known = known & np.asarray(rows, bool)
    held_out, fitted = known & ~trained, known & trained
    enough = held_out.any() and held_out.sum() >= min(MIN_HELD_OUT, fitted.sum())
    if scores == "final" or (scores == "auto" and enough):
        return held_out, "final"
    return fitted, "out_of_fold"


def trained_rows(manifest: Mapping[str, Any], data: TargetingData) -> np.ndarray:
    """The run's training sample (its manifest's ``train.sample`` rule) as a mask."""
    rule = manifest.get("training_sample", {}).get("rule", "labelled")
    return np.ones(len(data.frame), bool) if rule == "all" else data.labelled


def write_conformal(
    run_dir: str | Path, data: TargetingData, *, group_by: str = "kecamatan",
    rows: np.ndarray | None = None, scores: str = "auto",
) -> Path:  # fmt: skip
    """Calibrate every model of the run on :func:`calibration_rows` (within ``rows`` when
    given) and write ``RUN/conformal.json``."""
    manifest, oof = load_run(run_dir)
    probs = probabilities(run_dir, oof)
    keep, kind = calibration_rows(data, trained_rows(manifest, data), rows=rows, scores=scores)
    if not keep.any():
        raise ValueError(f"no household to calibrate conformal sets on ({kind} scores)")
    poor = data.frame["poor"].to_numpy(int)
    groups = household_groups(data.features, group_by)
    models = {name: MondrianConformal().fit(p[keep], poor[keep], groups[keep]).to_dict()
              for name, p in probs.items()}  # fmt: skip
    fitted_on = {"final": "final model's scores of households with a known label outside the "
                          "training sample (as at scoring)",
                 "out_of_fold": "out-of-fold scores of the training sample"}[kind]  # fmt: skip
    payload = {"group_by": group_by, "households": int(keep.sum()), "scores": kind,
               "fitted_on": fitted_on, "models": models}  # fmt: skip
    path = RunFolder(run_dir).root / CONFORMAL_FILE
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload), encoding="utf-8")
    return path


def attach_conformal(models: Mapping[str, Any], run_dir: str | Path, alpha: float) -> None:
    """Give the main (first) model its run's conformal calibration at level ``1 - alpha``.

    Raises
    ------
    ConformalMissingError
        When the run has no ``conformal.json`` or it does not calibrate the main model.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"--conformal ALPHA must be in (0, 1) (0.1 = 90% coverage), got {alpha}")
    path = Path(run_dir) / CONFORMAL_FILE
    main = next(iter(models))
    if not path.is_file():
        raise ConformalMissingError(
            f"{path} is missing: --conformal needs the run's conformal calibration; write it "
            "with slrt_ml.pipeline.policy.write_conformal(run, data) (or `compare`)"
        )
    payload = json.loads(path.read_text(encoding="utf-8"))
    if main not in payload.get("models", {}):
        raise ConformalMissingError(f"{path} does not calibrate model {main!r}")
    calibrator = MondrianConformal.from_dict(payload["models"][main])
    models[main].poverty_conformal_ = {"calibrator": calibrator, "alpha": float(alpha),
                                       "group_by": payload.get("group_by", "kecamatan")}  # fmt: skip


def attach_conformal_option(models: Mapping[str, Any], source: str, alpha: float | None) -> None:
    """``score --conformal ALPHA``: :func:`attach_conformal` from the run folder ``source``
    (nothing when ``alpha`` is None; a registry URI has no ``conformal.json``)."""
    if alpha is None:
        return
    if str(source).startswith("models:/"):
        raise ValueError("--conformal needs a run folder (its conformal.json) as --model")
    attach_conformal(models, Path(source), alpha)


def conformal_columns(model: Any, prob_poor: np.ndarray, features: pd.DataFrame) -> dict | None:
    """``prediction_set`` and ``needs_verification`` for scoring, when the model carries a
    conformal calibration (:func:`attach_conformal`); else ``None``."""
    from slrt_ml.evaluation.conformal import set_labels

    spec = getattr(model, "poverty_conformal_", None)
    if spec is None:
        return None
    groups = household_groups(features, spec["group_by"])
    sets = spec["calibrator"].predict_set(prob_poor, groups, alpha=spec["alpha"])
    labels, verify = set_labels(sets)
    return {"prediction_set": labels, "needs_verification": verify}


def _cross_fitted_sets(prob, poor, groups, cluster, alpha) -> np.ndarray:
    """Conformal sets with each half of the desa calibrated on the other half."""
    half = pd.factorize(cluster, sort=True)[0] % 2 == 0
    sets = np.zeros((len(prob), 2), np.int64)
    for part in (half, ~half):
        cal = MondrianConformal().fit(prob[~part], poor[~part], groups[~part])
        sets[part] = cal.predict_set(prob[part], groups[part], alpha=alpha)
    return sets


def verification_table(
    run_dir: str | Path, data: TargetingData, *, alpha: float = 0.1,
    group_by: str = "kecamatan", seed: int = 0,
) -> pd.DataFrame:  # fmt: skip
    """``system, order, visits, exclusion_error, inclusion_error, listed`` for every model
    at SIKS-NG's household quota (national), plus SIKS-NG's own list."""
    manifest, oof = load_run(run_dir)
    frame = data.frame
    target = frame["target"].to_numpy(bool)
    eligible = frame["eligible"].to_numpy(bool)
    quota = int(frame[f"{data.reference}_selected"].sum())
    probs = probabilities(run_dir, oof)
    groups = household_groups(data.features, group_by)
    poor = frame["poor"].to_numpy(int)
    tables = []
    ids = frame["IDBDT"].to_numpy()
    for name in manifest["models"]:
        score = oof[name].to_numpy(float)
        selected = select_under_quota(score, quota, eligible=eligible, tiebreak=ids)
        sets = _cross_fitted_sets(probs[name], poor, groups, frame["cluster"].to_numpy(), alpha)
        orders = {"priority_rule": priority_rule_order(score, selected, eligible),
                  "conformal_first": conformal_first_order(probs[name], sets.sum(1) != 1, eligible),
                  "random": random_order(eligible, seed)}  # fmt: skip
        tables.append(verification_curve(target, selected, orders).assign(system=name))
    ref_score = frame[f"{data.reference}_score"].to_numpy(float)
    ref_selected = frame[f"{data.reference}_selected"].to_numpy(bool)
    orders = {"priority_rule": priority_rule_order(ref_score, ref_selected, eligible),
              "random": random_order(eligible, seed)}  # fmt: skip
    tables.append(verification_curve(target, ref_selected, orders).assign(system=data.reference))
    table = pd.concat(tables, ignore_index=True)
    return table[["system", "order", "visits", "exclusion_error", "inclusion_error", "listed"]]


def write_policy_curves(
    run_dir: str | Path, data: TargetingData, *, bootstrap: int = 200, seed: int = 0,
    budget: float | None = None, alpha: float = 0.1, group_by: str = "kecamatan",
    weight: str = "person",
) -> dict[str, Path]:  # fmt: skip
    """Write ``welfare_curves.csv``, ``conformal.json`` and ``verification_curve.csv``."""
    manifest, oof = load_run(run_dir)
    frame = data.frame.copy()
    for name in manifest["models"]:
        frame[name] = oof[name].to_numpy()
    inputs = welfare_inputs(frame, list(manifest["models"]), reference=data.reference,
                            weight=weight)  # fmt: skip
    curves = welfare_curves(inputs, budget=budget, bootstrap=bootstrap, seed=seed)
    root = RunFolder(run_dir).root
    paths = {"welfare_curves": write_table(curves, root / WELFARE_FILE)}
    paths["conformal"] = write_conformal(run_dir, data, group_by=group_by)
    table = verification_table(run_dir, data, alpha=alpha, group_by=group_by, seed=seed)
    paths["verification_curve"] = write_table(table, root / VERIFICATION_FILE)
    return paths


def visits_summary(table: pd.DataFrame, points: float = 0.10) -> pd.DataFrame:
    """``system, order, visits`` needed to cut exclusion error by ``points``."""
    rows = [{"system": system, "order": order, "visits": visits}
            for system, part in table.groupby("system", sort=False)
            for order, visits in visits_to_cut(part, points).items()]  # fmt: skip
    return pd.DataFrame(rows)
