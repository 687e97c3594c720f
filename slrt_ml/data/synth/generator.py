"""Synthetic DTKS registry: households, members, areas, SIKS-NG output, truth and a prelist.

Real DTKS data is confidential, so the toolkit ships a generator that writes the same files
(docs/CONTRACTS.md). Results on these files show that the pipeline works; they are not
evidence about the real SIKS-NG.

How a household is made (every step vectorised over a chunk of households):

1. an area (desa/kelurahan of one kabupaten, urban or rural) and a hidden prosperity ``z``;
2. members: head, spouse, children, grandchildren, parents, others, with ages, sex,
   marriage, pregnancy, disability, illness, schooling consistent with age, work and NIK;
3. housing and asset indicators drawn from latent scores correlated with ``z``;
4. the truth: log per-capita consumption from the indicators, composition, head's education
   and work, non-linear terms and interactions, kecamatan and desa effects and noise; poor
   when below the area's poverty line (BPS March 2024, South Sulawesi);
5. SIKS-NG: an official-style linear PMT with fixed weights on a *stale* copy of the
   indicators (collected years earlier: members aged back, newborns missing, members who
   died or moved out still listed, indicators drifted, data-entry errors), ranked over the
   whole registry, cut at a quota among households with a PKH component by the stale data.

The quota cut needs a global rank, so files are written in two passes over the same seeded
chunks: the first keeps only per-household PMT scores and flags (a few bytes each), the
second regenerates each chunk and writes it with its ``Percentile``, desil and eligibility.

>>> reg = make_registry(households=300, seed=1)
>>> sorted(k for k in reg if k != "metadata")  # doctest: +NORMALIZE_WHITESPACE
['areas', 'households', 'members', 'prelist_households', 'prelist_members', 'siksng',
 'truth']
>>> len(reg["households"]), len(reg["prelist_households"]), len(reg["areas"])
(300, 30, 280)
>>> bool((reg["members"].groupby("IDBDT").size() == reg["households"].set_index("IDBDT")["Jumlah_ART"]).all())
True
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from slrt_ml import __version__
from slrt_ml.data.codebook import DEFAULT_VERSION, get_codebook
from slrt_ml.data.synth.draws import Staleness, by_household
from slrt_ml.data.synth.housing import draw_housing, log_welfare, official_pmt, programs
from slrt_ml.data.synth.members import (
    REFERENCE_DATE,
    composition,
    draw_members,
    pkh_component,
    stale_members,
)

__all__ = [
    "POVERTY_LINES",
    "Profile",
    "SynthParameters",
    "generate_registry",
    "make_registry",
    "iter_registry",
    "summary",
]

#: BPS poverty lines, March 2024, South Sulawesi (Rp per capita per month).
POVERTY_LINES = {"urban": 485_401, "rural": 436_463}
PERIODE = "2024-06"
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Profile:
    """Where the synthetic kabupaten is: codes, size, urban share. KDKAB 99 is fictional."""

    name: str = "sulsel-default"
    kdprop: str = "73"
    kdkab: str = "99"
    kecamatan: int = 31
    desa: int = 270
    kelurahan: int = 10


@dataclass(frozen=True)
class SynthParameters:
    """Knobs of the generator; the SIKS-NG ones are calibrated (see tests/test_synth.py)."""

    welfare_intercept: float = 13.41  # log Rp; sets the poor share among registry households
    welfare_noise: float = 0.30  # sd of the household's idiosyncratic log consumption
    kecamatan_sd: float = 0.10
    desa_sd: float = 0.08
    quota_share: float = 0.21  # PKH quota as a share of registry households
    pmt_noise: float = 0.10  # sd of enumeration/processing noise added to the PMT
    stale_years: tuple[int, int] = (2, 6)  # indicators collected this many years earlier
    drift: float = 0.80  # correlation of an indicator's latent score then and now
    entry_error: float = 0.03  # share of stale items replaced by a random code
    prelist_share: float = 0.10
    chunk_size: int = 100_000


# ----------------------------------------------------------------------------------- areas

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
class _Areas:
    """Area frame plus the hidden per-desa quantities a household draws from."""

    frame: pd.DataFrame
    urban: np.ndarray  # bool per desa
    effect: np.ndarray  # kecamatan + desa random effect on log consumption
    coastal: np.ndarray  # bool per desa
    weight: np.ndarray  # probability a household lives there
    nik_region: np.ndarray  # KDPROP + KDKAB + last two digits of KDKEC, as a number


def _area_model(profile: Profile, params: SynthParameters, seed: int) -> _Areas:
    frame = make_areas(profile, seed)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
    kec_no = frame["KDKEC"].astype(int).to_numpy()
    kec_effect = rng.normal(0, params.kecamatan_sd, profile.kecamatan)
    coastal_kec = rng.random(profile.kecamatan) < 0.3
    urban = (frame["Klasifikasi"] == "1").to_numpy()
    effect = kec_effect[kec_no - 1] + rng.normal(0, params.desa_sd, len(frame))
    weight = np.where(urban, 2.5, 1.0) * rng.uniform(0.6, 1.4, len(frame))
    region = (frame["KDPROP"] + frame["KDKAB"] + frame["KDKEC"].str[-2:]).astype(int).to_numpy()
    return _Areas(frame, urban, effect, coastal_kec[kec_no - 1], weight / weight.sum(), region)


# ------------------------------------------------------------------------------- households


@dataclass
class _Chunk:
    """One chunk of simulated households as arrays (codes as indices into code lists)."""

    house: dict[str, np.ndarray]  # household columns, codebook names, values ready to write
    member: dict[str, np.ndarray]  # member columns, codebook names
    member_hh: np.ndarray  # household index of each member row
    welfare_pc: np.ndarray
    poor: np.ndarray
    target: np.ndarray  # poor and a PKH component by the current member file
    pmt: np.ndarray  # official PMT on stale data (higher = better off)
    stale_component: np.ndarray  # PKH component by the registry's stale member data


def _simulate(rng, n: int, areas: _Areas, params: SynthParameters, serial0: int) -> _Chunk:
    desa = rng.choice(len(areas.weight), size=n, p=areas.weight)
    urban, coastal = areas.urban[desa], areas.coastal[desa]
    z = rng.standard_normal(n) + 0.3 * urban
    hh, m = draw_members(rng, areas.nik_region[desa], urban, coastal, z, serial0)
    c = composition(hh, n, m)
    stale = Staleness(rng, params.drift, params.entry_error)
    now, then = draw_housing(rng, z, urban, coastal, c["size"], stale)
    welfare = np.round(
        np.exp(
            log_welfare(
                rng,
                now,
                c,
                z,
                urban,
                areas.effect[desa],
                intercept=params.welfare_intercept,
                noise=params.welfare_noise,
            )
        )
    )
    poor = welfare < np.where(urban, POVERTY_LINES["urban"], POVERTY_LINES["rural"])
    years = rng.integers(params.stale_years[0], params.stale_years[1] + 1, n)
    c_then, stale_component = stale_members(rng, hh, n, m, years)
    pmt = official_pmt(rng, then, {**c, **c_then}, urban, noise=params.pmt_noise)
    component = pkh_component(
        hh,
        n,
        m["Umur"],
        m["Hub_KRT"],
        m["Sta_hamil"],
        m["Partisipasi_sekolah"],
        m["Jenjang_sekolah"],
        m["Ijazah_tertinggi"],
        m["Jenis_cacat"],
    )
    house = {
        **{
            col: areas.frame[col].to_numpy(dtype=object)[desa]
            for col in ("KDPROP", "KDKAB", "KDKEC", "KDDESA")
        },
        "Jumlah_ART": c["size"].astype(int),
        "Jumlah_Keluarga": 1
        + (by_household(hh, n, m["Hub_KRT"] == 4) > 0)
        + (rng.random(n) < 0.03),
        **now,
        **programs(rng, pmt, stale_component),
    }
    return _Chunk(
        house, m, hh, welfare, poor.astype(np.int8), poor & component, pmt, stale_component
    )


# ------------------------------------------------------------------------------- to frames

_DIGITS = np.array([str(i) for i in range(100)], dtype=object)


def _column(values: np.ndarray, spec) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """Array in the contract's dtype for one codebook column (codes as strings)."""
    if spec.kind in ("id", "area", "nik", "text"):
        return pd.array(values, dtype="string")
    if spec.kind == "yes_no":
        return pd.array(np.where(values == 1, spec.yes_no[0], spec.yes_no[1]), dtype="string")
    if spec.kind == "code":
        out = _DIGITS[values.astype(int)]
        if spec.nullable:
            out = np.where(values == 0, None, out)
        return pd.array(out, dtype="string")
    if spec.kind == "measure":
        return values.astype("float64")
    if spec.nullable:
        return pd.array(np.where(values < 0, None, values), dtype="Int64")
    return values.astype("int64")


