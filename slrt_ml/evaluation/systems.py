"""The systems a comparison measures, as arrays aligned by household.

:class:`Systems` holds the common truth (target, eligibility, weights, welfare, desa) and
each system's score and list, plus the :class:`~slrt_ml.evaluation.reselection.QuotaRule`
the bootstrap re-applies. It is built from a targeting frame (:func:`systems_from_frame`,
selecting every model's list under the quota, or under the desil rule) or from long
selections written earlier (:func:`systems_from_selections`).

Under the desil rule (``quota="desil:K"``) every model lists its eligible households in
desil 1..K of its own national ranking of *every* household of the view (survey-weighted in
the survey view; :func:`slrt_ml.targeting.desil.select_by_desil`), so lists differ in size.
The reference lists its eligible households with a *published* desil 1..K when the frame
has ``<reference>_desil`` (SIKS-NG's ``desil`` column of a PBDT registry), else keeps its
given list (``<reference>_selected``, e.g. a mapped table's reference): ``Systems.
reference_list`` says which (``"published desil"`` or ``"given"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from slrt_ml.evaluation.reselection import QuotaRule
from slrt_ml.targeting.selection import (
    Quota,
    parse_quota,
    quota_from,
    select_by_desil,
    select_under_quota,
)

__all__ = [
    "VIEWS",
    "Systems",
    "available_views",
    "frame_weights",
    "systems_from_frame",
    "systems_from_selections",
    "unit_weights",
    "view_rows",
]

#: The views a comparison can report: ``survey`` (the labelled rows weighted by
#: ``survey_weight``: what a real study sees) and ``population`` (every household, unit
#: survey weights: only when the truth of every household is known, i.e. synthetic data).
VIEWS = ("survey", "population")


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
    unit_weight: np.ndarray | None = None  # what a household counts against the quota
    view: str = "population"
    survey: np.ndarray | None = None  # survey weight per household (None: ones)
    reference_list: str = "given"  # or "published desil" (the desil rule, <reference>_desil)

    def list_sizes(self) -> dict[str, float]:
        """Each system's list size: households (survey-weighted in the survey view)."""
        survey = np.ones(len(self.target)) if self.survey is None else self.survey
        return {name: float(survey[chosen].sum()) for name, chosen in self.selected.items()}


def _has_survey(frame: pd.DataFrame) -> bool:
    if "labelled" not in frame.columns:
        return False
    labelled = frame["labelled"].fillna(0).to_numpy().astype(bool)
    if not labelled.all():
        return bool(labelled.any())
    if "survey_weight" not in frame.columns:
        return False
    return not np.allclose(frame["survey_weight"].to_numpy(dtype=float), 1.0)


def available_views(frame: pd.DataFrame, *, population: bool = True) -> list[str]:
    """The views of ``frame``, default first: ``["population"]`` without a survey sample;
    ``["survey", "population"]`` with one (labelled rows, non-unit ``survey_weight`` or
    unlabelled rows), the population only when ``population`` (the truth of the unlabelled
    rows is known: synthetic data) and unlabelled rows have a target.

    >>> available_views(pd.DataFrame({"labelled": [1, 0], "survey_weight": [2.0, 0.0],
    ...                               "target": [1, 0]}))
    ['survey', 'population']
    >>> available_views(pd.DataFrame({"labelled": [1, 1], "survey_weight": [1.0, 1.0]}))
    ['population']
    """
    if not _has_survey(frame):
        return ["population"]
    unlabelled = ~frame["labelled"].fillna(0).to_numpy().astype(bool)
    known = "target" in frame.columns and not frame.loc[unlabelled, "target"].isna().any()
    return ["survey", "population"] if population and unlabelled.any() and known else ["survey"]


