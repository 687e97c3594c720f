"""The systems a comparison measures, as arrays aligned by household.

:class:`Systems` holds the common truth (target, eligibility, weights, welfare, desa) and
each system's score and list, plus the :class:`~slrt_ml.evaluation.reselection.QuotaRule`
the bootstrap re-applies. It is built from a targeting frame (:func:`systems_from_frame`,
selecting every model's list under the quota) or from long selections written earlier
(:func:`systems_from_selections`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from slrt_ml.evaluation.reselection import QuotaRule
from slrt_ml.targeting.selection import quota_from, select_under_quota

__all__ = ["Systems", "systems_from_frame", "systems_from_selections", "frame_weights"]


@dataclass
class Systems:
    """Arrays aligned by household: the common truth and each system's score and list.

    ``given`` names the systems whose list is given (the reference's) and stays fixed in
    the bootstrap; every other system's list is re-selected from its score under ``rule``
    in each replicate (``rule=None``: no rule known, lists stay fixed).
    """

    ids: pd.api.extensions.ExtensionArray | np.ndarray
    target: np.ndarray
    eligible: np.ndarray
    weights: np.ndarray
    welfare: np.ndarray
    cluster: np.ndarray | None
    scores: dict[str, np.ndarray]
    selected: dict[str, np.ndarray]
    quota: int | pd.Series | None = None
    tie: np.ndarray | None = None  # IDBDT sort codes: the tie-break key
    reference: str = "siksng"
    area: np.ndarray | None = None  # area codes when quotas are per area
    rule: QuotaRule | None = None
    given: tuple[str, ...] = field(default_factory=tuple)


def frame_weights(frame: pd.DataFrame, weight: str) -> np.ndarray:
    """Household weights: ones, or the ``persons`` column for person weights."""
    if weight == "household":
        return np.ones(len(frame))
    if weight != "person":
        raise ValueError(f"weight must be 'household' or 'person', got {weight!r}")
    return frame["persons"].to_numpy(dtype=float)


def _welfare(frame: pd.DataFrame) -> np.ndarray:
    if "welfare" not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame["welfare"]).to_numpy(dtype=float, na_value=np.nan)


def _area_codes(area: np.ndarray | None) -> tuple[np.ndarray | None, Any]:
    """Int codes in the order ``quota_from`` sorts areas (as strings, ascending)."""
    if area is None:
        return None, None
    codes, uniques = pd.factorize(pd.Series(area, dtype="string"), sort=True)
    return codes.astype(np.int64), pd.Index(np.asarray(uniques, dtype=str))


def quota_rule(
    how: Any, quota_value: int | pd.Series, listed: np.ndarray, eligible: np.ndarray,
    codes: np.ndarray | None, uniques: Any,
) -> QuotaRule:  # fmt: skip
    """The rule a replicate re-applies: the reference's count, or the full data's rate."""
    n_areas = 1 if codes is None else len(uniques)
    if how == "siksng":
        return QuotaRule.from_reference(listed.astype(bool), codes, n_areas)
    counts = (
        np.array([quota_value])
        if codes is None
        else pd.Series(quota_value)
        .set_axis(pd.Index(quota_value.index.astype(str)))
        .reindex(uniques, fill_value=0)
        .to_numpy()
    )
    return QuotaRule.from_rate(counts, eligible, codes)


def systems_from_frame(
    frame: pd.DataFrame, systems: list[str], quota: Any, area_column: str | None, weight: str,
    reference: str,
) -> Systems:  # fmt: skip
    """Select every model under the quota (from the reference's list) on the full data."""
    tie = pd.factorize(frame["IDBDT"].astype("string"), sort=True)[0]
    eligible = frame["eligible"].to_numpy().astype(bool)
    area = None if area_column is None else frame[area_column].astype("string").to_numpy()
    n_eligible = int(eligible.sum())
    if area is not None:
        n_eligible = pd.Series(eligible.astype(np.int64)).groupby(area).sum()
    listed = frame[f"{reference}_selected"].to_numpy()
    quota_value = quota_from(listed, quota, area=area, n_eligible=n_eligible)
    scores = {reference: frame[f"{reference}_score"].to_numpy(dtype=float)}
    selected = {reference: listed.astype(bool)}
    for name in systems:
        scores[name] = frame[name].to_numpy(dtype=float)
        selected[name] = select_under_quota(
            scores[name], quota_value, eligible=eligible, area=area, tiebreak=tie
        )
    codes, uniques = _area_codes(area)
    return Systems(
        ids=frame["IDBDT"].astype("string").array,
        target=frame["target"].to_numpy().astype(bool),
        eligible=eligible,
        weights=frame_weights(frame, weight),
        welfare=_welfare(frame),
        cluster=pd.factorize(frame["cluster"].astype("string"), sort=True)[0],
        scores=scores,
        selected=selected,
        quota=quota_value,
        tie=tie,
        reference=reference,
        area=codes,
        rule=quota_rule(quota, quota_value, listed, eligible, codes, uniques),
        given=(reference,),
    )


def systems_from_selections(
    selections: pd.DataFrame, frame: pd.DataFrame | None, weight: str, reference: str,
    quota: Any = "siksng", area_column: str | None = None,
) -> Systems:  # fmt: skip
    """Systems from long selections (``compare(...).selections``); ``frame`` adds desa,
    weights, welfare and the area column, and the quota rule is rebuilt from the
    reference's list in ``selections`` (or from ``quota`` when it is a count or share)."""
    missing = [
        c
        for c in ("IDBDT", "system", "score", "eligible", "selected", "target")
        if c not in selections
    ]
    if missing:
        raise ValueError(
            f"selections is missing columns {missing}; write it with compare(...).selections"
        )
    ids = np.sort(selections["IDBDT"].astype("string").unique().to_numpy(dtype=object))
    scores, selected, first = {}, {}, None
    for name, rows in selections.groupby("system", sort=False):
        rows = rows.set_index(rows["IDBDT"].astype("string"))
        if rows.index.has_duplicates or len(rows) != len(ids):
            raise ValueError(
                f"selections for system {name!r} has {len(rows)} rows for {len(ids)} households; "
                "every system needs exactly one row per household"
            )
        rows = rows.reindex(ids)
        scores[str(name)], selected[str(name)] = (
            rows["score"].to_numpy(float),
            rows["selected"].to_numpy().astype(bool),
        )
        first = rows if first is None else first
    extra = _frame_extra(frame, ids, weight, area_column)
    data = Systems(
        ids=ids,
        target=first["target"].to_numpy().astype(bool),
        eligible=first["eligible"].to_numpy().astype(bool),
        scores=scores,
        selected=selected,
        reference=reference,
        tie=np.arange(len(ids)),  # ids are sorted: row order is the IDBDT order
        given=(reference,),
        **extra,
    )
    data.rule = _rule_from_selections(data, quota)
    return data


def _rule_from_selections(data: Systems, quota: Any) -> QuotaRule | None:
    how = "siksng" if quota in ("siksng", "reference", data.reference) else quota
    if how == "siksng" and data.reference not in data.selected:
        return None  # no list to count: the bootstrap refuses to run without a rule
    listed = data.selected.get(data.reference, np.zeros(len(data.ids), bool))
    codes = data.area
    area = None if codes is None else codes.astype(str)
    n_eligible = int(data.eligible.sum())
    if area is not None:
        n_eligible = pd.Series(data.eligible.astype(np.int64)).groupby(area).sum()
    quota_value = quota_from(listed, how, area=area, n_eligible=n_eligible)
    uniques = None if codes is None else pd.Index(np.arange(codes.max() + 1).astype(str))
    if uniques is not None:
        quota_value = quota_value.reindex(uniques, fill_value=0)
    return quota_rule(how, quota_value, listed, data.eligible, codes, uniques)


def _frame_extra(
    frame: pd.DataFrame | None, ids: np.ndarray, weight: str, area_column: str | None
) -> dict[str, Any]:
    if frame is None:
        if weight != "household":
            raise ValueError("person weights need the targeting frame (its `persons` column)")
        if area_column is not None:
            raise ValueError(
                f"per-area quotas need the targeting frame (its {area_column!r} column)"
            )
        return {"weights": np.ones(len(ids)), "welfare": np.full(len(ids), np.nan), "cluster": None}
    aligned = frame.set_index(frame["IDBDT"].astype("string")).reindex(ids)
    if aligned["cluster"].isna().any():
        raise ValueError(
            f"{int(aligned['cluster'].isna().sum())} households of selections are not in the frame; "
            "pass the targeting frame the selections were made from"
        )
    area = None if area_column is None else aligned[area_column].astype("string").to_numpy()
    return {
        "weights": frame_weights(aligned, weight),
        "welfare": _welfare(aligned),
        "cluster": pd.factorize(aligned["cluster"].astype("string"), sort=True)[0],
        "area": _area_codes(area)[0],
    }
