"""Parameters of the synthetic registry: where it is (:class:`Profile`), the generator's
knobs (:class:`SynthParameters`), the poverty lines of the truth and the SIKS-NG period."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PERIODE", "POVERTY_LINES", "Profile", "SynthParameters"]

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
    """Knobs of the generator; the SIKS-NG ones are calibrated (see tests/test_synth.py)."""

    welfare_intercept: float = 13.41  # log Rp; sets the poor share among registry households
    welfare_noise: float = 0.30  # sd of the household's idiosyncratic log consumption
    kecamatan_sd: float = 0.10
    desa_sd: float = 0.08
    quota_share: float = 0.21  # PKH quota as a share of registry households
    pmt_noise: float = 0.10  # sd of enumeration/processing noise added to the PMT
    stale_years: tuple[int, int] = (2, 6)  # indicators collected this many years earlier
    drift: float = 0.80  # correlation of an indicator's latent score then and now
    entry_error: float = 0.03  # share of stale items replaced by a random code
    prelist_share: float = 0.10
    chunk_size: int = 100_000
