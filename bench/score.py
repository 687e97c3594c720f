"""Benchmark of `slrt_ml.pipeline.score.score_prelist`: end-to-end households/s and peak memory.

Usage: python bench/score.py --households 1000000 --models ebm,gbm,mlp [--train 20000]
       [--work DIR] [--explain 0,1] [--chunk-size 100000] [--no-record]

Writes a synthetic registry (train + a prelist of N households) into ``--work`` (reused
when it already holds a prelist of that size and the fitted models), fits each model on
the training part, then times

- **bare predict**: ``model.poverty_score(P)`` on the prelist's features ``P`` already
  built in memory (the model's own encoder transform + its predict; no file reading, no
  validation, no feature building, no writing);
- **score**: ``score_prelist`` from the Parquet files to one Parquet output (read,
  validate, features, score, drift counts, selection, rejects and drift files), with
  and without ``--explain`` (exact top-5 reasons), each in a fresh process; peak RSS
  is that process's ``VmHWM`` (``ru_maxrss`` would include the parent's memory copied
  at fork, since Linux keeps it across ``exec``).

Each model's bare predict and its scoring runs are measured one after the other in the
same invocation, so the ratios compare rates taken under about the same machine load
(recorded before and after each model). Unless ``--no-record``, the table is written to
the ``## score: latest bench/score.py run`` section of ``bench/RESULTS.md``
(``bench/_results.py``); the hand-written ``## score`` history above it is kept.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import machine, record

SECTION = "## score: latest bench/score.py run"

CHILD = """
import json, re, sys, time
from pathlib import Path
from slrt_ml.models import load_model
from slrt_ml.pipeline.score import score_prelist
folder, model_dir, explain, chunk = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "1", int(sys.argv[4])
model = load_model(model_dir)
t = time.perf_counter()
r = score_prelist(folder, {model.name: model}, folder / f"out_{model.name}_{int(explain)}.parquet",
                  explain=explain, top_k=5, quota=0.2, chunk_size=chunk, progress=False, restart=True)
print(json.dumps({"households_per_s": round(r.n_input / (time.perf_counter() - t)),
                  "peak_rss_mib": round(int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1024)}))
"""


def _prepare(work: Path, households: int, train_size: int, names: list[str]):
    """Prelist files in ``work`` (made once per size) and its features in memory."""
    from slrt_ml.data.io import read_table, write_table
    from slrt_ml.data.synth.generator import make_registry
    from slrt_ml.features.households import household_features

    stamp = work / "prelist.json"
    if not stamp.is_file() or json.loads(stamp.read_text())["households"] != households:
        prelist = make_registry(households=households, seed=2)
        for name in ("households", "members"):
            write_table(prelist[name], work / f"prelist_{name}.parquet")
        write_table(prelist["areas"], work / "areas.parquet")
        del prelist
        stamp.write_text(json.dumps({"households": households}))
    hh = read_table(work / "prelist_households.parquet", "households")
    mem = read_table(work / "prelist_members.parquet", "members")
    areas = read_table(work / "areas.parquet", "areas")
    return household_features(hh, mem, areas)


def _fitted(work: Path, name: str, train_size: int):
    from slrt_ml.data.synth.generator import make_registry
    from slrt_ml.features.households import household_features
    from slrt_ml.models import load_model, make_model, save_model

    folder = work / "models" / f"{name}_{train_size}"
    if (folder / "model.json").is_file():
        return load_model(folder), folder
    train = make_registry(households=train_size, seed=1)
    X = household_features(train["households"], train["members"], train["areas"])
    poor = train["truth"].set_index("IDBDT")["poor"].reindex(X.index).to_numpy()
    model = make_model(name, {"random_state": 0}).fit(X, poor)
    save_model(model, folder)
    return model, folder


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=200_000)
    parser.add_argument("--train", type=int, default=20_000)
    parser.add_argument("--models", default="ebm,gbm,mlp")
    parser.add_argument("--explain", default="0,1")
    parser.add_argument("--chunk-size", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    args = parser.parse_args()
    started, host = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), machine()

    work = args.work or Path(tempfile.mkdtemp(prefix="bench_score_"))
    work.mkdir(parents=True, exist_ok=True)
    names = args.models.split(",")
    rows = []
    fitted = {name: _fitted(work, name, args.train) for name in names}
    P = _prepare(work, args.households, args.train, names)
    for name, (model, folder) in fitted.items():
        model.poverty_score(P.iloc[:1000])  # warm-up (lazy imports, graph building)
        t = time.perf_counter()
        model.poverty_score(P)
        bare = len(P) / (time.perf_counter() - t)
        row = {"model": name, "households": len(P), "bare_predict_per_s": round(bare),
               "load_before": _load()}  # fmt: skip
        for explain in args.explain.split(","):
            out = subprocess.run([sys.executable, "-c", CHILD, str(work), str(folder), explain,
                                  str(args.chunk_size)], capture_output=True, text=True, check=True)  # fmt: skip
            result = json.loads(out.stdout.strip().splitlines()[-1])
            result["ratio_to_bare"] = round(result["households_per_s"] / bare, 3)
            row[f"explain={explain}"] = result
        row["load_after"] = _load()
        print(json.dumps(row), flush=True)
        rows.append(row)
    if not args.no_record:
        record(SECTION, _section(rows, args, started, host))


def _rate(result: dict | None) -> tuple[str, str, str]:
    if result is None:
        return "-", "-", "-"
    ratio = f"**{result['ratio_to_bare']:.2f}**"
    return f"{result['households_per_s']:,} /s", ratio, f"{result['peak_rss_mib']:,}"


def _section(rows: list[dict], args: argparse.Namespace, started: str, host: str) -> str:
    """The RESULTS.md section: command, machine and one row per model."""
    command = (f"`.venv/bin/python bench/score.py --households {args.households} --models "
               f"{args.models} --train {args.train} --chunk-size {args.chunk_size}`")  # fmt: skip
    lines = [
        SECTION, "",
        f"Run {started}; {host}. Command: {command}. Other engineers' jobs ran on the same",
        "2 cores at the same time: the 1-minute load average before/after each model is in the",
        "last column, and absolute rates under that load are several times below an idle",
        "machine's; the ratios compare bare predict and end-to-end rates taken one after the",
        "other in this run. Ratio targets (issue 14 item 8): no explain >= 0.5, with exact",
        "top-5 reasons >= 0.25 of bare predict.", "",
        "| model | households | bare predict | score, no explain | ratio | score + exact top-5 "
        "reasons | ratio | peak MiB (no explain / reasons) | load before → after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]  # fmt: skip
    for row in rows:
        plain, explained = _rate(row.get("explain=0")), _rate(row.get("explain=1"))
        lines.append(f"| {row['model']} | {row['households']:,} | "
                     f"{row['bare_predict_per_s']:,} /s | {plain[0]} | {plain[1]} | "
                     f"{explained[0]} | {explained[1]} | {plain[2]} / {explained[2]} | "
                     f"{row['load_before']} → {row['load_after']} |")  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
