"""Benchmark `evaluation.compare`: 6 systems, 1,000 cluster-bootstrap replicates.

Builds a synthetic targeting frame (about 3,000 desa in 31x~10 kecamatan) in memory, times
`compare` on 100,000 and 1,000,000 households in a fresh subprocess each (so peak RSS is
per size) and appends the numbers to bench/RESULTS.md under `## compare`.

    .venv/bin/python bench/compare.py            # both sizes
    .venv/bin/python bench/compare.py --sizes 100000
    .venv/bin/python bench/compare.py --sizes 20000:280,100000:3000 --models 6   # the demo's size

A size may name its desa count (``n:desa``). The bootstrap re-applies every model's quota in
each replicate and gives the ranking metrics intervals; ``seconds (B=0)`` is the same
call without the bootstrap, so the difference is the bootstrap's cost. Times are recorded,
not asserted (the unit tests hold no timing).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).with_name("RESULTS.md")
SECTION = "## compare"
MODELS = ("pmt_ols", "logit", "gbm", "rf", "mlp", "ebm")  # the first --models of them


def targeting_frame(n: int, n_clusters: int = 3000, seed: int = 0) -> pd.DataFrame:
    """A targeting frame with a latent welfare, noisy model scores and a SIKS-NG list."""
    rng = np.random.default_rng(seed)
    desa = rng.integers(0, n_clusters, n)
    kec = desa // 100
    latent = rng.normal(size=n) + rng.normal(scale=0.5, size=n_clusters)[desa]
    welfare = np.exp(13 + 0.4 * latent)
    eligible = (rng.random(n) < 0.7).astype(np.int8)
    poor = (latent < np.quantile(latent, 0.2)).astype(np.int8)
    frame = pd.DataFrame(
        {
            "IDBDT": pd.array([f"73{i:012d}" for i in range(n)], dtype="string"),
            "cluster": pd.array(
                [f"7311{k:03d}{d:03d}" for k, d in zip(kec, desa, strict=True)], dtype="string"
            ),
            "KDKAB": "7311",
            "KDKEC": pd.array([f"7311{k:03d}" for k in kec], dtype="string"),
            "eligible": eligible,
            "target": (poor & eligible).astype(np.int8),
            "poor": poor,
            "welfare": welfare,
            "persons": rng.integers(1, 9, n),
            "urban": (rng.random(n) < 0.3).astype(np.int8),
            "female_head": (rng.random(n) < 0.15).astype(np.int8),
            "elderly_head": (rng.random(n) < 0.2).astype(np.int8),
            "disabled_member": (rng.random(n) < 0.05).astype(np.int8),
            "siksng_score": -latent + rng.normal(scale=1.2, size=n),
        }
    )
    cut = np.quantile(frame["siksng_score"], 0.85)
    frame["siksng_selected"] = (frame["siksng_score"] > cut).astype(np.int8)
    for noise, name in zip((0.6, 0.7, 0.8, 0.9, 1.0, 0.65), MODELS, strict=True):
        frame[name] = -latent + rng.normal(scale=noise, size=n)
    return frame


def run_one(n: int, replicates: int, n_clusters: int = 3000, n_models: int = 5) -> dict:
    from slrt_ml.evaluation.compare import compare

    frame, models = targeting_frame(n, n_clusters), list(MODELS[:n_models])
    compare(frame.head(2000), models, bootstrap=2, seed=0)  # imports (scikit-learn) first
    start = time.perf_counter()
    compare(frame, models, bootstrap=0, seed=0)
    seconds_point = time.perf_counter() - start
    start = time.perf_counter()
    comparison = compare(frame, models, bootstrap=replicates, seed=0)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    compare(frame, models, by="KDKEC", bootstrap=replicates, seed=0)
    seconds_by_area = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    siksng = comparison.estimate("siksng", "exclusion_error")
    return {
        "households": n,
        "clusters": int(frame["cluster"].nunique()),
        "systems": len(comparison.systems),
        "replicates": replicates,
        "seconds_point": round(seconds_point, 2),
        "seconds": round(seconds, 2),
        "seconds_by_kecamatan": round(seconds_by_area, 2),
        "peak_rss_mib": round(peak_mib),
        "siksng_exclusion_error": round(siksng, 3),
    }


def append_results(rows: list[dict]) -> None:
    lines = [
        f"\n### {date.today().isoformat()} — {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}\n",
        "`.venv/bin/python bench/compare.py` — `compare(frame, models, bootstrap=B)` "
        '(overall quota, then `by="KDKEC"`; B=0 for the point estimates alone), each size in '
        "a fresh process; the bootstrap re-applies the quota per replicate, load average "
        f"{os.getloadavg()[0]:.1f} at the end.\n",
        "| households | desa | systems | replicates | seconds (B=0) | seconds (overall) "
        "| seconds (by KDKEC) | peak RSS MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['households']:,} | {r['clusters']:,} | {r['systems']} | {r['replicates']:,} | "
        f"{r['seconds_point']} | {r['seconds']} | {r['seconds_by_kecamatan']} | {r['peak_rss_mib']:,} |"
        for r in rows
    ]
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmarks\n"
    block = "\n".join(lines) + "\n"
    if SECTION not in text:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n"
    head, _, tail = text.partition(SECTION)
    after = tail.find("\n## ")  # the next section (someone else's) stays where it is
    mine, rest = (tail, "") if after < 0 else (tail[:after], tail[after:])
    RESULTS.write_text(head + SECTION + mine.rstrip("\n") + "\n" + block + rest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--models", type=int, default=5, help="model score columns (max 6)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        n, desa = (int(v) for v in args.one.split(":"))
        print(json.dumps(run_one(n, args.replicates, desa, args.models)))
        return
    rows = []
    for size in args.sizes.split(","):
        n, _, desa = size.partition(":")
        one = f"{int(n)}:{int(desa or 3000)}"
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                one,
                "--replicates",
                str(args.replicates),
                "--models",
                str(args.models),
            ],  # fmt: skip
            check=True,
            capture_output=True,
            text=True,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(rows[-1])
    append_results(rows)


if __name__ == "__main__":
    main()
