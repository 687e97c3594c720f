"""The tables of every update cycle, their anchors, and the folders ``data synth --cycles`` writes.

:func:`iter_cycles` yields one registry (the seven tables of the contract plus metadata)
per cycle, built by :mod:`slrt_ml.data.synth.cycles`; :func:`make_cycles` keeps them in
memory, :func:`generate_cycles` writes ``OUT/cycle_00 .. cycle_<N-1>`` (each a registry
folder any command reads) and ``OUT/cycles.json`` (the dynamics, per-cycle counts and the
anchors: how fast SIKS-NG's list and the frozen baseline list go stale).

>>> regs = make_cycles(households=400, seed=1, cycles=2)
>>> [r["metadata"]["cycle"]["index"] for r in regs], regs[1]["metadata"]["periode"]
([0, 1], '2024-12')
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from slrt_ml.data.codebook import DEFAULT_VERSION, get_codebook
from slrt_ml.data.io import atomic_path, write_table
from slrt_ml.data.synth.cycles import (
    Panel,
    World,
    as_frame,
    build_panel,
    draw_prelist,
    frames_of,
    percentile,
    pmt_score,
    step_panel,
    survey,
)
from slrt_ml.data.synth.dynamics import CycleDynamics
from slrt_ml.data.synth.parameters import PERIODE, Profile, SynthParameters

__all__ = ["cycle_name", "generate_cycles", "iter_cycles", "make_cycles", "periode_of"]


def cycle_name(cycle: int) -> str:
    """Folder name of a cycle: ``cycle_00``, ``cycle_01``, ..."""
    return f"cycle_{cycle:02d}"


def periode_of(cycle: int, months: int, start: str = PERIODE) -> str:
    """``YYYY-MM`` of a cycle ``cycle * months`` months after ``start``.

    >>> periode_of(3, 6)
    '2025-12'
    """
    year, month = (int(p) for p in start.split("-"))
    total = year * 12 + month - 1 + cycle * months
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


def _check(cycles: int, months: int, params: SynthParameters) -> None:
    if cycles < 1:
        raise ValueError(f"cycles must be at least 1, got {cycles}")
    if not 1 <= months <= 60:
        raise ValueError(f"cycle_months must lie in 1-60, got {months}")
    if params.pmt_weights != "estimated":
        raise ValueError(
            f"update cycles need pmt_weights='estimated' (SIKS-NG re-ranks every cycle with "
            f"its baseline-survey weights), got {params.pmt_weights!r}; use profile 'default'"
        )


def _errors(selected, target, registry) -> dict:
    s, t = selected[registry], target[registry]
    return {
        "exclusion_error": float((t & ~s).sum() / max(t.sum(), 1)),
        "inclusion_error": float((s & ~t).sum() / max(s.sum(), 1)),
        "accuracy": float((s == t).mean()) if len(s) else float("nan"),
        "selected": int(s.sum()),
        "target": int(t.sum()),
        "target_selected": int((t & s).sum()),
    }


def _tables(world: World, panel: Panel, state: dict, cycle: int) -> dict[str, pd.DataFrame]:
    """The cycle's registry tables from the panel after :func:`step_panel`."""
    cb = get_codebook(DEFAULT_VERSION)
    registry, score = state["registry"], state["score"]
    pct, desil = percentile(score[registry])
    part = frames_of(panel, registry, pct)
    ids = pd.array(part["house"]["IDBDT"], dtype="string")
    periode = periode_of(cycle, world.months)
    in_survey, weight = survey(world, panel, registry, cycle)
    return {
        "areas": world.areas.frame,
        "households": as_frame(part["house"], cb.household),
        "members": as_frame(part["members"], cb.member),
        "truth": pd.DataFrame(
            {
                "IDBDT": ids,
                "welfare_pc": state["welfare"][registry],
                "poor": state["poor"][registry].astype(np.int8),
                "eligible_now": state["eligible_now"][registry].astype(np.int8),
                "in_survey": in_survey.astype(np.int8),
                "survey_weight": weight.astype("float64"),
            }
        ),  # fmt: skip
        "siksng": pd.DataFrame(
            {
                "IDBDT": ids,
                "pkh_eligible": panel.selected[registry].astype(np.int8),
                "desil": desil,
                "periode": pd.array([periode] * len(ids), dtype="string"),
            }
        ),  # fmt: skip
    }