def _frame(values: dict[str, np.ndarray], specs) -> pd.DataFrame:
    return pd.DataFrame(
        {name: _column(np.asarray(values[name]), spec) for name, spec in specs.items()}
    )


def _chunk_frames(chunk: _Chunk, ids: np.ndarray, percentile: np.ndarray, prefix: str = ""):
    cb = get_codebook(DEFAULT_VERSION)
    house = _frame({**chunk.house, "IDBDT": ids, "Percentile": percentile}, cb.household)
    members = _frame({**chunk.member, "IDBDT": ids[chunk.member_hh]}, cb.member)
    return {f"{prefix}households": house, f"{prefix}members": members}


def _ids(profile: Profile, start: int, n: int, prelist: bool) -> np.ndarray:
    number = pd.Series(np.arange(start + 1, start + n + 1)).astype(str)
    head = profile.kdprop + profile.kdkab + ("P" if prelist else "")
    return (head + number.str.zfill(9 if prelist else 10)).to_numpy(dtype=object)


# ---------------------------------------------------------------------------------- passes


@dataclass
class _Ranking:
    """SIKS-NG's global rank over the registry, kept as a few small arrays of length N."""

    pmt: np.ndarray
    target: np.ndarray
    stale_component: np.ndarray
    poor: np.ndarray
    percentile: np.ndarray = field(init=False)
    desil: np.ndarray = field(init=False)
    selected: np.ndarray = field(init=False)
    sorted_pmt: np.ndarray = field(init=False)

    def cut(self, quota_share: float) -> None:
        """Rank by PMT (poorest first, ties by registry order) and take the quota among
        households with a PKH component by the stale member data."""
        n = len(self.pmt)
        order = np.lexsort((np.arange(n), self.pmt))
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        self.percentile, self.desil = rank * 100 // n + 1, rank * 10 // n + 1
        self.selected = np.zeros(n, dtype=bool)
        self.selected[order[self.stale_component[order]][: round(quota_share * n)]] = True
        self.sorted_pmt = self.pmt[order]

    def errors(self) -> dict[str, float | int]:
        target, selected = self.target, self.selected
        return {
            "exclusion_error": float((target & ~selected).sum() / max(target.sum(), 1)),
            "inclusion_error": float((selected & ~target).sum() / max(selected.sum(), 1)),
            "selected": int(selected.sum()),
            "target": int(target.sum()),
            "target_selected": int((target & selected).sum()),
            "poor": int(self.poor.sum()),
        }


