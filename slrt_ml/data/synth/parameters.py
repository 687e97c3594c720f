"""Parameters of the synthetic registry: where it is (:class:`Profile`), the generator's
knobs (:class:`SynthParameters`, with named profiles), the poverty lines of the truth and
the SIKS-NG period.

Every source of SIKS-NG's error is one named parameter of :class:`SynthParameters`
(data/README.md documents each); ``SynthParameters.named("no_handicaps")`` switches off
every handicap SIKS-NG has and a model trained on the registry files would not have.

>>> SynthParameters.named("no_handicaps").pmt_weights
'true'
>>> SynthParameters.named("nope")
Traceback (most recent call last):
...
ValueError: unknown synthetic profile 'nope'; choose one of: default, no_handicaps
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

__all__ = ["PERIODE", "POVERTY_LINES", "PROFILES", "Profile", "SynthParameters"]

#: BPS poverty lines, March 2024, South Sulawesi (Rp per capita per month).
POVERTY_LINES = {"urban": 485_401, "rural": 436_463}
PERIODE = "2024-06"


@dataclass(frozen=True)
class Profile:
    """Where the synthetic kabupaten is: codes, size, urban share. KDKAB 99 is fictional."""

    name: str = "sulsel-default"
    kdprop: str = "73"
    kdkab: str = "99"
    kecamatan: int = 31
    desa: int = 270
    kelurahan: int = 10


@dataclass(frozen=True)
class SynthParameters:
    """Knobs of the generator; the SIKS-NG ones are calibrated (see tests/test_synth.py).

    The world: ``welfare_*``, ``kecamatan_sd``, ``desa_sd``. The registry files hold every
    household as recorded ``record_age_months`` months ago (drawn uniformly in the range):
    indicators drifted (``drift``: latent correlation then/now), recording errors
    (``entry_error``: share of items replaced by a random code), adults' jobs changed since
    (``job_change``). SIKS-NG's own error sources, each switchable:

    - ``pmt_weights``: ``"estimated"`` = OLS of baseline log welfare on the recorded
      indicators of ``pmt_sample`` baseline-survey households (as the official PMT was);
      ``"true"`` = the population least-squares weights of *current* log welfare on the
      same recorded indicators (what a fit on everyone's current truth would give);
    - ``stale_eligibility``: the quota is filled among households with a PKH component by
      the recorded member file (True) or by the current one (False);
    - ``pmt_noise``: sd of enumeration/processing noise added to the PMT score;
    - ``deliberation_share``: share of the quota that village deliberation (musdes)
      removes at random and replaces by households drawn at random among eligible
      non-selected households of the poorest ``deliberation_pool`` of the ranking.

    ``survey_share``: share of households with a welfare label (``in_survey``), drawn by
    stratified sampling within kecamatan x urban.
    """

    profile: str = "default"
    welfare_intercept: float = 13.41  # log Rp; sets the poor share among registry households
    welfare_noise: float = 0.30  # sd of the household's idiosyncratic log consumption
    kecamatan_sd: float = 0.10
    desa_sd: float = 0.08
    quota_share: float = 0.21  # PKH quota as a share of registry households
    record_age_months: tuple[int, int] = (24, 72)  # registry recorded this long ago
    drift: float = 0.80  # correlation of an indicator's latent score then and now
    entry_error: float = 0.03  # share of recorded items replaced by a random code
    job_change: float = 0.25  # share of adults whose recorded work differs from today's
    pmt_weights: str = "estimated"  # or "true"
    pmt_sample: int = 2_000  # baseline survey households the PMT weights are estimated on
    stale_eligibility: bool = True
    pmt_noise: float = 0.12  # sd of enumeration/processing noise added to the PMT
    deliberation_share: float = 0.20
    deliberation_pool: float = 0.5
    survey_share: float = 0.10
    prelist_share: float = 0.10
    chunk_size: int = 100_000

    def __post_init__(self) -> None:
        if self.pmt_weights not in ("estimated", "true"):
            raise ValueError(f"pmt_weights must be 'estimated' or 'true', got {self.pmt_weights!r}")
        low, high = self.record_age_months
        if not 0 <= low <= high:
            raise ValueError(f"record_age_months must be 0 <= low <= high, got {low, high}")
        for name in ("survey_share", "deliberation_share", "deliberation_pool", "quota_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must lie in [0, 1], got {getattr(self, name)}")

    @classmethod
    def named(cls, name: str, **changes) -> SynthParameters:
        """The parameters of a named profile (:data:`PROFILES`), with ``changes`` applied."""
        if name not in PROFILES:
            raise ValueError(
                f"unknown synthetic profile {name!r}; choose one of: {', '.join(PROFILES)}"
            )
        return dataclasses.replace(cls(), profile=name, **{**PROFILES[name], **changes})


#: Named parameter profiles: overrides of the defaults.
PROFILES: dict[str, dict] = {
    "default": {},
    # every SIKS-NG handicap a model trained on the same files does not share, off
    "no_handicaps": {
        "pmt_weights": "true",
        "stale_eligibility": False,
        "pmt_noise": 0.0,
        "deliberation_share": 0.0,
    },
}
