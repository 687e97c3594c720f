"""The synthetic kabupaten's areas: the area file and the hidden per-desa quantities.

Each desa/kelurahan gets a name, an urban/rural class, a kecamatan + desa random effect
on log consumption, a coastal flag and a share of the registry's households.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from slrt_ml.data.synth.parameters import Profile, SynthParameters

__all__ = ["AreaModel", "area_model", "make_areas"]

_KEC_WORDS = [
    "Bonto",
    "Tanete",
    "Lappa",
    "Mattiro",
    "Bulu",
    "Pao",
    "Sappa",
    "Ujung",
    "Tana",
    "Bola",
    "Padang",
    "Salo",
    "Lamuru",
    "Cenrana",
    "Awang",
]
_DESA_WORDS = [
    "Riaja",
    "Riawang",
    "Lempangan",
    "Baru",
    "Jaya",
    "Sompe",
    "Matajang",
    "Tinco",
    "Bontoa",
    "Kalola",
    "Bila",
    "Lalebata",
    "Mappesangka",
    "Pattiro",
    "Watang",
    "Bulo",
    "Sumpang",
    "Palakka",
    "Kading",
    "Batu",
]


def make_areas(profile: Profile = Profile(), seed: int = 0) -> pd.DataFrame:
    """The area file: one row per desa/kelurahan with names and Klasifikasi ("1" urban).

    Kelurahan sit in the three kecamatan around the kabupaten capital (kecamatan 001);
    those kecamatan's desa and one town-centre desa in each of the next ten are urban.

    >>> areas = make_areas()
    >>> len(areas), areas["KDKEC"].nunique(), int((areas["Klasifikasi"] == "1").sum())
    (280, 31, 30)
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    n_units = profile.desa + profile.kelurahan
    per_kec = np.full(profile.kecamatan, n_units // profile.kecamatan)
    per_kec[: n_units % profile.kecamatan] += 1
    kec = np.repeat(np.arange(1, profile.kecamatan + 1), per_kec)
    desa_no = np.concatenate([np.arange(1, k + 1) for k in per_kec])
    n_kel = np.select([kec == 1, kec <= 3], [profile.kelurahan - 4, 2], 0)
    kelurahan = desa_no <= n_kel
    urban = kelurahan | (kec == 1) | ((kec <= 3) & (desa_no <= 5)) | ((kec <= 13) & (desa_no == 1))
    kec_names = _names(rng, _KEC_WORDS, _KEC_WORDS, profile.kecamatan)
    desa_names = _names(rng, _DESA_WORDS, _KEC_WORDS, n_units)
    return pd.DataFrame(
        {
            "KDPROP": profile.kdprop,
            "KDKAB": profile.kdkab,
            "KDKEC": [f"{k:03d}" for k in kec],
            "KDDESA": [f"{d:03d}" for d in desa_no],
            "NMKEC": [kec_names[k - 1] for k in kec],
            "NMDESA": desa_names,
            "Klasifikasi": np.where(urban, "1", "2"),
        }
    ).astype("string")


def _names(rng: np.random.Generator, first: list[str], second: list[str], n: int) -> list[str]:
    pairs = [f"{a} {b}" for a in first for b in second if a != b]
    return [pairs[i] for i in rng.permutation(len(pairs))[:n]]


@dataclass
class AreaModel:
    """Area frame plus the hidden per-desa quantities a household draws from."""

    frame: pd.DataFrame
    urban: np.ndarray  # bool per desa
    effect: np.ndarray  # kecamatan + desa random effect on log consumption
    coastal: np.ndarray  # bool per desa
    weight: np.ndarray  # probability a household lives there
    nik_region: np.ndarray  # KDPROP + KDKAB + last two digits of KDKEC, as a number


def area_model(profile: Profile, params: SynthParameters, seed: int) -> AreaModel:
    """The area file of ``profile`` with each desa's effect, coastal flag and weight."""
    frame = make_areas(profile, seed)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
    kec_no = frame["KDKEC"].astype(int).to_numpy()
    kec_effect = rng.normal(0, params.kecamatan_sd, profile.kecamatan)
    coastal_kec = rng.random(profile.kecamatan) < 0.3
    urban = (frame["Klasifikasi"] == "1").to_numpy()
    effect = kec_effect[kec_no - 1] + rng.normal(0, params.desa_sd, len(frame))
    weight = np.where(urban, 2.5, 1.0) * rng.uniform(0.6, 1.4, len(frame))
    region = (frame["KDPROP"] + frame["KDKAB"] + frame["KDKEC"].str[-2:]).astype(int).to_numpy()
    return AreaModel(frame, urban, effect, coastal_kec[kec_no - 1], weight / weight.sum(), region)
