"""SIKS-NG on the synthetic registry: the global PMT rank, the quota cut and its table.

SIKS-NG ranks the whole registry by an official-style PMT computed on stale data and
takes the PKH quota, poorest first, among households with a PKH component by the stale
member data; :meth:`Ranking.errors` measures that selection against the truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from slrt_ml.data.synth.parameters import PERIODE

__all__ = ["Ranking", "siksng_frame"]


@dataclass
class Ranking:
    """SIKS-NG's global rank over the registry, kept as a few small arrays of length N."""

    pmt: np.ndarray
    target: np.ndarray
    stale_component: np.ndarray
    poor: np.ndarray
    percentile: np.ndarray = field(init=False)
    desil: np.ndarray = field(init=False)
    selected: np.ndarray = field(init=False)
    sorted_pmt: np.ndarray = field(init=False)

    def cut(self, quota_share: float) -> None:
        """Rank by PMT (poorest first, ties by registry order) and take the quota among
        households with a PKH component by the stale member data."""
        n = len(self.pmt)
        order = np.lexsort((np.arange(n), self.pmt))
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        self.percentile, self.desil = rank * 100 // n + 1, rank * 10 // n + 1
        self.selected = np.zeros(n, dtype=bool)
        self.selected[order[self.stale_component[order]][: round(quota_share * n)]] = True
        self.sorted_pmt = self.pmt[order]

    def errors(self) -> dict[str, float | int]:
        """Exclusion and inclusion error of the selection against the truth, with counts."""
        target, selected = self.target, self.selected
        return {
            "exclusion_error": float((target & ~selected).sum() / max(target.sum(), 1)),
            "inclusion_error": float((selected & ~target).sum() / max(selected.sum(), 1)),
            "selected": int(selected.sum()),
            "target": int(target.sum()),
            "target_selected": int((target & selected).sum()),
            "poor": int(self.poor.sum()),
        }


def siksng_frame(ranking: Ranking, ids: np.ndarray, part: slice) -> pd.DataFrame:
    """The SIKS-NG table of the households ``part`` of the registry (ids in that order)."""
    n = len(ids)
    return pd.DataFrame(
        {
            "IDBDT": pd.array(ids, dtype="string"),
            "pkh_eligible": ranking.selected[part].astype(np.int8),
            "desil": ranking.desil[part],
            "periode": pd.array([PERIODE] * n, dtype="string"),
        }
    )
