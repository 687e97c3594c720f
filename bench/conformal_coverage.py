"""Per-group coverage of ``slrt-ml score --conformal ALPHA`` on held-out synthetic households.

What a user does, on a synthetic registry whose truth is known for every household:

1. ``slrt-ml data synth`` writes the registry (the toolkit's own generator);
2. ``slrt-ml train --models MODEL`` trains on its survey sample (the labelled households);
3. the households are split in two: a *calibration* half and a *held-out* half, either
   at random (``random``: new households of the same desa) or by desa (``new_desa``: half
   of each kecamatan's desa never seen at calibration);
4. ``write_conformal(run, data, rows=calibration half)`` writes ``conformal.json`` (the
   default calibration: the final model's scores of the known households outside the
   training sample, :func:`slrt_ml.pipeline.policy.calibration_rows`);
5. the held-out half's households outside the training sample (never trained on) are
   written as a prelist and scored through the real path, ``slrt-ml score --conformal
   ALPHA``; their ``prediction_set`` is compared with the generator's truth, per
   kecamatan and urban/rural.

Two other calibrations are computed in-process on the same held-out scores, for
comparison: ``mixed`` (the calibration before this benchmark: out-of-fold scores of the
training sample plus the final model's of the rest) and ``out_of_fold`` (the training
sample's out-of-fold scores only: what a user whose only labels are the survey can do).

Expected spread: conditional on the calibration set, a group's coverage is
Beta-distributed with SD about ``sqrt(a(1-a)/(n_cal+2))``, and the held-out share is
binomial with SD ``sqrt(a(1-a)/n_test)`` (``a`` = alpha); the benchmark states, per split,
the expected number of groups within 2 points from those SDs (normal approximation).
A new-desa split adds the desa effects' own variance, which this formula leaves out.

    nice .venv/bin/python bench/conformal_coverage.py --households 1000000 --work /tmp/cc
    nice .venv/bin/python bench/conformal_coverage.py --households 20000 --work /tmp/cc20 --no-record
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from _results import machine, record  # bench/ is on sys.path when run as a script
from scipy.stats import norm

from slrt_ml.evaluation.conformal import coverage_by_group
from slrt_ml.pipeline.policy import (
    calibration_rows,
    household_groups,
    probabilities,
    trained_rows,
    write_conformal,
)
from slrt_ml.pipeline.run_folder import load_run
from slrt_ml.pipeline.train import load_targeting_data

SECTION = "## conformal coverage"
CLI = [str(Path(sys.executable).with_name("slrt-ml"))]
TOLERANCE = 0.02


def run_cli(args: list[str]) -> float:
    """Run ``slrt-ml ARGS`` (at this process's niceness); return the wall seconds."""
    start = time.perf_counter()
    done = subprocess.run([*CLI, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"slrt-ml {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - start


def registry_tables(reg: Path) -> dict[str, pd.DataFrame]:
    """The tables a prelist needs (households, members, areas) and the truth."""
    names = ("households", "members", "areas", "truth")
    return {n: pd.read_parquet(reg / f"{n}.parquet") for n in names}


def write_prelist(tables: dict[str, pd.DataFrame], ids: pd.Index, folder: Path) -> None:
    """Households ``ids`` (and their members, all areas) as a prelist folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("households", "members"):
        table = tables[name]
        table[table["IDBDT"].isin(ids)].to_parquet(folder / f"{name}.parquet", index=False)
    tables["areas"].to_parquet(folder / "areas.parquet", index=False)


def splits(data, seed: int) -> dict[str, np.ndarray]:
    """Calibration half per split: random households, or half of each kecamatan's desa
    (at random; an odd count gives the extra desa to either side by a coin)."""
    rng = np.random.default_rng(seed)
    desa = pd.factorize(data.frame["cluster"], sort=True)[0]
    kecamatan = household_groups(data.features, "kecamatan")
    areas = pd.DataFrame({"desa": desa, "kecamatan": kecamatan}).drop_duplicates("desa")
    areas = areas.sort_values("desa").assign(draw=rng.random(len(areas)))
    rank = areas.groupby("kecamatan")["draw"].rank(method="first").to_numpy() - 1
    count = areas.groupby("kecamatan")["desa"].transform("size").to_numpy()
    names = np.unique(areas["kecamatan"])
    coin = (
        areas["kecamatan"]
        .map(dict(zip(names, rng.integers(0, 2, len(names)), strict=True)))
        .to_numpy()
    )
    in_cal = np.zeros(desa.max() + 1, bool)
    in_cal[areas["desa"].to_numpy()] = rank < count // 2 + (count % 2) * coin
    return {"random": rng.random(len(desa)) < 0.5, "new_desa": in_cal[desa]}


def expected_within(n_cal: np.ndarray, n_test: np.ndarray, alpha: float) -> float:
    """Expected number of groups within TOLERANCE of 1 - alpha (no bias, normal approx.)."""
    sd = np.sqrt(alpha * (1 - alpha) * (1 / np.asarray(n_test) + 1 / (np.asarray(n_cal) + 2)))
    return float((norm.cdf(TOLERANCE / sd) - norm.cdf(-TOLERANCE / sd)).sum())


def summarise(table: pd.DataFrame, alpha: float) -> dict:
    """min, max, number within TOLERANCE, overall coverage and share to verify."""
    groups = table[table["group"] != "all"]
    overall = table[table["group"] == "all"].iloc[0]
    within = (groups["coverage"] - (1 - alpha)).abs() <= TOLERANCE
    return {"groups": len(groups), "within": int(within.sum()),
            "min": float(groups["coverage"].min()), "max": float(groups["coverage"].max()),
            "n_min": int(groups["n"].min()), "overall": float(overall["coverage"]),
            "n": int(overall["n"]), "verify": float(overall["needs_verification"]),
            "worst": str(groups.loc[(groups["coverage"] - (1 - alpha)).abs().idxmax(), "group"])}  # fmt: skip


def fast_sets(cal_prob, cal_poor, cal_groups, prob, groups, alpha: float) -> np.ndarray:
    """The sets of :class:`MondrianConformal` (crepes, no smoothing) by sorting: label y of
    a household of group g is in its set when ``(#{cal alphas of g >= its alpha} + 1) /
    (n_g + 1) >= 1 - (1 - alpha)``. Checked equal to the scored sets on every run."""
    cal_alpha = np.where(np.asarray(cal_poor) == 1, 1 - cal_prob, cal_prob).round(8)  # as stored
    scores = np.column_stack([prob, 1 - prob])
    out = np.zeros(scores.shape, np.int64)
    threshold = 1 - (1 - alpha)  # crepes' own expression: the same float at the boundary
    for group in np.unique(groups):
        sorted_alpha = np.sort(cal_alpha[cal_groups == group])
        n = len(sorted_alpha)
        rows = groups == group
        at_least = n - np.searchsorted(sorted_alpha, scores[rows], side="left")
        out[rows] = ((at_least + 1) / (n + 1) >= threshold).astype(np.int64)
    return out


def per_group(sets, poor, groups, keep_groups, alpha) -> tuple[pd.DataFrame, dict]:
    table = coverage_by_group(sets, poor, groups)
    n_cal = pd.Series(keep_groups).value_counts()
    n_test = table.set_index("group")["n"].drop("all")
    expected = expected_within(n_cal.reindex(n_test.index).to_numpy(), n_test.to_numpy(), alpha)
    return table, {"expected_within": expected, **summarise(table, alpha)}


def measure_split(name, cal_half, ctx, args) -> list[dict]:
    """Calibrate on ``cal_half``, score the held-out unseen households, compare with truth."""
    data, run, probs, trained, tables = (
        ctx[k] for k in ("data", "run", "probs", "trained", "tables")
    )
    frame = data.frame
    poor_all = frame["poor"].to_numpy(int)
    write_conformal(run, data, rows=cal_half)  # the default calibration ("auto")
    payload = json.loads((run / "conformal.json").read_text())
    held = ~cal_half & ~trained  # never trained on, never calibrated on
    folder = Path(args.work) / f"heldout_{name}"
    write_prelist(tables, pd.Index(frame["IDBDT"][held]), folder)
    out = folder / "scored.parquet"
    seconds = run_cli(["score", "--model", str(run), "--model-name", args.model, "--prelist",
                       str(folder), "--out", str(out), "--conformal", str(args.alpha), "--no-track"])  # fmt: skip
    scored = pd.read_parquet(out, columns=["IDBDT", "prob_poor", "prediction_set"])
    position = pd.Series(np.arange(len(frame)), index=frame["IDBDT"].astype("string"))
    at = position.reindex(scored["IDBDT"].astype("string")).to_numpy()
    if np.isnan(at.astype(float)).any() or not held[at].all() or len(at) != held.sum():
        raise SystemExit(f"{name}: scored households are not the held-out ones")
    poor = poor_all[at]
    text = scored["prediction_set"].fillna("").to_numpy(str)
    scored_sets = np.column_stack([np.char.find(text, "not_poor") >= 0,
                                   (text == "poor") | (text == "not_poor|poor")]).astype(int)  # fmt: skip
    groups = {g: household_groups(data.features, g) for g in ("kecamatan", "urban")}
    scored_prob = scored["prob_poor"].to_numpy()
    gap = float(np.abs(scored_prob - probs[at]).max())
    final = calibration_rows(data, trained, rows=cal_half)[0]
    kecamatan = groups["kecamatan"]
    check = fast_sets(probs[final], poor_all[final], kecamatan[final], scored_prob,
                      kecamatan[at], args.alpha)  # fmt: skip
    same = bool((check == scored_sets).all())
    rows = [{"split": name, "calibration": "final (default), scored", "group_by": "kecamatan",
             "n_cal": int(final.sum()), "score_seconds": seconds, "same_as_score": same,
             "prob_gap": gap, "written": payload["scores"],
             **per_group(scored_sets, poor, kecamatan[at], kecamatan[final], args.alpha)[1]}]  # fmt: skip
    table = coverage_by_group(scored_sets, poor, kecamatan[at])
    table.to_csv(Path(args.work) / f"coverage_{name}_kecamatan.csv", index=False)
    print(json.dumps(rows[-1]), flush=True)
    variants = {"final (default)": final, "mixed (before)": cal_half,
                "out_of_fold": calibration_rows(data, trained, rows=cal_half, scores="out_of_fold")[0]}  # fmt: skip
    for variant, keep in variants.items():
        for group_by, g in groups.items():
            if variant == "final (default)" and group_by == "kecamatan":
                continue  # the scored row above
            sets = fast_sets(probs[keep], poor_all[keep], g[keep], probs[at], g[at], args.alpha)
            rows.append({"split": name, "calibration": variant, "group_by": group_by,
                         "n_cal": int(keep.sum()),
                         **per_group(sets, poor, g[at], g[keep], args.alpha)[1]})  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)
    return rows


def repeated(kind: str, ctx, args) -> dict:
    """Per-kecamatan coverage over ``args.repeats`` fresh splits of one kind (default
    calibration, run probabilities of the held-out households = what ``score`` gives)."""
    data, probs, trained = ctx["data"], ctx["probs"], ctx["trained"]
    poor = data.frame["poor"].to_numpy(int)
    g = household_groups(data.features, "kecamatan")
    coverage, within, overall = [], [], []
    for r in range(args.repeats):
        cal_half = splits(data, 1000 + r)[kind]
        keep = calibration_rows(data, trained, rows=cal_half)[0]
        held = ~cal_half & ~trained
        sets = fast_sets(probs[keep], poor[keep], g[keep], probs[held], g[held], args.alpha)
        hit = sets[np.arange(len(sets)), poor[held]]
        by = pd.Series(hit).groupby(g[held]).mean()
        coverage.append(by)
        overall.append(hit.mean())
        within.append(int(((by - (1 - args.alpha)).abs() <= TOLERANCE).sum()))
    table = pd.concat(coverage, axis=1)
    mean = table.mean(axis=1)
    return {"split": kind, "repeats": args.repeats, "mean_within": float(np.mean(within)),
            "overall_mean": float(np.mean(overall)), "overall_min": float(np.min(overall)),
            "overall_max": float(np.max(overall)),
            "min_within": int(min(within)), "mean_min": float(mean.min()),
            "mean_max": float(mean.max()), "sd_median": float(table.std(axis=1).median()),
            "sd_max": float(table.std(axis=1).max())}  # fmt: skip


def ties(probs: np.ndarray, rows: np.ndarray) -> float:
    """Share of households whose probability equals another's (ties in the scores)."""
    values = pd.Series(np.round(probs[rows], 8))
    return float(values.duplicated(keep=False).mean())


def as_markdown(rows: list[dict], ctx: dict, args, command: str) -> str:
    head = [SECTION, "",
            f"Measured {ctx['when']} on {ctx['machine']}; load average (1, 5, 15 min) "
            f"{ctx['load_before']} before, {ctx['load_after']} after (other jobs shared the cores).",
            f"Command: `{command}` (under `nice`). Registry: {args.households:,} synthetic households, "
            f"seed {args.seed}; `slrt-ml train --models {args.model}` on its survey sample "
            f"({ctx['trained']:,} labelled households; "
            f"{ctx['train_note']}); alpha {args.alpha}; "
            f"the held-out households are the other half's households outside the training sample, "
            f"scored by `slrt-ml score --conformal {args.alpha}`. Ties: {ctx['ties']:.4f} of the "
            "calibration households share their probability with another.",
            "",
            "| split | calibration | groups | calibration households | held-out households | overall coverage "
            "| groups within 2 points (expected from n) | min-max coverage | worst group | "
            "fewest held-out per group | share needing verification |",
            "|---|---|---|---:|---:|---:|---|---|---|---:|---:|"]  # fmt: skip
    for r in rows:
        head.append(
            f"| {r['split']} | {r['calibration']} | {r['group_by']} | {r['n_cal']:,} | {r['n']:,} | "
            f"{r['overall']:.4f} | {r['within']} of {r['groups']} ({r['expected_within']:.1f}) | "
            f"{r['min']:.4f}-{r['max']:.4f} | {r['worst']} | {r['n_min']:,} | {r['verify']:.3f} |"
        )
    checks = [r for r in rows if r.get("same_as_score") is not None]
    head += ["", "Checks: the sets recomputed from the calibration equal the scored "
             f"`prediction_set` ({', '.join(str(r['same_as_score']) for r in checks)}); largest "
             f"|prob_poor (score) - run probability|: {max(r['prob_gap'] for r in checks):.1e}; "
             "`score --conformal` wall seconds: "
             + ", ".join(f"{r['score_seconds']:.0f}" for r in checks) + ".", "",
             f"Over {args.repeats} fresh splits of each kind (default calibration, kecamatan; "
             "the held-out households' run probabilities, which equal the scored ones):", "",
             "| split | overall coverage, mean (min-max) over splits "
             "| kecamatan within 2 points, mean (min) over splits | mean coverage per "
             "kecamatan over splits, min-max | SD of a kecamatan's coverage between splits, median (max) |",
             "|---|---|---|---|---|"]  # fmt: skip
    for r in ctx["repeated"]:
        head.append(f"| {r['split']} | {r['overall_mean']:.4f} ({r['overall_min']:.4f}-{r['overall_max']:.4f}) "
                    f"| {r['mean_within']:.1f} ({r['min_within']}) | "
                    f"{r['mean_min']:.4f}-{r['mean_max']:.4f} | {r['sd_median']:.4f} ({r['sd_max']:.4f}) |")  # fmt: skip
    head.append("")
    return "\n".join(head) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--model", default="gbm")
    parser.add_argument("--alpha", type=float, default=0.1)
    parser.add_argument("--work", required=True, help="Folder for the registry, run and outputs.")
    parser.add_argument("--repeats", type=int, default=20, help="Fresh splits per kind.")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    work = Path(args.work)
    reg, run = work / "reg", work / "run"
    ctx = {"load_before": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
           "machine": machine(), "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}  # fmt: skip
    if not (reg / "truth.parquet").exists():  # reused when present (same seed, same files)
        run_cli(["data", "synth", "--out", str(reg), "--households", str(args.households),
                 "--seed", str(args.seed)])  # fmt: skip
    ctx["train_note"] = "run reused"
    if not (run / "manifest.json").exists():
        seconds = run_cli(["train", "--data", str(reg), "--out", str(run),
                           "--models", args.model, "--no-track"])  # fmt: skip
        ctx["train_note"] = f"`train` {seconds:.0f} s"
    data = load_targeting_data(reg)
    manifest, oof = load_run(run)
    ctx |= {"data": data, "run": run, "tables": registry_tables(reg),
            "probs": probabilities(run, oof)[args.model], "trained": trained_rows(manifest, data)}  # fmt: skip
    ctx["ties"] = ties(ctx["probs"], ~ctx["trained"])
    rows = []
    for name, cal_half in splits(data, args.seed).items():
        rows += measure_split(name, cal_half, ctx, args)
    ctx["repeated"] = [repeated(kind, ctx, args) for kind in ("random", "new_desa")]
    for row in ctx["repeated"]:
        print(json.dumps(row), flush=True)
    ctx["load_after"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    ctx["trained"] = int(ctx["trained"].sum())
    pd.DataFrame(rows).to_csv(work / "summary.csv", index=False)
    section = as_markdown(
        rows, ctx, args, " ".join(["python bench/conformal_coverage.py", *sys.argv[1:]])
    )
    print(section)
    if not args.no_record:
        record(SECTION, section)


if __name__ == "__main__":
    main()
