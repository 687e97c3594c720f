"""How a synthetic household changes between two update cycles (today's state, not the record).

Each step of ``months`` months (:func:`step_welfare`, :func:`step_members`):

- **welfare persistence and shocks**: the hidden prosperity ``z`` follows a random walk
  (sd ``z_shock`` per year); every housing and asset item follows it through its own latent
  score (``latent + rho * (z - z0)``, cut at the item's shares again), and the household's
  idiosyncratic log-consumption residual is AR(1) with persistence ``residual_persistence``
  per year around the same sd as at baseline. Consumption is then the generator's
  consumption model of today's items, composition and ``z`` plus that residual;
- **births**: married women 15-49 give birth with probability ``fertility`` a year (0.6 a
  cycle when recorded pregnant); the newborn is a child of the head (grandchild otherwise);
- **deaths**: annual mortality ``0.003 + exp(-9.5 + 0.085 age)`` (about 1.2% at 60, 6.7% at
  80); a dead head is replaced by the spouse, else the oldest member; a household whose
  last member dies is dissolved;
- **splits**: an adult child (20+) leaves to found a household with probability ``split``
  a year per household that has one; the new household reaches the registry through the
  prelist (:mod:`slrt_ml.data.synth.cycles`);
- ageing: items that follow age (schooling at a change of school age band, marriage of the
  young, pregnancy, work of those who change job) are drawn again for the new age; a
  diploma, disability and chronic illness are kept.

The numbers are assumptions of the generator calibrated to published anchors
(docs/CYCLES.md), not statistics of South Sulawesi.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from slrt_ml.data.synth.draws import by_household, cut
from slrt_ml.data.synth.housing import _ASSETS, _BOATS, _ITEMS, _consistent, log_welfare
from slrt_ml.data.synth.members import _attributes, _line_numbers, _nik, composition

__all__ = ["CycleDynamics", "item_latents", "step_members", "step_welfare", "welfare_model"]


@dataclass(frozen=True)
class CycleDynamics:
    """Knobs of the update cycles (docs/CYCLES.md calibrates them to the anchors)."""

    z_shock: float = 0.70  # sd of the yearly random-walk step of prosperity z
    residual_persistence: float = 0.60  # yearly AR(1) coefficient of the consumption residual
    fertility: float = 0.09  # births per married woman 15-49 a year
    split: float = 0.06  # yearly chance a household with an adult child loses one
    job_change: float = 0.08  # yearly share of adults whose work changes
    new_households: float = 0.01  # in-migrant households a year, share of the registry
    resurvey: float = 0.10  # share of registry households re-surveyed a year
    deliberation_detect: float = 0.03  # share of lagged errors village deliberation fixes a cycle
    deliberation_lag: int = 1  # cycles between a change and deliberation seeing it

    def __post_init__(self) -> None:
        for name in ("residual_persistence", "resurvey", "deliberation_detect", "split"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must lie in [0, 1], got {getattr(self, name)}")
        if self.deliberation_lag < 0:
            raise ValueError(f"deliberation_lag must be >= 0, got {self.deliberation_lag}")


def _per_cycle(rate: float, months: int) -> float:
    """Probability over ``months`` of an event with yearly probability ``rate``."""
    return 1 - (1 - rate) ** (months / 12)


def _item_table() -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    """Item -> (codes best-first, shares, rho) for every item that follows z."""
    table = {k: (np.array(c, dtype=int), np.array(s), r) for k, (c, s, r) in _ITEMS.items()}
    for name, (share, rho) in _ASSETS.items():
        table[name] = (np.array([1, 0]), np.array([share, 1 - share]), rho)
    return table


_TABLE = _item_table()


def item_latents(rng, now: dict, coastal_rural: np.ndarray) -> dict[str, np.ndarray]:
    """A latent score per item consistent with today's category (uniform in its quantile
    interval): what :func:`step_welfare` shifts and cuts again."""
    out = {}
    for name, (codes, shares, _) in _TABLE.items():
        out[name] = _latent(rng, now[name], codes, shares)
    for name, share in _BOATS.items():
        s = np.where(coastal_rural, share, 0.003)
        u = rng.random(len(s))
        lo = np.where(now[name] == 1, 1 - s, 0.0)
        hi = np.where(now[name] == 1, 1.0, 1 - s)
        out[name] = ndtri(np.clip(lo + u * (hi - lo), 1e-9, 1 - 1e-9))
    return out


def _latent(rng, values, codes, shares) -> np.ndarray:
    # codes set by consistency rules outside the item's list (Kloset 4 without a toilet)
    # count as its worst answer; the rules set them again after every shift
    lookup = np.full(max(codes.max(), values.max()) + 1, len(codes) - 1)
    lookup[codes] = np.arange(len(codes))
    worst_first = len(codes) - 1 - lookup[values]
    edges = np.concatenate([[0.0], np.cumsum(shares[::-1]) / shares.sum()])
    u = edges[worst_first] + rng.random(len(values)) * np.diff(edges)[worst_first]
    return ndtri(np.clip(u, 1e-9, 1 - 1e-9))


def shifted_items(base: dict, latents: dict, dz: np.ndarray, coastal_rural, rng) -> dict:
    """Today's housing dict with every z-following item cut again at ``latent + rho * dz``."""
    h = {k: v.copy() for k, v in base.items()}
    for name, (codes, shares, rho) in _TABLE.items():
        h[name] = codes[cut(latents[name] + rho * dz, shares)]
    for name, share in _BOATS.items():
        s = np.where(coastal_rural, share, 0.003)
        h[name] = (latents[name] + 0.4 * dz > ndtri(1 - s)).astype(int)
    _consistent(rng, h)
    return h