def _prelist_tables(world: World, panel: Panel, cycle: int, score, registry) -> dict:
    cb = get_codebook(DEFAULT_VERSION)
    rows = panel.joined == cycle + 1
    ranked = np.sort(score[registry])
    place = np.searchsorted(ranked, score[rows])
    pct = np.minimum(place * 100 // max(len(ranked), 1) + 1, 100)
    part = frames_of(panel, rows, pct)
    return {
        "prelist_households": as_frame(part["house"], cb.household),
        "prelist_members": as_frame(part["members"], cb.member),
    }


def _metadata(base: dict, world: World, cycle: int, counts: dict, errors: dict) -> dict:
    meta = copy.deepcopy(base)
    meta["periode"] = periode_of(cycle, world.months)
    if cycle > 0:  # the last day of the cycle's month
        end = pd.Period(meta["periode"], freq="M").end_time
        meta["reference_date"] = end.strftime("%Y-%m-%d")
    meta["siksng_errors"] = errors
    if cycle > 0:  # the decomposition describes cycle 0's world only
        meta.pop("gap_decomposition", None)
    meta["cycle"] = {"index": cycle, "months": world.months, "events": counts,
                     "dynamics": asdict(world.dyn)}  # fmt: skip
    return meta


def _new_households(world: World, registry: np.ndarray, splits: int) -> int:
    per_cycle = 1 - (1 - world.dyn.new_households) ** (world.months / 12)
    return splits + round(per_cycle * registry.sum())


def iter_cycles(
    households: int = 20_000,
    seed: int = 0,
    cycles: int = 4,
    cycle_months: int = 6,
    *,
    profile: Profile = Profile(),
    params: SynthParameters = SynthParameters(),
    dynamics: CycleDynamics = CycleDynamics(),
) -> Iterator[dict]:
    """Yield each cycle's registry: ``{table: DataFrame, ..., "metadata": dict}``, with
    ``metadata["anchors"]`` (this cycle's SIKS-NG and frozen-list accuracy)."""
    _check(cycles, cycle_months, params)
    world, panel, base = build_panel(households, seed, profile, params, dynamics, cycle_months)
    frozen = panel.selected.copy()
    base_target = panel.history[0].copy()
    registry = np.ones(len(panel), dtype=bool)
    score, _ = pmt_score(world, panel)
    splits = round(0.5 * dynamics.split * len(panel) * cycle_months / 12)
    for cycle in range(cycles):
        if cycle == 0:
            tables = {k: base[k] for k in ("areas", "households", "members", "truth", "siksng")}
            counts = {"births": 0, "deaths": 0, "splits": 0, "dissolved": 0,
                      "resurveyed": 0, "joined": len(panel)}  # fmt: skip
        else:
            state = step_panel(world, panel, cycle)
            registry, score, counts = state["registry"], state["score"], state["counts"]
            splits = counts["splits"]
            tables = _tables(world, panel, state, cycle)
        target = panel.history[cycle]
        errors = _errors(panel.selected, target, registry)
        n_new = _new_households(world, registry, splits)
        panel = draw_prelist(world, panel, cycle, n_new)
        score = np.concatenate([score, pmt_score(world, panel)[0][len(score) :]])
        registry = np.concatenate([registry, np.zeros(len(panel) - len(registry), bool)])
        tables.update(_prelist_tables(world, panel, cycle, score, registry))
        meta = _metadata(base["metadata"], world, cycle, {**counts, "prelist": n_new}, errors)
        meta["anchors"] = _anchors(frozen, base_target, target, panel, registry, errors)
        meta["counts"] = {name: len(frame) for name, frame in tables.items()}
        yield {**tables, "metadata": meta}


def _anchors(frozen, base_target, target, panel, registry, errors) -> dict:
    """Accuracy of SIKS-NG's list and of the cycle-0 list held fixed (the never-updated
    PMT), and the share of cycle 0's correctly targeted still target now (Kidd et al.)."""
    n0 = len(frozen)
    alive = registry[:n0]
    now = target[:n0]
    hit = frozen & base_target & alive
    return {
        "siksng_accuracy": errors["accuracy"],
        "frozen_accuracy": float((frozen[alive] == now[alive]).mean()),
        "frozen_exclusion_error": float(
            (now & alive & ~frozen).sum() / max((now & alive).sum(), 1)
        ),
        "retention_of_correctly_targeted": float(now[hit].mean()) if hit.any() else float("nan"),
        "base_households_left": int(alive.sum()),
    }


def make_cycles(households: int = 2_000, seed: int = 0, cycles: int = 4, cycle_months: int = 6,
                **options) -> list[dict]:  # fmt: skip
    """Every cycle's registry in memory (:func:`iter_cycles`)."""
    return list(iter_cycles(households, seed, cycles, cycle_months, **options))


def decay_per_year(values: list[float], months: int) -> float:
    """Least-squares slope of ``values`` (shares) against years, in percentage points a year.

    >>> decay_per_year([0.80, 0.79, 0.78], 6)
    -2.0
    """
    years = np.arange(len(values)) * months / 12
    if len(values) < 2:
        return float("nan")
    return round(float(np.polyfit(years, 100 * np.asarray(values), 1)[0]), 6)


def generate_cycles(
    out: str | Path,
    households: int = 20_000,
    seed: int = 0,
    fmt: str = "parquet",
    cycles: int = 4,
    cycle_months: int = 6,
    **options,
) -> dict:
    """Write ``OUT/cycle_XX/`` (registry folders) and ``OUT/cycles.json``; returns the summary."""
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"format must be 'parquet' or 'csv', got {fmt!r}")
    folder = Path(out)
    rows = []
    for reg in iter_cycles(households, seed, cycles, cycle_months, **options):
        meta = reg.pop("metadata")
        sub = folder / cycle_name(meta["cycle"]["index"])
        sub.mkdir(parents=True, exist_ok=True)
        for name, frame in reg.items():
            write_table(frame, sub / f"{name}.{fmt}")
        meta["format"] = fmt
        _write_json(sub / "metadata.json", meta)
        rows.append({"cycle": meta["cycle"]["index"], "periode": meta["periode"],
                     "folder": sub.name, **meta["cycle"]["events"],
                     "households": meta["counts"]["households"],
                     "siksng_errors": meta["siksng_errors"], **meta["anchors"]})  # fmt: skip
    summary = _summary(rows, seed, cycle_months, options)
    _write_json(folder / "cycles.json", summary)
    return summary


def _summary(rows: list[dict], seed: int, months: int, options: dict) -> dict:
    dyn = options.get("dynamics", CycleDynamics())
    return {
        "generator": "slrt_ml.synth.cycles", "seed": seed, "cycles": len(rows),
        "cycle_months": months, "dynamics": asdict(dyn), "per_cycle": rows,
        "decay_pp_per_year": {
            "siksng_accuracy": decay_per_year([r["siksng_accuracy"] for r in rows], months),
            "frozen_accuracy": decay_per_year([r["frozen_accuracy"] for r in rows], months),
        },
    }  # fmt: skip


def _write_json(path: Path, value: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n", encoding="utf-8")
