"""Mutation campaign: 500+ malformed registries and prelists through the CLI, counting tracebacks.

Each case is a small folder broken by ``tests/mutation_cases.py`` (dtypes, codes, ids,
encodings, delimiters, empty or corrupt files, missing tables and columns), run in-process
through ``slrt-ml data validate`` (registry folders) or ``slrt-ml score`` (prelists). A
case passes when the command exits 0, or exits non-zero with a message and no Python
traceback (an uncaught exception in the Typer runner); for a score run that exits 0 (or 3:
nothing scored) the rows on disk must add up: ``len(output) + len(rejects) == input``.

Usage: ``python bench/mutations.py [--cases 500] [--seed 0]``; prints one line per failure
and a summary (synthetic data; the numbers describe robustness, not accuracy).
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import make_tiny_registry  # noqa: E402
from mutation_cases import write_mutated  # noqa: E402
from scoring_data import fitted_models, run_folder, small_registry  # noqa: E402

from slrt_ml.cli import app  # noqa: E402


def _registry_tables() -> dict[str, pd.DataFrame]:
    tiny = make_tiny_registry()
    return {"households": tiny.households, "members": tiny.members, "areas": tiny.areas,
            "siksng": tiny.siksng, "truth": tiny.truth}  # fmt: skip


def _prelist_tables() -> dict[str, pd.DataFrame]:
    registry = small_registry()
    hh = registry["prelist_households"].iloc[:12]
    mem = registry["prelist_members"][registry["prelist_members"]["IDBDT"].isin(hh["IDBDT"])]
    return {"prelist_households": hh, "prelist_members": mem, "areas": registry["areas"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    work = Path(tempfile.mkdtemp(prefix="mutations-"))
    models, profile = fitted_models()
    run = run_folder(work, models, profile)
    runner = CliRunner()
    counts: collections.Counter = collections.Counter()
    started = time.perf_counter()
    try:
        for case in range(args.cases):
            choices = rng.integers(0, 10_000, size=int(rng.integers(1, 6))).tolist()
            folder = work / f"case{case}"
            scoring = case % 2 == 1
            tables = _prelist_tables() if scoring else _registry_tables()
            write_mutated(tables, folder, choices)
            if scoring:
                out = folder / "out.csv"
                argv = ["score", "--model", str(run), "--prelist", str(folder), "--out", str(out),
                        "--chunk-size", str([3, 50][case % 4 == 1]), "--no-track"]  # fmt: skip
            else:
                argv = ["data", "validate", str(folder)]
            result = runner.invoke(app, argv)
            crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
            kind = "score" if scoring else "validate"
            counts[f"{kind} cases"] += 1
            if crashed:
                counts["tracebacks"] += 1
                print(f"TRACEBACK case {case} {kind} {choices}: {type(result.exception).__name__}: "
                      f"{result.exception}")  # fmt: skip
                continue
            counts[f"{kind} exit {result.exit_code}"] += 1
            if result.exit_code not in (0, 3) and not result.output.strip():
                counts["silent failures"] += 1
                print(f"SILENT case {case} {kind} {choices}")
            if scoring and result.exit_code in (0, 3):
                manifest = json.loads(out.with_name(out.name + ".manifest.json").read_text())
                rows = len(pd.read_csv(out)) + len(pd.read_csv(folder / "out.rejects.csv"))
                if rows != manifest["input_rows"]:
                    counts["accounting errors"] += 1
                    print(f"ACCOUNTING case {case} {choices}: {rows} != {manifest['input_rows']}")
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    seconds = time.perf_counter() - started
    print(json.dumps({"cases": args.cases, "seed": args.seed, "seconds": round(seconds, 1),
                      **dict(sorted(counts.items()))}, indent=2))  # fmt: skip
    return 1 if counts["tracebacks"] or counts["accounting errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
