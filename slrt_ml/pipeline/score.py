"""Batch scoring of the prelist before field verification: who to include, who to check first, why.

:func:`score_prelist` streams the prelist in chunks of households (members alongside, see
:mod:`slrt_ml.data.prelist`): each chunk is validated (bad households go to the rejects file
with a readable reason, the rest go on), turned into features, scored, explained (with
``explain=True``: exact top-k reasons from :mod:`slrt_ml.explain.api`) and counted into the
drift report. Each finished chunk is saved as a part file in ``<out>.parts/``
(:mod:`slrt_ml.pipeline.score_parts`), so a rerun after a crash resumes where it stopped
(``restart=True`` starts clean); the parts are combined at the end and the folder removed.

Selection needs every score, so it runs after the chunks, over a compact table (desa
code and score per household): each desa ranks its households (``rank_in_desa``, 1 =
poorest; ties by input order), selects its quota (per-desa counts, a share of every
desa split by largest remainder, or none) and orders its households for field
verification (:mod:`slrt_ml.targeting.priority`: the least certain decisions first).

Output (Parquet, CSV or Excel by suffix, written atomically): ``IDBDT, score,
rank_in_desa, selected, priority, reason_1..k`` (+ ``score_<model>`` for extra models).
Beside it: ``<stem>.rejects.csv`` (``IDBDT, reason``) and ``<stem>.drift.csv``. NIK is
dropped as soon as a chunk is validated and never reaches a file or a log.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from slrt_ml.data.codebook import area_keys
from slrt_ml.data.io import (
    iter_table_chunks,
)
from slrt_ml.data.prelist import UnsortedPrelist, duplicated_ids, prelist_chunks
from slrt_ml.evaluation.champion import select_champion
from slrt_ml.features.drift import DriftAccumulator
from slrt_ml.features.households import household_features
from slrt_ml.models import PovertyModel, load_model
from slrt_ml.pipeline.calibration import attach_calibration
from slrt_ml.pipeline.field_output import field_table, input_by_kecamatan, write_field_output
from slrt_ml.pipeline.progress import progress as show_progress
from slrt_ml.pipeline.run_folder import RunFolder, RunFolderError, read_manifest
from slrt_ml.pipeline.score_inputs import PrelistFiles, chunk_rejects, isin
from slrt_ml.pipeline.score_output import (
    ScoringResult,
    check_row_accounting,
    empty_scores,
    extra_score_columns,
    model_scores,
    sibling_path,
)
from slrt_ml.pipeline.score_parts import PartsFolder, parts_signature
from slrt_ml.pipeline.score_run import ScoreRun
from slrt_ml.targeting.priority import AreaDecisions, area_decisions
from slrt_ml.tracking import load_registered_model

__all__ = [
    "PrelistScorer",
    "ScoreOptions",
    "ScoringResult",
    "champion_name",
    "load_scoring_models",
    "score_prelist",
]


@dataclass(frozen=True)
class ScoreOptions:
    """How to score a prelist (the keyword arguments of :func:`score_prelist`).

    Parameters
    ----------
    explain : bool
        Add the main model's exact top-``top_k`` reasons.
    top_k : int
        Reasons per household.
    quota : mapping, float or None
        Desa code (10 digits) -> count, a share of every desa, or None (nothing selected).
    chunk_size : int
        Households per chunk.
    restart : bool
        Ignore finished chunks of an earlier run.
    progress : bool
        Show a progress bar.
    lang : {"id", "en"}
        Language of the reasons and of the Excel headers.
    priority_models : tuple of str
        Extra models whose selections vote for the verification priority (default none:
        the priority depends on the main model only).
    """

    explain: bool = False
    top_k: int = 5
    quota: Mapping[str, int] | float | None = None
    chunk_size: int = 100_000
    restart: bool = False
    progress: bool = True
    lang: str = "id"
    priority_models: tuple[str, ...] = ()


# --- the scorer -------------------------------------------------------------------------------


class PrelistScorer:
    """Scores a prelist folder with fitted models, chunk by chunk (module docstring).

    Parameters
    ----------
    models : mapping
        Name -> fitted model; the first is the main one (scores, reasons), the others
        only vote for the verification priority.
    profile : dict, optional
        The training feature profile, for the drift report.
    options : ScoreOptions, optional
        Defaults to ``ScoreOptions()``.
    """

    def __init__(
        self,
        models: Mapping[str, PovertyModel],
        profile: dict | None = None,
        options: ScoreOptions | None = None,
    ) -> None:
        self.models = dict(models)
        self.profile = profile
        self.options = options or ScoreOptions()

    @property
    def extra_columns(self) -> list[str]:
        """``score_<name>`` of the models after the main one."""
        return extra_score_columns(self.models)

    def score(self, prelist: str | Path, out: str | Path) -> ScoringResult:
        """Score every household of ``prelist`` into ``out`` (and its siblings).

        The run holds ``<out>.lock`` throughout and publishes the output, rejects, orphan
        members and drift files as one set with ``<out>.manifest.json``
        (:mod:`slrt_ml.pipeline.score_run`).

        Raises
        ------
        OutputLockedError
            Another run is writing ``out``.
        PartsConflictError
            ``<out>.parts/`` belongs to a different run (use ``restart``).
        TableReadError, SchemaError
            A prelist file cannot be read or lacks a required column.
        RowAccountingError
            When scored + rejected households do not add up to the input (a bug).
        """
        started = time.perf_counter()
        out = Path(out)
        files = PrelistFiles.find(Path(prelist))
        targets = {"output": out, "rejects": sibling_path(out, "rejects"),
                   "orphan_members": sibling_path(out, "orphan_members"),
                   "drift": sibling_path(out, "drift"), "desa": sibling_path(out, "desa")}  # fmt: skip
        with ScoreRun(out) as run:
            run.clean_leftovers([p.name for p in targets.values()])
            files.check_columns()
            self._check_areas(files, prelist)
            areas = files.read_areas()  # validated once per run, used by every chunk
            parts = self.open_parts(files, out)
            resumed = self.run_chunks(files, parts, areas)
            decisions, sizes = self.decide(parts)
            n_scored = self.combine(parts, run.staged(out), decisions, sizes, files, areas)
            n_rejected, n_orphans = parts.write_rejects(run.staged(targets["rejects"]),
                                                        run.staged(targets["orphan_members"]))  # fmt: skip
            drift_path, notes = parts.write_drift_report(self.profile, run.staged(targets["drift"]))
            if drift_path is None:
                targets["drift"].unlink(missing_ok=True)
                targets["drift"] = None
            n_input = _count_rows(files.households)
            check_row_accounting(n_scored, n_rejected, n_input)
            run.publish(targets, {"input_rows": n_input, "scored_rows": n_scored,
                                  "rejected_rows": n_rejected, "orphan_member_groups": n_orphans,
                                  "models": list(self.models), "prelist": str(prelist)})  # fmt: skip
            parts.remove()
        return ScoringResult(out, targets["rejects"], targets["drift"], n_input, n_scored,
                             n_rejected, n_orphans, time.perf_counter() - started, resumed,
                             notes)  # fmt: skip

    def _check_areas(self, files: PrelistFiles, prelist: str | Path) -> None:
        """Refuse a prelist without ``areas.*`` when the models use the urban flag."""
        encoders = (getattr(m, "encoder_", None) for m in self.models.values())
        needs = any("perkotaan" in getattr(e, "feature_names_in_", ()) for e in encoders)
        if needs and files.areas is None:
            raise ValueError(
                f"{prelist}: no areas.* table, but the models use the urban flag 'perkotaan' "
                "(BPS village classification); copy areas.* from the registry into the "
                "prelist folder"
            )

    def open_parts(self, files: PrelistFiles, out: Path) -> PartsFolder:
        """``<out>.parts/``, resumed when the inputs and options did not change."""
        opts = self.options
        signed = {"models": list(self.models), "model_ids": _model_ids(self.models),
                  "explain": opts.explain, "top_k": opts.top_k, "chunk_size": opts.chunk_size,
                  "lang": opts.lang,
                  "out": out.resolve()}  # fmt: skip
        paths = [p for p in files if p is not None]
        signature = parts_signature(paths, signed)
        return PartsFolder.open(out.with_name(out.name + ".parts"), signature, restart=opts.restart)

    def run_chunks(
        self, files: PrelistFiles, parts: PartsFolder, areas: pd.DataFrame | None | bool = False
    ) -> int:
        """Score and save every chunk not done yet; the number of chunks resumed.

        ``areas`` is the validated areas table (``files.read_areas()``; read here when not
        given). An unsorted prelist is detected on the way: the parts are dropped and the
        prelist is read again in the slow, order-independent way.
        """
        if areas is False:
            areas = files.read_areas()
        size = self.options.chunk_size
        done = parts.done
        duplicates = set() if parts.sorted_input else duplicated_ids(files.households, size)
        chunks = prelist_chunks(files.households, files.members, size,
                                sorted_input=parts.sorted_input)  # fmt: skip
        with show_progress(self.options.progress, unit="households") as bar:
            task = bar.add_task("scoring", total=None)
            try:
                for index, (hh, members) in enumerate(chunks):
                    if index not in done:
                        self._save_chunk(parts, index, hh, members, areas, duplicates)
                    bar.advance(task, len(hh))
            except UnsortedPrelist:
                if not parts.sorted_input:
                    raise
                parts.restart_unsorted()
                return self.run_chunks(files, parts, areas)
        return len(done)

    def _save_chunk(
        self,
        parts: PartsFolder,
        index: int,
        hh: pd.DataFrame,
        members: pd.DataFrame,
        areas: pd.DataFrame | None,
        duplicates: Iterable[str],
    ) -> None:
        drift = DriftAccumulator(self.profile or {})
        scored, rejects, features = self.score_chunk(hh, members, areas, duplicates)
        drift.add(features)
        parts.save_part(index, scored, rejects, drift.state())

    def score_chunk(
        self,
        hh: pd.DataFrame,
        members: pd.DataFrame,
        areas: pd.DataFrame | None,
        duplicates: Iterable[str] = (),
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """(scored part, rejects part, features) of one chunk; NIK dropped after validation."""
        bad, rejects = chunk_rejects(hh, members, duplicates, areas)
        members = members.drop(columns=["NIK"], errors="ignore")
        valid = hh[~bad]
        own = isin(members["IDBDT"], valid["IDBDT"]) if len(members) else np.zeros(0, bool)
        features = household_features(valid, members[own], areas)
        opts = self.options
        if features.empty:
            return empty_scores(self.extra_columns, opts.explain, opts.top_k), rejects, features
        part = model_scores(features, self.models, opts.explain, opts.top_k, lang=opts.lang)
        part.insert(0, "desa", area_keys(valid)["desa"].to_numpy())
        part.index.name = "IDBDT"
        return part.reset_index(), rejects, features

    def decide(self, parts: PartsFolder) -> tuple[AreaDecisions, list[int]]:
        """Rank, selection and priority over every scored household; rows per part."""
        compact = parts.compact(self.extra_columns)
        decisions = area_decisions(compact.score, compact.area, compact.area_names,
                                   self.options.quota,
                                   other_scores=compact.others[:, self._voters()])  # fmt: skip
        return decisions, compact.sizes

    def combine(
        self,
        parts: PartsFolder,
        out: Path,
        decisions: AreaDecisions,
        sizes: list[int],
        files: PrelistFiles,
        areas: pd.DataFrame | None | bool = False,
    ) -> int:
        """Write the field output (:mod:`slrt_ml.pipeline.field_output`: by kecamatan, desa
        and verification priority) and ``<stem>.desa.csv``; the number of rows written.
        ``areas`` as in :meth:`run_chunks`."""
        opts = self.options
        if areas is False:
            areas = files.read_areas()
        frames = [pd.read_parquet(path) for path in parts.part_files("scored")]
        empty = empty_scores(self.extra_columns, opts.explain, opts.top_k)
        scored = pd.concat(frames, ignore_index=True) if frames else empty
        table = field_table(scored, decisions, areas, top_k=opts.top_k,
                            explain=opts.explain)  # fmt: skip
        write_field_output(table, out, lang=opts.lang, top_k=opts.top_k,
                           n_input=input_by_kecamatan(files.households))  # fmt: skip
        return len(table)

    def _voters(self) -> list[int]:
        """Columns (among the extra models) of the models chosen to vote for the priority.

        Raises
        ------
        ValueError
            When a name in ``priority_models`` is not one of the extra models.
        """
        extra = list(self.models)[1:]
        unknown = [n for n in self.options.priority_models if n not in extra]
        if unknown:
            raise ValueError(f"priority models {unknown} are not among the extra models "
                             f"{extra} (the first model scores; the others may vote)")  # fmt: skip
        return [extra.index(name) for name in self.options.priority_models]


def _model_ids(models: Mapping[str, PovertyModel]) -> list[str]:
    """A content hash of each model (joblib), so a retrained model never reuses parts."""
    import joblib

    ids = []
    for name, model in models.items():
        try:
            ids.append(f"{name}:{joblib.hash(model)}")
        except Exception:  # noqa: BLE001 - an unhashable model (Keras) falls back to its class
            ids.append(f"{name}:{type(model).__qualname__}")
    return ids


def _count_rows(path: Path) -> int:
    return sum(len(c) for c in iter_table_chunks(path, "households", chunksize=500_000,
                                                 columns=["IDBDT"]))  # fmt: skip


def score_prelist(
    prelist: str | Path,
    models: Mapping[str, PovertyModel],
    out: str | Path,
    *,
    explain: bool = False,
    top_k: int = 5,
    quota: Mapping[str, int] | float | None = None,
    profile: dict | None = None,
    chunk_size: int = 100_000,
    restart: bool = False,
    progress: bool = True,
    lang: str = "id",
    priority_models: tuple[str, ...] = (),
) -> ScoringResult:
    """Score every household of a prelist folder and write one output file (module docstring).

    Parameters
    ----------
    prelist : str or Path
        Folder with ``prelist_households``/``prelist_members`` (or ``households``/
        ``members``) and optionally ``areas``.
    models : mapping
        Name -> fitted model, the first is the main one (scores, reasons); the others
        only vote for the priority.
    out : str or Path
        Output file (.parquet/.csv/.xlsx).
    explain, top_k, quota, chunk_size, restart, progress, lang, priority_models
        See :class:`ScoreOptions`.
    profile : dict, optional
        The training feature profile for the drift report.

    Returns
    -------
    ScoringResult

    Raises
    ------
    RowAccountingError
        When scored + rejected households do not add up to the input (a bug).
    """
    options = ScoreOptions(explain=explain, top_k=top_k, quota=quota, chunk_size=chunk_size,
                           restart=restart, progress=progress, lang=lang,
                           priority_models=tuple(priority_models))  # fmt: skip
    return PrelistScorer(models, profile, options).score(prelist, out)


# --- models ----------------------------------------------------------------------------------


def champion_name(run_dir: str | Path, manifest: Mapping[str, Any]) -> str:
    """The run's champion (:mod:`slrt_ml.evaluation.champion`), else the first model.

    Raises
    ------
    ValueError
        When the run has no ``comparison.csv`` and its manifest lists no models.
    """
    comparison = RunFolder(run_dir).comparison
    models = list(manifest.get("models", []))
    if comparison.is_file():
        return select_champion(pd.read_csv(comparison), models or None)
    if not models:
        raise ValueError(f"{run_dir}/manifest.json lists no models; train with `slrt-ml train`")
    return models[0]


def load_scoring_models(
    source: str | Path,
    *,
    model_names: list[str] | None = None,
    tracking_uri: str | None = None,
    trust_pickle: bool = False,
) -> tuple[dict[str, PovertyModel], dict | None, str]:
    """Models to score with (first = main), the training feature profile (or None), model URI.

    Parameters
    ----------
    source : str or Path
        A run folder or a registry URI ``models:/NAME@ALIAS``.
    model_names : list of str, optional
        Models of the run folder; the first is the main one. Default: the champion.
    tracking_uri : str, optional
        MLflow tracking URI, for a registry URI.
    trust_pickle : bool, default False
        Load pickled (old) model folders too; see :func:`slrt_ml.models.load_model`.

    Raises
    ------
    RunFolderError
        When ``source`` is neither a run folder nor a ``models:/`` URI.
    """
    if str(source).startswith("models:/"):
        model = load_registered_model(
            str(source), tracking_uri=tracking_uri, trust_pickle=trust_pickle
        )
        return {model.name: model}, getattr(model, "feature_profile_", None), str(source)
    run = RunFolder(source)
    try:
        manifest = read_manifest(run.root)
    except RunFolderError as err:
        raise RunFolderError(f"{err}; or pass a registry URI models:/NAME@ALIAS") from None
    names = model_names or [champion_name(run.root, manifest)]
    sha256 = manifest.get("model_sha256", {})  # per model: file -> sha256, from training
    models = {
        name: load_model(run.model_dir(name), checksums=sha256.get(name), trust_pickle=trust_pickle)
        for name in names
    }
    attach_calibration(models, run.root)
    return models, _run_profile(run, manifest), str(run.model_dir(names[0]))


def _run_profile(run: RunFolder, manifest: Mapping[str, Any]) -> dict | None:
    path = run.root / "feature_profile.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    return manifest.get("feature_profile")
