"""Benchmark of the training stages: household features, model fit and predict, `slrt-ml train`.

    .venv/bin/python bench/train.py --work /tmp/bench_train          # 200k and 1M, all models
    .venv/bin/python bench/train.py --households 50000 --models pmt_ols --no-cli --no-record

Registries are synthetic (``slrt_ml.data.synth.generator.generate_registry``, seed 0) written once into
``--work`` and read back on later runs. Each size runs in a fresh process that reads the
registry, then measures

- **features**: ``household_features`` (members aggregated, PKH components, housing,
  area), best of ``--repeat`` runs, wall and CPU time;
- **models**: each of ``--models`` fitted on the first ``--fit-rows`` households (label
  ``poor``) and predicting every household, through the toolkit (``fit`` /
  ``poverty_score``: encoder + estimator) and through the bare library estimator on the
  matrix the fitted encoder built (``encoder_.transform``, prepared outside the timer), so
  toolkit / raw is the toolkit's overhead;
- **peak RSS** of each stage: ``VmHWM`` of that process, reset before the stage through
  ``/proc/self/clear_refs`` (so it is the process's peak during the stage, baseline included).

Then ``slrt-ml train --data <20k synthetic, seed 2024> --out RUN --no-track`` with the
default config, end to end in a subprocess, with the per-model times its progress prints.
Results replace the ``## train`` section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from _results import machine, record  # bench/ is on sys.path when run as a script

SECTION = "## train"
ROOT = Path(__file__).resolve().parents[1]
ALL_MODELS = "pmt_ols,logit,gbm,rf,ebm,mlp"
#: the estimator each toolkit model wraps (the MLP's Keras network is handled apart)
ESTIMATOR = {"pmt_ols": "regression_", "logit": "logistic_", "gbm": "booster_",
             "rf": "forest_", "ebm": "ebm_"}  # fmt: skip


# -- measuring -------------------------------------------------------------------------------


def timed(function, *args, **kwargs) -> tuple[object, float, float]:
    """(result, wall seconds, CPU seconds of this process, all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def reset_peak() -> None:
    """Start a new peak-RSS window (Linux: writing 5 to clear_refs resets VmHWM)."""
    Path("/proc/self/clear_refs").write_text("5")


def peak_mib() -> int:
    """This process's peak resident memory since the last :func:`reset_peak`, MiB."""
    status = Path("/proc/self/status").read_text()
    return round(int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024)


def load() -> float:
    return os.getloadavg()[0]


# -- child: one registry size ----------------------------------------------------------------


def read_registry(folder: Path) -> dict:
    from slrt_ml.data.io import read_table

    return {name: read_table(folder / f"{name}.parquet", name)
            for name in ("households", "members", "areas", "truth")}  # fmt: skip


def bench_features(registry: dict, repeat: int) -> tuple[object, dict]:
    from slrt_ml.features.households import household_features

    households, members, areas = registry["households"], registry["members"], registry["areas"]
    reset_peak()
    runs = [timed(household_features, households, members, areas) for _ in range(repeat)]
    features = runs[0][0]
    return features, {
        "households": len(households),
        "members": len(members),
        "features": features.shape[1],
        "wall_s": min(r[1] for r in runs),
        "cpu_s": min(r[2] for r in runs),
        "peak_mib": peak_mib(),
    }


def raw_fit_predict(model, fit_matrix, poor, all_matrix) -> tuple[float, float]:
    """Wall seconds of the bare library estimator's fit and predict on prebuilt matrices."""
    if model.name == "mlp":
        return raw_keras(model, fit_matrix, poor, all_matrix)
    from sklearn.base import clone

    estimator = clone(getattr(model, ESTIMATOR[model.name]))
    if model.name == "rf":
        estimator.set_params(n_jobs=model.n_jobs)  # the toolkit sets 1 after fitting
    _, fit_s, _ = timed(estimator.fit, fit_matrix, poor)
    if model.name == "pmt_ols":
        _, predict_s, _ = timed(estimator.predict, all_matrix)
    elif model.name == "gbm":
        _, predict_s, _ = timed(estimator.predict, all_matrix, output_margin=True)
    else:
        _, predict_s, _ = timed(estimator.decision_function if model.name != "rf"
                                else estimator.predict_proba, all_matrix)  # fmt: skip
    return fit_s, predict_s


def raw_keras(model, fit_inputs, poor, all_inputs) -> tuple[float, float]:
    """Keras alone: a fresh copy of the network, ``fit`` for the epochs early stopping chose."""
    import keras
    import numpy as np

    network = keras.models.clone_model(model.network_)
    network.compile(optimizer=keras.optimizers.Adam(model.learning_rate),
                    loss=keras.losses.BinaryCrossentropy(from_logits=True))  # fmt: skip
    _, fit_s, _ = timed(network.fit, fit_inputs, poor.astype(np.float32),
                        epochs=model.n_epochs_, batch_size=model.batch_size, verbose=0)  # fmt: skip
    _, predict_s, _ = timed(network.predict, all_inputs, batch_size=8192, verbose=0)
    return fit_s, predict_s


def keras_inputs(model, encoded) -> dict:
    import numpy as np

    inputs = {"numeric": encoded[model.encoder_.numeric_columns_].to_numpy(np.float32)}
    for i, column in enumerate(model.encoder_.categorical_columns_):
        inputs[f"cat_{i}"] = encoded[[column]].to_numpy().astype(np.int32)
    return inputs


def raw_matrices(model, features, fit_rows: int):
    """The fitted encoder's matrix for the fit rows and for all rows, as the library takes it."""
    import numpy as np

    encoded = model.encoder_.transform(features)
    if model.name == "mlp":
        return keras_inputs(model, encoded.iloc[:fit_rows]), keras_inputs(model, encoded)
    matrix = encoded.to_numpy(np.float64 if model.name == "pmt_ols" else None)
    return matrix[:fit_rows], matrix


def bench_model(name: str, features, poor, fit_rows: int) -> dict:
    from slrt_ml.models import make_model

    model = make_model(name, {"random_state": 0})
    reset_peak()
    _, fit_s, fit_cpu = timed(model.fit, features.iloc[:fit_rows], poor[:fit_rows])
    _, predict_s, _ = timed(model.poverty_score, features)
    toolkit_peak = peak_mib()
    (fit_matrix, all_matrix), encode_s, _ = timed(raw_matrices, model, features, fit_rows)
    reset_peak()
    raw_fit_s, raw_predict_s = raw_fit_predict(model, fit_matrix, poor[:fit_rows], all_matrix)
    return {
        "model": name, "fit_rows": fit_rows, "fit_s": fit_s, "fit_cpu_s": fit_cpu,
        "predict_rows": len(features), "predict_s": predict_s, "raw_fit_s": raw_fit_s,
        "raw_predict_s": raw_predict_s, "peak_mib": toolkit_peak, "raw_peak_mib": peak_mib(),
        "epochs": getattr(model, "n_epochs_", None), "encode_s": encode_s,
    }  # fmt: skip


def child(folder: Path, repeat: int, models: list[str], fit_rows: int) -> dict:
    reset_peak()
    registry, read_s, _ = timed(read_registry, folder)
    result = {"read_s": read_s, "read_peak_mib": peak_mib(), "load_start": load()}
    features, result["features"] = bench_features(registry, repeat)
    print(json.dumps(result["features"]), file=sys.stderr, flush=True)
    poor = registry["truth"].set_index("IDBDT")["poor"].reindex(features.index).to_numpy()
    del registry
    result["models"] = []
    for name in models:
        result["models"].append(bench_model(name, features, poor, min(fit_rows, len(features))))
        print(json.dumps(result["models"][-1]), file=sys.stderr, flush=True)
    result["load_end"] = load()
    return result


# -- parent: registries, one child per size, the CLI -----------------------------------------


def registry_folder(work: Path, households: int, seed: int) -> Path:
    """A synthetic registry folder in ``work``, generated on first use."""
    from slrt_ml.data.synth.generator import generate_registry

    folder = work / f"registry_{households}_seed{seed}"
    if not (folder / "metadata.json").is_file():
        print(f"generating {households:,} households (seed {seed}) in {folder}", flush=True)
        generate_registry(folder, households, seed)
    return folder


def run_size(folder: Path, args) -> dict:
    command = [sys.executable, __file__, "--child", str(folder), "--repeat", str(args.repeat),
               "--models", args.models, "--fit-rows", str(args.fit_rows)]  # fmt: skip
    load_before = load()
    out = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["load_before"], result["load_after"] = load_before, load()
    return result


def run_cli(folder: Path, work: Path) -> dict:
    """`slrt-ml train` end to end (default config, no MLflow); per-model times from its progress."""
    run = work / "run_train"
    command = [str(Path(sys.executable).with_name("slrt-ml")), "train", "--data", str(folder),
               "--out", str(run), "--no-track"]  # fmt: skip
    load_before = load()
    out, wall, _ = timed(subprocess.run, command, capture_output=True, text=True, check=True,
                         env={**os.environ, "COLUMNS": "200"})  # fmt: skip
    per_model = {m[1]: m[2] for m in re.finditer(
        r"^\s*(\w+)\s+folds \+ final fit.*?(\d+:\d\d:\d\d)\s*$", out.stdout, re.M)}  # fmt: skip
    return {"wall_s": wall, "per_model": per_model, "load_before": load_before,
            "load_after": load(), "households": int(folder.name.split("_")[1])}  # fmt: skip


# -- report ----------------------------------------------------------------------------------


def size_table(result: dict) -> list[str]:
    f = result["features"]
    lines = [
        f"**{f['households']:,} households** ({f['members']:,} members; reading the "
        f"registry {result['read_s']:.1f} s, peak {result['read_peak_mib']:,} MiB; load "
        f"{result['load_before']:.2f} before → {result['load_after']:.2f} after)",
        "",
        "| stage | rows | wall s | rows/s (wall) | CPU s | rows/s (CPU) | peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| household_features ({f['features']} columns) | {f['households']:,} | "
        f"{f['wall_s']:.2f} | {f['households'] / f['wall_s']:,.0f} | {f['cpu_s']:.2f} | "
        f"{f['households'] / f['cpu_s']:,.0f} | {f['peak_mib']:,} |",
    ]
    if result["models"]:
        lines += ["", "| model | fit rows | fit s (toolkit) | fit s (raw) | fit ratio | "
                  "predict rows | predict s (toolkit) | predict s (raw) | predict ratio | "
                  "encode s | peak RSS MiB (toolkit / raw) |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]  # fmt: skip
        lines += [model_row(r) for r in result["models"]]
    return lines


def model_row(r: dict) -> str:
    epochs = f" ({r['epochs']} epochs)" if r["epochs"] else ""
    return (
        f"| {r['model']}{epochs} | {r['fit_rows']:,} | {r['fit_s']:.2f} | {r['raw_fit_s']:.3f} "
        f"| {r['fit_s'] / r['raw_fit_s']:.2f} | {r['predict_rows']:,} | {r['predict_s']:.2f} "
        f"| {r['raw_predict_s']:.3f} | {r['predict_s'] / r['raw_predict_s']:.2f} "
        f"| {r['encode_s']:.2f} | {r['peak_mib']:,} / {r['raw_peak_mib']:,} |"
    )


def cli_lines(cli: dict) -> list[str]:
    times = ", ".join(f"{name} {elapsed}" for name, elapsed in cli["per_model"].items())
    return [
        f"**`slrt-ml train --data <{cli['households']:,} synthetic, seed 2024> --out RUN "
        f"--no-track`** (default config: six models, 5 desa-grouped folds + a final fit "
        f"each): **{cli['wall_s']:.0f} s** wall end to end, process start included (load "
        f"{cli['load_before']:.2f} → {cli['load_after']:.2f}). Per model (folds + final fit, "
        f"from its progress lines): {times or 'not printed'}.",
    ]


def as_markdown(results: list[dict], cli: dict | None, command: str, header: str) -> str:
    lines = [
        SECTION,
        "",
        f"Measured {date.today().isoformat()} on {header}. Command: `{command}`.",
        "Each size in a fresh process; CPU s is that process's CPU time (all threads), wall",
        "time is inflated when other jobs share the two cores (see the load). Features: best",
        "of the repeats. Models fit on the first fit rows only (kept modest so the 1M case",
        "finishes) and predict every household. **toolkit** = `make_model(name).fit(X, poor)`",
        "/ `poverty_score(X)` from the feature frame (encoder + estimator); **raw** = the same",
        "library estimator (`sklearn.base.clone` of the fitted one: same parameters) on the",
        "matrix `encoder_.transform(X)` prepared outside the timer (pmt_ols: Ridge on float64;",
        "logit: LogisticRegression; gbm: XGBClassifier, margin; rf: RandomForestClassifier,",
        "n_jobs 2; ebm: ExplainableBoostingClassifier; mlp: a fresh Keras copy of the network",
        "`fit` on all fit rows for the epochs the toolkit's early stopping chose, without its",
        "15% desa validation pass, and Keras `predict(batch_size=8192)`). ratio = toolkit / raw",
        "(above 1: toolkit overhead). encode s = `encoder_.transform` of all rows alone (part of",
        "toolkit predict). Peak RSS = the process's VmHWM during that stage.",
        "",
    ]
    for result in results:
        lines += size_table(result) + [""]
    if cli:
        lines += cli_lines(cli)
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", default="200000,1000000", help="comma list of sizes")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--models", default=ALL_MODELS, help="comma list; '' for none")
    parser.add_argument("--fit-rows", type=int, default=20_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench_train"))
    parser.add_argument("--cli-households", type=int, default=20_000)
    parser.add_argument("--no-cli", action="store_true", help="skip `slrt-ml train`")
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    models = [m for m in args.models.split(",") if m]
    if args.child:
        print(json.dumps(child(args.child, args.repeat, models, args.fit_rows)))
        return
    header = machine()
    args.work.mkdir(parents=True, exist_ok=True)
    results = []
    for households in (int(n) for n in args.households.split(",") if n):
        results.append(run_size(registry_folder(args.work, households, 0), args))
    cli = None
    if not args.no_cli:
        cli = run_cli(registry_folder(args.work, args.cli_households, 2024), args.work)
        print(json.dumps(cli), flush=True)
    command = " ".join(["python bench/train.py", *sys.argv[1:]])
    section = as_markdown(results, cli, command, header)
    print(section)
    if not args.no_record:
        record(SECTION, section)


if __name__ == "__main__":
    main()
