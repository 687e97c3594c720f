"""Coverage of `compare --quota desil:K` intervals, in simulations with known truth.

The set-up of ``bench/interval_coverage.py`` (desa of 20-120 households, latent welfare =
desa effect + own part, target = latent below a fixed line, everything Gaussian), with
the desil rule: a household is eligible with probability 0.7, independently of welfare
(so the target is poor and eligible); the model lists the eligible households in desil
1..K of its own ranking of *every* household (:func:`slrt_ml.targeting.desil.select_by_desil`,
as ``compare`` does); the reference lists the eligible households whose noisy score passes
a fixed national cut (a published desil: its list is given). Super-population errors are
exact (bivariate normal probabilities). Each dataset gets the jackknife-t interval
``compare`` reports for selection metrics, two ways: *fixed* keeps the model's list as on
the full data in every leave-out; *re-selected* (what ``compare`` does) re-applies the
desil rule in each leave-out (:func:`slrt_ml.evaluation.reselection.rule_sums`).

    .venv/bin/python bench/desil_coverage.py                              # 500 datasets
    .venv/bin/python bench/desil_coverage.py --datasets 50 --desa 30 --no-record
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
from scipy.stats import multivariate_normal, norm

sys.path.insert(0, str(Path(__file__).parent))

from _results import machine, record  # noqa: E402
from interval_coverage import (  # noqa: E402
    LINE,
    QUANTITIES,
    REFERENCE_CUT,
    SIGMA_DESA,
    SIGMA_HOUSEHOLD,
    SIGMA_MODEL,
    SIGMA_REFERENCE,
    TARGET_SHARE,
    VAR_LATENT,
    _errors,
)

from slrt_ml.evaluation.bootstrap import (  # noqa: E402
    jackknife_draws,
    jackknife_t_interval,
    replicate_confusion,
)
from slrt_ml.evaluation.reselection import QuotaRule  # noqa: E402
from slrt_ml.evaluation.systems import Systems  # noqa: E402
from slrt_ml.targeting.desil import select_by_desil  # noqa: E402

HEADING = "## desil rule coverage"
ELIGIBLE = 0.7
REFERENCE_SHARE = 1 - norm.cdf(REFERENCE_CUT / np.sqrt(VAR_LATENT + SIGMA_REFERENCE**2))


def _poor_and_above(noise: float, share: float) -> float:
    """P(latent < LINE and score above the cut that passes ``share`` of households)."""
    var_score = VAR_LATENT + noise**2
    cut = np.sqrt(var_score) * norm.ppf(1 - share)
    cov = [[var_score, VAR_LATENT], [VAR_LATENT, VAR_LATENT]]  # (-score, latent)
    return float(multivariate_normal(mean=[0, 0], cov=cov).cdf([-cut, LINE]))


def truth(k: int) -> dict[str, float]:
    """Super-population EE and IE; eligibility is independent of welfare, so it cancels."""
    shares = {"reference": REFERENCE_SHARE, "model": k / 10}
    noise = {"reference": SIGMA_REFERENCE, "model": SIGMA_MODEL}
    out = {}
    for name, share in shares.items():
        both = _poor_and_above(noise[name], share)
        out[f"{name} EE"] = 1 - both / TARGET_SHARE
        out[f"{name} IE"] = 1 - both / share
    out["EE difference"] = out["model EE"] - out["reference EE"]
    out["IE difference"] = out["model IE"] - out["reference IE"]
    return out


def dataset(n_desa: int, k: int, rng: np.random.Generator) -> Systems:
    sizes = rng.integers(20, 121, n_desa)
    cluster = np.repeat(np.arange(n_desa), sizes)
    n = len(cluster)
    latent = rng.normal(0, SIGMA_DESA, n_desa)[cluster] + rng.normal(0, SIGMA_HOUSEHOLD, n)
    eligible = rng.random(n) < ELIGIBLE
    reference = -latent + rng.normal(0, SIGMA_REFERENCE, n)
    model = -latent + rng.normal(0, SIGMA_MODEL, n)
    return Systems(
        ids=np.arange(n), target=(latent < LINE) & eligible, eligible=eligible,
        weights=np.ones(n), welfare=np.full(n, np.nan), cluster=cluster,
        scores={"reference": reference, "model": model},
        selected={"reference": eligible & (reference > REFERENCE_CUT),
                  "model": select_by_desil(model, k, eligible=eligible)},
        tie=np.arange(n), reference="reference", rule=QuotaRule.from_desil(k, n),
        given=("reference",),
    )  # fmt: skip


def one_dataset(n_desa: int, k: int, seed: int) -> dict[str, np.ndarray]:
    data = dataset(n_desa, k, np.random.default_rng(seed))
    estimate = _errors(replicate_confusion(data, np.ones((1, n_desa), np.int64)))[0]
    out = {"estimate": estimate}
    for method, reselect in (("fixed", False), ("re-selected", True)):
        leave_outs = _errors(replicate_confusion(data, jackknife_draws(n_desa), reselect=reselect))
        out[method] = np.column_stack(jackknife_t_interval(leave_outs, estimate))
    return out


def coverage(n_desa: int, k: int, datasets: int) -> dict[str, dict[str, float]]:
    exact = np.array([truth(k)[q] for q in QUANTITIES])
    results = [one_dataset(n_desa, k, 7_000_000 + n_desa * 1_000 + i) for i in range(datasets)]
    out = {}
    for method in ("fixed", "re-selected"):
        bounds = np.stack([r[method] for r in results])
        covered = (bounds[..., 0] <= exact) & (exact <= bounds[..., 1])
        out[method] = dict(zip(QUANTITIES, covered.mean(axis=0), strict=True))
        out[f"{method} width"] = dict(
            zip(QUANTITIES, (bounds[..., 1] - bounds[..., 0]).mean(axis=0), strict=True)
        )
    sd = np.stack([r["estimate"] for r in results]).std(axis=0)
    out["sd"] = dict(zip(QUANTITIES, sd, strict=True))
    return out


def _section(rows: dict[tuple[int, int], dict], args: argparse.Namespace, seconds: float) -> str:
    ks = sorted({k for k, _ in rows})
    half = 1.96 * np.sqrt(0.95 * 0.05 / args.datasets)
    lines = [
        HEADING, "",
        f"Measured {date.today().isoformat()} on {machine()}.",
        f"Command: `nice .venv/bin/python bench/desil_coverage.py --datasets {args.datasets} "
        f"--desa {args.desa} --k {args.k}` ({seconds / 60:.1f} min, one process).", "",
        "Desil 1-K rule (model: own ranking of every household; reference: a fixed "
        "national cut, its list given); eligibility 0.7. Truth: "
        + "; ".join(f"K = {k}: " + ", ".join(f"{q} {truth(k)[q]:.4f}" for q in QUANTITIES)
                    for k in ks) + ". Coverage of 95% "
        "jackknife-t intervals; *fixed*: the model's list kept in every leave-out; "
        "*re-selected*: the desil rule re-applied in every leave-out (what `compare` does). "
        f"With {args.datasets} datasets a true 95% is estimated within about +-{half:.1%}.", "",
        "| K | desa | quantity | coverage fixed | coverage re-selected | width fixed "
        "| width re-selected | 3.92 x SD |",
        "|---:|---:|---|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for (k, n_desa), res in rows.items():
        for q in QUANTITIES:
            lines.append(
                f"| {k} | {n_desa} | {q} | {res['fixed'][q]:.1%} | {res['re-selected'][q]:.1%} | "
                f"{res['fixed width'][q]:.4f} | {res['re-selected width'][q]:.4f} | "
                f"{3.92 * res['sd'][q]:.4f} |"
            )
    return "\n".join([*lines, ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=500)
    parser.add_argument("--desa", default="30,280")
    parser.add_argument("--k", default="2,4", help="desil cut-offs, comma-separated")
    parser.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    args = parser.parse_args()
    start, rows = time.perf_counter(), {}
    for k in (int(x) for x in args.k.split(",")):
        for n_desa in (int(d) for d in args.desa.split(",")):
            res = rows[(k, n_desa)] = coverage(n_desa, k, args.datasets)
            print(k, n_desa, {q: round(v, 3) for q, v in res["re-selected"].items()}, flush=True)
    section = _section(rows, args, time.perf_counter() - start)
    print(section)
    if not args.no_record:
        record(HEADING, section)


if __name__ == "__main__":
    main()
