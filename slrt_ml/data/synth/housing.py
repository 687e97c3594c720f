"""Housing and asset indicators of synthetic households (today's and as the registry recorded
them), the true consumption model and the program cards of earlier PMT rounds.

Shares in ``_ITEMS`` are approximate values for DTKS households (the poorer ~40%) of a
rural South Sulawesi kabupaten; they are assumptions of the generator, not statistics.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from slrt_ml.data.synth.draws import Staleness, cut, ordinal

# Indicators: codes listed best-first with their approximate shares among DTKS households
# (the poorer ~40%) of a rural South Sulawesi kabupaten, and how strongly they follow z.
_ITEMS: dict[str, tuple[list[str], list[float], float]] = {
    "Lantai": (
        ["1", "2", "3", "4", "5", "6", "10", "8", "7", "9"],
        [0.005, 0.2, 0.02, 0.05, 0.15, 0.25, 0.015, 0.22, 0.03, 0.06],
        0.7,
    ),
    "Dinding": (
        ["1", "2", "3", "4", "5", "6", "7"],
        [0.45, 0.03, 0.4, 0.07, 0.01, 0.03, 0.01],
        0.65,
    ),
    "Kondisi_dinding": (["1", "2"], [0.65, 0.35], 0.55),
    "Atap": (
        ["1", "2", "3", "4", "5", "6", "7", "10", "8", "9"],
        [0.005, 0.01, 0.05, 0.04, 0.03, 0.8, 0.01, 0.005, 0.005, 0.045],
        0.5,
    ),
    "Kondisi_atap": (["1", "2"], [0.7, 0.3], 0.55),
    "Sumber_airminum": (
        ["1", "2", "3", "4", "5", "6", "8", "7", "9", "10", "11", "12"],
        [0.03, 0.25, 0.12, 0.03, 0.15, 0.15, 0.08, 0.08, 0.05, 0.03, 0.02, 0.01],
        0.55,
    ),
    "Sumber_penerangan": (["1", "2", "3"], [0.94, 0.035, 0.025], 0.5),
    "Daya": (["5", "4", "3", "2", "1", "6"], [0.005, 0.02, 0.08, 0.35, 0.45, 0.095], 0.6),
    "Bb_masak": (
        ["1", "2", "4", "3", "9", "5", "6", "7", "8"],
        [0.01, 0.02, 0.002, 0.6, 0.011, 0.01, 0.002, 0.005, 0.34],
        0.6,
    ),
    "Fasbab": (["1", "2", "3", "4"], [0.75, 0.1, 0.03, 0.12], 0.55),
    "Kloset": (["1", "2", "3"], [0.85, 0.08, 0.07], 0.5),
    "Buang_tinja": (["1", "2", "3", "4", "6"], [0.75, 0.03, 0.15, 0.05, 0.02], 0.5),
    "Sta_bangunan": (["4", "1", "2", "5", "3"], [0.005, 0.85, 0.04, 0.015, 0.09], 0.2),
    "Sta_lahan": (["1", "4", "2", "3"], [0.75, 0.03, 0.18, 0.04], 0.2),
}
# Assets: share owning among DTKS households and how strongly ownership follows z.
_ASSETS: dict[str, tuple[float, float]] = {
    "Ada_tabung_gas": (0.05, 0.6),
    "Ada_lemari_es": (0.3, 0.6),
    "Ada_ac": (0.02, 0.7),
    "Ada_pemanas": (0.01, 0.7),
    "Ada_telepon": (0.01, 0.5),
    "Ada_tv": (0.75, 0.5),
    "Ada_emas": (0.1, 0.6),
    "Ada_laptop": (0.05, 0.65),
    "Ada_sepeda": (0.15, 0.2),
    "Ada_motor": (0.6, 0.55),
    "Ada_mobil": (0.03, 0.7),
    "Rumah_lain": (0.05, 0.5),
}
_BOATS = {"Ada_perahu": 0.2, "Ada_motor_tempel": 0.08, "Ada_perahu_motor": 0.08, "Ada_kapal": 0.01}
_LIVESTOCK = {
    "sapi": (0.12, 1.5),
    "kerbau": (0.02, 1.0),
    "kuda": (0.01, 0.5),
    "babi": (0.003, 2.0),
    "kambing": (0.08, 3.0),
}


def _item_codes(rng, z, urban, stale_noise) -> tuple[dict, dict]:
    """Housing items now and at the (stale) registry collection, as code-index arrays."""
    now, then = {}, {}
    for name, (codes, shares, rho) in _ITEMS.items():
        shift = 0.5 * urban if name in ("Sumber_airminum", "Bb_masak", "Lantai", "Dinding") else 0
        idx, latent = ordinal(rng, z + shift, np.array(shares), rho)
        now[name] = idx
        then[name] = stale_noise(cut(stale_noise.drift(latent), np.array(shares)), len(codes))
    return now, then


def draw_housing(rng, z, urban, coastal, size, stale: Staleness):
    """Housing, assets, land and livestock now and as the registry recorded them."""
    n = len(z)
    idx_now, idx_then = _item_codes(rng, z, urban, stale)
    now = {k: np.array(_ITEMS[k][0], dtype=int)[v] for k, v in idx_now.items()}
    then = {k: np.array(_ITEMS[k][0], dtype=int)[v] for k, v in idx_then.items()}
    for name, (share, rho) in {**_ASSETS, **{k: (0.0, 0.4) for k in _BOATS}}.items():
        if name in _BOATS:
            share = np.where(coastal & ~urban, _BOATS[name], 0.003)
        _, latent = ordinal(rng, z, np.array([0.5, 0.5]), rho)
        threshold = ndtri(1 - share)
        now[name] = (latent > threshold).astype(int)
        then[name] = stale((stale.drift(latent) > threshold).astype(int), 2)
    _, land = ordinal(rng, z, np.array([0.5, 0.5]), 0.3)
    now["Aset_tak_bergerak"] = (land > ndtri(1 - np.where(urban, 0.15, 0.35))).astype(int)
    then["Aset_tak_bergerak"] = now["Aset_tak_bergerak"]
    area = np.exp(np.log(3000) + 0.4 * z + rng.normal(0, 1, n))
    now["Luas_atb"] = np.where(now["Aset_tak_bergerak"] == 1, np.round(area), 0.0)
    for animal, (share, mean) in _LIVESTOCK.items():
        owns = rng.random(n) < share * np.where(urban, 0.2, 1.0) * np.exp(0.3 * z)
        now[f"Jumlah_{animal}"] = owns * (1 + rng.poisson(mean, n))
        then[f"Jumlah_{animal}"] = np.where(rng.random(n) < 0.3, 0, now[f"Jumlah_{animal}"])
    floor = np.exp(3.45 + 0.18 * z + 0.2 * np.log(size) + rng.normal(0, 0.3, n))
    now["Luas_lantai"] = np.clip(np.round(floor), 6, 400).astype(float)
    then["Luas_lantai"] = np.clip(
        np.round(now["Luas_lantai"] * np.exp(rng.normal(0, 0.15, n))), 6, 400
    )
    then["Luas_atb"] = now["Luas_atb"]
    rooms = rng.normal(0, 0.6, n)
    now["Jumlah_kamar"] = np.clip(np.round(now["Luas_lantai"] / 20 + rooms), 1, 8)
    then["Jumlah_kamar"] = np.clip(np.round(then["Luas_lantai"] / 20 + rooms), 1, 8)
    _consistent(rng, now)
    _consistent(rng, then)
    return now, then


def _consistent(rng, h: dict[str, np.ndarray]) -> None:
    """Items that follow from others: meter only with PLN, closet and disposal with a toilet."""
    n = len(h["Lantai"])
    h["Daya"] = np.where(h["Sumber_penerangan"] == 1, h["Daya"], 6)
    no_toilet = h["Fasbab"] == 4
    h["Kloset"] = np.where(no_toilet, 4, h["Kloset"])
    h["Buang_tinja"] = np.where(no_toilet, 4 + (rng.random(n) < 0.5), h["Buang_tinja"])
    water = h["Sumber_airminum"]
    h["Cara_peroleh_airminum"] = np.select([water <= 2, water == 3, water == 4], [1, 2, 1], 3)


def badness(h: dict[str, np.ndarray], item: str) -> np.ndarray:
    """0 for the best answer of an item up to 1 for the worst (order of ``_ITEMS``)."""
    codes = np.array(_ITEMS[item][0], dtype=int)
    rank = np.empty(codes.max() + 1)
    rank[codes] = np.arange(len(codes)) / (len(codes) - 1)
    return rank[h[item]]


def log_welfare(rng, h, c, z, urban, effect, *, intercept: float, noise: float) -> np.ndarray:
    """True log consumption per capita: non-linear in space and size, with interactions."""
    space = np.log(h["Luas_lantai"] / c["size"])
    age10 = (c["head_age"] - 45) / 10
    status = np.array([-0.08, 0.0, 0.05, 0.2, 0.08, 0.25, -0.12, -0.06, -0.02])[c["head_status"]]
    housing = (
        0.12 * badness(h, "Lantai")
        + 0.10 * badness(h, "Dinding")
        + 0.06 * badness(h, "Atap")
        + 0.08 * badness(h, "Sumber_airminum")
        + 0.05 * (h["Kondisi_dinding"] == 2)
        + 0.04 * (h["Kondisi_atap"] == 2)
        + 0.10 * (h["Sumber_penerangan"] != 1)
        + 0.10 * (h["Bb_masak"] == 8)
        + 0.08 * (h["Fasbab"] == 4)
    )
    assets = (
        0.10 * h["Ada_motor"] * (1 + 0.5 * ~urban)
        + 0.12 * h["Ada_lemari_es"]
        + 0.35 * h["Ada_mobil"]
        + 0.15 * h["Ada_laptop"]
        + 0.06 * h["Ada_tv"]
        + 0.15 * h["Ada_emas"]
        + 0.12 * h["Ada_tabung_gas"]
        + 0.2 * h["Ada_ac"]
        + 0.05 * h["Ada_lemari_es"] * (h["Daya"] == 2)
    )
    livestock = 0.7 * (h["Jumlah_sapi"] + h["Jumlah_kerbau"]) + 0.1 * h["Jumlah_kambing"]
    return (
        intercept
        + 0.15 * z
        - housing
        + assets
        + 0.12 * space
        + 0.10 * np.maximum(space - np.log(12), 0)
        + 0.05 * np.log1p(livestock)
        + 0.03 * np.log1p(h["Luas_atb"] / 1000)
        - 0.35 * np.log(c["size"])
        + 0.05 * np.log(c["size"]) ** 2
        - 0.15 * c["dependants"]
        + 0.10 * c["workers"]
        + 0.06 * c["head_attain"]
        + 0.04 * c["head_attain"] * urban
        + status
        - 0.06 * (c["head_female"] & ~c["spouse"])
        + 0.03 * age10
        - 0.04 * age10**2
        - 0.08 * (c["ill"] & (c["workers"] * c["size"] <= 1))
        + 0.08 * urban
        + effect
        + rng.normal(0, noise, len(z))
    )


def programs(rng, pmt_ratio: np.ndarray, recorded_component: np.ndarray) -> dict[str, np.ndarray]:
    """Past program cards, handed out from earlier rounds of the same PMT (``pmt_ratio`` =
    predicted log welfare relative to the poverty line) on the same recorded data."""
    n = len(pmt_ratio)
    past = pmt_ratio + rng.normal(0, 0.1, n)
    return {
        "Sta_kks": (past < 0.02).astype(int),
        "Sta_kip": ((past < 0.02) & recorded_component & (rng.random(n) < 0.6)).astype(int),
        "Sta_kis": (past + rng.normal(0, 0.1, n) < 0.28).astype(int),
        "Sta_pkh": ((past < -0.07) & recorded_component).astype(int),
        "Sta_rastra": (past + rng.normal(0, 0.1, n) < 0.19).astype(int),
    }
