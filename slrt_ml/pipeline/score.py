"""Batch scoring of the prelist before field verification: who to include, who to check first, why.

:func:`score_prelist` streams the prelist in chunks of households (members alongside, see
:mod:`slrt_ml.data.prelist`): each chunk is validated (bad households go to the rejects file
with a readable reason, the rest go on), turned into features, scored, explained (with
``explain=True``: exact top-k reasons from :mod:`slrt_ml.explain.api`) and counted into the
drift report. Each finished chunk is saved as a part file in ``<out>.parts/`` with a
small manifest, so a rerun after a crash resumes where it stopped (``restart=True``
starts clean); the parts are combined at the end and the folder removed.

Selection needs every score, so it runs after the chunks, over a compact table (desa
code and score per household): each desa ranks its households (``rank_in_desa``, 1 =
poorest; ties by input order) and selects its quota (per-desa counts, a share of every
desa split by largest remainder, or none).

**Verification priority** (1 = check first): households whose decision is least certain.
With a quota, the distance of a household to its desa's cut-off is
``|rank_in_desa - (quota + 0.5)| / households in the desa`` (the cut-off lies between
the last selected and the first not selected household; dividing by desa size makes
desa of different sizes comparable). With several models, the share of the other
models whose selection disagrees with the main model's comes first (more disagreement =
earlier), then the distance. Remaining ties go to input order. Without a quota nothing
is selected and priority follows the score, poorest first.

Output (Parquet, CSV or Excel by suffix, written atomically): ``IDBDT, score,
rank_in_desa, selected, priority, reason_1..k`` (+ ``score_<model>`` for extra models).
Beside it: ``<stem>.rejects.csv`` (``IDBDT, reason``) and ``<stem>.drift.csv``. NIK is
dropped as soon as a chunk is validated and never reaches a file or a log.
"""

from __future__ import annotations

import json
import shutil
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from slrt_ml.features.drift import PSI_WARNING, DriftAccumulator

__all__ = [
    "ScoringResult",
    "score_prelist",
    "verification_priority",
    "rank_within_area",
    "load_scoring_models",
    "champion_name",
    "desa_quota",
    "score_table",
]

_AREA_KEYS = ["KDPROP", "KDKAB", "KDKEC", "KDDESA"]
_PART_MANIFEST = "manifest.json"


@dataclass
class ScoringResult:
    """What :func:`score_prelist` wrote and counted (``n_input == n_scored + n_rejected``)."""

    output: Path
    rejects: Path
    drift: Path | None
    n_input: int
    n_scored: int
    n_rejected: int
    n_orphan_member_households: int
    seconds: float
    resumed_chunks: int = 0
    drift_warnings: list[str] = field(default_factory=list)

    @property
    def households_per_second(self) -> float:
        return self.n_input / self.seconds if self.seconds > 0 else float("nan")

    def summary(self) -> dict[str, Any]:
        return {
            "n_input": self.n_input, "n_scored": self.n_scored, "n_rejected": self.n_rejected,
            "n_orphan_member_households": self.n_orphan_member_households,
            "seconds": round(self.seconds, 3),
            "households_per_second": round(self.households_per_second, 1),
            "rejects_path": str(self.rejects),
            "drift_path": str(self.drift) if self.drift else "",
        }  # fmt: skip


# --- selection and priority over the compact table ------------------------------------------


def rank_within_area(score: np.ndarray, area: np.ndarray) -> np.ndarray:
    """Rank of each household in its area by score, 1 = highest (poorest); ties by position.

    >>> rank_within_area(np.array([0.2, 0.9, 0.5, 0.5]), np.array([0, 0, 1, 1])).tolist()
    [2, 1, 1, 2]
    """
    n = len(score)
    order = np.lexsort((np.arange(n), -np.asarray(score, float), area))
    sorted_area = area[order]
    starts = np.flatnonzero(np.r_[True, sorted_area[1:] != sorted_area[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, n]))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - group_start + 1
    return rank


