"""Benchmark of the training stages: household features, then model fit and predict.

    .venv/bin/python bench/train.py                          # 200,000 households
    .venv/bin/python bench/train.py --households 50000 --models pmt_ols --no-record

Features: ``household_features`` on a synthetic registry (members aggregated, PKH
components, housing, area), best of ``--repeat`` runs, wall and CPU time (CPU time is the
honest figure when other jobs share the two cores). Models: each of ``--models`` is fitted
on the first ``--fit-rows`` households (label: ``poor``) and predicts every household.
Results replace the ``## train`` section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date

from _results import machine, record  # bench/ is on sys.path when run as a script

SECTION = "## train"


def timed(function, *args, **kwargs) -> tuple[object, float, float]:
    """(result, wall seconds, CPU seconds of this process, all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def bench_features(registry: dict, repeat: int) -> tuple[object, dict]:
    from slrt_ml.features import household_features

    households, members, areas = registry["households"], registry["members"], registry["areas"]
    runs = [timed(household_features, households, members, areas) for _ in range(repeat)]
    features = runs[0][0]
    wall = min(r[1] for r in runs)
    cpu = min(r[2] for r in runs)
    return features, {
        "households": len(households),
        "members": len(members),
        "features": features.shape[1],
        "wall_s": wall,
        "cpu_s": cpu,
    }


def bench_model(name: str, features, poor, fit_rows: int) -> dict:
    from slrt_ml.models import make_model

    model = make_model(name)
    _, fit_wall, _ = timed(model.fit, features.iloc[:fit_rows], poor[:fit_rows])
    _, predict_wall, _ = timed(model.poverty_score, features)
    return {
        "model": name,
        "fit_rows": fit_rows,
        "fit_s": fit_wall,
        "predict_rows": len(features),
        "predict_s": predict_wall,
    }




def as_markdown(feature_row: dict, model_rows: list[dict], command: str, header: str) -> str:
    f = feature_row
    lines = [
        SECTION,
        "",
        f"Measured {date.today().isoformat()} on {header}. Command: `{command}`.",
        "CPU s is this process's CPU time (all threads): with other jobs on the two cores",
        "wall time is inflated (see the load average), CPU time is not. Best of the repeats.",
        "",
        "| stage | households | members | columns | wall s | households/s (wall) | CPU s | households/s (CPU) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| household_features | {f['households']:,} | {f['members']:,} | {f['features']} | "
        f"{f['wall_s']:.2f} | {f['households'] / f['wall_s']:,.0f} | {f['cpu_s']:.2f} | "
        f"{f['households'] / f['cpu_s']:,.0f} |",
    ]
    if model_rows:
        lines += [
            "",
            "| model | fit rows | fit s | fit rows/s | predict rows | predict s | predict rows/s |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in model_rows:
            lines.append(
                f"| {r['model']} | {r['fit_rows']:,} | {r['fit_s']:.2f} | "
                f"{r['fit_rows'] / r['fit_s']:,.0f} | {r['predict_rows']:,} | "
                f"{r['predict_s']:.2f} | {r['predict_rows'] / r['predict_s']:,.0f} |"
            )
    return "\n".join(lines) + "\n"




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--models", default="pmt_ols,logit,gbm", help="comma list; '' for none")
    parser.add_argument("--fit-rows", type=int, default=50_000)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    header = machine()

    from slrt_ml.synth import make_registry

    registry, synth_wall, _ = timed(make_registry, args.households, 0)
    print(f"synthetic registry of {args.households:,} households in {synth_wall:.1f} s", flush=True)
    features, feature_row = bench_features(registry, args.repeat)
    print(feature_row, flush=True)
    poor = registry["truth"].set_index("IDBDT")["poor"].reindex(features.index).to_numpy()
    model_rows = []
    for name in filter(None, args.models.split(",")):
        model_rows.append(bench_model(name, features, poor, min(args.fit_rows, len(features))))
        print(model_rows[-1], flush=True)
    command = " ".join(["python bench/train.py", *sys.argv[1:]])
    section = as_markdown(feature_row, model_rows, command, header)
    print(section)
    if not args.no_record:
        record(SECTION, section)


if __name__ == "__main__":
    main()