def _sizes(total: int, chunk: int) -> list[int]:
    return [min(chunk, total - start) for start in range(0, total, chunk)] or [0]


def _rng(seed: int, stream: int, chunk: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, stream, chunk]))


def iter_registry(
    households: int = 20_000,
    seed: int = 0,
    *,
    profile: Profile = Profile(),
    params: SynthParameters = SynthParameters(),
    progress: Progress | None = None,
) -> Iterator[tuple[str, pd.DataFrame | dict]]:
    """Yield ``(table, chunk)`` pairs of the registry, then ``("metadata", dict)``.

    Tables: areas (once), then households, members, truth, siksng per chunk, then
    prelist_households and prelist_members per chunk. ``progress(stage, done, total)`` is
    called after every chunk. Memory stays bounded by ``params.chunk_size``.
    """
    if households < 1:
        raise ValueError(f"households must be at least 1, got {households}")
    areas = _area_model(profile, params, seed)
    yield "areas", areas.frame
    sizes = _sizes(households, params.chunk_size)
    ranking = _first_pass(sizes, areas, params, seed, progress)
    ranking.cut(params.quota_share)
    yield from _second_pass(sizes, ranking, areas, profile, params, seed, progress)
    n_prelist = max(1, round(params.prelist_share * households))
    counts = {"households": households, "prelist_households": n_prelist}
    yield from _prelist(n_prelist, ranking, areas, profile, params, seed, progress)
    yield "metadata", _metadata(profile, params, seed, counts, ranking)


def _first_pass(sizes, areas, params, seed, progress) -> _Ranking:
    parts = []
    for i, n in enumerate(sizes):
        chunk = _simulate(_rng(seed, 0, i), n, areas, params, sum(sizes[:i]) * 4)
        parts.append((chunk.pmt, chunk.target, chunk.stale_component, chunk.poor.astype(bool)))
        if progress:
            progress("rank", i + 1, len(sizes))
    return _Ranking(*(np.concatenate(p) for p in zip(*parts, strict=True)))


def _second_pass(sizes, ranking, areas, profile, params, seed, progress):
    start = 0
    for i, n in enumerate(sizes):
        chunk = _simulate(_rng(seed, 0, i), n, areas, params, start * 4)
        part = slice(start, start + n)
        ids = _ids(profile, start, n, prelist=False)
        yield from _chunk_frames(chunk, ids, ranking.percentile[part]).items()
        yield (
            "truth",
            pd.DataFrame(
                {
                    "IDBDT": pd.array(ids, dtype="string"),
                    "welfare_pc": chunk.welfare_pc,
                    "poor": chunk.poor,
                }
            ),
        )
        yield (
            "siksng",
            pd.DataFrame(
                {
                    "IDBDT": pd.array(ids, dtype="string"),
                    "pkh_eligible": ranking.selected[part].astype(np.int8),
                    "desil": ranking.desil[part],
                    "periode": pd.array([PERIODE] * n, dtype="string"),
                }
            ),
        )
        start += n
        if progress:
            progress("write", i + 1, len(sizes))


