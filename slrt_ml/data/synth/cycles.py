"""Update cycles of the synthetic registry: one registry folder per cycle (docs/CYCLES.md).

Cycle 0 is the registry :func:`slrt_ml.data.synth.generator.make_registry` builds for the
same seed (same households, records, SIKS-NG list and truth; only its prelist differs:
the new households that join at cycle 1). Every ``cycle_months`` months after that:

1. today's state moves (:mod:`slrt_ml.data.synth.dynamics`): welfare shocks and
   persistence, births, deaths, splits; a household whose last member died leaves;
2. the households on the previous cycle's prelist join the registry, recorded as they
   were when proposed; a ``resurvey`` share of the others is visited again and gets a fresh
   record (today's indicators and members); everyone else keeps the old record;
3. SIKS-NG ranks the records with the same estimated PMT (plus each household's processing
   noise) and updates its list: households with a fresh record are decided by the PMT
   cut-off; village deliberation removes listed households that were not target
   ``deliberation_lag`` cycles ago and adds unlisted target ones, each with probability
   ``deliberation_detect``; the list is then brought back to the quota by PMT rank;
4. the truth is today's state, with a new survey sample;
5. the prelist of new households (as many as the splits plus in-migrants) is drawn and
   recorded fresh.

Deterministic per seed: every cycle draws from its own seeded stream.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from slrt_ml.data.synth.areas import AreaModel, area_model
from slrt_ml.data.synth.dynamics import (
    CycleDynamics,
    item_latents,
    shifted_items,
    step_members,
    step_welfare,
    welfare_model,
)
from slrt_ml.data.synth.generator import _baseline_weights, _rng, _sizes, make_registry
from slrt_ml.data.synth.households import _components, simulate_chunk
from slrt_ml.data.synth.members import composition
from slrt_ml.data.synth.parameters import POVERTY_LINES, Profile, SynthParameters
from slrt_ml.data.synth.pmt import pmt_terms
from slrt_ml.data.synth.siksng import survey_sample

__all__ = ["Panel", "build_panel", "step_panel"]

_MEMBER_STATE = ("hh", "m", "age_exact")


def _stack(dicts: list[dict]) -> dict:
    return {k: np.concatenate([d[k] for d in dicts]) for k in dicts[0]}


@dataclass
class Panel:
    """Every household ever in the registry or on a prelist, as arrays (one row each)."""

    ids: np.ndarray
    desa: np.ndarray
    joined: np.ndarray  # cycle the household enters the registry
    alive: np.ndarray
    z: np.ndarray
    z0: np.ndarray
    resid: np.ndarray
    base_now: dict  # today's housing at entry (items that do not follow z stay)
    latents: dict
    now: dict
    hh: np.ndarray  # today's members: household row, arrays, exact age
    m: dict
    age_exact: np.ndarray
    rec_house: dict  # the record: household file columns (codes), members
    rec_hh: np.ndarray
    rec_m: dict
    noise: np.ndarray  # SIKS-NG processing noise (standard normal)
    selected: np.ndarray  # SIKS-NG's list
    history: list = field(default_factory=list)  # target per cycle (length of the panel then)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class World:
    """What every cycle shares: areas, parameters, the estimated PMT weights, the seed."""

    areas: AreaModel
    profile: Profile
    params: SynthParameters
    dyn: CycleDynamics
    weights: np.ndarray
    seed: int
    months: int
    n_kec: int
    kec_of_desa: np.ndarray
    serial: int = 10_000_000

    def ctx(self, panel: Panel) -> dict:
        desa = panel.desa
        return {
            "z": panel.z,
            "urban": self.areas.urban[desa],
            "coastal": self.areas.coastal[desa],
            "region": self.areas.nik_region[desa],
        }


def _world(profile, params, dyn, seed, months) -> World:
    areas = area_model(profile, params, seed)
    codes = areas.frame["KDKEC"].to_numpy(dtype=object)
    kec_of_desa = np.unique(codes, return_inverse=True)[1]
    weights = _baseline_weights(areas, params, seed)
    return World(areas, profile, params, dyn, weights, seed, months, int(kec_of_desa.max()) + 1,
                 kec_of_desa)  # fmt: skip


def _entry(world: World, chunk, ids, joined: int, rng, fresh_record: bool) -> Panel:
    """Panel rows of a simulated chunk; ``fresh_record``: recorded as today (prelist)."""
    s, n = chunk.state, len(ids)
    desa = s["desa"]
    urban, coastal = world.areas.urban[desa], world.areas.coastal[desa]
    base = welfare_model(s["now"], s["members"], s["member_hh"], n, s["z"], urban,
                         world.areas.effect[desa], world.params.welfare_intercept)  # fmt: skip
    house = chunk.house
    if fresh_record:
        size = np.bincount(s["member_hh"], minlength=n)
        house = {**house, **s["now"], "Jumlah_ART": size}
    m = s["members"]
    return Panel(
        ids=np.asarray(ids, dtype=object), desa=desa, joined=np.full(n, joined),
        alive=np.ones(n, dtype=bool), z=s["z"].copy(), z0=s["z"].copy(),
        resid=np.log(chunk.welfare_pc) - base, base_now=s["now"],
        latents=item_latents(rng, s["now"], coastal & ~urban), now=s["now"],
        hh=s["member_hh"], m=m, age_exact=m["Umur"] + rng.random(len(m["Umur"])),
        rec_house=house,
        rec_hh=s["member_hh"] if fresh_record else chunk.member_hh,
        rec_m=m if fresh_record else chunk.member,
        noise=chunk.noise, selected=np.zeros(n, dtype=bool),
    )  # fmt: skip


def _append(a: Panel, b: Panel) -> Panel:
    """Panel ``a`` followed by ``b`` (member rows re-indexed)."""
    out = {}
    for name in Panel.__dataclass_fields__:
        x, y = getattr(a, name), getattr(b, name)
        if name == "history":
            out[name] = x
        elif name in ("hh", "rec_hh"):
            out[name] = np.concatenate([x, y + len(a)])
        elif isinstance(x, dict):
            out[name] = _stack([x, y])
        else:
            out[name] = np.concatenate([x, y])
    return Panel(**out)


def build_panel(households, seed, profile, params, dyn, months):
    """Cycle 0: the generator's registry (tables) and the panel of its households."""
    world = _world(profile, params, dyn, seed, months)
    tables = make_registry(households, seed, profile=profile, params=params)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 40]))
    parts, start = [], 0
    for i, n in enumerate(_sizes(households, params.chunk_size)):
        chunk = simulate_chunk(_rng(seed, 0, i), n, world.areas, params, start * 4, world.weights)
        ids = tables["households"]["IDBDT"].to_numpy(dtype=object)[start : start + n]
        parts.append(_entry(world, chunk, ids, 0, rng, fresh_record=False))
        start += n
    panel = parts[0]
    for part in parts[1:]:
        panel = _append(panel, part)
    panel.selected = tables["siksng"]["pkh_eligible"].to_numpy() == 1
    truth = tables["truth"]
    panel.history.append((truth["poor"] == 1).to_numpy() & (truth["eligible_now"] == 1).to_numpy())
    return world, panel, tables


