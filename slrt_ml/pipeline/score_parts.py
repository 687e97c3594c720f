"""The parts folder of a streamed scoring run: one file set per finished chunk, for resume.

:func:`slrt_ml.pipeline.score.score_prelist` saves each finished chunk in
``<out>.parts/`` (``scored-NNNNN.parquet``, ``rejects-NNNNN.parquet``,
``drift-NNNNN.json``) and records it in the folder's ``manifest.json`` together with a
*signature* of the inputs (size, modification time and SHA-256 of each file), the models
and the options. A rerun with the same signature skips the chunks already done. A folder
with a different signature is never reused or deleted silently: the run refuses with
:class:`PartsConflictError` and says to pass ``--restart`` (``restart=True``), which
deletes it and starts clean. A folder that this module did not create (no manifest of
ours) is never deleted, not even with ``restart``. At the end the parts
are read back: a compact table of desa codes and scores for the selection
(:meth:`PartsFolder.compact`), the rejects and the merged drift report; then the folder
is removed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from slrt_ml.data.io import atomic_path, write_table
from slrt_ml.data.rejects import ORPHAN_REASON
from slrt_ml.features.drift import DriftAccumulator
from slrt_ml.pipeline.score_output import NO_PROFILE_NOTE, drift_notes

__all__ = ["CompactScores", "PartsConflictError", "PartsFolder", "parts_signature"]

PART_MANIFEST = "manifest.json"
_OWNER = "slrt_ml.score_parts/1"


class PartsConflictError(RuntimeError, ValueError):
    """The working folder belongs to a different run (inputs, models or options)."""


def _digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def parts_signature(paths: list[Path], options: Mapping[str, Any]) -> dict[str, Any]:
    """Size, modification time and SHA-256 of every input file, and the options as strings.

    Two runs whose signatures are equal produce the same parts, so finished parts can be
    reused.
    """
    files = {str(p): [p.stat().st_size, p.stat().st_mtime_ns, _digest(p)] for p in paths}
    return {"files": files, "options": {k: str(v) for k, v in options.items()}}


@dataclass(frozen=True)
class CompactScores:
    """Desa code and scores of every scored household, in part order.

    ``area`` holds codes into ``area_names``; ``others`` one column per extra model;
    ``sizes`` the number of rows of each part.
    """

    area: np.ndarray
    score: np.ndarray
    others: np.ndarray
    sizes: list[int]
    area_names: list[str]


@dataclass
class PartsFolder:
    """``<out>.parts/`` and its state (``signature``, ``done`` chunks, ``sorted_input``).

    Build it with :meth:`open`; the constructor touches no file.
    """

    path: Path
    state: dict[str, Any]

    @classmethod
    def open(cls, path: Path, signature: dict[str, Any], *, restart: bool) -> PartsFolder:
        """Resume the folder when its signature matches (and not ``restart``); start clean
        when there is none (or ``restart`` and it is ours).

        Raises
        ------
        PartsConflictError
            The folder holds parts of a different run (and not ``restart``), or it was not
            created by a scoring run at all.
        """
        manifest_path = path / PART_MANIFEST
        if path.exists():
            state = _read_state(manifest_path)
            if state is None:
                raise PartsConflictError(
                    f"{path}: exists but was not created by a scoring run (no {PART_MANIFEST} "
                    "of ours); move or delete it yourself, or choose another --out"
                )
            if not restart:
                if state.get("signature") == signature:
                    return cls(path, state)
                changed = _changed(state.get("signature", {}), signature)
                raise PartsConflictError(
                    f"{path}: holds finished chunks of a different scoring run ({changed} "
                    "changed); rerun with --restart to delete them and start clean, or "
                    "choose another --out"
                )
            shutil.rmtree(path)
        path.mkdir(parents=True)
        folder = cls(path, {"owner": _OWNER, "signature": signature, "done": [],
                            "sorted_input": True})  # fmt: skip
        folder.save_manifest()
        return folder

    @property
    def sorted_input(self) -> bool:
        """Whether the prelist is still read as sorted by IDBDT (the fast path)."""
        return bool(self.state["sorted_input"])

    @property
    def done(self) -> set[int]:
        """Indices of the chunks already saved."""
        return set(self.state["done"])

    def save_manifest(self) -> None:
        """Write the state atomically."""
        with atomic_path(self.path / PART_MANIFEST) as tmp:
            tmp.write_text(json.dumps(self.state), encoding="utf-8")

    def save_part(
        self, index: int, scored: pd.DataFrame, rejects: pd.DataFrame, drift_state: dict
    ) -> None:
        """Save chunk ``index`` and mark it done."""
        write_table(scored, self.path / f"scored-{index:05d}.parquet")
        write_table(rejects, self.path / f"rejects-{index:05d}.parquet")
        with atomic_path(self.path / f"drift-{index:05d}.json") as tmp:
            tmp.write_text(json.dumps(drift_state), encoding="utf-8")
        self.state["done"].append(index)
        self.save_manifest()

    def restart_unsorted(self) -> None:
        """Drop every part: the prelist turned out unsorted and is read again the slow way."""
        shutil.rmtree(self.path)
        self.path.mkdir()
        self.state.update(done=[], sorted_input=False)
        self.save_manifest()

    def remove(self) -> None:
        """Delete the folder (after the output is written)."""
        shutil.rmtree(self.path)

    def part_files(self, kind: str) -> list[Path]:
        """The ``scored`` or ``rejects`` files of the finished chunks, in chunk order."""
        return [self.path / f"{kind}-{i:05d}.parquet" for i in sorted(self.state["done"])]

    def compact(self, extra: list[str]) -> CompactScores:
        """Desa code (int) and scores of every scored household, in part order."""
        codes: dict[str, int] = {}
        desa, scores, others, sizes = [], [], [], []
        for path in self.part_files("scored"):
            frame = pd.read_parquet(path, columns=["desa", "score", *extra])
            local, uniques = pd.factorize(frame["desa"].astype("string"))
            lookup = np.array([codes.setdefault(str(u), len(codes)) for u in uniques], np.int32)
            desa.append(lookup[local] if len(local) else np.empty(0, np.int32))
            scores.append(frame["score"].to_numpy(np.float64))
            others.append(frame[extra].to_numpy(np.float64))
            sizes.append(len(frame))
        cat = np.concatenate
        return CompactScores(
            cat(desa) if desa else np.empty(0, np.int32),
            cat(scores) if scores else np.empty(0),
            cat(others) if others else np.empty((0, len(extra))),
            sizes,
            list(codes),
        )

    def write_rejects(self, path: Path, orphans_path: Path) -> tuple[int, int]:
        """Write the rejected household rows to ``path`` (exactly one row per rejected
        input row) and the member IDBDTs without a household record to ``orphans_path``.

        Returns
        -------
        (int, int)
            Rows of the two files: rejected households, and orphan member groups (not
            input households).
        """
        frames = [pd.read_parquet(p) for p in self.part_files("rejects")]
        empty = pd.DataFrame(
            {"IDBDT": pd.Series(dtype="string"), "reason": pd.Series(dtype="string")}
        )
        rejects = pd.concat([empty, *frames], ignore_index=True).astype("string")
        orphans = rejects["reason"].eq(ORPHAN_REASON).fillna(False).to_numpy(bool)
        write_table(rejects[~orphans], path)
        write_table(rejects[orphans].drop_duplicates("IDBDT"), orphans_path)
        return int((~orphans).sum()), int(rejects[orphans]["IDBDT"].nunique())

    def write_drift_report(self, profile: dict | None, path: Path) -> tuple[Path | None, list[str]]:
        """Merge the chunks' drift counts into one report at ``path``; its path and warnings."""
        if not profile:
            return None, [NO_PROFILE_NOTE]
        drift = DriftAccumulator(profile)
        for i in sorted(self.state["done"]):
            drift.merge(json.loads((self.path / f"drift-{i:05d}.json").read_text(encoding="utf-8")))
        report = drift.report()
        write_table(report, path)
        return path, drift_notes(report)


def _read_state(path: Path) -> dict[str, Any] | None:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or "signature" not in state or "done" not in state:
        return None
    return state


def _changed(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Which parts of two signatures differ, in words (file names and option names)."""
    what = [f"file {Path(f).name}" for f in sorted(set(old.get("files", {})) | set(new["files"]))
            if old.get("files", {}).get(f) != new["files"].get(f)]  # fmt: skip
    old_opts, new_opts = old.get("options", {}), new.get("options", {})
    what += [f"option {k}" for k in sorted(set(old_opts) | set(new_opts))
             if old_opts.get(k) != new_opts.get(k)]  # fmt: skip
    return ", ".join(what) or "signature"