def welfare_model(h, members, hh, n, z, urban, effect, intercept: float) -> np.ndarray:
    """The generator's log consumption per capita without its idiosyncratic noise."""
    c = composition(hh, n, members)
    quiet = np.random.default_rng(0)  # noise sd 0: draws nothing that matters
    return log_welfare(quiet, h, c, z, urban, effect, intercept=intercept, noise=0.0)


def step_welfare(rng, z, resid, months: int, dyn: CycleDynamics, noise_sd: float):
    """One cycle of prosperity (random walk) and residual (stationary AR(1))."""
    years = months / 12
    z = z + dyn.z_shock * np.sqrt(years) * rng.standard_normal(len(z))
    phi = dyn.residual_persistence**years
    resid = phi * resid + np.sqrt(1 - phi**2) * noise_sd * rng.standard_normal(len(resid))
    return z, resid


def _band(age: np.ndarray) -> np.ndarray:
    return np.select([age <= 6, age <= 12, age <= 15, age <= 18, age <= 24], [0, 1, 2, 3, 4], 5)


_SCHOOL = ("Partisipasi_sekolah", "Jenjang_sekolah", "Ijazah_tertinggi")
_WORK = ("Sta_bekerja", "Jumlah_jamkerja", "Lapangan_usaha", "Status_pekerjaan")
_KEPT = ("Jenis_cacat", "Penyakit_kronis")


@dataclass
class MemberStep:
    """Counts of one cycle's demographic events."""

    births: int = 0
    deaths: int = 0
    splits: int = 0
    dissolved: int = 0


def step_members(rng, hh, m, age_exact, alive, months, dyn, ctx, serial0):
    """Age, births, deaths and splits of today's members over one cycle.

    ``hh``/``m``: member rows (sorted by household) and arrays; ``age_exact``: age in
    years with a fraction; ``alive``: households still existing; ``ctx``: per-household
    ``z, urban, coastal, region`` arrays. Returns ``(hh, m, age_exact, alive, MemberStep)``.
    """
    n, years = len(alive), months / 12
    events = MemberStep()
    age_exact = age_exact + years
    q = 0.003 + np.exp(-9.5 + 0.085 * age_exact)
    dies = rng.random(len(hh)) < 1 - (1 - np.minimum(q, 1)) ** years
    adult_child = (m["Hub_KRT"] == 3) & (age_exact >= 20)
    has_adult_child = by_household(hh, n, adult_child & ~dies) > 0
    leaves_hh = has_adult_child & (rng.random(n) < _per_cycle(dyn.split, months))
    first_adult_child = adult_child & ~dies & _first_in_household(hh, adult_child & ~dies)
    leaves = first_adult_child & leaves_hh[hh]
    events.deaths, events.splits = int(dies.sum()), int(leaves.sum())
    keep = ~dies & ~leaves
    mother = _mothers(rng, m, age_exact, months) & keep
    events.births = int(mother.sum())
    hh, m, age_exact, new = _with_births(rng, hh, m, age_exact, keep, mother, ctx, serial0)
    m = _new_heads(hh, m, age_exact, n)
    still = by_household(hh, n, np.ones(len(hh))) > 0
    events.dissolved = int((alive & ~still).sum())
    m = _aged_items(rng, hh, m, age_exact, new, months, dyn, ctx)
    return hh, m, age_exact, alive & still, events


