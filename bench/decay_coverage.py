"""Coverage of the decay-per-year intervals (`slrt-ml cycles`), in simulations with known truth.

Each dataset draws desa (30 or 200) of 20-120 households followed over four update cycles,
six months apart. A household's latent welfare is a desa effect plus its own part; the
*target* is latent below a fixed line. At every cycle:

- the **reference** (SIKS-NG's role) lists households whose noisy score passes a fixed cut
  (its list is given; noise sd 1.5, so its errors do not trend: true slope 0);
- the **model** selects as many households as the reference listed (the ``"siksng"``
  quota) by a score whose noise grows as the data ages (sd 0.5 + 0.5 x years; a household
  keeps 70% of its noise from cycle to cycle), so its errors grow: the list goes stale.

Everything is Gaussian, so each cycle's super-population exclusion error, inclusion error
and mistargeting (share of households misclassified) are exact bivariate-normal
probabilities, and the true decay is the least-squares slope of those over the four
cycles. Each dataset's 95% interval for the slope is computed two ways, both with the
toolkit's own code (:mod:`slrt_ml.evaluation.decay`): *given lists*
(:func:`~slrt_ml.evaluation.decay.counts_from_selections`: lists held as selected in every
leave-out, the method before this benchmark) and *re-selected* (what ``slrt-ml cycles``
reports: :func:`~slrt_ml.evaluation.bootstrap.replicate_confusion` re-selects the model's
list under the quota inside every paired leave-out). Coverage is the share of datasets
whose interval holds the truth.

    .venv/bin/python bench/decay_coverage.py                        # 600 datasets
    .venv/bin/python bench/decay_coverage.py --datasets 20 --no-record
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import multivariate_normal, norm

sys.path.insert(0, str(Path(__file__).parent))

from _results import machine, record  # noqa: E402

from slrt_ml.evaluation.bootstrap import replicate_confusion  # noqa: E402
from slrt_ml.evaluation.decay import (  # noqa: E402
    CycleCounts,
    counts_from_selections,
    decay_per_year,
    leave_out_draws,
    leave_out_groups,
    slope,
)
from slrt_ml.evaluation.reselection import QuotaRule  # noqa: E402
from slrt_ml.evaluation.systems import Systems  # noqa: E402
from slrt_ml.targeting.selection import select_under_quota  # noqa: E402

HEADING = "## decay coverage"
YEARS = np.array([0.0, 0.5, 1.0, 1.5])
SIGMA_DESA, SIGMA_HOUSEHOLD = 1.0, 1.0
VAR_LATENT = SIGMA_DESA**2 + SIGMA_HOUSEHOLD**2
TARGET_SHARE, REFERENCE_SHARE = 0.20, 0.25
LINE = np.sqrt(VAR_LATENT) * norm.ppf(TARGET_SHARE)
SIGMA_REFERENCE = 1.5
REFERENCE_CUT = np.sqrt(VAR_LATENT + SIGMA_REFERENCE**2) * norm.ppf(1 - REFERENCE_SHARE)
MODEL_NOISE = 0.5 + 0.5 * YEARS  # the model's score noise grows as the data ages
PERSISTENCE = 0.7  # share of a household's score noise kept from one cycle to the next
METRICS = ("exclusion_error", "inclusion_error", "mistargeting")
SYSTEMS = ("reference", "model")
METHODS = ("given", "reselected")


def _cells(noise: float) -> tuple[float, float]:
    """P(target and selected), P(selected) when the top REFERENCE_SHARE by a score with
    ``noise`` are selected (the reference's fixed cut selects that share too)."""
    var_score = VAR_LATENT + noise**2
    cut = np.sqrt(var_score) * norm.ppf(1 - REFERENCE_SHARE)
    cov = [[var_score, VAR_LATENT], [VAR_LATENT, VAR_LATENT]]  # (-score, latent)
    return float(multivariate_normal(mean=[0, 0], cov=cov).cdf([-cut, LINE])), REFERENCE_SHARE


def truth() -> dict[tuple[str, str], float]:
    """(system, metric) -> true slope in percentage points a year."""
    out = {}
    for system in SYSTEMS:
        noises = [SIGMA_REFERENCE] * len(YEARS) if system == "reference" else MODEL_NOISE
        values = {m: [] for m in METRICS}
        for noise in noises:
            both, chosen = _cells(noise)
            values["exclusion_error"].append(1 - both / TARGET_SHARE)
            values["inclusion_error"].append(1 - both / chosen)
            values["mistargeting"].append((TARGET_SHARE - both) + (chosen - both))
        for metric in METRICS:
            out[(system, metric)] = float(slope(YEARS, np.array(values[metric]))) * 100
    return out


def _systems(latent, noise, rng, cluster) -> Systems:
    n = len(latent)
    reference = -latent + rng.normal(0, SIGMA_REFERENCE, n)
    model = -latent + noise
    listed = reference > REFERENCE_CUT
    return Systems(
        ids=np.arange(n), target=latent < LINE, eligible=np.ones(n, bool), weights=np.ones(n),
        welfare=np.full(n, np.nan), cluster=cluster,
        scores={"reference": reference, "model": model},
        selected={"reference": listed, "model": select_under_quota(model, int(listed.sum()))},
        tie=np.arange(n), reference="reference", rule=QuotaRule.from_reference(listed),
        given=("reference",),
    )  # fmt: skip


def one_dataset(job: tuple[int, int]) -> dict[str, np.ndarray]:
    """(methods) -> (systems x metrics x 2) interval bounds, and the estimates."""
    n_desa, seed = job
    rng = np.random.default_rng(seed)
    sizes = rng.integers(20, 121, n_desa)
    cluster = np.repeat(np.arange(n_desa), sizes)
    n = len(cluster)
    latent = rng.normal(0, SIGMA_DESA, n_desa)[cluster] + rng.normal(0, SIGMA_HOUSEHOLD, n)
    labels = [f"d{k:04d}" for k in range(n_desa)]
    groups = leave_out_groups(labels)
    draws = leave_out_draws(labels, groups)
    own = rng.normal(0, 1, n)
    counts, frames = [], []
    for c, years in enumerate(YEARS):
        fresh = PERSISTENCE * own + np.sqrt(1 - PERSISTENCE**2) * rng.normal(0, 1, n)
        data = _systems(latent, MODEL_NOISE[c] * fresh, rng, cluster)
        full = replicate_confusion(data, np.ones((1, n_desa), np.int64))[0]
        leave_outs = replicate_confusion(data, draws)
        for s, name in enumerate(SYSTEMS):
            counts.append(CycleCounts(name, c, float(years), full[s], leave_outs[:, s]))
            frames.append(pd.DataFrame({
                "system": name, "cycle": c, "years": float(years),
                "cluster": np.array(labels)[cluster], "target": data.target,
                "selected": data.selected[name]}))  # fmt: skip
    tables = {
        "given": decay_per_year(counts_from_selections(pd.concat(frames)), metrics=METRICS),
        "reselected": decay_per_year(counts, metrics=METRICS),
    }
    out = {}
    for method, table in tables.items():
        table = table.set_index(["system", "metric"])
        out[method] = np.array([[[table.loc[(s, m), "ci_low"], table.loc[(s, m), "ci_high"]]
                                 for m in METRICS] for s in SYSTEMS])  # fmt: skip
        out["estimate"] = np.array([[table.loc[(s, m), "slope_pp_per_year"] for m in METRICS]
                                    for s in SYSTEMS])  # fmt: skip
    return out


def coverage(n_desa: int, datasets: int, seed: int, processes: int) -> dict[str, np.ndarray]:
    exact = np.array([[truth()[(s, m)] for m in METRICS] for s in SYSTEMS])
    jobs = [(n_desa, seed * 100_000 + n_desa * 1_000 + i) for i in range(datasets)]
    results, start = [], time.perf_counter()
    with Pool(processes) as pool:
        for i, result in enumerate(pool.imap_unordered(one_dataset, jobs, chunksize=2), 1):
            results.append(result)
            if i % max(1, datasets // 5) == 0:
                print(f"  {n_desa} desa: {i}/{datasets}, {time.perf_counter() - start:.0f} s",
                      flush=True)  # fmt: skip
    out = {}
    for method in METHODS:
        bounds = np.stack([r[method] for r in results])
        out[method] = ((bounds[..., 0] <= exact) & (exact <= bounds[..., 1])).mean(axis=0)
        out[method + " width"] = (bounds[..., 1] - bounds[..., 0]).mean(axis=0)
    out["sd"] = np.stack([r["estimate"] for r in results]).std(axis=0)
    return out


def _section(rows: dict[int, dict], args: argparse.Namespace, seconds: float) -> str:
    exact = truth()
    lines = [
        HEADING, "",
        f"Measured {date.today().isoformat()} on {machine()}.",
        f"Command: `python bench/decay_coverage.py --datasets {args.datasets} --desa "
        f"{args.desa}` ({seconds / 60:.1f} min, {args.processes} processes).", "",
        "Four cycles six months apart; the reference's list is given (true slope 0), the "
        "model selects as many households as the reference by a score that ages (true "
        "slopes: " + ", ".join(f"{m} {exact[('model', m)]:+.2f}" for m in METRICS)
        + " pp a year). Coverage of the 95% interval for the slope (share of datasets whose "
        "interval holds the true slope); *given*: lists held as selected in every paired "
        "leave-one-desa-out replicate; *re-selected* (what `slrt-ml cycles` reports): the "
        "model's list re-selected under the quota in every leave-out. Width in pp a year; "
        "3.92 x SD: the width a normal interval with the simulation's own SD would have.", "",
        "| desa | system | metric | coverage given | coverage re-selected | width given "
        "| width re-selected | 3.92 x SD |",
        "|---:|---|---|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for n_desa, res in rows.items():
        for i, system in enumerate(SYSTEMS):
            for j, metric in enumerate(METRICS):
                lines.append(
                    f"| {n_desa} | {system} | {metric} | {res['given'][i, j]:.1%} | "
                    f"{res['reselected'][i, j]:.1%} | {res['given width'][i, j]:.2f} | "
                    f"{res['reselected width'][i, j]:.2f} | {3.92 * res['sd'][i, j]:.2f} |"
                )
    half = 1.96 * np.sqrt(0.95 * 0.05 / args.datasets)
    lines += ["", f"With {args.datasets} datasets a true 95% coverage is estimated within "
              f"about +-{half:.1%} (95% Monte Carlo band).", ""]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=600)
    parser.add_argument("--desa", default="30,200")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    args = parser.parse_args()
    start, rows = time.perf_counter(), {}
    for n_desa in (int(k) for k in args.desa.split(",")):
        rows[n_desa] = coverage(n_desa, args.datasets, 0, args.processes)
    section = _section(rows, args, time.perf_counter() - start)
    print(section)
    if not args.no_record:
        record(HEADING, section)


if __name__ == "__main__":
    main()