def evolve_today(world: World, panel: Panel, rng) -> dict:
    """Step every living household's state one cycle; returns the cycle's event counts."""
    dyn, params, months = world.dyn, world.params, world.months
    ctx = world.ctx(panel)
    panel.z, panel.resid = step_welfare(rng, panel.z, panel.resid, months, dyn,
                                        params.welfare_noise)  # fmt: skip
    ctx["z"] = panel.z
    hh, m, age, alive, events = step_members(rng, panel.hh, panel.m, panel.age_exact,
                                             panel.alive, months, dyn, ctx, world.serial)  # fmt: skip
    world.serial += events.births
    panel.hh, panel.m, panel.age_exact, panel.alive = hh, m, age, alive
    coastal_rural = ctx["coastal"] & ~ctx["urban"]
    panel.now = shifted_items(panel.base_now, panel.latents, panel.z - panel.z0, coastal_rural,
                              rng)  # fmt: skip
    return asdict(events)


def welfare_today(world: World, panel: Panel) -> np.ndarray:
    """Per-capita consumption (Rp/month) of today's state; 0 for dissolved households."""
    rows = np.flatnonzero(panel.alive)
    position = np.full(len(panel), -1)
    position[rows] = np.arange(len(rows))
    desa = panel.desa[rows]
    now = {k: v[rows] for k, v in panel.now.items()}
    log_w = welfare_model(now, panel.m, position[panel.hh], len(rows), panel.z[rows],
                          world.areas.urban[desa], world.areas.effect[desa],
                          world.params.welfare_intercept)  # fmt: skip
    welfare = np.zeros(len(panel))
    welfare[rows] = np.round(np.exp(log_w + panel.resid[rows]))
    return welfare


