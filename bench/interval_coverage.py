"""Coverage of the paired desa bootstrap's 95% intervals, in simulations with known truth.

Each dataset draws desa (30 or 280) of 20-120 households; a household's latent welfare is
a desa effect plus its own part; the *target* is latent below a fixed line. A reference
list (SIKS-NG's role) takes households whose noisy score passes a fixed cut (so its count
varies with the sample), and a model selects as many households as the reference did
(the ``"siksng"`` quota) by a less noisy score. Everything is Gaussian, so the
super-population exclusion and inclusion errors of both systems, and their differences,
are known exactly (bivariate normal probabilities; :func:`truth`).

Each dataset gets B bootstrap replicates from one draw of desa, measured three ways: the
*old* method keeps both lists fixed; *reselected* re-applies the quota inside each
replicate (:func:`slrt_ml.evaluation.bootstrap.replicate_confusion`); *new* (what
``compare`` reports for selection metrics) is the jackknife-t interval over leave-one-desa-out
replicates, each re-selected under the quota
(:func:`slrt_ml.evaluation.bootstrap.jackknife_t_interval`). Coverage is the share of
datasets whose 95% interval holds the truth.

    .venv/bin/python bench/interval_coverage.py                          # 200 datasets x B=1000
    .venv/bin/python bench/interval_coverage.py --datasets 20 --replicates 200 --no-record
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import date
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from scipy.stats import multivariate_normal, norm

sys.path.insert(0, str(Path(__file__).parent))

from _results import machine, record  # noqa: E402

from slrt_ml.evaluation.bootstrap import (  # noqa: E402
    cluster_multiplicities,
    jackknife_draws,
    jackknife_t_interval,
    percentile_interval,
    replicate_confusion,
)
from slrt_ml.evaluation.metrics import SELECTION_METRICS  # noqa: E402
from slrt_ml.evaluation.reselection import QuotaRule  # noqa: E402
from slrt_ml.evaluation.systems import Systems  # noqa: E402
from slrt_ml.targeting.selection import select_under_quota  # noqa: E402

HEADING = "## coverage"
SIGMA_DESA, SIGMA_HOUSEHOLD = 1.0, 1.0  # latent welfare = desa effect + own part
SIGMA_REFERENCE, SIGMA_MODEL = 1.5, 0.5  # score noise (score = -latent + noise)
TARGET_SHARE, REFERENCE_SHARE = 0.20, 0.25  # in the super-population
VAR_LATENT = SIGMA_DESA**2 + SIGMA_HOUSEHOLD**2
LINE = np.sqrt(VAR_LATENT) * norm.ppf(TARGET_SHARE)  # target: latent < LINE
REFERENCE_CUT = np.sqrt(VAR_LATENT + SIGMA_REFERENCE**2) * norm.ppf(1 - REFERENCE_SHARE)
METHODS = ("old", "reselected", "new")
QUANTITIES = (
    "reference EE", "model EE", "EE difference", "reference IE", "model IE", "IE difference",
)  # fmt: skip


def _target_and_selected(noise: float) -> float:
    """P(target and score above the cut that selects REFERENCE_SHARE) for score noise ``noise``."""
    var_score = VAR_LATENT + noise**2
    cut = np.sqrt(var_score) * norm.ppf(1 - REFERENCE_SHARE)
    # -score = latent - noise: cov(-score, latent) = VAR_LATENT
    cov = [[var_score, VAR_LATENT], [VAR_LATENT, VAR_LATENT]]
    return float(multivariate_normal(mean=[0, 0], cov=cov).cdf([-cut, LINE]))


def truth() -> dict[str, float]:
    """Super-population errors at the rule's quota: the model selects the reference's share.

    EE = 1 - P(target, selected) / P(target); IE = 1 - P(target, selected) / P(selected).
    """
    both = {name: _target_and_selected(s) for name, s in
            (("reference", SIGMA_REFERENCE), ("model", SIGMA_MODEL))}  # fmt: skip
    out = {}
    for name, p in both.items():
        out[f"{name} EE"] = 1 - p / TARGET_SHARE
        out[f"{name} IE"] = 1 - p / REFERENCE_SHARE
    out["EE difference"] = out["model EE"] - out["reference EE"]
    out["IE difference"] = out["model IE"] - out["reference IE"]
    return out


def dataset(n_desa: int, rng: np.random.Generator) -> Systems:
    """One sample of ``n_desa`` desa with the reference's list and the model's list."""
    sizes = rng.integers(20, 121, n_desa)
    cluster = np.repeat(np.arange(n_desa), sizes)
    n = len(cluster)
    latent = rng.normal(0, SIGMA_DESA, n_desa)[cluster] + rng.normal(0, SIGMA_HOUSEHOLD, n)
    reference = -latent + rng.normal(0, SIGMA_REFERENCE, n)
    model = -latent + rng.normal(0, SIGMA_MODEL, n)
    listed = reference > REFERENCE_CUT
    return Systems(
        ids=np.arange(n),
        target=latent < LINE,
        eligible=np.ones(n, bool),
        weights=np.ones(n),
        welfare=np.full(n, np.nan),
        cluster=cluster,
        scores={"reference": reference, "model": model},
        selected={"reference": listed, "model": select_under_quota(model, int(listed.sum()))},
        tie=np.arange(n),
        reference="reference",
        rule=QuotaRule.from_reference(listed),
        given=("reference",),
    )


def _errors(counts: np.ndarray) -> np.ndarray:
    """(..., systems, 4) counts -> (..., 6) in QUANTITIES order."""
    ee = SELECTION_METRICS["exclusion_error"](*np.moveaxis(counts, -1, 0))
    ie = SELECTION_METRICS["inclusion_error"](*np.moveaxis(counts, -1, 0))
    return np.stack(
        [ee[..., 0], ee[..., 1], ee[..., 1] - ee[..., 0],
         ie[..., 0], ie[..., 1], ie[..., 1] - ie[..., 0]], axis=-1,
    )  # fmt: skip


@dataclass(frozen=True)
class Job:
    n_desa: int
    replicates: int
    seed: int


def one_dataset(job: Job) -> dict[str, np.ndarray]:
    """Intervals of one dataset: ``{"old"|"new": (6 x 2) low/high}`` and the estimates."""
    rng = np.random.default_rng(job.seed)
    data = dataset(job.n_desa, rng)
    draws = cluster_multiplicities(job.n_desa, job.replicates, rng)
    estimate = _errors(replicate_confusion(data, np.ones((1, job.n_desa), np.int64)))[0]
    out = {"estimate": estimate}
    for method, reselect in (("old", False), ("reselected", True)):
        low, high = percentile_interval(
            _errors(replicate_confusion(data, draws, reselect=reselect))
        )
        out[method] = np.column_stack([low, high])
    leave_outs = _errors(replicate_confusion(data, jackknife_draws(job.n_desa)))
    out["new"] = np.column_stack(jackknife_t_interval(leave_outs, estimate))
    return out


def coverage(
    n_desa: int, datasets: int, replicates: int, seed: int = 0, processes: int = 2
) -> dict[str, dict[str, float]]:
    """Share of datasets whose interval holds the truth, and mean interval widths."""
    jobs = [Job(n_desa, replicates, seed * 100_000 + n_desa * 1_000 + i) for i in range(datasets)]
    exact = np.array([truth()[q] for q in QUANTITIES])
    results, start = [], time.perf_counter()
    pool = Pool(processes) if processes > 1 else None
    mapped = pool.imap_unordered(one_dataset, jobs, chunksize=2) if pool else map(one_dataset, jobs)
    for i, result in enumerate(mapped, 1):
        results.append(result)
        if i % max(1, datasets // 10) == 0 or i == datasets:
            print(f"  {n_desa} desa: {i}/{datasets} datasets, "
                  f"{time.perf_counter() - start:.0f} s", flush=True)  # fmt: skip
    if pool:
        pool.close()
    out = {}
    for method in METHODS:
        bounds = np.stack([r[method] for r in results])  # (datasets, 6, 2)
        covered = (bounds[..., 0] <= exact) & (exact <= bounds[..., 1])
        out[method] = dict(zip(QUANTITIES, covered.mean(axis=0), strict=True))
        out[method + " width"] = dict(
            zip(QUANTITIES, (bounds[..., 1] - bounds[..., 0]).mean(axis=0), strict=True)
        )
    estimates = np.stack([r["estimate"] for r in results])
    out["sd of estimate"] = dict(zip(QUANTITIES, estimates.std(axis=0), strict=True))
    out["mean estimate"] = dict(zip(QUANTITIES, estimates.mean(axis=0), strict=True))
    return out


def _section(rows: dict[int, dict], args: argparse.Namespace, seconds: float) -> str:
    exact = truth()
    lines = [
        HEADING, "",
        f"Measured {date.today().isoformat()} on {machine()}.",
        f"Command: `python bench/interval_coverage.py --datasets {args.datasets} --replicates "
        f"{args.replicates} --desa {args.desa}` ({seconds / 60:.1f} min, 2 processes).", "",
        "Truth (exact, bivariate normal): "
        + ", ".join(f"{q} {exact[q]:.4f}" for q in QUANTITIES) + ".",
        "Coverage of 95% intervals (share of datasets whose interval holds the truth); "
        "*old*: percentile, lists fixed in the bootstrap; *reselected*: percentile, the "
        "quota (the reference's count in the replicate) re-applied and the model's list "
        "re-selected; *new* (what `compare` reports for selection metrics): jackknife-t, "
        "estimate -+ t(K-1) x the leave-one-desa-out jackknife SE, each leave-out re-selected "
        "under the quota. Width: mean interval width; 3.92 x SD: the "
        "width a normal interval with the simulation's own standard deviation of the "
        "estimate would have.", "",
        "| desa | quantity | coverage old | coverage reselected | coverage new | width old "
        "| width new | 3.92 x SD |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for n_desa, res in rows.items():
        for q in QUANTITIES:
            lines.append(
                f"| {n_desa} | {q} | {res['old'][q]:.1%} | {res['reselected'][q]:.1%} | "
                f"{res['new'][q]:.1%} | "
                f"{res['old width'][q]:.4f} | {res['new width'][q]:.4f} | "
                f"{3.92 * res['sd of estimate'][q]:.4f} |"
            )
    n = args.datasets
    half = 1.96 * np.sqrt(0.95 * 0.05 / n)
    lines += [
        "",
        f"With {n} datasets a true 95% coverage is estimated within about +-{half:.1%} "
        "(95% Monte Carlo band).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=500)
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--desa", default="30,280")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    args = parser.parse_args()
    start, rows = time.perf_counter(), {}
    for n_desa in (int(k) for k in args.desa.split(",")):
        rows[n_desa] = coverage(n_desa, args.datasets, args.replicates, processes=args.processes)
        for method in METHODS:
            print(n_desa, method, {q: round(v, 3) for q, v in rows[n_desa][method].items()})
    section = _section(rows, args, time.perf_counter() - start)
    print(section)
    if not args.no_record:
        record(HEADING, section)


if __name__ == "__main__":
    main()
