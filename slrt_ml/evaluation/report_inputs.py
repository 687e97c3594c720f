"""What a report shows beyond the comparison: names, the champion's explanations, the prelist.

These are plain data, filled by :mod:`slrt_ml.pipeline.report_inputs` (which reads the run
folder, the mapping and the scoring output) and laid out by :mod:`slrt_ml.evaluation.report`.
The evaluation stage comes before ``explain``, so explanations arrive here as tables and
rendered images, never as calls.

>>> names = ReportNames(area_names={"KDKEC": {"7311010": "Tonra"}})
>>> names.area_name("KDKEC", "7311010"), names.area_name("KDKEC", "7311020")
('Tonra', '7311020')
>>> names.level("KDKEC", "kecamatan")
'kecamatan'
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "ReportNames",
    "ExplanationSummary",
    "PrelistSummary",
    "ReportExtras",
    "importance_by_item",
]


@dataclass(frozen=True)
class ReportNames:
    """How the data names things: the title, the household id, area levels and area names.

    ``levels`` maps an area column (``KDKAB``, ``KDKEC``, ``cluster``) to the word for it
    (``"district"``); a level left out keeps the report's default word. ``area_names`` maps
    a level to ``{code: name}`` (``NMKEC`` of the registry's areas table).
    """

    title: str | None = None
    id_header: str = "IDBDT"
    levels: dict[str, str] = field(default_factory=dict)
    area_names: dict[str, dict[str, str]] = field(default_factory=dict)

    def level(self, column: str, default: str) -> str:
        """The word for an area column, ``default`` when the data gives none."""
        return self.levels.get(column) or default

    def area_name(self, column: str, code: object) -> str:
        """An area's name when the data has it, else its code as text."""
        text = str(code)
        return self.area_names.get(column, {}).get(text, text)


@dataclass(frozen=True)
class ExplanationSummary:
    """The champion's explanations: importance by questionnaire item and a few waterfalls.

    ``importance``: ``item, mean_abs, toward_poorer`` (:func:`importance_by_item`);
    ``waterfalls``: ``(caption, PNG bytes)`` per household drawn.
    """

    model: str
    households: int
    importance: pd.DataFrame
    waterfalls: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class PrelistSummary:
    """What scoring wrote: counts, selected per area and rejected households by reason.

    ``counts``: ``input_rows, scored_rows, rejected_rows, selected``; ``per_area``:
    ``code, name, scored, selected``; ``rejects``: ``reason, households``.
    """

    counts: dict[str, int]
    per_area: pd.DataFrame
    rejects: pd.DataFrame
    level: str = "KDKEC"


@dataclass(frozen=True)
class ReportExtras:
    """Everything optional a report can show; the default shows none of it."""

    names: ReportNames = field(default_factory=ReportNames)
    explanation: ExplanationSummary | None = None
    prelist: PrelistSummary | None = None
    #: further sections, each a list of blocks (``("h2", text)``, ``("p", text)``,
    #: ``("table", frame)``, ``("img", png, alt)`` ...) appended at the end
    sections: tuple[list, ...] = ()


def importance_by_item(table: pd.DataFrame, *, top: int = 15) -> pd.DataFrame:
    """Mean absolute contribution per questionnaire item across households.

    ``table`` is a tidy explanation table (``IDBDT, item, contribution``); contributions
    of one item's features are summed per household first. ``toward_poorer`` is the
    share of households whose item contribution is above 0.

    >>> tidy = pd.DataFrame({"IDBDT": ["a", "a", "b", "b"], "item": ["Lantai", "Atap"] * 2,
    ...                      "contribution": [0.5, -0.1, -0.3, 0.2]})
    >>> importance_by_item(tidy).round(2).to_dict("records")[0]
    {'item': 'Lantai', 'mean_abs': 0.4, 'toward_poorer': 0.5}
    """
    per_household = table.groupby(["IDBDT", "item"], sort=False, observed=True)["contribution"]
    summed = per_household.sum().reset_index()
    grouped = summed.groupby("item", sort=False, observed=True)["contribution"]
    out = pd.DataFrame(
        {
            "mean_abs": grouped.apply(lambda c: float(np.mean(np.abs(c)))),
            "toward_poorer": grouped.apply(lambda c: float(np.mean(c > 0))),
        }
    )
    out = out.sort_values("mean_abs", ascending=False, kind="stable").head(top)
    return out.rename_axis("item").reset_index()