def poverty_line(world: World, panel: Panel) -> np.ndarray:
    urban = world.areas.urban[panel.desa]
    return np.where(urban, POVERTY_LINES["urban"], POVERTY_LINES["rural"]).astype(float)


def resurvey(panel: Panel, rows: np.ndarray) -> None:
    """Fresh records for households ``rows`` (bool): today's items and members."""
    n = len(panel)
    size = np.bincount(panel.hh, minlength=n)
    for name, values in panel.now.items():
        panel.rec_house[name] = np.where(rows, values, panel.rec_house[name])
    panel.rec_house["Jumlah_ART"] = np.where(rows, size, panel.rec_house["Jumlah_ART"])
    old = ~rows[panel.rec_hh]
    new = rows[panel.hh]
    hh = np.concatenate([panel.rec_hh[old], panel.hh[new]])
    m = {k: np.concatenate([panel.rec_m[k][old], panel.m[k][new]]) for k in panel.rec_m}
    order = np.argsort(hh, kind="stable")
    panel.rec_hh, panel.rec_m = hh[order], {k: v[order] for k, v in m.items()}


def pmt_score(world: World, panel: Panel) -> tuple[np.ndarray, np.ndarray]:
    """SIKS-NG's PMT score of every record (lower = poorer) and recorded PKH eligibility."""
    n = len(panel)
    c = composition(panel.rec_hh, n, panel.rec_m)
    urban = world.areas.urban[panel.desa]
    x = pmt_terms(panel.rec_house, c, urban, world.kec_of_desa[panel.desa], world.n_kec)
    eligible = _components(panel.rec_hh, n, panel.rec_m)
    return x @ world.weights + world.params.pmt_noise * panel.noise, eligible


def update_list(world, panel, score, eligible, registry, fresh, cycle, rng) -> None:
    """SIKS-NG's list of this cycle (module doc, step 3)."""
    dyn = world.dyn
    quota = round(world.params.quota_share * registry.sum())
    elig = eligible & registry
    listed = panel.selected & registry
    cutoff = np.sort(score[elig])[min(quota, elig.sum()) - 1] if elig.any() else -np.inf
    listed = np.where(fresh, elig & (score <= cutoff), listed)
    lagged = panel.history[max(cycle - dyn.deliberation_lag, 0)]
    lag_target = np.zeros(len(panel), dtype=bool)
    lag_target[: len(lagged)] = lagged
    known = panel.joined <= cycle - dyn.deliberation_lag
    detect = rng.random(len(panel)) < dyn.deliberation_detect
    added = ~listed & elig & lag_target & known & detect
    listed = (listed & ~(~lag_target & known & detect)) | added
    panel.selected = _to_quota(listed, added, score, elig, quota)


def _to_quota(listed, added, score, elig, quota) -> np.ndarray:
    """Drop the richest-ranked listed (deliberation's additions last) or add the poorest
    unlisted eligible households until the list has ``quota`` households."""
    listed = listed.copy()
    extra = int(listed.sum()) - quota
    if extra > 0:
        rows = np.flatnonzero(listed)
        order = np.lexsort((-score[rows], added[rows]))
        listed[rows[order[:extra]]] = False
    elif extra < 0:
        rows = np.flatnonzero(elig & ~listed)
        listed[rows[np.argsort(score[rows], kind="stable")[:-extra]]] = True
    return listed


