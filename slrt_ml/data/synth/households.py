"""One chunk of simulated households: today's state (the truth) and the registry's record.

Every step is vectorised over the chunk (see :mod:`slrt_ml.data.synth.generator` for the
story of how a household is made); the same generator state gives the same chunk. The
household and member *files* hold the record (``house``, ``member``); the truth (welfare,
poor, ``eligible_now``) comes from today's state, which no file shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from slrt_ml.data.synth.areas import AreaModel
from slrt_ml.data.synth.draws import Staleness, by_household
from slrt_ml.data.synth.housing import draw_housing, log_welfare, programs
from slrt_ml.data.synth.members import (
    composition,
    draw_members,
    pkh_component,
    recorded_members,
)
from slrt_ml.data.synth.parameters import POVERTY_LINES, SynthParameters
from slrt_ml.data.synth.pmt import pmt_terms

__all__ = ["HouseholdChunk", "simulate_chunk"]


@dataclass
class HouseholdChunk:
    """One chunk of simulated households as arrays (codes as indices into code lists)."""

    house: dict[str, np.ndarray]  # household file columns (as recorded), codebook names
    member: dict[str, np.ndarray]  # member file columns (as recorded), codebook names
    member_hh: np.ndarray  # household index of each member row
    welfare_pc: np.ndarray  # today's per-capita consumption (Rp/month)
    poor: np.ndarray  # int8: welfare below the area's poverty line
    log_ratio: np.ndarray  # log(welfare_pc / poverty line), today
    log_ratio_then: np.ndarray  # the same at the recording (baseline survey's label)
    eligible_now: np.ndarray  # bool: a PKH component by today's members
    eligible_recorded: np.ndarray  # bool: a PKH component by the recorded member file
    x_recorded: np.ndarray  # PMT terms of the record (what SIKS-NG and models see)
    x_now: np.ndarray  # PMT terms of today's state
    noise: np.ndarray  # standard normal: SIKS-NG's processing noise, before scaling
    u_remove: np.ndarray  # uniforms: village deliberation removals (smallest first)
    u_add: np.ndarray  # uniforms: village deliberation additions (smallest first)
    u_survey: np.ndarray  # uniforms: survey sample within stratum (smallest first)
    stratum: np.ndarray  # kecamatan index * 2 + urban
    # today's state as arrays (``now`` housing, ``members``, ``member_hh``, ``z``, ``desa``,
    # ``kec``): what the update cycles (:mod:`slrt_ml.data.synth.cycles`) evolve; no draws
    state: dict = field(default_factory=dict)

    @property
    def target(self) -> np.ndarray:
        """Poor and a PKH component today (DESIGN §5)."""
        return self.poor.astype(bool) & self.eligible_now


def _components(hh, n, m) -> np.ndarray:
    keys = ("Umur", "Hub_KRT", "Sta_hamil", "Partisipasi_sekolah", "Jenjang_sekolah")
    return pkh_component(hh, n, *(m[k] for k in keys), m["Ijazah_tertinggi"], m["Jenis_cacat"])


def simulate_chunk(
    rng: np.random.Generator,
    n: int,
    areas: AreaModel,
    params: SynthParameters,
    serial0: int,
    pmt_weights: np.ndarray | None = None,
) -> HouseholdChunk:
    """Simulate ``n`` households; member serial numbers (in NIK) start after ``serial0``.

    ``pmt_weights`` (the official PMT's estimated weights) set the past program cards;
    without them (the baseline survey sample, never written) the cards are all 0.
    """
    desa = rng.choice(len(areas.weight), size=n, p=areas.weight)
    urban, coastal = areas.urban[desa], areas.coastal[desa]
    kec_codes = areas.frame["KDKEC"].to_numpy(dtype=object)
    kec_all = np.unique(kec_codes, return_inverse=True)[1]
    kec, n_kec = kec_all[desa], int(kec_all.max()) + 1
    z = rng.standard_normal(n) + 0.3 * urban
    hh, m = draw_members(rng, areas.nik_region[desa], urban, coastal, z, serial0)
    c = composition(hh, n, m)
    stale = Staleness(rng, params.drift, params.entry_error)
    now, then = draw_housing(rng, z, urban, coastal, c["size"], stale)
    line = np.log(np.where(urban, POVERTY_LINES["urban"], POVERTY_LINES["rural"]))
    welfare_args = dict(intercept=params.welfare_intercept, noise=params.welfare_noise)
    welfare = np.round(
        np.exp(log_welfare(rng, now, c, z, urban, areas.effect[desa], **welfare_args))
    )
    poor = welfare < np.exp(line)
    low, high = params.record_age_months
    months = rng.integers(low, high + 1, n)
    serial_rec = serial0 + len(hh)
    hh_r, m_r = recorded_members(
        rng, hh, n, m, months, areas.nik_region[desa], urban, coastal, z, serial_rec,
        params.job_change,
    )  # fmt: skip
    c_r = composition(hh_r, n, m_r)
    # the baseline survey's welfare: the same model applied to the household as recorded
    then_welfare = log_welfare(rng, then, c_r, z, urban, areas.effect[desa], **welfare_args)
    x_recorded = pmt_terms(then, c_r, urban, kec, n_kec)
    x_now = pmt_terms(now, c, urban, kec, n_kec)
    eligible_recorded = _components(hh_r, n, m_r)
    past = x_recorded @ pmt_weights if pmt_weights is not None else np.full(n, np.inf)
    house = {
        **{
            col: areas.frame[col].to_numpy(dtype=object)[desa]
            for col in ("KDPROP", "KDKAB", "KDKEC", "KDDESA")
        },
        "Jumlah_ART": c_r["size"].astype(int),
        "Jumlah_Keluarga": 1
        + (by_household(hh_r, n, m_r["Hub_KRT"] == 4) > 0)
        + (rng.random(n) < 0.03),
        **then,
        **programs(rng, past, eligible_recorded),
    }
    return HouseholdChunk(
        house=house,
        member=m_r,
        member_hh=hh_r,
        welfare_pc=welfare,
        poor=poor.astype(np.int8),
        log_ratio=np.log(welfare) - line,
        log_ratio_then=then_welfare - line,
        eligible_now=_components(hh, n, m),
        eligible_recorded=eligible_recorded,
        x_recorded=x_recorded,
        x_now=x_now,
        noise=rng.standard_normal(n),
        u_remove=rng.random(n),
        u_add=rng.random(n),
        u_survey=rng.random(n),
        stratum=(kec * 2 + urban).astype(np.int32),
        state={"now": now, "members": m, "member_hh": hh, "z": z, "desa": desa, "kec": kec},
    )