def view_rows(frame: pd.DataFrame, view: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows of a view and their survey weights (ones for the population view)."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    if view == "population":
        return frame, np.ones(len(frame))
    if "labelled" not in frame.columns:
        raise ValueError("the survey view needs the `labelled` column of the targeting frame")
    rows = frame[frame["labelled"].fillna(0).to_numpy().astype(bool)]
    weights = (
        rows["survey_weight"].to_numpy(dtype=float)
        if "survey_weight" in rows.columns
        else np.ones(len(rows))
    )
    if np.isnan(weights).any() or (weights < 0).any():
        raise ValueError("survey_weight of labelled rows must be >= 0 and not missing")
    return rows.reset_index(drop=True), weights


def unit_weights(frame: pd.DataFrame, unit: str, survey: np.ndarray) -> np.ndarray | None:
    """What each household counts against a quota in ``unit`` (x its survey weight);
    ``None`` for plain households (survey weights all one)."""
    if unit == "households":
        return None if np.all(survey == 1.0) else survey
    column = {"persons": "persons", "budget": "pkh_benefit"}.get(unit)
    if column is None:
        raise ValueError(f"quota unit must be households, persons or budget, got {unit!r}")
    if column not in frame.columns:
        raise ValueError(
            f"a quota in {unit} needs the `{column}` column of the targeting frame "
            f"({'Rupiah a year if selected' if unit == 'budget' else 'persons per household'}); "
            "this frame has none: use a quota in households (e.g. --quota 0.2)"
        )
    values = pd.to_numeric(frame[column]).to_numpy(dtype=float, na_value=np.nan)
    if np.isnan(values).any() or (values < 0).any():
        bad = frame.loc[np.isnan(values) | (values < 0), column].head(5).tolist()
        raise ValueError(f"`{column}` must be >= 0 and not missing for a {unit} quota; e.g. {bad}")
    return values * survey


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
    codes: np.ndarray | None, uniques: Any, unit_weight: np.ndarray | None = None,
) -> QuotaRule:  # fmt: skip
    """The rule a replicate re-applies: the reference's count, or the full data's rate."""
    n_areas = 1 if codes is None else len(uniques)
    if how == "siksng":
        return QuotaRule.from_reference(listed.astype(bool), codes, n_areas, unit_weight)
    counts = (
        np.array([quota_value])
        if codes is None
        else pd.Series(quota_value)
        .set_axis(pd.Index(quota_value.index.astype(str)))
        .reindex(uniques, fill_value=0)
        .to_numpy(dtype=float)
    )
    return QuotaRule.from_rate(counts, eligible, codes, unit_weight)


def systems_from_frame(
    frame: pd.DataFrame, systems: list[str], quota: Any, area_column: str | None, weight: str,
    reference: str, view: str = "population",
) -> Systems:  # fmt: skip
    """Select every model under the quota (from the reference's list) on the view's rows.

    ``quota``: anything :func:`~slrt_ml.targeting.selection.parse_quota` reads; its unit
    (households, persons, budget) times the view's survey weight is what a household
    counts against it. Metric weights are the survey weight (x persons for person weights).
    """
    rule = parse_quota(quota, reference_names=(reference,))
    frame, survey = view_rows(frame, view)
    if rule.is_desil:
        return _desil_systems(frame, survey, systems, rule, area_column, weight, reference, view)
    unit = unit_weights(frame, rule.unit, survey)
    tie = pd.factorize(frame["IDBDT"].astype("string"), sort=True)[0]
    eligible = frame["eligible"].to_numpy().astype(bool)
    area = None if area_column is None else frame[area_column].astype("string").to_numpy()
    n_eligible = int(eligible.sum())
    if area is not None:
        n_eligible = pd.Series(eligible.astype(np.int64)).groupby(area).sum()
    listed = frame[f"{reference}_selected"].to_numpy()
    quota_value = quota_from(
        listed, rule.amount, area=area, n_eligible=n_eligible, unit_weight=unit, eligible=eligible
    )
    scores = {reference: frame[f"{reference}_score"].to_numpy(dtype=float)}
    selected = {reference: listed.astype(bool)}
    for name in systems:
        scores[name] = frame[name].to_numpy(dtype=float)
        selected[name] = select_under_quota(
            scores[name], quota_value, eligible=eligible, area=area, tiebreak=tie,
            unit_weight=unit,
        )  # fmt: skip
    codes, uniques = _area_codes(area)
    return Systems(
        ids=frame["IDBDT"].astype("string").array,
        target=frame["target"].to_numpy().astype(bool),
        eligible=eligible,
        weights=frame_weights(frame, weight) * survey,
        welfare=_welfare(frame),
        cluster=pd.factorize(frame["cluster"].astype("string"), sort=True)[0],
        scores=scores,
        selected=selected,
        quota=quota_value,
        tie=tie,
        reference=reference,
        area=codes,
        rule=quota_rule(rule.amount, quota_value, listed, eligible, codes, uniques, unit),
        given=(reference,),
        unit_weight=unit,
        view=view,
        survey=survey,
    )