def step_panel(world: World, panel: Panel, cycle: int) -> dict:
    """Advance the panel to ``cycle``; returns per-cycle arrays and counts (module doc)."""
    rng = np.random.default_rng(np.random.SeedSequence([world.seed, 50, cycle]))
    events = evolve_today(world, panel, rng)
    registry = panel.alive & (panel.joined <= cycle)
    p = 1 - (1 - world.dyn.resurvey) ** (world.months / 12)
    revisit = registry & (panel.joined < cycle) & (rng.random(len(panel)) < p)
    resurvey(panel, revisit)
    score, eligible = pmt_score(world, panel)
    fresh = revisit | (panel.joined == cycle)
    update_list(world, panel, score, eligible, registry, fresh, cycle, rng)
    welfare = welfare_today(world, panel)
    poor = registry & (welfare < poverty_line(world, panel))
    eligible_now = _components(panel.hh, len(panel), panel.m) & registry
    panel.history.append(poor & eligible_now)
    counts = {**events, "resurveyed": int(revisit.sum()),
              "joined": int((registry & (panel.joined == cycle)).sum())}  # fmt: skip
    return {"registry": registry, "score": score, "welfare": welfare, "poor": poor,
            "eligible_now": eligible_now, "counts": counts}  # fmt: skip


def draw_prelist(world: World, panel: Panel, cycle: int, n_new: int) -> Panel:
    """The cycle's new households (recorded fresh), appended to the panel; they join at the
    next cycle. Their ids: KDPROP + KDKAB + ``C<cycle>`` + number."""
    if n_new <= 0:
        return panel
    rng = _rng(world.seed, 100 + cycle, 0)
    chunk = simulate_chunk(rng, n_new, world.areas, world.params, world.serial, world.weights)
    world.serial += 8 * n_new
    head = f"{world.profile.kdprop}{world.profile.kdkab}C{cycle:02d}"
    ids = [f"{head}{i:08d}" for i in range(1, n_new + 1)]
    entry_rng = np.random.default_rng(np.random.SeedSequence([world.seed, 60, cycle]))
    return _append(panel, _entry(world, chunk, ids, cycle + 1, entry_rng, fresh_record=True))


def survey(world: World, panel: Panel, registry: np.ndarray, cycle: int):
    """This cycle's survey sample (stratified by kecamatan x urban) among the registry."""
    rng = np.random.default_rng(np.random.SeedSequence([world.seed, 70, cycle]))
    desa = panel.desa[registry]
    stratum = world.kec_of_desa[desa] * 2 + world.areas.urban[desa]
    flag, weight = survey_sample(stratum, rng.random(len(desa)), world.params.survey_share)
    return flag, weight


def percentile(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Percentile and desil of each score in its own ranking (1 = poorest)."""
    n = len(score)
    order = np.lexsort((np.arange(n), score))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    return rank * 100 // max(n, 1) + 1, rank * 10 // max(n, 1) + 1


def frames_of(panel: Panel, rows: np.ndarray, percentile_values) -> dict:
    """Household and member arrays of the records of ``rows`` (bool), in panel order."""
    index = np.flatnonzero(rows)
    position = np.full(len(panel), -1)
    position[index] = np.arange(len(index))
    hh, m = panel.rec_hh, panel.rec_m
    keep = rows[hh]
    house = {k: np.asarray(v)[index] for k, v in panel.rec_house.items()}
    house.update(IDBDT=panel.ids[index], Percentile=percentile_values)
    members = {k: v[keep] for k, v in m.items()}
    members["IDBDT"] = panel.ids[hh[keep]]
    return {"house": house, "members": members}


def as_frame(values: dict, specs) -> pd.DataFrame:
    from slrt_ml.data.synth.frames import _frame

    return _frame(values, specs)
