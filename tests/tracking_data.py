"""Test data shared by the tracking, records and champion tests.

``make_registry`` builds a small registry with real-looking NIKs in the members (so the
tests can check none leaks); ``COMPARISON`` is a hand-set comparison table.
"""

from __future__ import annotations

import types

import numpy as np
import pandas as pd

from slrt_ml.data.codebook import get_codebook

# --- a small registry with real-looking NIKs ----------------------------------------------

_ADULT = {
    "Sta_kawin": "2",
    "Partisipasi_sekolah": "2",
    "Jenjang_sekolah": "7",
    "Sta_bekerja": "1",
    "Jumlah_jamkerja": 40,
    "Lapangan_usaha": "1",
    "Status_pekerjaan": "1",
}
_CHILD = {
    "Sta_kawin": "1",
    "Partisipasi_sekolah": "1",
    "Jenjang_sekolah": "1",
    "Ijazah_tertinggi": "0",
    "Sta_bekerja": "2",
    "Jumlah_jamkerja": None,
    "Lapangan_usaha": None,
    "Status_pekerjaan": None,
}


def _households(rng: np.random.Generator, n: int) -> pd.DataFrame:
    columns = {}
    for name, spec in get_codebook().household.items():
        low = int(spec.min or 0)
        if spec.kind == "code":
            columns[name] = rng.choice(list(spec.codes), n)
        elif spec.kind == "yes_no":
            columns[name] = rng.choice(list(spec.yes_no), n)
        elif spec.kind == "count":
            columns[name] = rng.integers(low, low + 5, n)
        elif spec.kind == "measure":
            columns[name] = rng.uniform(10, 200, n).round(1)
    hh = pd.DataFrame(columns)
    desa = rng.integers(1, 9, n)
    hh["IDBDT"] = [f"H{i:05d}" for i in range(n)]
    hh["KDPROP"], hh["KDKAB"] = "73", "11"
    hh["KDKEC"] = [f"{10 * (1 + d % 2):03d}" for d in desa]
    hh["KDDESA"] = [f"{d:03d}" for d in desa]
    return hh


def _nik(rng: np.random.Generator, serial: int, sex: str, age: int) -> str:
    day = int(rng.integers(1, 29)) + (40 if sex == "2" else 0)
    return f"731102{day:02d}{int(rng.integers(1, 13)):02d}{(2024 - age) % 100:02d}{serial:04d}"


def _members(rng: np.random.Generator, households: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for i, idbdt in enumerate(households["IDBDT"]):
        for line in range(1, int(rng.integers(1, 5)) + 1):
            age = int(rng.integers(25, 70)) if line <= 2 else int(rng.integers(0, 18))
            sex = "1" if line == 1 else str(rng.integers(1, 3))
            relation = {1: "1", 2: "2"}.get(line, "3")
            rows.append({
                "IDBDT": idbdt, "NoART": line, "NIK": _nik(rng, i, sex, age), "Hub_KRT": relation,
                "Jnskel": sex, "Umur": age, "Sta_hamil": None if sex == "1" else "2",
                "Jenis_cacat": "0", "Penyakit_kronis": "0",
                "Ijazah_tertinggi": str(rng.integers(0, 6)), **(_CHILD if age < 18 else _ADULT),
            })  # fmt: skip
    members = pd.DataFrame(rows)
    households["Jumlah_ART"] = (
        members.groupby("IDBDT").size().reindex(households["IDBDT"]).to_numpy()
    )
    return members


def make_registry(n: int = 240, seed: int = 0) -> types.SimpleNamespace:
    """Households whose poverty follows floor, wall and floor area, with NIKs in the members."""
    rng = np.random.default_rng(seed)
    hh = _households(rng, n)
    members = _members(rng, hh)
    desa = sorted(set(zip(hh["KDKEC"], hh["KDDESA"], strict=True)))
    areas = pd.DataFrame({
        "KDPROP": "73", "KDKAB": "11", "KDKEC": [k for k, _ in desa], "KDDESA": [d for _, d in desa],
        "NMKEC": "Tanete Riattang", "NMDESA": "Bajoe",
        "Klasifikasi": ["1" if i % 2 else "2" for i in range(len(desa))],
    })  # fmt: skip
    latent = hh["Lantai"].astype(int) + hh["Dinding"].astype(int) - hh["Luas_lantai"] / 40
    latent = latent + rng.normal(0, 2, n)
    truth = pd.DataFrame(
        {
            "IDBDT": hh["IDBDT"],
            "welfare_pc": np.exp(13 - latent / 10),
            "poor": (latent > np.quantile(latent, 0.6)).astype("int8"),
        }
    )
    siksng = pd.DataFrame(
        {
            "IDBDT": hh["IDBDT"],
            "pkh_eligible": rng.integers(0, 2, n).astype("int8"),
            "desil": rng.integers(1, 11, n),
            "periode": "2024-03",
        }
    )
    return types.SimpleNamespace(
        households=hh,
        members=members,
        areas=areas,
        siksng=siksng,
        truth=truth,
        metadata={"codebook_version": "pbdt2015"},
        folder="tiny-registry",
    )


# Hand-set comparison: logit and pmt_ols tie on exclusion error; pmt_ols leaks less -> champion.
COMPARISON = pd.DataFrame(
    [("siksng", "exclusion_error", 0.50, 0.42, 0.58), ("siksng", "inclusion_error", 0.45, np.nan, np.nan),
     ("logit", "exclusion_error", 0.30, 0.22, 0.38), ("logit", "inclusion_error", 0.33, 0.25, 0.41),
     ("pmt_ols", "exclusion_error", 0.30, 0.21, 0.39), ("pmt_ols", "inclusion_error", 0.31, 0.24, 0.40)],
    columns=["system", "metric", "estimate", "ci_low", "ci_high"],
)  # fmt: skip
