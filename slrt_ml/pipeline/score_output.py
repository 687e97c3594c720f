"""The scored table shared by prelist and mapped-table scoring: columns, layout, result.

Both :mod:`slrt_ml.pipeline.score` (a prelist, streamed in chunks) and
:mod:`slrt_ml.pipeline.score_table` (a mapped table, in memory) turn models into the
same columns (:func:`model_scores`), lay the output out the same way
(:func:`output_frame`: ``IDBDT, prob_poor, percentile_in_desa, rank_in_desa, selected,
priority_in_desa, reasons_toward, reason_1..k`` + ``score_<model>``, ``margin``), account
for every input row (:func:`check_row_accounting`) and return a :class:`ScoringResult`.

Reasons are computed per chunk in both directions (``reason_poorer_i`` and
``reason_richer_i``, area features left out, plus ``area_effect``: the summed
contribution of the area features, reported per desa); once the selection is known,
:func:`output_frame` keeps the poorer reasons of a selected household and the richer
reasons of a household not selected (without a quota: the poorer reasons).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from slrt_ml.data.mapping import LabelSpec
from slrt_ml.explain.api import contribution_matrix, model_margin
from slrt_ml.explain.reasons import AREA_FEATURES, top_reasons
from slrt_ml.features.drift import PSI_WARNING
from slrt_ml.pipeline.calibration import poor_probability
from slrt_ml.pipeline.policy import conformal_columns
from slrt_ml.targeting.priority import AreaDecisions

__all__ = [
    "DIRECTIONS",
    "NO_PROFILE_NOTE",
    "RowAccountingError",
    "ScoringResult",
    "check_row_accounting",
    "drift_notes",
    "empty_scores",
    "extra_score_columns",
    "model_scores",
    "output_frame",
    "sibling_path",
]

#: reason directions: toward poorer (selected households), toward richer (the others)
DIRECTIONS = ("poorer", "richer")

#: drift note when neither the run folder nor the model carries a training feature profile
NO_PROFILE_NOTE = "no training feature profile in the run folder or model: drift not checked"


class RowAccountingError(RuntimeError):
    """Scored + rejected households do not add up to the input (a bug, not bad data)."""


@dataclass
class ScoringResult:
    """What a scoring run wrote and counted (``n_input == n_scored + n_rejected``)."""

    output: Path
    rejects: Path
    drift: Path | None
    n_input: int
    n_scored: int
    n_rejected: int
    n_orphan_member_households: int
    seconds: float
    resumed_chunks: int = 0
    drift_warnings: list[str] = field(default_factory=list)

    @property
    def households_per_second(self) -> float:
        """Input households per second of wall time (NaN for an instant run)."""
        return self.n_input / self.seconds if self.seconds > 0 else float("nan")

    def summary(self) -> dict[str, Any]:
        """Counts, speed and file paths, for the console and MLflow (no personal data)."""
        return {
            "n_input": self.n_input, "n_scored": self.n_scored, "n_rejected": self.n_rejected,
            "n_orphan_member_households": self.n_orphan_member_households,
            "seconds": round(self.seconds, 3),
            "households_per_second": round(self.households_per_second, 1),
            "rejects_path": str(self.rejects),
            "drift_path": str(self.drift) if self.drift else "",
        }  # fmt: skip


def check_row_accounting(n_scored: int, n_rejected: int, n_input: int) -> None:
    """Every input household is scored or rejected, exactly once.

    Raises
    ------
    RowAccountingError
        When ``n_scored + n_rejected != n_input``.

    >>> check_row_accounting(3, 1, 4)
    """
    if n_scored + n_rejected != n_input:
        raise RowAccountingError(
            f"scored {n_scored} + rejected {n_rejected} != input {n_input} households "
            f"({n_input - n_scored - n_rejected:+d} unaccounted)"
        )


def sibling_path(out: Path, what: str) -> Path:
    """``<stem>.<what>.csv`` beside the output (``rejects``, ``drift``).

    >>> sibling_path(Path("out/scored.parquet"), "rejects").as_posix()
    'out/scored.rejects.csv'
    """
    return out.with_name(f"{out.stem}.{what}.csv")


def model_scores(
    features: pd.DataFrame,
    models: Mapping[str, Any],
    explain: bool,
    top_k: int,
    *,
    lang: str = "id",
    labels: LabelSpec | None = None,
    location: Sequence[str] = (),
) -> pd.DataFrame:
    """Scores of the main (first) model and ``score_<name>`` of the others, per household.

    Columns: ``score`` (the main model's margin), ``prob_poor``
    (:func:`slrt_ml.pipeline.calibration.poor_probability`), with ``explain``
    ``reason_poorer_1..k``, ``reason_richer_1..k`` (the household's own answers, area
    features left out, worded in ``lang``) and ``area_effect`` (summed contribution of
    :data:`~slrt_ml.explain.reasons.AREA_FEATURES`), then ``score_<name>``.

    Parameters
    ----------
    features : DataFrame
        Household features, indexed by household id.
    models : mapping
        Name -> fitted model; the first one is the main model.
    explain : bool
        Add the main model's exact top-``top_k`` reasons in both directions.
    top_k : int
        Reasons per household and direction.
    lang : {"id", "en"}
        Language of the reasons.
    labels : LabelSpec, optional
        A mapping's ``labels:`` (column and answer names for the reasons).
    location : sequence of str
        A mapped table's area columns: left out of the reasons, summed in ``area_effect``.

    Returns
    -------
    DataFrame
        On ``features``' index.
    """
    main = next(iter(models.values()))
    if explain:
        values, base, names = contribution_matrix(main, features)
        part = pd.DataFrame({"score": base + values.sum(axis=1)}, index=features.index)
        where = set(AREA_FEATURES) | set(location)
        for direction in DIRECTIONS:
            reasons = top_reasons(values, features, names, top_k, direction=direction,
                                  exclude=sorted(where), lang=lang, labels=labels,
                                  location=tuple(location))  # fmt: skip
            for slot in range(1, top_k + 1):
                part[f"reason_{direction}_{slot}"] = reasons[f"reason_{slot}"]
        area = [j for j, name in enumerate(names) if name in where]
        part["area_effect"] = values[:, area].sum(axis=1)
    else:
        part = pd.DataFrame({"score": model_margin(main, features)}, index=features.index)
    part.insert(1, "prob_poor", poor_probability(main, part["score"].to_numpy(), features))
    for column, values in (conformal_columns(main, part["prob_poor"].to_numpy(), features)
                           or {}).items():  # fmt: skip
        part[column] = values  # score --conformal: prediction_set, needs_verification
    for name, model in list(models.items())[1:]:
        part[f"score_{name}"] = model_margin(model, features)
    return part


def empty_scores(extra: list[str], explain: bool, top_k: int) -> pd.DataFrame:
    """A scored part with no rows, with the columns of :func:`model_scores` and ``IDBDT, desa``."""
    columns = {"IDBDT": "string", "desa": "string", "score": "float64", "prob_poor": "float64"}
    if explain:
        columns |= {f"reason_{d}_{i}": "string" for d in DIRECTIONS for i in range(1, top_k + 1)}
        columns["area_effect"] = "float64"
    columns |= {name: "float64" for name in extra}
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})


def output_frame(
    frame: pd.DataFrame, decisions: AreaDecisions, start: int, stop: int, top_k: int, explain: bool
) -> pd.DataFrame:
    """Rows ``start:stop`` of the output: ``frame`` (scores) with the decisions inserted.

    ``frame`` holds ``IDBDT, desa, score, prob_poor, ...`` of those rows (model_scores'
    columns). Out: ``IDBDT, prob_poor, percentile_in_desa, rank_in_desa, selected,
    priority_in_desa, reasons_toward, reason_1..k, score_<model>.., margin``;
    ``percentile_in_desa`` = ``ceil(100 * rank / households in the desa)`` ("among the
    poorest X% of its desa"). Without ``explain`` the reason columns are empty, so the
    layout does not depend on the option.
    """
    rank = decisions.rank_in_area[start:stop]
    n = len(frame)
    selected = (pd.arrays.BooleanArray(np.zeros(n, bool), np.ones(n, bool))
                if decisions.selected is None
                else pd.array(decisions.selected[start:stop], dtype="boolean"))  # fmt: skip
    out = pd.DataFrame({
        "IDBDT": frame["IDBDT"].astype("string").astype(str).array,
        "prob_poor": frame["prob_poor"].to_numpy(np.float64),
        "percentile_in_desa": np.ceil(100 * rank / decisions.n_in_area[start:stop]).astype(np.int64),
        "rank_in_desa": rank,
        "selected": selected,
        "priority_in_desa": decisions.priority_in_area[start:stop],
    })  # fmt: skip
    richer = np.asarray(selected.fillna(True)) == False  # noqa: E712 (NA -> poorer)
    toward = pa.array(np.where(richer, "richer", "poorer"), pa.large_string())
    out["reasons_toward"] = _strings(toward) if explain else _missing_strings(n)
    for slot in range(1, top_k + 1):
        if explain:
            poorer = _arrow_text(frame[f"reason_poorer_{slot}"])
            other = _arrow_text(frame[f"reason_richer_{slot}"])
            out[f"reason_{slot}"] = _strings(pc.if_else(pa.array(richer), other, poorer))
        else:
            out[f"reason_{slot}"] = _missing_strings(n)
    for column in [c for c in frame.columns if c.startswith("score_")]:
        out[column] = frame[column].to_numpy(np.float64)
    if "prediction_set" in frame.columns:  # score --conformal ALPHA
        out["prediction_set"] = frame["prediction_set"].astype("string").to_numpy()
        out["needs_verification"] = pd.array(frame["needs_verification"], dtype="boolean")
    out["margin"] = frame["score"].to_numpy(np.float64)
    return out


def _arrow_text(column: pd.Series) -> pa.Array:
    """A text column as one Arrow ``large_string`` array (missing stays null)."""
    values = column.astype("string").array.__arrow_array__()
    return pa.chunked_array([values] if isinstance(values, pa.Array) else values).combine_chunks(
    ).cast(pa.large_string())  # fmt: skip


def _strings(values: pa.Array | pa.ChunkedArray) -> pd.api.extensions.ExtensionArray:
    """Arrow text as a pandas ``string`` array, without a Python object per value."""
    return pd.arrays.ArrowStringArray(values.cast(pa.large_string()))


def _missing_strings(n: int) -> pd.api.extensions.ExtensionArray:
    """``n`` missing values of dtype ``string``."""
    return pd.Series(pd.NA, index=pd.RangeIndex(n), dtype="string").array


def drift_notes(report: pd.DataFrame, *, unseen: bool = True) -> list[str]:
    """Readable warnings from a drift report: large PSI (and, with ``unseen``, unseen codes).

    >>> report = pd.DataFrame({"feature": ["lantai"], "psi": [0.31], "large_drift": [True],
    ...                        "n_unseen": [1], "unseen_codes": ["77"]})
    >>> drift_notes(report)
    ['lantai: PSI 0.31 > 0.25', 'lantai: 1 unseen codes (77)']
    """
    large = report[report["large_drift"]]
    notes = [f"{r.feature}: PSI {r.psi:.2f} > {PSI_WARNING}" for r in large.itertuples()]
    if unseen:
        notes += [f"{r.feature}: {r.n_unseen} unseen codes ({r.unseen_codes})"
                  for r in report[report["n_unseen"] > 0].itertuples()]  # fmt: skip
    return notes


def extra_score_columns(models: Mapping[str, Any]) -> list[str]:
    """``score_<name>`` of every model but the first (the main one).

    >>> extra_score_columns({"gbm": None, "logit": None})
    ['score_logit']
    """
    return [f"score_{name}" for name in list(models)[1:]]
