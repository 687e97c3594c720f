"""Benchmark of the Spark engine against the local engine on the same prelist.

Usage: python bench/spark.py --households 1000000 [--model gbm] [--train 20000]
       [--explain 1] [--chunk-size 100000] [--work DIR] [--masters local[1],local[2]]

Writes (once per size, reused from ``--work``) a synthetic prelist of N households as
single Parquet files and a fitted model, then times in fresh processes:

- the **local engine** (``score_prelist``, one process);
- the **Spark engine** (``score_prelist_spark``) on each master, from the same files.
  Session start-up is timed apart and left out of households/s.

Peak memory is each process's ``VmHWM``: the local process; for Spark the driver's
Python process and its JVM (in local mode the driver and the executor share it); the
executors' Python side is the largest sum of ``VmRSS`` over the processes the JVM
started (Python daemon and workers), sampled every 0.5 s during the run. Per-core efficiency = (Spark households/s / cores) /
(local households/s on one core). The section ``## spark`` of ``bench/RESULTS.md`` is
replaced with the table and the projection for 94 million families on 64 cores.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import machine, record  # noqa: E402

FAMILIES = 94_000_000
CLUSTER_CORES = 64

_PEAK = """
import re
def peak(pid):
    try:
        text = open(f"/proc/{pid}/status").read()
    except OSError:
        return 0
    return int(re.search(r"VmHWM:\\s+(\\d+)", text).group(1)) / 1024
def children(pid):
    import os
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry))
    return out
def descendants(pid):
    found = []
    for child in children(pid):
        found += [child, *descendants(child)]
    return found
"""

LOCAL = (
    _PEAK
    + """
import json, os, sys, time
from pathlib import Path
from slrt_ml.models import load_model
from slrt_ml.pipeline.score import score_prelist
folder, model_dir, explain, chunk = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "1", int(sys.argv[4])
model = load_model(model_dir)
t = time.perf_counter()
r = score_prelist(folder, {model.name: model}, folder / "out_local.parquet", explain=explain,
                  top_k=5, quota=0.2, chunk_size=chunk, progress=False, restart=True)
s = time.perf_counter() - t
print(json.dumps({"engine": "local", "seconds": round(s, 1), "households_per_s": round(r.n_input / s),
                  "n_input": r.n_input, "driver_peak_mib": round(peak(os.getpid()))}))
"""
)

SPARK = (
    _PEAK
    + """
import json, os, sys, time
from pathlib import Path
from slrt_ml.models import load_model
from slrt_ml.pipeline.score import ScoreOptions
from slrt_ml.spark.score import score_prelist_spark
from slrt_ml.spark.session import spark_session
folder, model_dir, explain, chunk, master = (Path(sys.argv[1]), Path(sys.argv[2]),
                                             sys.argv[3] == "1", int(sys.argv[4]), sys.argv[5])
model = load_model(model_dir)
import threading
sampled = {"workers_rss_mib": 0.0, "workers": 0}
def rss(pid):
    try:
        return int(re.search(r"VmRSS:\\s+(\\d+)", open(f"/proc/{pid}/status").read()).group(1)) / 1024
    except (OSError, AttributeError):
        return 0.0
def sample(jvm, stop):
    while not stop.is_set():
        procs = descendants(jvm)
        total = sum(rss(p) for p in procs)
        if total > sampled["workers_rss_mib"]:
            sampled.update(workers_rss_mib=total, workers=len(procs))
        stop.wait(0.5)
t = time.perf_counter()
spark = spark_session(master, conf={"spark.driver.memory": "2g",
                                    "spark.sql.shuffle.partitions": "8"})
startup = time.perf_counter() - t
jvm = int(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())
stop = threading.Event()
threading.Thread(target=sample, args=(jvm, stop), daemon=True).start()
t = time.perf_counter()
r = score_prelist_spark(folder, {model.name: model}, folder / "out_spark", spark=spark,
                        options=ScoreOptions(explain=explain, top_k=5, quota=0.2, chunk_size=chunk))
s = time.perf_counter() - t
stop.set()
print(json.dumps({"engine": "spark " + master, "seconds": round(s, 1), "startup_s": round(startup, 1),
                  "households_per_s": round(r.n_input / s), "n_input": r.n_input,
                  "buckets": r.buckets, "driver_peak_mib": round(peak(os.getpid())),
                  "jvm_peak_mib": round(peak(jvm)),
                  "python_workers": sampled["workers"],
                  "python_workers_peak_mib": round(sampled["workers_rss_mib"])}))
