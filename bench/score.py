"""Benchmark of `slrt_ml.scoring.score_prelist`: end-to-end households/s and peak memory.

Usage: python bench/score.py --households 1000000 --models ebm,gbm,mlp [--train 20000]
Writes a synthetic registry (train + a prelist of N households), fits each model on the
training part, then times (a) the bare model's predict on the prelist features and (b)
score_prelist from files to one output file, with and without --explain (exact top-5
reasons). Peak RSS is read from /proc after each run in a fresh subprocess.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, sys, time, resource
from pathlib import Path
from slrt_ml.models import load_model
from slrt_ml.scoring import score_prelist
folder, model_dir, explain = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "1"
model = load_model(model_dir)
t = time.perf_counter()
r = score_prelist(folder, {model.name: model}, folder / f"out_{model.name}_{int(explain)}.parquet",
                  explain=explain, top_k=5, quota=0.2, chunk_size=100_000, progress=False, restart=True)
print(json.dumps({"households_per_s": r.n_input / (time.perf_counter() - t),
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=200_000)
    parser.add_argument("--train", type=int, default=20_000)
    parser.add_argument("--models", default="ebm,gbm,mlp")
    args = parser.parse_args()

    from slrt_ml.features import household_features
    from slrt_ml.io import write_table
    from slrt_ml.models import make_model, save_model
    from slrt_ml.synth import make_registry

    work = Path(tempfile.mkdtemp(prefix="bench_score_"))
    train = make_registry(households=args.train, seed=1)
    X = household_features(train["households"], train["members"], train["areas"])
    poor = train["truth"].set_index("IDBDT")["poor"].reindex(X.index).to_numpy()
    prelist = make_registry(households=args.households, seed=2)
    for name in ("households", "members"):
        write_table(prelist[name], work / f"prelist_{name}.parquet")
    write_table(prelist["areas"], work / "areas.parquet")
    P = household_features(prelist["households"], prelist["members"], prelist["areas"])
    del prelist
    for name in args.models.split(","):
        model = make_model(name, {"random_state": 0}).fit(X, poor)
        save_model(model, work / "models" / name)
        t = time.perf_counter()
        model.poverty_score(P)
        bare = len(P) / (time.perf_counter() - t)
        row = {"model": name, "households": len(P), "bare_predict_per_s": round(bare)}
        for explain in (0, 1):
            out = subprocess.run([sys.executable, "-c", CHILD, str(work), str(work / "models" / name),
                                  str(explain)], capture_output=True, text=True, check=True)  # fmt: skip
            row[f"explain={explain}"] = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps(row))


if __name__ == "__main__":
    main()
