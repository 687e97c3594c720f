"""Marginal shares of a synthetic registry folder, as the Markdown table in data/README.md.

.venv/bin/python data/marginals.py data
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd


def marginals(folder: Path) -> list[tuple[str, float]]:
    h = pd.read_parquet(folder / "households.parquet")
    m = pd.read_parquet(folder / "members.parquet")
    t = pd.read_parquet(folder / "truth.parquet")
    s = pd.read_parquet(folder / "siksng.parquet")
    a = pd.read_parquet(folder / "areas.parquet")
    urban = h.merge(a, on=["KDKEC", "KDDESA"])["Klasifikasi"] == "1"
    size = h["Jumlah_ART"]
    heads = m[m["Hub_KRT"] == "1"]
    improved_water = ["1", "2", "3", "4", "5", "6", "8", "11"]
    return [
        ("households", len(h)),
        ("members", len(m)),
        ("mean household size", size.mean()),
        ("urban households (share)", urban.mean()),
        ("poor households (share, welfare below the area's line)", t["poor"].mean()),
        ("poor persons (share)", (t["poor"] * size.to_numpy()).sum() / size.sum()),
        ("median welfare per capita (Rp/month)", t["welfare_pc"].median()),
        ("floor: earth (Lantai 9)", (h["Lantai"] == "9").mean()),
        ("floor: wood/bamboo (Lantai 5, 7, 8)", h["Lantai"].isin(["5", "7", "8"]).mean()),
        ("wall: masonry (Dinding 1)", (h["Dinding"] == "1").mean()),
        ("wall: wood (Dinding 3)", (h["Dinding"] == "3").mean()),
        ("roof: zinc (Atap 6)", (h["Atap"] == "6").mean()),
        ("drinking water: improved source", h["Sumber_airminum"].isin(improved_water).mean()),
        ("drinking water: refill or bottled", h["Sumber_airminum"].isin(["1", "2"]).mean()),
        ("lighting: PLN (Sumber_penerangan 1)", (h["Sumber_penerangan"] == "1").mean()),
        ("cooking: firewood (Bb_masak 8)", (h["Bb_masak"] == "8").mean()),
        ("no toilet (Fasbab 4)", (h["Fasbab"] == "4").mean()),
        ("owns a motorcycle", h["Ada_motor"].isin(["1", "3"]).mean()),
        ("female head", (heads["Jnskel"] == "2").mean()),
        ("head aged 60+", (heads["Umur"] >= 60).mean()),
        ("members aged 0-6 (share of persons)", (m["Umur"] <= 6).mean()),
        ("members aged 60+ (share of persons)", (m["Umur"] >= 60).mean()),
        ("SIKS-NG pkh_eligible (share of households)", s["pkh_eligible"].mean()),
        ("PKH component today (truth eligible_now, share)", t["eligible_now"].mean()),
        ("survey sample (in_survey households)", t["in_survey"].sum()),
    ]


def main(folder: str = "data") -> None:
    path = Path(folder)
    meta = json.loads((path / "metadata.json").read_text())
    print("| quantity | synthetic sample |\n|---|---:|")
    for name, value in marginals(path):
        shown = f"{value:,.0f}" if value >= 100 else f"{value:.3f}"
        print(f"| {name} | {shown} |")
    err = meta["siksng_errors"]
    for step in meta["gap_decomposition"]:
        print(f"| SIKS-NG exclusion error, step {step['step']} | {step['exclusion_error']:.3f} |")
    print(f"| SIKS-NG exclusion error (target {err['target']}) | {err['exclusion_error']:.3f} |")
    print(
        f"| SIKS-NG inclusion error (selected {err['selected']}) | {err['inclusion_error']:.3f} |"
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
