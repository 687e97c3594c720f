"""SIKS-NG on the synthetic registry: the global PMT rank, eligibility, the quota, village
deliberation, the survey sample and the decomposition of SIKS-NG's error into its sources.

:class:`Ranking` keeps a few numbers per registry household (PMT scores, flags, uniforms:
about 80 bytes), gathered chunk by chunk; everything global (ranks, the quota, the survey
strata, the gap decomposition) is computed on those arrays, so memory stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from slrt_ml.data.synth.parameters import PERIODE, SynthParameters

__all__ = ["STEPS", "Ranking", "select", "siksng_frame", "survey_sample"]

#: The cumulative steps of ``metadata["gap_decomposition"]``: each removes one more source
#: of SIKS-NG's error from the one before (same drawn world, only the toggle differs).
STEPS: dict[str, str] = {
    "full": "SIKS-NG as published in siksng.*: the profile's PMT weights on the recorded "
    "files, processing noise, eligibility by the recorded member file, quota, village "
    "deliberation",
    "no_process_noise": "without processing noise and village deliberation",
    "current_eligibility": "and the quota filled among households eligible by today's "
    "members (eligible_now) instead of the recorded member file",
    "true_pmt_weights": "and population least-squares weights of today's log welfare on "
    "the same recorded terms instead of the baseline-survey estimate",
    "current_indicators": "and the PMT on today's indicators instead of the recorded ones "
    "(population weights): what a registry updated today would give; the staleness that "
    "models trained on the same files share",
    "welfare_ranking": "and ranking by true welfare: the error left by the quota alone",
}


def select(
    score: np.ndarray,
    eligible: np.ndarray,
    quota: int,
    *,
    deliberation: tuple[np.ndarray, np.ndarray, float, float] | None = None,
) -> np.ndarray:
    """The ``quota`` lowest ``score`` (poorest first, ties by registry order) among
    ``eligible``; ``deliberation = (u_remove, u_add, share, pool)`` then swaps
    ``round(share * selected)`` households: removes those selected with the smallest
    ``u_remove``, adds eligible non-selected ones of the poorest ``pool`` of the ranking
    with the smallest ``u_add``.

    >>> select(np.array([3.0, 1.0, 2.0, 0.0]), np.array([True, True, True, False]), 2).tolist()
    [False, True, True, False]
    """
    n = len(score)
    order = np.lexsort((np.arange(n), score))
    selected = np.zeros(n, dtype=bool)
    selected[order[eligible[order]][:quota]] = True
    if deliberation is None or deliberation[2] <= 0:
        return selected
    u_remove, u_add, share, pool = deliberation
    chosen = np.flatnonzero(selected)
    swaps = round(share * len(chosen))
    in_pool = np.zeros(n, dtype=bool)
    in_pool[order[: round(pool * n)]] = True
    candidates = np.flatnonzero(~selected & eligible & in_pool)
    swaps = min(swaps, len(candidates))
    remove = chosen[np.argsort(u_remove[chosen], kind="stable")[:swaps]]
    add = candidates[np.argsort(u_add[candidates], kind="stable")[:swaps]]
    selected[remove] = False
    selected[add] = True
    return selected


def survey_sample(stratum: np.ndarray, u: np.ndarray, share: float):
    """Stratified sample: in each stratum the ``max(1, round(share * N_h))`` households with
    the smallest ``u`` (none when ``share`` is 0); weight = N_h / n_h for sampled rows.

    >>> flag, weight = survey_sample(np.array([0, 0, 0, 0, 1]), np.array([.4, .1, .3, .2, .5]), 0.5)
    >>> flag.tolist(), weight.tolist()
    ([False, True, False, True, True], [nan, 2.0, nan, 2.0, 1.0])
    """
    n = len(stratum)
    order = np.lexsort((np.arange(n), u, stratum))
    counts = np.bincount(stratum)
    take = (
        np.where(counts > 0, np.maximum(1, np.round(share * counts)), 0)
        if share > 0
        else 0 * counts
    )
    starts = np.cumsum(counts) - counts
    position = np.arange(n) - starts[stratum[order]]
    in_survey = np.zeros(n, dtype=bool)
    in_survey[order] = position < take[stratum[order]]
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(in_survey, counts[stratum] / take[stratum], np.nan)
    return in_survey, weight


def _errors(selected: np.ndarray, target: np.ndarray) -> dict[str, float | int]:
    return {
        "exclusion_error": float((target & ~selected).sum() / max(target.sum(), 1)),
        "inclusion_error": float((selected & ~target).sum() / max(selected.sum(), 1)),
        "selected": int(selected.sum()),
        "target": int(target.sum()),
        "target_selected": int((target & selected).sum()),
    }


@dataclass
class Ranking:
    """SIKS-NG over the registry, kept as a few arrays of length N (see the module doc)."""

    score_estimated: np.ndarray  # recorded PMT terms @ baseline-survey weights
    noise: np.ndarray
    log_ratio: np.ndarray
    poor: np.ndarray
    eligible_now: np.ndarray
    eligible_recorded: np.ndarray
    u_remove: np.ndarray
    u_add: np.ndarray
    u_survey: np.ndarray
    stratum: np.ndarray
    score_true: np.ndarray = field(init=False)  # recorded terms @ population weights
    score_now: np.ndarray = field(init=False)  # today's terms @ their population weights

    def __post_init__(self) -> None:
        self.poor = self.poor.astype(bool)
        self.score_true = np.full(len(self.poor), np.nan)
        self.score_now = np.full(len(self.poor), np.nan)

    @property
    def target(self) -> np.ndarray:
        return self.poor & self.eligible_now

    def base_score(self, params: SynthParameters) -> np.ndarray:
        return self.score_true if params.pmt_weights == "true" else self.score_estimated

    def cut(self, params: SynthParameters) -> None:
        """SIKS-NG's list as published: rank (``Percentile``, ``desil``), quota, deliberation."""
        n = len(self.poor)
        self.quota = round(params.quota_share * n)
        self.score = self.base_score(params) + params.pmt_noise * self.noise
        order = np.lexsort((np.arange(n), self.score))
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        self.percentile, self.desil = rank * 100 // n + 1, rank * 10 // n + 1
        self.sorted_pmt = self.score[order]
        self.selected = select(
            self.score,
            self._eligible(params),
            self.quota,
            deliberation=(
                self.u_remove,
                self.u_add,
                params.deliberation_share,
                params.deliberation_pool,
            ),
        )
        self.in_survey, self.survey_weight = survey_sample(
            self.stratum, self.u_survey, params.survey_share
        )

    def _eligible(self, params: SynthParameters) -> np.ndarray:
        return self.eligible_recorded if params.stale_eligibility else self.eligible_now

    def errors(self) -> dict[str, float | int]:
        """Exclusion and inclusion error of the published list against the target."""
        return {**_errors(self.selected, self.target), "poor": int(self.poor.sum())}

    def decomposition(self, params: SynthParameters) -> list[dict]:
        """SIKS-NG's errors as each source is removed in turn (:data:`STEPS`)."""
        quota, target = self.quota, self.target
        lists = {
            "full": self.selected,
            "no_process_noise": select(self.base_score(params), self._eligible(params), quota),
            "current_eligibility": select(self.base_score(params), self.eligible_now, quota),
            "true_pmt_weights": select(self.score_true, self.eligible_now, quota),
            "current_indicators": select(self.score_now, self.eligible_now, quota),
            "welfare_ranking": select(self.log_ratio, self.eligible_now, quota),
        }
        return [
            {"step": step, **_errors(chosen, target), "description": STEPS[step]}
            for step, chosen in lists.items()
        ]


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
