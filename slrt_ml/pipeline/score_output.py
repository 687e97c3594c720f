"""The scored table shared by prelist and mapped-table scoring: columns, layout, result.

Both :mod:`slrt_ml.pipeline.score` (a prelist, streamed in chunks) and
:mod:`slrt_ml.pipeline.score_table` (a mapped table, in memory) turn models into the
same columns (:func:`model_scores`), lay the output out the same way
(:func:`output_frame`: ``IDBDT, score, rank_in_desa, selected, priority, reason_1..k``
+ ``score_<model>``), account for every input row (:func:`check_row_accounting`) and
return a :class:`ScoringResult`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from slrt_ml.explain.api import model_margin, reason_columns
from slrt_ml.features.drift import PSI_WARNING
from slrt_ml.targeting.priority import AreaDecisions

__all__ = [
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
    features: pd.DataFrame, models: Mapping[str, Any], explain: bool, top_k: int
) -> pd.DataFrame:
    """``score`` (+ ``reason_1..k``) of the main (first) model, ``score_<name>`` of the others.

    Parameters
    ----------
    features : DataFrame
        Household features, indexed by household id.
    models : mapping
        Name -> fitted model; the first one is the main model.
    explain : bool
        Add the main model's exact top-``top_k`` reasons.
    top_k : int
        Reasons per household.

    Returns
    -------
    DataFrame
        On ``features``' index.
    """
    main = next(iter(models.values()))
    if explain:
        part = reason_columns(main, features, top_k=top_k).drop(columns="base_value")
    else:
        part = pd.DataFrame({"score": model_margin(main, features)}, index=features.index)
    for name, model in list(models.items())[1:]:
        part[f"score_{name}"] = model_margin(model, features)
    return part


def empty_scores(extra: list[str], explain: bool, top_k: int) -> pd.DataFrame:
    """A scored part with no rows: ``IDBDT, desa, score (, reason_1..k), <extra>``."""
    columns = {"IDBDT": "string", "desa": "string", "score": "float64"}
    columns |= {f"reason_{i}": "string" for i in range(1, top_k + 1)} if explain else {}
    columns |= {name: "float64" for name in extra}
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})


def output_frame(
    frame: pd.DataFrame, decisions: AreaDecisions, start: int, stop: int, top_k: int, explain: bool
) -> pd.DataFrame:
    """Rows ``start:stop`` of the output: ``frame`` (scores) with the decisions inserted.

    ``frame`` holds ``IDBDT, desa, score, ...`` of those rows; without ``explain`` empty
    ``reason_1..k`` columns are added so the layout does not depend on the option.
    """
    out = frame.drop(columns=["desa"])
    out.insert(2, "rank_in_desa", decisions.rank_in_area[start:stop])
    selected = decisions.selected
    out.insert(3, "selected", pd.array([pd.NA] * (stop - start), dtype="boolean")
               if selected is None else selected[start:stop])  # fmt: skip
    out.insert(4, "priority", decisions.priority[start:stop])
    if not explain:
        for slot in range(1, top_k + 1):
            out[f"reason_{slot}"] = pd.array([pd.NA] * len(out), dtype="string")
    return out


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
