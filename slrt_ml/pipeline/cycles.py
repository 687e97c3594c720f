"""``slrt-ml cycles``: temporal validation over the update cycles of a registry.

Reads ``DATA/cycle_00 .. cycle_<N-1>`` (``slrt-ml data synth --cycles N``), fits every
model on each cycle's labelled survey sample (:func:`slrt_ml.models.cv.fit_final`, as
``train`` fits its final model), scores every later cycle with it and compares each test
cycle's lists with SIKS-NG's at equal coverage (:func:`slrt_ml.evaluation.compare.compare`,
population view: the synthetic truth of every household; re-selecting intervals over desa).

- **grid**: every (train cycle t, test cycle t + k): exclusion and inclusion error with
  intervals (``cycle_grid.csv``); at k = 0 the 10% survey households the model trained on
  are in the evaluation too;
- **refit policies**: which model scores cycle c: ``never`` (the cycle-0 model),
  ``every_<k>`` (refit every k cycles), ``drift`` (refit on the cycle whose incoming
  prelist drifts from the model's training features by a mean PSI above the threshold;
  :mod:`slrt_ml.features.drift`); errors per cycle with intervals (``cycle_errors.csv``);
- **decay**: slope of each system's error against years, percentage points a year, with a
  paired leave-one-desa-out jackknife-t interval over cycles, every model's list
  re-selected under SIKS-NG's quota in each leave-out (:mod:`slrt_ml.evaluation.decay`,
  ``cycle_decay.csv``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from slrt_ml.config import Config, load_config
from slrt_ml.data.io import atomic_path, write_table
from slrt_ml.data.registry import load_prelist
from slrt_ml.evaluation.bootstrap import replicate_confusion
from slrt_ml.evaluation.compare import Comparison, compare
from slrt_ml.evaluation.decay import CycleCounts, decay_per_year, leave_out_draws, leave_out_groups
from slrt_ml.evaluation.report_cycles import cycles_html, cycles_markdown
from slrt_ml.evaluation.systems import systems_from_selections
from slrt_ml.features.drift import DriftAccumulator, feature_profile
from slrt_ml.features.households import household_features
from slrt_ml.models.cv import fit_final
from slrt_ml.pipeline.train import load_targeting_data
from slrt_ml.targeting.frame import TargetingData

__all__ = ["CycleResult", "cycle_folders", "refit_schedule", "run_cycles", "write_cycles"]

CYCLE_MODELS = ("pmt_ols", "logit", "gbm")
ERROR_METRICS = ("exclusion_error", "inclusion_error")


@dataclass
class CycleResult:
    """What :func:`run_cycles` measured (long frames, one row per item)."""

    grid: pd.DataFrame  # model, train_cycle, test_cycle, years_apart, metric, estimate, ci_*
    errors: pd.DataFrame  # policy, system, train_cycle, cycle, years, metric, estimate, ci_*
    decay: pd.DataFrame  # policy, system, metric, slope_pp_per_year, ci_*, cycles, first, last
    refits: pd.DataFrame  # policy, cycle, train_cycle, drift_psi
    generator: dict  # cycles.json of the data (the decay the generator built in), if any
    months: int


def cycle_folders(folder: str | Path) -> list[Path]:
    """The cycle registries of ``folder`` in order; a clear error when there are none."""
    found = sorted(p for p in Path(folder).glob("cycle_*") if p.is_dir())
    if not found:
        raise FileNotFoundError(
            f"{folder}: no cycle_* folders; write them with "
            f"`slrt-ml data synth --out {folder} --cycles 4`"
        )
    return found


def _months(folders: Sequence[Path]) -> int:
    meta = json.loads((folders[0] / "metadata.json").read_text(encoding="utf-8"))
    cycle = meta.get("cycle")
    if not cycle:
        raise ValueError(f"{folders[0]}/metadata.json has no 'cycle' block (months per cycle)")
    return int(cycle["months"])


def _prelist_features(folder: Path, areas, elderly_age: int) -> pd.DataFrame | None:
    try:
        households, members = load_prelist(folder)
    except FileNotFoundError:
        return None
    if not len(households):
        return None
    return household_features(households, members, areas, elderly_age=elderly_age)


def _drift(train: TargetingData, prelist: pd.DataFrame | None) -> float:
    """Mean PSI over features of a prelist against the training features."""
    if prelist is None:
        return float("nan")
    accumulator = DriftAccumulator(feature_profile(train.features))
    accumulator.add(prelist[train.features.columns])
    return float(accumulator.report()["psi"].mean())


def refit_schedule(n_cycles: int, refit_every: int, drifts: Callable[[int, int], float],
                   threshold: float) -> dict[str, list[tuple[int, float]]]:  # fmt: skip
    """Per policy, the training cycle used at each cycle (and the drift seen there).

    ``drifts(train_cycle, cycle)`` is the mean PSI of the prelist entering at ``cycle``
    against ``train_cycle``'s features.

    >>> refit_schedule(4, 2, lambda t, c: 0.3 if c == 3 else 0.0, 0.2)["drift"]
    [(0, nan), (0, 0.0), (0, 0.0), (3, 0.3)]
    >>> [t for t, _ in refit_schedule(4, 2, lambda t, c: 0.0, 0.2)["every_2"]]
    [0, 0, 2, 2]
    """
    never = [(0, float("nan"))] * n_cycles
    every = [(c - c % refit_every, float("nan")) for c in range(n_cycles)]
    drift, current = [(0, float("nan"))], 0
    for c in range(1, n_cycles):
        value = drifts(current, c)
        if value > threshold:
            current = c
        drift.append((current, value))
    return {"never": never, f"every_{refit_every}": every, "drift": drift}


def _fit_all(datas, models, config, progress) -> dict[tuple[str, int], object]:
    fitted = {}
    for t, data in enumerate(datas):
        for name in models:
            fitted[(name, t)] = fit_final(name, data, config)
            if progress:
                progress(f"fit {name} on cycle {t}")
    return fitted


def _system(name: str, t: int) -> str:
    return f"{name}@{t}"


def _compare_cycle(data, fitted, c, bootstrap, seed) -> Comparison:
    scores = {
        _system(name, t): model.poverty_score(data.features)
        for (name, t), model in fitted.items()
        if t <= c
    }
    frame = data.frame.assign(**scores)
    return compare(frame, list(scores), quota="siksng", bootstrap=bootstrap, seed=seed,
                   views=["population"], slices=[])  # fmt: skip


def _grid(comparisons, months) -> pd.DataFrame:
    rows = []
    for c, comparison in enumerate(comparisons):
        table = comparison.table[comparison.table["metric"].isin(ERROR_METRICS)]
        for row in table.itertuples(index=False):
            name, _, t = str(row.system).partition("@")
            train = int(t) if t else c
            rows.append({"model": name, "train_cycle": train, "test_cycle": c,
                         "years_apart": (c - train) * months / 12, "metric": row.metric,
                         "estimate": row.estimate, "ci_low": row.ci_low,
                         "ci_high": row.ci_high})  # fmt: skip
    return pd.DataFrame(rows)


def _policy_errors(schedule, grid, n_cycles, months) -> pd.DataFrame:
    """Per-cycle errors of every policy (+ SIKS-NG's published list) from the grid."""
    errors = []
    plans = {**schedule, "published": [(c, np.nan) for c in range(n_cycles)]}
    for policy, plan in plans.items():
        for c, (t, _) in enumerate(plan):
            pick = grid[(grid["test_cycle"] == c) & (grid["train_cycle"] == t)]
            pick = pick[(pick["model"] == "siksng") == (policy == "published")]
            errors.append(pick.assign(policy=policy, cycle=c, years=c * months / 12))
    error_frame = pd.concat(errors, ignore_index=True).rename(columns={"model": "system"})
    columns = ["policy", "system", "train_cycle", "cycle", "years", "metric", "estimate",
               "ci_low", "ci_high"]  # fmt: skip
    return error_frame[columns]


def _cycle_counts(comparisons, datas) -> list[dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Per cycle, per system: confusion counts on all households (4,) and in each paired
    leave-out (J x 4), every model's list re-selected under SIKS-NG's quota in each
    leave-out; leave-out ``j`` drops the same desa in every cycle."""
    groups = leave_out_groups(
        pd.concat([d.frame["cluster"].astype(str) for d in datas], ignore_index=True).unique()
    )
    out = []
    for comparison, data in zip(comparisons, datas, strict=True):
        systems = systems_from_selections(comparison.selections, data.frame, "household",
                                          "siksng")  # fmt: skip
        labels = np.sort(data.frame.set_index(data.frame["IDBDT"].astype("string"))
                         .reindex(systems.ids)["cluster"].astype("string").unique())  # fmt: skip
        full = replicate_confusion(systems, np.ones((1, len(labels)), np.int64))[0]
        leave_outs = replicate_confusion(systems, leave_out_draws(labels, groups))
        out.append({name: (full[s], leave_outs[:, s]) for s, name in enumerate(systems.scores)})
    return out


def _decay(schedule, counts, months) -> pd.DataFrame:
    """Decay per year of every policy's lists (+ SIKS-NG's), re-selected in each leave-out."""
    parts = []
    plans = {**schedule, "published": [(c, np.nan) for c in range(len(counts))]}
    for policy, plan in plans.items():
        items = []
        for c, (t, _) in enumerate(plan):
            names = ["siksng"] if policy == "published" else [
                n for n in counts[c] if n.endswith(f"@{t}")]  # fmt: skip
            for name in names:
                full, leave_outs = counts[c][name]
                items.append(CycleCounts(name.partition("@")[0], c, c * months / 12, full,
                                         leave_outs))  # fmt: skip
        table = decay_per_year(items, metrics=(*ERROR_METRICS, "mistargeting"))
        parts.append(table.assign(policy=policy))
    out = pd.concat(parts, ignore_index=True)
    return out[["policy", *[c for c in out.columns if c != "policy"]]]


def run_cycles(
    data_dir: str | Path,
    *,
    models: Sequence[str] = CYCLE_MODELS,
    config: Config | None = None,
    bootstrap: int = 200,
    seed: int = 0,
    refit_every: int = 2,
    drift_threshold: float = 0.1,
    progress: Callable[[str], None] | None = None,
) -> CycleResult:
    """Temporal validation over ``DATA/cycle_*`` (module doc); returns every table."""
    if refit_every < 1:
        raise ValueError(f"refit_every must be at least 1, got {refit_every}")
    config = (config or load_config()).with_models(list(models))
    folders = cycle_folders(data_dir)
    months = _months(folders)
    datas = [load_targeting_data(f, config) for f in folders]
    fitted = _fit_all(datas, config.models, config, progress)
    age = config.features.elderly_age
    areas = [d.extra.get("areas") for d in datas]
    prelists = [_prelist_features(f, a, age) for f, a in zip(folders, areas, strict=True)]
    schedule = refit_schedule(len(datas), refit_every,
                              lambda t, c: _drift(datas[t], prelists[c - 1]), drift_threshold)  # fmt: skip
    comparisons = []
    for c, data in enumerate(datas):
        comparisons.append(_compare_cycle(data, fitted, c, bootstrap, seed))
        if progress:
            progress(f"compared cycle {c}")
    grid = _grid(comparisons, months)
    errors = _policy_errors(schedule, grid, len(datas), months)
    refits = pd.DataFrame([
        {"policy": p, "cycle": c, "train_cycle": t, "drift_psi": d}
        for p, plan in schedule.items() for c, (t, d) in enumerate(plan)
    ])  # fmt: skip
    generator_file = Path(data_dir) / "cycles.json"
    generator = json.loads(generator_file.read_text("utf-8")) if generator_file.exists() else {}
    return CycleResult(grid[grid["model"] != "siksng"].reset_index(drop=True), errors,
                       _decay(schedule, _cycle_counts(comparisons, datas), months), refits,
                       generator, months)  # fmt: skip


def write_cycles(result: CycleResult, out: str | Path) -> dict[str, Path]:
    """``cycle_grid.csv``, ``cycle_errors.csv``, ``cycle_decay.csv``, ``cycle_refits.csv``
    and ``cycles.md`` / ``cycles.html`` (:mod:`slrt_ml.evaluation.report_cycles`)."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in ("grid", "errors", "decay", "refits"):
        paths[name] = write_table(getattr(result, name), folder / f"cycle_{name}.csv")
    for name, render in (("cycles.md", cycles_markdown), ("cycles.html", cycles_html)):
        with atomic_path(folder / name) as tmp:
            tmp.write_text(render(result.errors, result.decay, months=result.months), "utf-8")
        paths[name] = folder / name
    return paths
