"""Benchmark the synthetic registry generator: wall time and peak RSS per size.

Each size runs in a fresh subprocess so its peak RSS is its own. Results go to the
``## synth`` section of bench/RESULTS.md (other sections are left as they are).

    .venv/bin/python bench/synth.py                      # 100,000 and 1,000,000 households
    .venv/bin/python bench/synth.py --sizes 20000 --no-record
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from _results import machine, record  # bench/ is on sys.path when run as a script

SECTION = "## synth"


def run_one(households: int, fmt: str) -> dict:
    """Generate one registry in a child process; return time, peak RSS and SIKS-NG errors."""
    with tempfile.TemporaryDirectory() as out:
        code = (
            "import json, sys; from slrt_ml.data.synth.generator import generate_registry; "
            f"m = generate_registry({out!r}, {households}, seed=0, fmt={fmt!r}); "
            "print(json.dumps(m['siksng_errors']))"
        )
        start = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        seconds = time.perf_counter() - start
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        size = sum(p.stat().st_size for p in Path(out).iterdir())
    if peak_kib <= before:  # an earlier, larger child holds the maximum; cannot attribute
        peak_kib = float("nan")
    errors = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "households": households,
        "format": fmt,
        "seconds": seconds,
        "peak_rss_mib": peak_kib / 1024,
        "output_mib": size / 2**20,
        **errors,
    }


def as_markdown(rows: list[dict], command: str) -> str:
    lines = [
        SECTION,
        "",
        f"Measured {date.today().isoformat()} on {machine()}.",
        f"Command: `{command}` (each size in a fresh process; seed 0; default profile).",
        "",
        "| households | format | seconds | households/s | peak RSS (MiB) | files (MiB) "
        "| SIKS-NG exclusion error | inclusion error |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['households']:,} | {r['format']} | {r['seconds']:.1f} | "
            f"{r['households'] / r['seconds']:,.0f} | {r['peak_rss_mib']:.0f} | "
            f"{r['output_mib']:.1f} | {r['exclusion_error']:.3f} | {r['inclusion_error']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--format", default="parquet", choices=["parquet", "csv"])
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    rows = []
    for n in sorted(int(s) for s in args.sizes.split(",")):  # ascending, so RSS is attributable
        rows.append(run_one(n, args.format))
        print(json.dumps(rows[-1]), flush=True)
    section = as_markdown(rows, " ".join(["python bench/synth.py", *sys.argv[1:]]))
    print(section)
    if not args.no_record:
        record(SECTION, section)


if __name__ == "__main__":
    main()