spark.stop()
"""
)


def _prepare(work: Path, households: int, train: int, name: str) -> Path:
    """The prelist files and the fitted model (reused when present)."""
    from slrt_ml.data.io import write_table
    from slrt_ml.data.synth.generator import make_registry
    from slrt_ml.features.households import household_features
    from slrt_ml.models import make_model, save_model

    stamp = work / "prelist.json"
    if not stamp.is_file() or json.loads(stamp.read_text())["households"] != households:
        prelist = make_registry(households=households, seed=2)
        for table in ("households", "members"):
            write_table(prelist[table], work / f"prelist_{table}.parquet")
        write_table(prelist["areas"], work / "areas.parquet")
        del prelist
        stamp.write_text(json.dumps({"households": households}))
    folder = work / "models" / f"{name}_{train}"
    if not (folder / "model.json").is_file():
        reg = make_registry(households=train, seed=1)
        X = household_features(reg["households"], reg["members"], reg["areas"])
        poor = reg["truth"].set_index("IDBDT")["poor"].reindex(X.index).to_numpy()
        save_model(make_model(name, {"random_state": 0}).fit(X, poor), folder)
    return folder


def _run(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    row = json.loads(out.stdout.strip().splitlines()[-1])
    row["load_after"] = round(os.getloadavg()[0], 1)
    return row


def _cores(engine: str) -> int:
    return int(engine.split("[", 1)[1].rstrip("]")) if "[" in engine else 1


def _section(rows: list[dict], args, start_machine: str) -> str:
    local = next(r for r in rows if r["engine"] == "local")
    lines = [
        "## spark",
        "",
        f"`python bench/spark.py --households {args.households} --model {args.model} "
        f"--explain {args.explain} --chunk-size {args.chunk_size}` on {start_machine}.",
        "Same prelist (single Parquet files), same fitted model, quota 0.2 per desa; each "
        "engine in a fresh process; Spark households/s exclude the session start-up.",
        "",
        "| engine | households | s | households/s | per core | per-core efficiency vs local "
        "| start-up s | driver peak MiB | JVM peak MiB | Python workers peak MiB | load after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        cores = _cores(r["engine"])
        per_core = r["households_per_s"] / cores
        eff = per_core / local["households_per_s"]
        lines.append(
            f"| {r['engine']} | {r['n_input']:,} | {r['seconds']} | {r['households_per_s']:,} | "
            f"{per_core:,.0f} | {eff:.2f} | {r.get('startup_s', '')} | {r['driver_peak_mib']} | "
            f"{r.get('jvm_peak_mib', '')} | {r.get('python_workers_peak_mib', '')} "
            f"({r.get('python_workers', '-')} proc) | {r['load_after']} |"
        )
    if args.note:
        lines += ["", args.note]
    best = max((r for r in rows if r["engine"] != "local"), key=lambda r: r["households_per_s"])
    cores = _cores(best["engine"])
    per_core = best["households_per_s"] / cores
    seconds = FAMILIES / (CLUSTER_CORES * per_core)
    lines += [
        "",
        f"**Projection for {FAMILIES:,} families on {CLUSTER_CORES} cores** (from "
        f"{best['engine']}, the fastest Spark run here, assuming per-core throughput holds "
        "when the buckets spread over more executors, which the bucket design allows: every "
        "bucket is independent until the per-desa windows):",
        "",
        f"- per core: {best['households_per_s']:,} households/s / {cores} cores = "
        f"{per_core:,.0f} households/s",
        f"- cluster: {CLUSTER_CORES} x {per_core:,.0f} = {CLUSTER_CORES * per_core:,.0f} "
        "households/s",
        f"- time: {FAMILIES:,} / {CLUSTER_CORES * per_core:,.0f} = {seconds:,.0f} s "
        f"= {seconds / 60:,.1f} min (+ session start-up, and the shuffle of the per-desa "
        "windows, which this single-machine run includes at its own scale)",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--train", type=int, default=20_000)
    parser.add_argument("--model", default="gbm")
    parser.add_argument("--explain", default="1")
    parser.add_argument("--chunk-size", type=int, default=100_000)
    parser.add_argument("--masters", default="local[1],local[2]")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument(
        "--rows",
        type=Path,
        default=None,
        help="Record the section from JSON rows printed by an earlier run.",
    )
    parser.add_argument("--machine", default=None, help="With --rows: the machine line.")
    parser.add_argument("--note", default="", help="A paragraph added under the table.")
    args = parser.parse_args()

    if args.rows is not None:
        rows = [json.loads(line) for line in args.rows.read_text().splitlines()
                if line.startswith("{")]  # fmt: skip
        record("## spark", _section(rows, args, args.machine or machine()))
        return
    start_machine = machine()
    print(start_machine, flush=True)
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_spark_"))
    work.mkdir(parents=True, exist_ok=True)
    model_dir = _prepare(work, args.households, args.train, args.model)
    common = [str(work), str(model_dir), args.explain, str(args.chunk_size)]
    rows = [_run(LOCAL, *common)]
    print(json.dumps(rows[-1]), flush=True)
    for master in args.masters.split(","):
        time.sleep(1)
        rows.append(_run(SPARK, *common, master))
        print(json.dumps(rows[-1]), flush=True)
    section = _section(rows, args, start_machine)
    print(section)
    if not args.no_record:
        record("## spark", section)


if __name__ == "__main__":
    main()