def verification_priority(
    rank: np.ndarray, quota: np.ndarray, n_in_area: np.ndarray, *, disagreement=None
) -> np.ndarray:
    """Priority for field verification, 1 = check first (see the module docstring).

    ``rank``, ``quota`` (of the household's desa) and ``n_in_area`` are per household;
    ``disagreement`` is the share of other models that decide differently.

    >>> verification_priority(np.array([1, 2, 3, 1, 2]), np.array([1, 1, 1, 1, 1]),
    ...                       np.array([3, 3, 3, 2, 2])).tolist()
    [1, 2, 5, 3, 4]
    """
    distance = np.abs(rank - (quota + 0.5)) / np.maximum(n_in_area, 1)
    disagree = np.zeros(len(rank)) if disagreement is None else np.asarray(disagreement, float)
    order = np.lexsort((np.arange(len(rank)), distance, -disagree))
    priority = np.empty(len(rank), dtype=np.int64)
    priority[order] = np.arange(1, len(rank) + 1)
    return priority


def desa_quota(
    counts: pd.Series, quota: Mapping[str, int] | float | None
) -> pd.Series | None:
    """Quota per desa code (index of ``counts``, households per desa) from a mapping or a share.

    A share ``s`` takes ``round(s * total)`` households split over desa in proportion to
    their size by largest remainder; desa missing from a mapping get 0 (with a warning).

    >>> desa_quota(pd.Series({"a": 3, "b": 1}), 0.5).to_dict()
    {'a': 2, 'b': 0}
    """
    if quota is None:
        return None
    if isinstance(quota, Mapping):
        wanted = pd.Series({str(k): int(v) for k, v in quota.items()}, dtype="int64")
        missing = counts.index.difference(wanted.index)
        if len(missing):
            warnings.warn(
                f"{len(missing)} desa of the prelist are not in the quota file (e.g. "
                f"{', '.join(map(str, missing[:3]))}); they get quota 0",
                stacklevel=2,
            )
        return wanted.reindex(counts.index, fill_value=0)
    share = float(quota)
    if not 0 <= share <= 1:
        raise ValueError(f"quota share must be in [0, 1], got {share}")
    from slrt_ml.targeting.selection import largest_remainder

    return largest_remainder(round(share * int(counts.sum())), counts).astype("int64")


def _selection(score: np.ndarray, area: np.ndarray, quota_by_code: np.ndarray | None):
    from slrt_ml.targeting.selection import select_under_quota

    rank = rank_within_area(score, area)
    if quota_by_code is None:
        return rank, None
    selected = select_under_quota(
        score, None, area=area, area_quota=dict(enumerate(quota_by_code.tolist())),
        tiebreak=np.arange(len(score)),
    )
    assert (selected == (rank <= quota_by_code[area])).all(), "rank and selection disagree"
    return rank, selected


# --- models --------------------------------------------------------------------------------


def champion_name(run_dir: str | Path, manifest: Mapping[str, Any]) -> str:
    """The run's champion: lowest exclusion error at SIKS-NG's quota, else the first model."""
    comparison = Path(run_dir) / "comparison.csv"
    models = list(manifest.get("models", []))
    if comparison.is_file():
        from slrt_ml.tracking import select_champion

        return select_champion(pd.read_csv(comparison), models or None)
    if not models:
        raise ValueError(f"{run_dir}/manifest.json lists no models; train with `slrt-ml train`")
    return models[0]


def load_scoring_models(
    source: str | Path, *, model_names: list[str] | None = None, tracking_uri: str | None = None
) -> tuple[dict[str, Any], dict | None, str]:
    """Models to score with (first = main), the training feature profile (or None), model URI.

    ``source`` is a run folder or a registry URI ``models:/NAME@ALIAS``. From a run folder
    the main model is the first of ``model_names``, else the champion.
    """
    from slrt_ml.models import load_model

    if str(source).startswith("models:/"):
        from slrt_ml.tracking import load_registered_model

        model = load_registered_model(str(source), tracking_uri=tracking_uri)
        return {model.name: model}, getattr(model, "feature_profile_", None), str(source)
    run_dir = Path(source)
    manifest_path = run_dir / "manifest.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(
            f"{run_dir} is not a run folder (no manifest.json) and not a models:/NAME@ALIAS URI"
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    names = model_names or [champion_name(run_dir, manifest)]
    models = {name: load_model(run_dir / "models" / name) for name in names}
    return models, _run_profile(run_dir, manifest), str(run_dir / "models" / names[0])


