"""One chunk of simulated households: members, housing, truth and the stale SIKS-NG PMT.

Every step is vectorised over the chunk (see :mod:`slrt_ml.data.synth.generator` for the
story of how a household is made); the same generator state gives the same chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from slrt_ml.data.synth.areas import AreaModel
from slrt_ml.data.synth.draws import Staleness, by_household
from slrt_ml.data.synth.housing import draw_housing, log_welfare, official_pmt, programs
from slrt_ml.data.synth.members import composition, draw_members, pkh_component, stale_members
from slrt_ml.data.synth.parameters import POVERTY_LINES, SynthParameters

__all__ = ["HouseholdChunk", "simulate_chunk"]


@dataclass
class HouseholdChunk:
    """One chunk of simulated households as arrays (codes as indices into code lists)."""

    house: dict[str, np.ndarray]  # household columns, codebook names, values ready to write
    member: dict[str, np.ndarray]  # member columns, codebook names
    member_hh: np.ndarray  # household index of each member row
    welfare_pc: np.ndarray
    poor: np.ndarray
    target: np.ndarray  # poor and a PKH component by the current member file
    pmt: np.ndarray  # official PMT on stale data (higher = better off)
    stale_component: np.ndarray  # PKH component by the registry's stale member data


def simulate_chunk(
    rng: np.random.Generator, n: int, areas: AreaModel, params: SynthParameters, serial0: int
) -> HouseholdChunk:
    """Simulate ``n`` households; member serial numbers (in NIK) start after ``serial0``."""
    desa = rng.choice(len(areas.weight), size=n, p=areas.weight)
    urban, coastal = areas.urban[desa], areas.coastal[desa]
    z = rng.standard_normal(n) + 0.3 * urban
    hh, m = draw_members(rng, areas.nik_region[desa], urban, coastal, z, serial0)
    c = composition(hh, n, m)
    stale = Staleness(rng, params.drift, params.entry_error)
    now, then = draw_housing(rng, z, urban, coastal, c["size"], stale)
    welfare = np.round(
        np.exp(
            log_welfare(
                rng,
                now,
                c,
                z,
                urban,
                areas.effect[desa],
                intercept=params.welfare_intercept,
                noise=params.welfare_noise,
            )
        )
    )
    poor = welfare < np.where(urban, POVERTY_LINES["urban"], POVERTY_LINES["rural"])
    years = rng.integers(params.stale_years[0], params.stale_years[1] + 1, n)
    c_then, stale_component = stale_members(rng, hh, n, m, years)
    pmt = official_pmt(rng, then, {**c, **c_then}, urban, noise=params.pmt_noise)
    component = pkh_component(
        hh,
        n,
        m["Umur"],
        m["Hub_KRT"],
        m["Sta_hamil"],
        m["Partisipasi_sekolah"],
        m["Jenjang_sekolah"],
        m["Ijazah_tertinggi"],
        m["Jenis_cacat"],
    )
    house = {
        **{
            col: areas.frame[col].to_numpy(dtype=object)[desa]
            for col in ("KDPROP", "KDKAB", "KDKEC", "KDDESA")
        },
        "Jumlah_ART": c["size"].astype(int),
        "Jumlah_Keluarga": 1
        + (by_household(hh, n, m["Hub_KRT"] == 4) > 0)
        + (rng.random(n) < 0.03),
        **now,
        **programs(rng, pmt, stale_component),
    }
    return HouseholdChunk(
        house, m, hh, welfare, poor.astype(np.int8), poor & component, pmt, stale_component
    )