def _desil_systems(
    frame: pd.DataFrame, survey: np.ndarray, systems: list[str], rule: Quota,
    area_column: str | None, weight: str, reference: str, view: str,
) -> Systems:  # fmt: skip
    """The desil rule on the view's rows (see the module docstring)."""
    if area_column is not None:
        raise ValueError(
            f"quota {str(rule)!r} ranks every household nationally (as BPS ranks the registry "
            f"into desil); per-area ranking (by {area_column!r}) does not apply: leave --by out"
        )
    k = int(rule.amount)
    unit = None if np.all(survey == 1.0) else survey
    ids = frame["IDBDT"].astype("string")
    eligible = frame["eligible"].to_numpy().astype(bool)
    listed, source = _reference_desil_list(frame, reference, k, eligible)
    scores = {reference: frame[f"{reference}_score"].to_numpy(dtype=float)}
    selected = {reference: listed}
    for name in systems:
        scores[name] = frame[name].to_numpy(dtype=float)
        selected[name] = select_by_desil(
            scores[name], k, eligible=eligible, weight=unit, tiebreak=ids.to_numpy(dtype=object)
        )
    return Systems(
        ids=ids.array,
        target=frame["target"].to_numpy().astype(bool),
        eligible=eligible,
        weights=frame_weights(frame, weight) * survey,
        welfare=_welfare(frame),
        cluster=pd.factorize(frame["cluster"].astype("string"), sort=True)[0],
        scores=scores,
        selected=selected,
        quota=k,
        tie=pd.factorize(ids, sort=True)[0],
        reference=reference,
        rule=QuotaRule.from_desil(k, len(frame), unit),
        given=(reference,),
        unit_weight=unit,
        view=view,
        survey=survey,
        reference_list=source,
    )


def _reference_desil_list(
    frame: pd.DataFrame, reference: str, k: int, eligible: np.ndarray
) -> tuple[np.ndarray, str]:
    """The reference's eligible households with a published desil 1..k, else its given list."""
    column = f"{reference}_desil"
    if column not in frame.columns:
        return frame[f"{reference}_selected"].to_numpy().astype(bool), "given"
    try:
        listed = select_by_desil(desil=frame[column].to_numpy(), max_desil=k, eligible=eligible)
    except ValueError as error:
        raise ValueError(f"targeting frame column {column!r}: {error}") from None
    return listed, "published desil"


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
    if "survey_weight" in first.columns:  # written by compare: the view's survey weights
        survey = first["survey_weight"].to_numpy(dtype=float)
        extra["weights"] = extra["weights"] * survey
        extra["survey"] = survey
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
    parsed = parse_quota(quota, reference_names=(data.reference,))
    if parsed.is_desil:  # each model's list re-selected by its own ranking of every household
        if data.area is not None:
            raise ValueError(f"quota {str(parsed)!r} ranks nationally; pass by=None")
        unit = None if data.survey is None or np.all(data.survey == 1.0) else data.survey
        data.unit_weight = unit
        return QuotaRule.from_desil(int(parsed.amount), len(data.ids), unit)
    if parsed.unit != "households":
        raise ValueError(
            f"compare_systems re-applies quotas in households only, got {quota!r}; "
            "use compare(...) on the targeting frame for persons or budget quotas"
        )
    how = parsed.amount
    if how == "siksng" and data.reference not in data.selected:
        return None  # no list to count: the bootstrap refuses to run without a rule
    listed = data.selected.get(data.reference, np.zeros(len(data.ids), bool))
    codes = data.area
    area = None if codes is None else codes.astype(str)
    n_eligible = int(data.eligible.sum())
    if area is not None:
        n_eligible = pd.Series(data.eligible.astype(np.int64)).groupby(area).sum()
    unit = None if data.survey is None or np.all(data.survey == 1.0) else data.survey
    data.unit_weight = unit
    quota_value = quota_from(
        listed, how, area=area, n_eligible=n_eligible, unit_weight=unit, eligible=data.eligible
    )
    uniques = None if codes is None else pd.Index(np.arange(codes.max() + 1).astype(str))
    if uniques is not None:
        quota_value = quota_value.reindex(uniques, fill_value=0)
    return quota_rule(how, quota_value, listed, data.eligible, codes, uniques, unit)


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