def _run_profile(run_dir: Path, manifest: Mapping[str, Any]) -> dict | None:
    path = run_dir / "feature_profile.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    return manifest.get("feature_profile")


# --- one chunk -------------------------------------------------------------------------------


def _desa_code(households: pd.DataFrame) -> pd.Series:
    frame = households[_AREA_KEYS].astype("string")
    return frame["KDPROP"] + frame["KDKAB"] + frame["KDKEC"] + frame["KDDESA"]


def _isin(ids: pd.Series, values) -> np.ndarray:
    """``ids.isin(values)`` as a bool array, through Arrow (pandas' string ``isin``
    builds one Arrow scalar per value in Python)."""
    import pyarrow.compute as pc

    values = pd.Series(list(values) if isinstance(values, set) else values, dtype="string")
    found = pc.is_in(_arrow_strings(ids), value_set=_arrow_strings(values.dropna()))
    return found.to_numpy(zero_copy_only=False).astype(bool)


def _arrow_strings(column: pd.Series):
    import pyarrow as pa

    column = column.astype("string")
    try:
        return pa.chunked_array(column.array.__arrow_array__()).cast(pa.large_string())
    except (AttributeError, TypeError, pa.ArrowException):
        return pa.array(column.to_numpy(dtype=object, na_value=None), pa.large_string())


def _score_chunk(hh, members, models: dict, areas, explain: bool, top_k: int, duplicates=()):
    """(scored part, rejects part, features) of one chunk; NIK dropped after validation."""
    from slrt_ml.data.schema import household_rejects
    from slrt_ml.features.households import household_features

    rejects = household_rejects(hh, members)
    repeated = _isin(hh["IDBDT"], duplicates) & ~_isin(hh["IDBDT"], rejects["IDBDT"])
    if repeated.any():
        extra = hh.loc[repeated, ["IDBDT"]].assign(
            reason="IDBDT: unique (repeated in another part of the file)")
        rejects = pd.concat([rejects, extra.astype("string")], ignore_index=True)
    members = members.drop(columns=["NIK"], errors="ignore")
    keep = hh["IDBDT"].notna().to_numpy(bool) & ~_isin(hh["IDBDT"], rejects["IDBDT"])
    valid = hh[keep]
    own = _isin(members["IDBDT"], valid["IDBDT"]) if len(members) else np.zeros(0, bool)
    features = household_features(valid, members[own], areas)
    if features.empty:
        return _empty_part(list(models)[1:], explain, top_k), rejects, features
    part = _model_scores(features, models, explain, top_k)
    part.insert(0, "desa", _desa_code(valid).to_numpy())
    part.index.name = "IDBDT"
    return part.reset_index(), rejects, features


def _model_scores(features: pd.DataFrame, models: Mapping[str, Any], explain: bool, top_k: int):
    """``score`` (+ ``reason_1..k``) of the main model, ``score_<name>`` of the others."""
    from slrt_ml.explain.api import model_margin, reason_columns

    main = next(iter(models.values()))
    if explain:
        part = reason_columns(main, features, top_k=top_k).drop(columns="base_value")
    else:
        part = pd.DataFrame({"score": model_margin(main, features)}, index=features.index)
    for name, model in list(models.items())[1:]:
        part[f"score_{name}"] = model_margin(model, features)
    return part


def _empty_part(extra: list[str], explain: bool, top_k: int) -> pd.DataFrame:
    columns = {"IDBDT": "string", "desa": "string", "score": "float64"}
    columns |= {f"reason_{i}": "string" for i in range(1, top_k + 1)} if explain else {}
    columns |= {f"score_{name}": "float64" for name in extra}
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})


