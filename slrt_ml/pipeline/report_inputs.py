"""What the report shows beside the comparison, gathered from the run folder and its inputs.

- :func:`report_names`: the title, area words and area names of the data (``NMKEC`` /
  ``NMKAB`` of a registry's areas table; a mapping's ``names:`` section);
- :func:`explanation_summary`: the champion's explanations of a sample of households
  (the public explain API), summarised by questionnaire item, and a few waterfalls;
- :func:`prelist_summary`: what ``slrt-ml score`` published (its manifest, the output's
  ``selected`` per kecamatan, the rejects file by reason).

:func:`report_extras` puts them together for :func:`slrt_ml.evaluation.report.render_html`.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from slrt_ml.data.codebook import area_keys
from slrt_ml.data.mapping import DatasetMapping, LabelSpec, load_mapping
from slrt_ml.evaluation.champion import champion_decision
from slrt_ml.evaluation.compare import Comparison
from slrt_ml.evaluation.report_figures import MAX_HEIGHT_PX, MAX_WIDTH_PX
from slrt_ml.evaluation.report_inputs import (
    ExplanationSummary,
    PrelistSummary,
    ReportExtras,
    ReportNames,
    importance_by_item,
)
from slrt_ml.explain import explain_households, plot_waterfall
from slrt_ml.models import load_model
from slrt_ml.pipeline.run_folder import RunFolder
from slrt_ml.pipeline.score_run import read_output_manifest
from slrt_ml.targeting.frame import TargetingData

__all__ = ["report_names", "explanation_summary", "prelist_summary", "report_extras"]

#: households explained for the importance summary, and waterfalls drawn
EXPLAINED_HOUSEHOLDS = 300
WATERFALLS = 3
#: reasons listed in the rejects table
MAX_REASONS = 15


def _area_names(areas: pd.DataFrame) -> dict[str, dict[str, str]]:
    keys = area_keys(areas)
    names: dict[str, dict[str, str]] = {}
    for level, key, column in (("KDKEC", "kecamatan", "NMKEC"), ("KDKAB", "kabupaten", "NMKAB")):
        if column in areas.columns:
            pairs = pd.DataFrame({"code": keys[key], "name": areas[column].astype("string")})
            pairs = pairs.dropna().drop_duplicates("code")
            names[level] = dict(zip(pairs["code"].astype(str), pairs["name"].astype(str),
                                    strict=True))  # fmt: skip
    return names


def _mapping(data: TargetingData) -> DatasetMapping | None:
    """The data's mapping, when it came from a mapping file (``None`` for a registry)."""
    source = data.extra.get("mapping")
    return load_mapping(source) if source and Path(source).is_file() else None


def report_names(data: TargetingData) -> ReportNames:
    """Names from the data: a mapping's ``names:`` or a registry's area names."""
    mapping = _mapping(data)
    if data.extra.get("mapping") and mapping is None:  # a mapping built in memory
        levels = {"cluster": "cluster", "KDKAB": "area (KDKAB)", "KDKEC": "area (KDKEC)"}
        return ReportNames(id_header="id", levels=levels)
    if mapping is not None:  # the mapping's words; its column names where names: is silent
        names = mapping.names
        own_cluster = mapping.cluster in (None, mapping.id)
        cluster = names.cluster or ("household" if own_cluster else str(mapping.cluster))
        levels = dict(mapping.areas) | dict(names.areas) | {"cluster": cluster}
        return ReportNames(title=names.title, id_header=names.id or mapping.id, levels=levels)
    areas = data.extra.get("areas")
    return ReportNames(area_names=_area_names(areas) if isinstance(areas, pd.DataFrame) else {})


def _png(figure) -> bytes:
    """A pyplot figure as PNG within the report's pixel bounds; the figure is closed."""
    import matplotlib.pyplot as plt

    width, height = figure.get_size_inches()
    dpi = min(100.0, MAX_WIDTH_PX / width, MAX_HEIGHT_PX / height)
    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    finally:
        plt.close(figure)
    return buffer.getvalue()


