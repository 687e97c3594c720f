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
5. the record: the registry files hold every household as recorded ``record_age_months``
   earlier (members aged back, newborns missing, members who died or moved out still
   listed, items drifted, recording errors); the truth is today's state, which no file
   shows;
6. SIKS-NG: a linear PMT with weights estimated by OLS on a baseline survey sample,
   applied to the recorded files (plus processing noise), ranked over the whole registry,
   cut at a quota among households with a PKH component by the recorded member file, then
   village deliberation swaps a share of the list; every source of its error is a named
   parameter and ``metadata["gap_decomposition"]`` removes them one by one;
7. a stratified survey sample (``in_survey``, ``survey_weight``): the households a real
   study would have a welfare label for.

The steps live in their own modules: areas (:mod:`~slrt_ml.data.synth.areas`), one chunk of
households (:mod:`~slrt_ml.data.synth.households`), the SIKS-NG rank and quota
(:mod:`~slrt_ml.data.synth.siksng`) and the tables (:mod:`~slrt_ml.data.synth.frames`);
this module runs them over the registry and writes the files.

The quota cut needs a global rank, so files are written in two passes over the same seeded
chunks: the first keeps only per-household PMT scores and flags (a few bytes each) and
accumulates the population least-squares moments, the second regenerates each chunk and
writes it with its ``Percentile``, desil and eligibility. A profile that publishes the
population-weight PMT (``pmt_weights="true"``) needs those weights before the rank: one
more pass.

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
from slrt_ml.data.synth.pmt import Moments, estimate, term_names
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
    pmt = _Pmt(_baseline_weights(areas, params, seed))
    ranking = _first_pass(sizes, areas, params, seed, pmt, progress)
    if params.pmt_weights == "true":
        _score_pass(sizes, ranking, areas, params, seed, pmt, progress)
    ranking.cut(params)
    yield from _second_pass(sizes, ranking, areas, profile, params, seed, pmt, progress)
    n_prelist = max(1, round(params.prelist_share * households))
    counts = {"households": households, "prelist_households": n_prelist}
    yield from _prelist(n_prelist, ranking, areas, profile, params, seed, pmt, progress)
    yield "metadata", _metadata(profile, params, seed, counts, ranking, pmt)


class _Pmt:
    """The PMT's weights: baseline-survey estimate, population moments and their solution."""

    def __init__(self, estimated: np.ndarray) -> None:
        self.estimated = estimated
        self.recorded = Moments(len(estimated))
        self.now = Moments(len(estimated))
        self.true: np.ndarray | None = None
        self.true_now: np.ndarray | None = None

    def solve(self) -> None:
        self.true, self.true_now = self.recorded.solve(), self.now.solve()

    def used(self, params: SynthParameters) -> np.ndarray:
        return self.true if params.pmt_weights == "true" else self.estimated


def _baseline_weights(areas, params, seed) -> np.ndarray:
    """OLS of baseline log welfare on the recorded PMT terms of a baseline survey sample
    (its own random stream, so the weights do not depend on the registry's size)."""
    sample = simulate_chunk(_rng(seed, 2, 0), params.pmt_sample, areas, params, 0)
    return estimate(sample.x_recorded, sample.log_ratio_then)


def _first_pass(sizes, areas, params, seed, pmt: _Pmt, progress) -> Ranking:
    parts = []
    for i, n in enumerate(sizes):
        chunk = simulate_chunk(
            _rng(seed, 0, i), n, areas, params, sum(sizes[:i]) * 4, pmt.estimated
        )
        pmt.recorded.add(chunk.x_recorded, chunk.log_ratio)
        pmt.now.add(chunk.x_now, chunk.log_ratio)
        parts.append(
            (
                chunk.x_recorded @ pmt.estimated,
                chunk.noise,
                chunk.log_ratio,
                chunk.poor.astype(bool),
                chunk.eligible_now,
                chunk.eligible_recorded,
                chunk.u_remove,
                chunk.u_add,
                chunk.u_survey,
                chunk.stratum,
            )
        )
        if progress:
            progress("rank", i + 1, len(sizes))
    pmt.solve()
    return Ranking(*(np.concatenate(p) for p in zip(*parts, strict=True)))


def _score(ranking: Ranking, chunk, part: slice, pmt: _Pmt) -> None:
    ranking.score_true[part] = chunk.x_recorded @ pmt.true
    ranking.score_now[part] = chunk.x_now @ pmt.true_now


def _score_pass(sizes, ranking, areas, params, seed, pmt, progress) -> None:
    start = 0
    for i, n in enumerate(sizes):
        chunk = simulate_chunk(_rng(seed, 0, i), n, areas, params, start * 4, pmt.estimated)
        _score(ranking, chunk, slice(start, start + n), pmt)
        start += n
        if progress:
            progress("score", i + 1, len(sizes))


def _second_pass(sizes, ranking, areas, profile, params, seed, pmt, progress):
    start = 0
    for i, n in enumerate(sizes):
        chunk = simulate_chunk(_rng(seed, 0, i), n, areas, params, start * 4, pmt.estimated)
        part = slice(start, start + n)
        _score(ranking, chunk, part, pmt)
        ids = registry_ids(profile, start, n, prelist=False)
        yield from chunk_frames(chunk, ids, ranking.percentile[part]).items()
        yield "truth", truth_frame(chunk, ids, ranking.in_survey[part], ranking.survey_weight[part])
        yield "siksng", siksng_frame(ranking, ids, part)
        start += n
        if progress:
            progress("write", i + 1, len(sizes))


def _prelist(total, ranking, areas, profile, params, seed, pmt, progress):
    """Households proposed for the next update: same process, new IDBDTs, Percentile placed
    in the registry's PMT distribution."""
    sizes, start = _sizes(total, params.chunk_size), 0
    for i, n in enumerate(sizes):
        chunk = simulate_chunk(_rng(seed, 1, i), n, areas, params, 5_000 + start * 4, pmt.estimated)
        score = chunk.x_recorded @ pmt.used(params) + params.pmt_noise * chunk.noise
        rank = np.searchsorted(ranking.sorted_pmt, score)
        percentile = np.minimum(rank * 100 // len(ranking.sorted_pmt) + 1, 100)
        ids = registry_ids(profile, start, n, prelist=True)
        yield from chunk_frames(chunk, ids, percentile, prefix="prelist_").items()
        start += n
        if progress:
            progress("prelist", i + 1, len(sizes))


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in values]


def _metadata(profile, params, seed, counts, ranking: Ranking, pmt: _Pmt) -> dict:
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
        "gap_decomposition": ranking.decomposition(params),
        "survey": {
            "households": int(ranking.in_survey.sum()),
            "share": params.survey_share,
            "strata": int((np.bincount(ranking.stratum) > 0).sum()),
            "design": "stratified by kecamatan x urban: round(share x N_h) households "
            "(at least 1) per stratum, survey_weight = N_h / n_h",
        },
        "pmt": {
            "terms": term_names(profile.kecamatan),
            "baseline_sample": params.pmt_sample,
            "weights_used": params.pmt_weights,
            "estimated_weights": _rounded(pmt.estimated),
            "population_weights": _rounded(pmt.true),
        },
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
    """One line on SIKS-NG's errors against the target, with their denominators.

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