# --- parts folder (resume) --------------------------------------------------------------------


def _signature(paths: list[Path], options: Mapping[str, Any]) -> dict[str, Any]:
    files = {str(p): [p.stat().st_size, p.stat().st_mtime_ns] for p in paths}
    return {"files": files, "options": {k: str(v) for k, v in options.items()}}


def _open_parts(parts: Path, signature: dict, restart: bool) -> dict[str, Any]:
    manifest_path = parts / _PART_MANIFEST
    if parts.is_dir() and not restart and manifest_path.is_file():
        state = json.loads(manifest_path.read_text(encoding="utf-8"))
        if state.get("signature") == signature:
            return state
    shutil.rmtree(parts, ignore_errors=True)
    parts.mkdir(parents=True)
    state = {"signature": signature, "done": [], "sorted_input": True}
    _save_parts_manifest(parts, state)
    return state


def _save_parts_manifest(parts: Path, state: dict) -> None:
    from slrt_ml.data.io import atomic_path

    with atomic_path(parts / _PART_MANIFEST) as tmp:
        tmp.write_text(json.dumps(state), encoding="utf-8")


def _save_part(parts: Path, index: int, scored, rejects, drift_state, state: dict) -> None:
    from slrt_ml.data.io import write_table

    write_table(scored, parts / f"scored-{index:05d}.parquet")
    write_table(rejects, parts / f"rejects-{index:05d}.parquet")
    (parts / f"drift-{index:05d}.json").write_text(json.dumps(drift_state), encoding="utf-8")
    state["done"].append(index)
    _save_parts_manifest(parts, state)


# --- the streaming loop ------------------------------------------------------------------------


def _progress(enabled: bool):
    from tqdm import tqdm

    return tqdm(unit=" households", unit_scale=True, disable=not enabled, desc="scoring")


def _run_chunks(hh_path, mem_path, parts, state, models, areas, profile, opts) -> int:
    from slrt_ml.data.prelist import UnsortedPrelist, duplicated_ids, prelist_chunks

    done = set(state["done"])
    duplicates = set() if state["sorted_input"] else duplicated_ids(hh_path, opts["chunk_size"])
    chunks = prelist_chunks(hh_path, mem_path, opts["chunk_size"], sorted_input=state["sorted_input"])
    index = 0
    with _progress(opts["progress"]) as bar:
        try:
            for index, (hh, members) in enumerate(chunks):
                if index not in done:
                    drift = DriftAccumulator(profile or {})
                    scored, rejects, features = _score_chunk(
                        hh, members, models, areas, opts["explain"], opts["top_k"], duplicates
                    )
                    drift.add(features)
                    _save_part(parts, index, scored, rejects, drift.state(), state)
                bar.update(len(hh))
        except UnsortedPrelist:
            if not state["sorted_input"]:
                raise
            shutil.rmtree(parts)
            parts.mkdir()
            state.update(done=[], sorted_input=False)
            _save_parts_manifest(parts, state)
            return _run_chunks(hh_path, mem_path, parts, state, models, areas, profile, opts)
    return len(done)


def _part_files(parts: Path, kind: str, state: dict) -> list[Path]:
    return [parts / f"{kind}-{i:05d}.parquet" for i in sorted(state["done"])]


def _compact(parts: Path, state: dict, extra: list[str]):
    """Desa code (int) and scores of every scored household, in part order."""
    codes: dict[str, int] = {}
    desa, scores, others, sizes = [], [], [], []
    for path in _part_files(parts, "scored", state):
        frame = pd.read_parquet(path, columns=["desa", "score", *extra])
        local, uniques = pd.factorize(frame["desa"].astype("string"))
        lookup = np.array([codes.setdefault(str(u), len(codes)) for u in uniques], dtype=np.int32)
        desa.append(lookup[local] if len(local) else np.empty(0, np.int32))
        scores.append(frame["score"].to_numpy(np.float64))
        others.append(frame[extra].to_numpy(np.float64))
        sizes.append(len(frame))
    cat = np.concatenate
    return (cat(desa) if desa else np.empty(0, np.int32), cat(scores) if scores else np.empty(0),
            cat(others) if others else np.empty((0, len(extra))), sizes, list(codes))  # fmt: skip