def explanation_summary(run_dir: str | Path, data: TargetingData, model_name: str, *,
                        households: int = EXPLAINED_HOUSEHOLDS, waterfalls: int = WATERFALLS,
                        id_header: str = "IDBDT", seed: int = 0, lang: str = "en",
                        labels: LabelSpec | None = None) -> ExplanationSummary | None:  # fmt: skip
    """The model's explanations of a seeded sample of households (``None`` without a model).

    Waterfalls show the poorest-scored, the middle and the best-off household of the sample.
    """
    folder = RunFolder(run_dir).model_dir(model_name)
    if not folder.is_dir():
        return None
    model = load_model(folder)
    rng = np.random.default_rng(seed)
    size = min(households, len(data.features))
    sample = data.features.iloc[np.sort(rng.choice(len(data.features), size, replace=False))]
    explanation = explain_households(model, sample, model_name=model_name, lang=lang,
                                     labels=labels)  # fmt: skip
    scores = explanation.reasons["score"].sort_values(ascending=False, kind="stable")
    picks = scores.index[np.unique(np.linspace(0, len(scores) - 1, waterfalls).round().astype(int))]
    drawn = tuple((f"{id_header} {hh}", _png(plot_waterfall(explanation.table, hh, lang=lang)))
                  for hh in picks[:waterfalls])  # fmt: skip
    return ExplanationSummary(model=model_name, households=size,
                              importance=importance_by_item(explanation.table), waterfalls=drawn)  # fmt: skip


def _reason_kind(reason: str) -> str:
    """A reject reason without its example value: ``"Umur: out of range ('250')"`` ->
    ``"Umur: out of range"``, so that reasons of the same rule count together."""
    return re.sub(r" \(.*\)$", "", reason.strip())


def _rejects(path: Path) -> pd.DataFrame:
    if not path.is_file():
        return pd.DataFrame({"reason": [], "households": []})
    reasons = pd.read_csv(path, usecols=["reason"], dtype="string")["reason"].dropna()
    kinds = reasons.str.split("; ").explode().map(_reason_kind)
    counts = kinds.value_counts().head(MAX_REASONS)
    return pd.DataFrame({"reason": counts.index.astype(str), "households": counts.to_numpy()})


def _per_area(output: Path) -> tuple[pd.DataFrame, str]:
    empty = pd.DataFrame({"code": [], "name": [], "scored": [], "selected": []})
    if output.suffix not in (".csv", ".parquet"):
        return empty, "KDKEC"
    columns = (pd.read_parquet(output).columns if output.suffix == ".parquet"
               else pd.read_csv(output, nrows=0).columns)  # fmt: skip
    level = "KDKEC" if "KDKEC" in columns else "desa" if "desa" in columns else None
    if level is None or "selected" not in columns:
        return empty, "KDKEC"
    wanted = [c for c in (level, "NMKEC", "selected") if c in columns]
    table = (pd.read_parquet(output, columns=wanted) if output.suffix == ".parquet"
             else pd.read_csv(output, usecols=wanted, dtype={level: "string"}))  # fmt: skip
    selected = table["selected"].astype(str).str.lower().isin(["true", "1"])
    names = table["NMKEC"] if "NMKEC" in table else table[level]
    grouped = pd.DataFrame({"code": table[level], "name": names, "selected": selected})
    out = grouped.groupby("code", sort=True, dropna=False).agg(
        name=("name", "first"), scored=("selected", "size"), selected=("selected", "sum")
    )
    out = out.reset_index().sort_values("selected", ascending=False, kind="stable")
    return out, ("KDKEC" if level == "KDKEC" else "cluster")


def prelist_summary(output: str | Path) -> PrelistSummary | None:
    """What ``slrt-ml score --out output`` published; ``None`` when it has no manifest."""
    output = Path(output)
    try:
        manifest = read_output_manifest(output)
    except FileNotFoundError:
        return None
    per_area, level = _per_area(output)
    rejects_file = manifest.get("files", {}).get("rejects", {}).get("file")
    rejects = _rejects(output.with_name(rejects_file)) if rejects_file else _rejects(Path())
    counts = {k: int(manifest.get(k, 0)) for k in ("input_rows", "scored_rows", "rejected_rows")}
    counts["selected"] = int(per_area["selected"].sum()) if len(per_area) else 0
    return PrelistSummary(counts=counts, per_area=per_area, rejects=rejects, level=level)


def report_extras(run_dir: str | Path, data: TargetingData, comparison: Comparison, *,
                  explain: bool = True, scored: str | Path | None = None,
                  lang: str = "en") -> ReportExtras:  # fmt: skip
    """Names, the champion's explanations (``explain``, worded in ``lang``) and the scored
    prelist (``scored``)."""
    names = report_names(data)
    mapping = _mapping(data)
    labels = mapping.labels if mapping is not None else None
    explanation = None
    if explain:
        try:
            champion = champion_decision(comparison.table).champion
        except ValueError:
            champion = None
        if champion is not None:
            explanation = explanation_summary(run_dir, data, champion, id_header=names.id_header,
                                              lang=lang, labels=labels)  # fmt: skip
    prelist = prelist_summary(scored) if scored is not None else None
    return ReportExtras(names=names, explanation=explanation, prelist=prelist)