def _prelist(total, ranking, areas, profile, params, seed, progress):
    """Households proposed for the next update: same process, new IDBDTs, Percentile placed
    in the registry's PMT distribution."""
    sizes, start = _sizes(total, params.chunk_size), 0
    for i, n in enumerate(sizes):
        chunk = _simulate(_rng(seed, 1, i), n, areas, params, 5_000 + start * 4)
        rank = np.searchsorted(ranking.sorted_pmt, chunk.pmt)
        percentile = np.minimum(rank * 100 // len(ranking.pmt) + 1, 100)
        ids = _ids(profile, start, n, prelist=True)
        yield from _chunk_frames(chunk, ids, percentile, prefix="prelist_").items()
        start += n
        if progress:
            progress("prelist", i + 1, len(sizes))


def _metadata(profile, params, seed, counts, ranking: _Ranking) -> dict:
    return {
        "generator": "slrt_ml.synth",
        "version": __version__,
        "codebook_version": DEFAULT_VERSION,
        "seed": seed,
        "profile": asdict(profile),
        "counts": counts,
        "parameters": asdict(params),
        "poverty_lines": dict(POVERTY_LINES),
        "reference_date": REFERENCE_DATE,
        "periode": PERIODE,
        "siksng_errors": ranking.errors(),
    }


def make_registry(
    households: int = 2_000,
    seed: int = 0,
    *,
    profile: Profile = Profile(),
    params: SynthParameters = SynthParameters(),
) -> dict[str, pd.DataFrame | dict]:
    """The whole registry in memory: the seven tables of the contract plus ``metadata``.

    Same seed, same tables; :func:`generate_registry` writes exactly these chunks.
    """
    parts: dict[str, list[pd.DataFrame]] = {}
    metadata: dict = {}
    for name, value in iter_registry(households, seed, profile=profile, params=params):
        if name == "metadata":
            metadata = value
        else:
            parts.setdefault(name, []).append(value)
    out: dict[str, pd.DataFrame | dict] = {
        name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()
    }
    metadata["counts"] = _counts(out)
    out["metadata"] = metadata
    return out


def _counts(tables: dict[str, pd.DataFrame]) -> dict[str, int]:
    return {name: len(frame) for name, frame in tables.items()}


def generate_registry(
    out: str | Path,
    households: int = 20_000,
    seed: int = 0,
    fmt: str = "parquet",
    *,
    profile: Profile = Profile(),
    params: SynthParameters = SynthParameters(),
    progress: Progress | None = None,
) -> dict:
    """Write a registry folder (docs/CONTRACTS.md) chunk by chunk; returns the metadata.

    Every file is written atomically through :mod:`slrt_ml.data.io`; same seed, same bytes.
    """
    from slrt_ml.data.io import TableWriter, atomic_path

    if fmt not in ("parquet", "csv"):
        raise ValueError(f"format must be 'parquet' or 'csv', got {fmt!r}")
    folder = Path(out)
    writers: dict[str, TableWriter] = {}
    rows: dict[str, int] = {}
    metadata: dict = {}
    try:
        for name, value in iter_registry(
            households, seed, profile=profile, params=params, progress=progress
        ):
            if name == "metadata":
                metadata = value
                continue
            if name not in writers:
                writers[name] = TableWriter(folder / f"{name}.{fmt}")
            writers[name].write(value)
            rows[name] = rows.get(name, 0) + len(value)
    except BaseException:
        for writer in writers.values():
            writer.abort()
        raise
    for writer in writers.values():
        writer.close()
    metadata["counts"] = rows
    metadata["format"] = fmt
    with atomic_path(folder / "metadata.json") as tmp:
        tmp.write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return metadata


def summary(metadata: dict) -> str:
    """One line on SIKS-NG's errors against the truth, with their denominators.

    >>> summary({"siksng_errors": {"exclusion_error": 0.5, "inclusion_error": 0.4,
    ...     "target": 10, "target_selected": 5, "selected": 8}})
    'SIKS-NG vs truth: exclusion error 0.500 (5 of 10 target households missed), inclusion error 0.400 (of 8 selected)'
    """
    err = metadata["siksng_errors"]
    missed = err["target"] - err["target_selected"]
    return (
        f"SIKS-NG vs truth: exclusion error {err['exclusion_error']:.3f} "
        f"({missed:,} of {err['target']:,} target households missed), "
        f"inclusion error {err['inclusion_error']:.3f} (of {err['selected']:,} selected)"
    )