def _decisions(parts: Path, state: dict, quota, extra: list[str]) -> tuple[dict, list[int]]:
    area, score, others, sizes, names = _compact(parts, state, extra)
    return _decide(area, score, others, names, quota), sizes


def _decide(area: np.ndarray, score: np.ndarray, others: np.ndarray, names: list[str], quota):
    """Rank, selection and priority; ``area`` holds codes into ``names``, ``others`` one
    score column per extra model."""
    counts = pd.Series(np.bincount(area, minlength=len(names)), index=pd.Index(names))
    quotas = desa_quota(counts, quota)
    # largest_remainder returns areas sorted by code: align with the codes of `area`
    quota_by_code = None if quotas is None else quotas.reindex(counts.index).to_numpy(np.int64)
    rank, selected = _selection(score, area, quota_by_code)
    if selected is None:
        priority = np.empty(len(score), np.int64)
        priority[np.lexsort((np.arange(len(score)), -score))] = np.arange(1, len(score) + 1)
        return {"rank_in_desa": rank, "selected": None, "priority": priority}
    disagreement = None
    if others.shape[1]:
        votes = [_selection(others[:, j], area, quota_by_code)[1] for j in range(others.shape[1])]
        disagreement = np.mean([v != selected for v in votes], axis=0)
    n_in = counts.to_numpy()[area]
    priority = verification_priority(rank, quota_by_code[area], n_in, disagreement=disagreement)
    return {"rank_in_desa": rank, "selected": selected, "priority": priority}


def _output_part(frame: pd.DataFrame, decisions: dict, start: int, stop: int, top_k, explain):
    out = frame.drop(columns=["desa"])
    out.insert(2, "rank_in_desa", decisions["rank_in_desa"][start:stop])
    selected = decisions["selected"]
    out.insert(3, "selected", pd.array([pd.NA] * (stop - start), dtype="boolean")
               if selected is None else selected[start:stop])
    out.insert(4, "priority", decisions["priority"][start:stop])
    if not explain:
        for slot in range(1, top_k + 1):
            out[f"reason_{slot}"] = pd.array([pd.NA] * len(out), dtype="string")
    return out


def _combine(parts, state, out: Path, decisions, sizes, top_k, explain) -> int:
    from slrt_ml.data.io import TableWriter

    start = 0
    with TableWriter(out) as writer:
        for path, size in zip(_part_files(parts, "scored", state), sizes, strict=True):
            frame = pd.read_parquet(path)
            writer.write(_output_part(frame, decisions, start, start + size, top_k, explain))
            start += size
        if start == 0:
            writer.write(pd.DataFrame(columns=["IDBDT", "score", "rank_in_desa", "selected",
                                               "priority"]))
    return start


def _rejects(parts: Path, state: dict, path: Path) -> tuple[int, int]:
    from slrt_ml.data.io import write_table

    frames = [pd.read_parquet(p) for p in _part_files(parts, "rejects", state)]
    rejects = pd.concat(frames) if frames else pd.DataFrame(columns=["IDBDT", "reason"])
    write_table(rejects.astype("string"), path)
    orphans = rejects["reason"].eq("members without a household record").fillna(False)
    return int((~orphans).sum()), int(orphans.sum())