def _first_in_household(hh, mask) -> np.ndarray:
    first = np.zeros(len(hh), dtype=bool)
    rows = np.flatnonzero(mask)
    _, idx = np.unique(hh[rows], return_index=True)
    first[rows[idx]] = True
    return first


def _mothers(rng, m, age_exact, months) -> np.ndarray:
    fertile = (m["Jnskel"] == 2) & (age_exact >= 15) & (age_exact < 50) & (m["Sta_kawin"] == 2)
    p = np.where(m["Sta_hamil"] == 1, 0.6, _per_cycle(0.09, months))
    return fertile & np.isin(m["Hub_KRT"], (1, 2, 4)) & (rng.random(len(p)) < p)


def _with_births(rng, hh, m, age_exact, keep, mother, ctx, serial0):
    """Rows kept plus one newborn per mother, sorted by household, role and age."""
    n_new = int(mother.sum())
    baby_hh = hh[mother]
    role = np.where(np.isin(m["Hub_KRT"][mother], (1, 2)), 3, 5)
    female = rng.random(n_new) < 0.49
    baby = {k: np.zeros(n_new, dtype=v.dtype) for k, v in m.items()}
    baby.update(Hub_KRT=role, Jnskel=female + 1, Umur=np.zeros(n_new, dtype=int))
    baby["NIK"] = _nik(rng, ctx["region"][baby_hh], np.zeros(n_new, dtype=int), female, serial0)
    for name in ("Sta_hamil", "Jumlah_jamkerja"):
        baby[name] = np.full(n_new, 0 if name == "Sta_hamil" else -1)
    baby["Sta_kawin"], baby["Sta_bekerja"] = np.ones(n_new, int), np.full(n_new, 2)
    hh = np.concatenate([hh[keep], baby_hh])
    m = {k: np.concatenate([v[keep], baby[k]]) for k, v in m.items()}
    age_exact = np.concatenate([age_exact[keep], rng.random(n_new) * 0.5])
    new = np.concatenate([np.zeros(int(keep.sum()), bool), np.ones(n_new, bool)])
    order = np.lexsort((-age_exact, m["Hub_KRT"], hh))
    return hh[order], {k: v[order] for k, v in m.items()}, age_exact[order], new[order]


def _new_heads(hh, m, age_exact, n) -> dict:
    """A household without a head: the spouse heads it, else the oldest member."""
    role = m["Hub_KRT"].copy()
    headless = by_household(hh, n, role == 1) == 0
    rows = headless[hh]
    pick = np.where(role == 2, 0, 1) * 1000 - age_exact  # spouse first, then the oldest
    order = np.lexsort((pick, hh))
    chosen = order[_first_in_household(hh[order], rows[order])]
    role[chosen] = 1
    return {**m, "Hub_KRT": role}


def _aged_items(rng, hh, m, age_exact, new, months, dyn, ctx) -> dict:
    """Items that follow age drawn again; diploma, health and stable jobs kept."""
    n = len(ctx["z"])
    age = np.floor(age_exact).astype(int)
    role = m["Hub_KRT"] - 1
    female = m["Jnskel"] == 2
    n_spouse = by_household(hh, n, role == 1)
    n_parents = by_household(hh, n, role == 5)
    fresh = _attributes(rng, hh, role, age, female, ctx["z"], ctx["urban"], ctx["coastal"],
                        n_spouse, n_parents)  # fmt: skip
    out = {**m, "Umur": age}
    same_band = ~new & (_band(age) == _band(m["Umur"]))
    same_job = ~new & (age >= 18) & (rng.random(len(age)) >= _per_cycle(dyn.job_change, months))
    for name in fresh:
        if name in ("Hub_KRT", "Jnskel", "Umur"):
            continue
        keep = {**dict.fromkeys(_SCHOOL, same_band), **dict.fromkeys(_WORK, same_job)}.get(
            name, ~new & ((name in _KEPT) | ((name == "Sta_kawin") & (age >= 25)))
        )
        out[name] = np.where(keep, m[name], fresh[name])
    out["NoART"] = _line_numbers(hh, n)
    return out
