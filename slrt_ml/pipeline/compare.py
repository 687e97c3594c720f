"""``slrt-ml compare``: a trained run against the reference system at equal coverage.

Reads a run folder's manifest and out-of-fold scores, checks they belong to the data at
hand, selects every system under the same quota, bootstraps intervals over desa and
writes the selections, ``comparison.csv`` and the reports into the run folder. The report
is in English or Indonesian (``lang``), names things as the data does (a registry's area
names, a mapping's ``names:``) and shows the champion's explanations and, when a scored
prelist is given, its counts (:mod:`slrt_ml.pipeline.report_inputs`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from slrt_ml.data.io import atomic_path, write_table
from slrt_ml.evaluation.compare import Comparison
from slrt_ml.evaluation.reference import compare_with_reference
from slrt_ml.evaluation.report import render_html, render_markdown
from slrt_ml.evaluation.report_inputs import ReportExtras
from slrt_ml.evaluation.report_policy import policy_section
from slrt_ml.evaluation.systems import available_views
from slrt_ml.pipeline.policy import VERIFICATION_FILE, WELFARE_FILE, write_policy_curves
from slrt_ml.pipeline.report_inputs import report_extras
from slrt_ml.pipeline.run_folder import RunFolder, load_run
from slrt_ml.targeting.frame import TargetingData
from slrt_ml.targeting.selection import Quota, parse_quota

__all__ = ["load_run", "run_comparison", "write_comparison", "write_reports", "rewrite_report",
           "compare_and_write", "QuotaError"]  # fmt: skip


#: Replicates of the welfare curves' cluster bootstrap (they re-select every list).
POLICY_BOOTSTRAP = 200


class QuotaError(ValueError):
    """A ``--quota`` that is neither the reference's name, a count, a share in (0, 1], a
    ``<unit>:<amount>`` nor the desil rule ``desil:K`` (K in 1..10)."""


def _parse_quota(quota: str | int | float | Quota, reference: str = "siksng") -> Quota:
    """``--quota`` through the one parser (:func:`slrt_ml.targeting.selection.parse_quota`):
    "siksng" / the reference's name, a count, a share, ``<unit>:<amount>`` or ``desil:K``."""
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
        ``"budget:siksng"``: in persons or Rupiah of ``pkh_benefit``; ``"desil:4"``: the
        desil rule (each model's eligible households in desil 1-4 of its own national
        ranking, SIKS-NG's by its published desil; lists differ in size, and
        ``comparison.csv`` says so in its ``rule`` and ``list_size`` columns).
    by : str, optional
        Allocate the quota per area column (e.g. ``"KDKAB"``); not with ``desil:K``.
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
                     title: str | None = None, lang: str = "en",
                     extras: ReportExtras | None = None) -> dict[str, Path]:  # fmt: skip
    """Write selections.parquet, comparison.csv, slices.csv, report.md and report.html.

    ``comparison.csv`` and ``slices.csv`` stack every view (``view`` column, default view
    first); ``selections.parquet`` holds the default view's lists. ``title`` defaults to
    the data's (``extras.names.title``) or one naming the reference; ``lang`` is ``"en"``
    or ``"id"``; ``extras`` adds names, explanations and the prelist to the report.

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
    return paths | write_reports(run_dir, comparison, synthetic=synthetic, title=title,
                                 lang=lang, extras=extras)  # fmt: skip


def write_reports(run_dir: str | Path, comparison: Comparison, *, synthetic: bool,
                  title: str | None = None, lang: str = "en",
                  extras: ReportExtras | None = None) -> dict[str, Path]:  # fmt: skip
    """Write (or rewrite, e.g. once the prelist is scored) report.md and report.html."""
    run = RunFolder(run_dir)
    paths = {}
    for key, render, path in (("markdown", render_markdown, run.report_md),
                              ("report", render_html, run.report_html)):  # fmt: skip
        text = render(comparison, title=title, synthetic=synthetic, lang=lang, extras=extras)
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
        paths[key] = path
    return paths


def compare_and_write(run_dir: str | Path, data: TargetingData, *, lang: str = "en",
                      explain: bool = True, scored: str | Path | None = None,
                      **options: Any) -> tuple[dict[str, Path], Comparison]:  # fmt: skip
    """:func:`run_comparison` then :func:`write_comparison`; returns (paths, comparison).

    ``lang`` (``"en"``/``"id"``) is the report's language; ``explain`` adds the champion's
    explanations, ``scored`` (a ``slrt-ml score --out`` file) the scored prelist.
    """
    comparison = run_comparison(run_dir, data, **options)
    extras = report_extras(run_dir, data, comparison, explain=explain, scored=scored, lang=lang)
    policy, section = policy_outputs(run_dir, data, seed=options.get("seed", 0))
    if section:
        extras = replace(extras, sections=(*extras.sections, section))
    paths = write_comparison(run_dir, comparison, synthetic=data.synthetic, lang=lang,
                             extras=extras)  # fmt: skip
    return paths | policy, comparison


def policy_outputs(
    run_dir: str | Path, data: TargetingData, *, seed: int = 0
) -> tuple[dict[str, Path], list]:
    """``welfare_curves.csv`` and ``verification_curve.csv`` with their report section, when
    the data has what they need (welfare, persons, PKH benefit, the reference's list: a
    PBDT registry); else nothing."""
    need = ("welfare", "persons", "pkh_benefit", f"{data.reference}_selected")
    if any(column not in data.frame.columns for column in need):
        return {}, []
    if not pd.to_numeric(data.frame["welfare"], errors="coerce").notna().any():
        return {}, []  # e.g. a mapped survey with a label but no welfare
    paths = write_policy_curves(run_dir, data, bootstrap=POLICY_BOOTSTRAP, seed=seed)
    return paths, written_policy_section(run_dir)


def written_policy_section(run_dir: str | Path) -> list:
    """The report section of a run's written welfare and verification curves (or none)."""
    root = RunFolder(run_dir).root
    files = (root / WELFARE_FILE, root / VERIFICATION_FILE)
    if not all(path.exists() for path in files):
        return []
    return policy_section(*(pd.read_csv(path) for path in files))


def rewrite_report(run_dir: str | Path, data: TargetingData, comparison: Comparison, *,
                   lang: str = "en", explain: bool = True,
                   scored: str | Path | None = None) -> dict[str, Path]:  # fmt: skip
    """The reports of a written comparison again, in ``lang`` and with the scored prelist."""
    extras = report_extras(run_dir, data, comparison, explain=explain, scored=scored, lang=lang)
    section = written_policy_section(run_dir)
    if section:
        extras = replace(extras, sections=(*extras.sections, section))
    return write_reports(run_dir, comparison, synthetic=data.synthetic, lang=lang, extras=extras)