def _drift_report(parts: Path, state: dict, profile, path: Path):
    from slrt_ml.data.io import write_table

    if not profile:
        return None, ["no training feature profile in the run folder or model: drift not checked"]
    drift = DriftAccumulator(profile)
    for i in sorted(state["done"]):
        drift.merge(json.loads((parts / f"drift-{i:05d}.json").read_text(encoding="utf-8")))
    report = drift.report()
    write_table(report, path)
    large = report[report["large_drift"]]
    notes = [f"{r.feature}: PSI {r.psi:.2f} > {PSI_WARNING}" for r in large.itertuples()]
    notes += [f"{r.feature}: {r.n_unseen} unseen codes ({r.unseen_codes})"
              for r in report[report["n_unseen"] > 0].itertuples()]  # fmt: skip
    return path, notes


def _sibling(out: Path, what: str) -> Path:
    return out.with_name(f"{out.stem}.{what}.csv")


def _prelist_paths(folder: Path) -> tuple[Path, Path, Path | None]:
    from slrt_ml.data.io import TableReadError, find_table

    try:
        hh, mem = find_table(folder, "prelist_households"), find_table(folder, "prelist_members")
    except TableReadError:
        hh, mem = find_table(folder, "households"), find_table(folder, "members")
    try:
        areas = find_table(folder, "areas")
    except TableReadError:
        areas = None
    return hh, mem, areas


def score_prelist(
    prelist: str | Path,
    models: Mapping[str, Any],
    out: str | Path,
    *,
    explain: bool = False,
    top_k: int = 5,
    quota: Mapping[str, int] | float | None = None,
    profile: dict | None = None,
    chunk_size: int = 100_000,
    restart: bool = False,
    progress: bool = True,
) -> ScoringResult:
    """Score every household of a prelist folder and write one output file (module docstring).

    ``models``: name -> fitted model, the first is the main one (scores, reasons); the
    others only vote for the priority. ``quota``: desa code (10 digits) -> count, a share,
    or None. ``profile``: the training feature profile for the drift report.
    """
    from slrt_ml.data.io import read_table

    started = time.perf_counter()
    out, folder = Path(out), Path(prelist)
    hh_path, mem_path, areas_path = _prelist_paths(folder)
    areas = read_table(areas_path, "areas") if areas_path is not None else None
    options = {"models": list(models), "explain": explain, "top_k": top_k,
               "chunk_size": chunk_size, "out": out.resolve()}  # fmt: skip
    parts = out.with_name(out.name + ".parts")
    paths = [p for p in (hh_path, mem_path, areas_path) if p is not None]
    state = _open_parts(parts, _signature(paths, options), restart)
    opts = {"chunk_size": chunk_size, "explain": explain, "top_k": top_k, "progress": progress}
    resumed = _run_chunks(hh_path, mem_path, parts, state, dict(models), areas, profile, opts)
    extra = [f"score_{name}" for name in list(models)[1:]]
    decisions, sizes = _decisions(parts, state, quota, extra)
    n_scored = _combine(parts, state, out, decisions, sizes, top_k, explain)
    n_rejected, n_orphans = _rejects(parts, state, _sibling(out, "rejects"))
    drift_path, notes = _drift_report(parts, state, profile, _sibling(out, "drift"))
    n_input = _count_rows(hh_path)
    assert n_scored + n_rejected == n_input, (
        f"scored {n_scored} + rejected {n_rejected} != input {n_input} households"
    )
    shutil.rmtree(parts)
    return ScoringResult(out, _sibling(out, "rejects"), drift_path, n_input, n_scored,
                         n_rejected, n_orphans, time.perf_counter() - started, resumed, notes)  # fmt: skip


def _count_rows(path: Path) -> int:
    from slrt_ml.data.io import iter_table_chunks

    return sum(len(c) for c in iter_table_chunks(path, "households", chunksize=500_000,
                                                 columns=["IDBDT"]))  # fmt: skip


# --- a mapped household table (bring your own table) -----------------------------------------


def _mapped_areas(valid: pd.DataFrame, mapping: Any) -> tuple[np.ndarray, list[str]]:
    """Area codes per household: the mapped cluster, or one area when the cluster is
    unmapped or is the household itself (a quota per household would select by rounding)."""
    if not mapping.cluster or mapping.cluster == mapping.id:
        return np.zeros(len(valid), np.int64), ["all"]
    codes, names = pd.factorize(valid[mapping.cluster].astype("string").reset_index(drop=True))
    return codes.astype(np.int64), [str(n) for n in names]


