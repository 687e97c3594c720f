"""The run folder: the one owner of every file name in ``RUN/`` and of the manifest.

A run folder is written by ``train`` and completed by ``compare``, ``explain`` and the
MLflow logging; ``score`` reads it. Every stage asks :class:`RunFolder` for a path instead
of joining names itself, so a file is renamed in one place.

>>> run = RunFolder("runs/r1")
>>> run.model_dir("ebm").as_posix()
'runs/r1/models/ebm'
>>> run.comparison.name
'comparison.csv'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from slrt_ml.data.io import atomic_path

__all__ = ["RunFolder", "RunFolderError", "load_run", "read_manifest", "write_json"]

MANIFEST = "manifest.json"


class RunFolderError(FileNotFoundError):
    """A folder is not a run folder, or lacks a file a stage needs."""


@dataclass(frozen=True)
class RunFolder:
    """Paths of one run folder (nothing is read or written on construction).

    Parameters
    ----------
    root : str or Path
        The folder ``slrt-ml train --out`` wrote.
    """

    root: Path

    def __init__(self, root: str | Path) -> None:
        object.__setattr__(self, "root", Path(root))

    @property
    def manifest(self) -> Path:
        """``manifest.json``: config, seed, data digest, features, models, versions."""
        return self.root / MANIFEST

    @property
    def models(self) -> Path:
        """``models/``: one sub-folder per fitted model family."""
        return self.root / "models"

    def model_dir(self, name: str) -> Path:
        """The folder of the fitted model ``name`` (``models/<name>``)."""
        return self.models / name

    @property
    def oof_scores(self) -> Path:
        """``oof_scores.parquet``: IDBDT and one out-of-fold score column per model."""
        return self.root / "oof_scores.parquet"

    @property
    def selections(self) -> Path:
        """``selections.parquet``: one row per household and system (after ``compare``)."""
        return self.root / "selections.parquet"

    @property
    def comparison(self) -> Path:
        """``comparison.csv``: system, metric, estimate, ci_low, ci_high."""
        return self.root / "comparison.csv"

    @property
    def slices(self) -> Path:
        """``slices.csv``: metrics per slicing and group."""
        return self.root / "slices.csv"

    @property
    def report_html(self) -> Path:
        """``report.html``: the self-contained report."""
        return self.root / "report.html"

    @property
    def report_md(self) -> Path:
        """``report.md``: the report as Markdown."""
        return self.root / "report.md"

    @property
    def explanations(self) -> Path:
        """``explanations.parquet``: per-household contributions and reasons."""
        return self.root / "explanations.parquet"

    @property
    def mlflow_json(self) -> Path:
        """``mlflow.json``: MLflow run ids written by the tracking stage."""
        return self.root / "mlflow.json"

    def read_manifest(self) -> dict[str, Any]:
        """The manifest as a dict; a clear error when the folder is not a run folder."""
        return read_manifest(self.root)


def read_manifest(run_dir: str | Path) -> dict[str, Any]:
    """Read ``RUN/manifest.json``.

    Raises
    ------
    RunFolderError
        When ``run_dir`` has no manifest (it is not a folder ``slrt-ml train`` wrote).
    """
    path = Path(run_dir) / MANIFEST
    if not path.is_file():
        raise RunFolderError(
            f"{run_dir} is not a run folder: {MANIFEST} is missing "
            "(create one with `slrt-ml train --data DIR --out RUN`)"
        )
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def write_json(payload: dict[str, Any], path: str | Path, *, sort_keys: bool = False) -> Path:
    """Write ``payload`` as indented JSON atomically (temporary name, then rename)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        text = json.dumps(payload, indent=2, sort_keys=sort_keys, default=str)
        tmp.write_text(text, encoding="utf-8")
    return path


def load_run(run_dir: str | Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """The manifest and out-of-fold scores of a run folder.

    Raises
    ------
    RunFolderError
        When ``run_dir`` has no ``manifest.json`` (it is not a run folder).
    """
    run = RunFolder(run_dir)
    return read_manifest(run.root), pd.read_parquet(run.oof_scores)
