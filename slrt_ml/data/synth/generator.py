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

The steps live in their own modules: areas (:mod:`~slrt_ml.data.synth.areas`), one chunk of
households (:mod:`~slrt_ml.data.synth.households`), the SIKS-NG rank and quota
(:mod:`~slrt_ml.data.synth.siksng`) and the tables (:mod:`~slrt_ml.data.synth.frames`);
this module runs them over the registry and writes the files.

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
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from slrt_ml import __version__
from slrt_ml.data.codebook import DEFAULT_VERSION
from slrt_ml.data.io import TableWriter, atomic_path
from slrt_ml.data.synth.areas import area_model
from slrt_ml.data.synth.frames import chunk_frames, registry_ids, truth_frame
from slrt_ml.data.synth.households import simulate_chunk
from slrt_ml.data.synth.members import REFERENCE_DATE
from slrt_ml.data.synth.parameters import PERIODE, POVERTY_LINES, Profile, SynthParameters
from slrt_ml.data.synth.siksng import Ranking, siksng_frame

__all__ = ["Progress", "generate_registry", "iter_registry", "make_registry", "summary"]

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``, called after every chunk."""


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
    areas = area_model(profile, params, seed)
    yield "areas", areas.frame
    sizes = _sizes(households, params.chunk_size)
    ranking = _first_pass(sizes, areas, params, seed, progress)
    ranking.cut(params.quota_share)
    yield from _second_pass(sizes, ranking, areas, profile, params, seed, progress)
    n_prelist = max(1, round(params.prelist_share * households))
    counts = {"households": households, "prelist_households": n_prelist}
    yield from _prelist(n_prelist, ranking, areas, profile, params, seed, progress)
    yield "metadata", _metadata(profile, params, seed, counts, ranking)


def _first_pass(sizes, areas, params, seed, progress) -> Ranking:
    parts = []
    for i, n in enumerate(sizes):
        chunk = simulate_chunk(_rng(seed, 0, i), n, areas, params, sum(sizes[:i]) * 4)
        parts.append((chunk.pmt, chunk.target, chunk.stale_component, chunk.poor.astype(bool)))
        if progress:
            progress("rank", i + 1, len(sizes))
    return Ranking(*(np.concatenate(p) for p in zip(*parts, strict=True)))


def _second_pass(sizes, ranking, areas, profile, params, seed, progress):
    start = 0
    for i, n in enumerate(sizes):
        chunk = simulate_chunk(_rng(seed, 0, i), n, areas, params, start * 4)
        part = slice(start, start + n)
        ids = registry_ids(profile, start, n, prelist=False)
        yield from chunk_frames(chunk, ids, ranking.percentile[part]).items()
        yield "truth", truth_frame(chunk, ids)
        yield "siksng", siksng_frame(ranking, ids, part)
        start += n
        if progress:
            progress("write", i + 1, len(sizes))


def _prelist(total, ranking, areas, profile, params, seed, progress):
    """Households proposed for the next update: same process, new IDBDTs, Percentile placed
    in the registry's PMT distribution."""
    sizes, start = _sizes(total, params.chunk_size), 0
    for i, n in enumerate(sizes):
        chunk = simulate_chunk(_rng(seed, 1, i), n, areas, params, 5_000 + start * 4)
        rank = np.searchsorted(ranking.sorted_pmt, chunk.pmt)
        percentile = np.minimum(rank * 100 // len(ranking.pmt) + 1, 100)
        ids = registry_ids(profile, start, n, prelist=True)
        yield from chunk_frames(chunk, ids, percentile, prefix="prelist_").items()
        start += n
        if progress:
            progress("prelist", i + 1, len(sizes))


def _metadata(profile, params, seed, counts, ranking: Ranking) -> dict:
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