def _table_drift(features: pd.DataFrame, profile: dict | None, path: Path):
    from slrt_ml.data.io import write_table

    if not profile:
        return None, ["no training feature profile in the run folder or model: drift not checked"]
    drift = DriftAccumulator(profile)
    drift.add(features)
    report = drift.report()
    notes = [f"{r.feature}: PSI {r.psi:.2f} > {PSI_WARNING}"
             for r in report[report["large_drift"]].itertuples()]  # fmt: skip
    return write_table(report, path), notes


def score_table(
    table: str | Path | pd.DataFrame,
    mapping: Any,
    models: Mapping[str, Any],
    out: str | Path,
    *,
    explain: bool = False,
    top_k: int = 5,
    quota: Mapping[str, int] | float | None = None,
    profile: dict | None = None,
) -> ScoringResult:
    """Score a household table through its dataset mapping (``slrt-ml score --mapping``).

    ``table`` is a file (CSV/Parquet/xlsx) or a DataFrame; ``mapping`` a
    :class:`~slrt_ml.data.mapping.DatasetMapping` or its YAML path. Only the id, the cluster and
    the feature columns are needed (no label, no reference). Rows with a missing or repeated
    id, a missing cluster or an invalid feature value go to ``<out stem>.rejects.csv``
    (``<id>, reason``); the rest are scored by the same code as the prelist: score and
    top-k reasons from :mod:`slrt_ml.explain.api`, rank, selection (``quota``: a share, or
    cluster -> count) and verification priority per cluster (one area when the cluster is
    unmapped or is the household id). Output columns: ``<id>, score, rank_in_area,
    selected, priority, reason_1..k`` (+ ``score_<model>``), written atomically. Mapped
    tables are small: the table is read and scored in memory, not streamed.
    """
    from slrt_ml.data.io import write_table
    from slrt_ml.data.mapping import (
        load_mapping,
        mapped_features,
        mapped_rejects,
        read_mapped_table,
    )

    started, out = time.perf_counter(), Path(out)
    mapping = mapping if hasattr(mapping, "features") else load_mapping(mapping)
    frame = table if isinstance(table, pd.DataFrame) else read_mapped_table(mapping, table)
    reasons = mapped_rejects(frame, mapping)
    ok = reasons.isna().to_numpy()
    valid = frame[ok].reset_index(drop=True)
    rejects = pd.DataFrame({mapping.id: frame[mapping.id].astype("string").to_numpy()[~ok],
                            "reason": reasons[~ok].to_numpy()})  # fmt: skip
    features = mapped_features(valid, mapping)
    if features.empty:
        scored = _empty_part(list(models)[1:], explain, top_k).drop(columns="desa")
        scored = scored.set_index("IDBDT")
    else:
        scored = _model_scores(features, models, explain, top_k)
    area, names = _mapped_areas(valid, mapping)
    extra = [f"score_{name}" for name in list(models)[1:]]
    decisions = _decide(area, scored["score"].to_numpy(np.float64),
                        scored[extra].to_numpy(np.float64), names, quota)  # fmt: skip
    scored = scored.rename_axis("IDBDT").reset_index().assign(desa=area)
    output = _output_part(scored, decisions, 0, len(scored), top_k, explain)
    output = output.rename(columns={"IDBDT": mapping.id, "rank_in_desa": "rank_in_area"})
    assert len(output) + len(rejects) == len(frame), (
        f"scored {len(output)} + rejected {len(rejects)} != input {len(frame)} households"
    )
    write_table(output, out)
    write_table(rejects, _sibling(out, "rejects"))
    drift_path, notes = _table_drift(features, profile, _sibling(out, "drift"))
    return ScoringResult(out, _sibling(out, "rejects"), drift_path, len(frame), len(output),
                         len(rejects), 0, time.perf_counter() - started, 0, notes)  # fmt: skip
