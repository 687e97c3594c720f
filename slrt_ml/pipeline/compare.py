"""``slrt-ml compare``: a trained run against the reference system at equal coverage.

Reads a run folder's manifest and out-of-fold scores, checks they belong to the data at
hand, selects every system under the same quota, bootstraps intervals over desa and
writes the selections, ``comparison.csv`` and the reports into the run folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from slrt_ml.data.io import atomic_path, write_table
from slrt_ml.evaluation.compare import Comparison
from slrt_ml.evaluation.reference import compare_with_reference
from slrt_ml.evaluation.report import render_html, render_markdown
from slrt_ml.evaluation.systems import available_views
from slrt_ml.pipeline.run_folder import RunFolder, read_manifest
from slrt_ml.targeting.frame import TargetingData
from slrt_ml.targeting.selection import Quota, parse_quota

__all__ = ["load_run", "run_comparison", "write_comparison", "compare_and_write", "QuotaError"]

DEFAULT_TITLE = "PKH targeting: models and SIKS-NG at equal coverage"


class QuotaError(ValueError):
    """A ``--quota`` that is neither the reference's name, a count nor a share in (0, 1]."""


def load_run(run_dir: str | Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """The manifest and out-of-fold scores of a run folder.

    Raises
    ------
    slrt_ml.pipeline.run_folder.RunFolderError
        When ``run_dir`` has no ``manifest.json`` (it is not a run folder).
    """
    run = RunFolder(run_dir)
    return read_manifest(run.root), pd.read_parquet(run.oof_scores)


def _parse_quota(quota: str | int | float | Quota, reference: str = "siksng") -> Quota:
    """``--quota`` through the one parser (:func:`slrt_ml.targeting.selection.parse_quota`):
    "siksng" / the reference's name, a count, a share, or ``<unit>:<amount>``."""
    try:
        return parse_quota(quota, reference_names=(reference,))
    except ValueError as error:
        raise QuotaError(f"--quota: {error}") from None


def run_comparison(run_dir: str | Path, data: TargetingData, *, quota: str = "siksng",
                   by: str | None = None, bootstrap: int = 1000, seed: int = 0,
                   weight: str = "household") -> Comparison:  # fmt: skip
    """Every model of a run at the reference system's quota, with intervals.

    Parameters
    ----------
    run_dir : str or Path
        A run folder written by :func:`slrt_ml.pipeline.train.train`.
    data : TargetingData
        The data the run was trained on (checked by digest).
    quota : str
        The reference's name (or ``"reference"``): as many as it selected; ``"5000"``: a
        count; ``"0.2"``: a share of households; ``"persons:0.2"``, ``"budget:5e9"``,
        ``"budget:siksng"``: in persons or Rupiah of ``pkh_benefit``.
    by : str, optional
        Allocate the quota per area column (e.g. ``"KDKAB"``).
    bootstrap, seed : int
        Paired cluster-bootstrap replicates over desa and their seed.
    weight : str
        ``"household"`` or ``"person"``.

    Returns
    -------
    Comparison
        Selections, metrics and intervals of every system.

    Raises
    ------
    ValueError
        When the run was trained on other data (digests differ) or the quota is invalid.
    """
    manifest, oof = load_run(run_dir)
    if manifest["dataset"]["digest"] != data.digest:
        raise ValueError(
            f"{run_dir} was trained on data with digest {manifest['dataset']['digest']}, "
            f"but --data has digest {data.digest}: compare against the data it was trained on"
        )
    frame = data.frame.copy()
    for name in manifest["models"]:
        frame[name] = oof[name].to_numpy()
    # the reference's own name (or "reference") means "as many as it selected", like "siksng"
    rule = _parse_quota(quota, data.reference)
    comparison = compare_with_reference(
        frame, list(manifest["models"]), reference=data.reference,
        extra_slices=data.extra.get("slices", ()), quota=rule, by=by,
        bootstrap=bootstrap, seed=seed, weight=weight,
        views=available_views(frame, population=data.synthetic),
    )  # fmt: skip
    comparison.gap_decomposition = data.extra.get("gap_decomposition")
    return comparison


def write_comparison(run_dir: str | Path, comparison: Comparison, *, synthetic: bool,
                     title: str = DEFAULT_TITLE) -> dict[str, Path]:  # fmt: skip
    """Write selections.parquet, comparison.csv, slices.csv, report.md and report.html.

    ``comparison.csv`` and ``slices.csv`` stack every view (``view`` column, default view
    first); ``selections.parquet`` holds the default view's lists.

    Returns
    -------
    dict
        ``selections``, ``comparison``, ``slices``, ``markdown`` and ``report`` (HTML) -> path.
    """
    run = RunFolder(run_dir)
    paths = {
        "selections": write_table(comparison.selections, run.selections),
        "comparison": write_table(comparison.long_table(), run.comparison),
        "slices": write_table(comparison.long_slice_table(), run.slices),
    }
    for key, render, path in (("markdown", render_markdown, run.report_md),
                              ("report", render_html, run.report_html)):  # fmt: skip
        with atomic_path(path) as tmp:
            tmp.write_text(render(comparison, title=title, synthetic=synthetic), encoding="utf-8")
        paths[key] = path
    return paths


def compare_and_write(run_dir: str | Path, data: TargetingData,
                      **options: Any) -> tuple[dict[str, Path], Comparison]:  # fmt: skip
    """:func:`run_comparison` then :func:`write_comparison`; returns (paths, comparison)."""
    comparison = run_comparison(run_dir, data, **options)
    return write_comparison(run_dir, comparison, synthetic=data.synthetic), comparison
