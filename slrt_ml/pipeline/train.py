"""The one place that knows the order of stages.

registry -> validated frames -> features -> grouped cross-validation -> out-of-fold scores
and final models -> (compare) selections under a quota -> metrics with intervals.

A :class:`TargetingData` holds one aligned row per household: the model features, the
training labels, and the *targeting frame* the evaluation reads (target, eligibility,
SIKS-NG's list and ranking, slices, clusters). It comes from a PBDT registry folder
(:func:`registry_targeting_data`) or from any household table through a mapping
(:mod:`slrt_ml.data.mapping`), so training and comparison run through the same code.
"""

from __future__ import annotations

import inspect
import json
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from slrt_ml import __version__
from slrt_ml.config import Config, config_to_dict, load_config

__all__ = [
    "TargetingData",
    "TrainingResult",
    "registry_targeting_data",
    "targeting_frame",
    "grouped_folds",
    "out_of_fold_scores",
    "ranking_summary",
    "run_training",
    "load_run",
    "run_comparison",
    "write_comparison",
    "compare_and_write",
    "frame_digest",
    "load_mapped_data",
]

POVERTY_LINES_SULSEL_2024 = {"urban": 485_401.0, "rural": 436_463.0}  # BPS, March 2024
EXAMPLE_HOUSEHOLDS = 5


@dataclass
class TargetingData:
    """Aligned per-household inputs of training and comparison (index = household id)."""

    features: pd.DataFrame
    frame: pd.DataFrame  # the targeting frame of docs/CONTRACTS.md, same row order
    welfare_target: pd.Series | None  # log(welfare / poverty line); None when unknown
    name: str
    codebook_version: str | None
    synthetic: bool
    reference: str = "siksng"
    example_records: tuple[pd.DataFrame, pd.DataFrame] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    digest: str = ""  # of the input tables; computed from features and labels when not given

    def __post_init__(self) -> None:
        if not self.digest:
            self.digest = frame_digest(self.features, self.frame[["poor"]])

    @property
    def poor(self) -> np.ndarray:
        return self.frame["poor"].to_numpy(dtype=np.int8)

    @property
    def groups(self) -> np.ndarray:
        return self.frame["cluster"].to_numpy()


def frame_digest(*frames: pd.DataFrame) -> str:
    """A content digest of frames (independent of file format), for manifests and MLflow."""
    import hashlib

    h = hashlib.sha256()
    for df in frames:
        h.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
        h.update(",".join(map(str, df.columns)).encode())
    return h.hexdigest()[:16]


# --- building the targeting data from a PBDT registry ----------------------------------------


def _head_slices(members: pd.DataFrame, elderly_age: int) -> pd.DataFrame:
    heads = members.loc[members["Hub_KRT"] == "1", ["IDBDT", "Jnskel", "Umur"]]
    heads = heads.drop_duplicates("IDBDT").set_index("IDBDT")
    disabled = (members["Jenis_cacat"].fillna("0") != "0").groupby(members["IDBDT"]).any()
    return pd.DataFrame(
        {
            "female_head": (heads["Jnskel"] == "2").astype("int8"),
            "elderly_head": (heads["Umur"] >= elderly_age).astype("int8"),
            "disabled_member": disabled.astype("int8"),
        }
    )


def _cluster_codes(households: pd.DataFrame) -> pd.DataFrame:
    kab = households["KDPROP"] + households["KDKAB"]
    kec = kab + households["KDKEC"]
    return pd.DataFrame(
        {"KDKAB": kab, "KDKEC": kec, "cluster": kec + households["KDDESA"]},
        index=households.index,
    )


def _urban(households: pd.DataFrame, areas: pd.DataFrame | None) -> pd.Series:
    if areas is None:
        return pd.Series(0, index=households.index, dtype="int8")
    keys = ["KDPROP", "KDKAB", "KDKEC", "KDDESA"]
    klas = households[keys].merge(areas[keys + ["Klasifikasi"]], on=keys, how="left")
    return pd.Series((klas["Klasifikasi"] == "1").to_numpy(dtype="int8"), index=households.index)


def targeting_frame(registry: Any, components: pd.DataFrame, *, elderly_age: int = 60) -> pd.DataFrame:
    """The evaluation's input: one row per household of ``registry.households``, same order."""
    hh = registry.households
    ids = hh["IDBDT"]
    frame = _cluster_codes(hh)
    frame.insert(0, "IDBDT", ids.to_numpy())
    frame["eligible"] = components["has_component"].reindex(ids).fillna(0).to_numpy(dtype="int8")
    truth = registry.truth.set_index("IDBDT").reindex(ids)
    frame["poor"] = truth["poor"].to_numpy(dtype="int8")
    frame["welfare"] = truth["welfare_pc"].to_numpy(dtype=float)
    frame["target"] = (frame["poor"] & frame["eligible"]).astype("int8")
    frame["persons"] = hh["Jumlah_ART"].to_numpy(dtype=float)
    frame["urban"] = _urban(hh, registry.areas).to_numpy()
    slices = _head_slices(registry.members, elderly_age).reindex(ids).fillna(0)
    for col in slices:
        frame[col] = slices[col].to_numpy(dtype="int8")
    siksng = registry.siksng.set_index("IDBDT").reindex(ids)
    frame["siksng_selected"] = siksng["pkh_eligible"].fillna(0).to_numpy(dtype="int8")
    # SIKS-NG's own ranking: the registry percentile of its PMT (1 = poorest).
    frame["siksng_score"] = (101 - hh["Percentile"]).to_numpy(dtype=float)
    return frame.reset_index(drop=True)


def _welfare_target(frame: pd.DataFrame, metadata: dict) -> pd.Series | None:
    if frame["welfare"].isna().all():
        return None
    lines = {**POVERTY_LINES_SULSEL_2024, **(metadata.get("poverty_lines") or {})}
    line = np.where(frame["urban"] == 1, lines["urban"], lines["rural"])
    ratio = np.log(np.clip(frame["welfare"].to_numpy(), 1.0, None) / line)
    return pd.Series(ratio, index=frame["IDBDT"], name="log_welfare_ratio")


def _example_records(registry: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    ids = registry.households["IDBDT"].head(EXAMPLE_HOUSEHOLDS)
    hh = registry.households[registry.households["IDBDT"].isin(ids)]
    mem = registry.members[registry.members["IDBDT"].isin(ids)].drop(columns=["NIK"], errors="ignore")
    return hh.reset_index(drop=True), mem.reset_index(drop=True)


def registry_targeting_data(registry: Any, *, elderly_age: int = 60) -> TargetingData:
    """Features, labels and targeting frame from a loaded PBDT registry (``io.load_registry``)."""
    from slrt_ml.features.households import household_features, pkh_components

    if registry.truth is None or registry.siksng is None:
        raise ValueError(
            f"{registry.folder}: training and comparison need truth.* and siksng.* beside "
            "households.* and members.*"
        )
    components = pkh_components(registry.members, elderly_age=elderly_age)
    features = household_features(registry.households, registry.members, registry.areas,
                                  elderly_age=elderly_age)
    frame = targeting_frame(registry, components, elderly_age=elderly_age)
    meta = registry.metadata or {}
    return TargetingData(
        features=features,
        frame=frame,
        welfare_target=_welfare_target(frame, meta),
        name=Path(registry.folder).name if registry.folder else "registry",
        codebook_version=meta.get("codebook_version", "pbdt2015"),
        synthetic=meta.get("generator") == "slrt_ml.synth",
        example_records=_example_records(registry),
        extra={"areas": registry.areas} if registry.areas is not None else {},
        digest=frame_digest(
            registry.households, registry.members.drop(columns=["NIK"], errors="ignore"),
            registry.truth, registry.siksng,
        ),
    )


# --- cross-validation and training ---------------------------------------------------------


def grouped_folds(groups: np.ndarray, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds grouped by desa: all households of a desa fall in the same fold.

    Row folds leak area effects (a desa's neighbours are in the training fold) and give
    intervals that are far too narrow.
    """
    from sklearn.model_selection import GroupKFold

    n_groups = len(np.unique(groups))
    if n_groups < n_folds:
        raise ValueError(f"cross-validation needs at least {n_folds} desa; the data has {n_groups}")
    splitter = GroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(groups)), groups=groups))


def _fit(model: Any, X: pd.DataFrame, y: np.ndarray, groups: np.ndarray) -> Any:
    if "groups" in inspect.signature(model.fit).parameters:
        return model.fit(X, y, groups=groups)
    return model.fit(X, y)


def _labels_for(model: Any, data: TargetingData) -> np.ndarray:
    if getattr(model, "uses_welfare", False) and data.welfare_target is not None:
        return data.welfare_target.to_numpy(dtype=float)
    return data.poor


def _new_model(name: str, config: Config) -> Any:
    from slrt_ml.models import make_model

    params = config.params_for(name)
    model = make_model(name, params)
    if "random_state" in model.get_params() and "random_state" not in params:
        model.set_params(random_state=config.seed)
    return model


def out_of_fold_scores(
    name: str,
    data: TargetingData,
    folds: list[tuple[np.ndarray, np.ndarray]],
    config: Config,
    on_fold: Callable[[], None] | None = None,
) -> np.ndarray:
    """Each household scored by the model fitted on the folds that do not contain its desa."""
    scores = np.full(len(data.frame), np.nan)
    for train, test in folds:
        model = _new_model(name, config)
        y = _labels_for(model, data)
        _fit(model, data.features.iloc[train], y[train], data.groups[train])
        scores[test] = model.poverty_score(data.features.iloc[test])
        if on_fold:
            on_fold()
    return scores


def ranking_summary(data: TargetingData, scores: pd.DataFrame) -> pd.DataFrame:
    """Out-of-fold ranking quality per system (and the reference system's own ranking)."""
    from slrt_ml.evaluation.compare import pr_auc, roc_auc, spearman_welfare

    frame = data.frame
    rows = []
    systems = {f"{data.reference} (own ranking)": frame[f"{data.reference}_score"].to_numpy()}
    systems |= {c: scores[c].to_numpy() for c in scores.columns if c != "IDBDT"}
    for system, score in systems.items():
        row = {"system": system, "roc_auc": roc_auc(frame["poor"], score),
               "pr_auc": pr_auc(frame["poor"], score)}
        if not frame["welfare"].isna().all():
            row["spearman_welfare"] = spearman_welfare(frame["welfare"], score)
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass
class TrainingResult:
    run_dir: Path
    oof_scores: pd.DataFrame
    summary: pd.DataFrame
    models: dict[str, Any]
    manifest: dict[str, Any]


def _progress(enabled: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        disable=not enabled, transient=False,
    )


def _train_models(data: TargetingData, config: Config, progress: bool) -> tuple[pd.DataFrame, dict]:
    folds = grouped_folds(data.groups, config.cv.folds, config.seed)
    oof = pd.DataFrame({"IDBDT": data.frame["IDBDT"].to_numpy()})
    fitted = {}
    with _progress(progress) as bar:
        for name in config.models:
            task = bar.add_task(f"{name:8s} folds + final fit", total=len(folds) + 1)
            oof[name] = out_of_fold_scores(name, data, folds, config, lambda t=task: bar.advance(t))
            model = _new_model(name, config)
            fitted[name] = _fit(model, data.features, _labels_for(model, data), data.groups)
            bar.advance(task)
    return oof, fitted


def _git_commit() -> str | None:
    import subprocess

    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _manifest(data: TargetingData, config: Config, summary: pd.DataFrame) -> dict[str, Any]:
    oof_metrics = {
        row["system"]: {k: float(v) for k, v in row.items() if k != "system" and pd.notna(v)}
        for row in summary.to_dict("records")
    }
    return {
        "package_version": __version__,
        "created_with": {"python": platform.python_version(), "machine": platform.machine()},
        "git_commit": _git_commit(),
        "config": config_to_dict(config),
        "seed": config.seed,
        "data_digest": data.digest,
        "codebook_version": data.codebook_version,
        "synthetic": data.synthetic,
        "reference_system": data.reference,
        "features": list(map(str, data.features.columns)),
        "models": list(config.models),
        "oof_metrics": oof_metrics,
        "dataset": {
            "name": data.name,
            "digest": data.digest,
            "n_households": len(data.frame),
            "columns": list(map(str, data.features.columns)),
            # mapping mode: which YAML and table the run was trained on
            **{k: data.extra[k] for k in ("mapping", "mapping_digest", "table") if k in data.extra},
        },
    }


def _write_json(obj: dict, path: Path) -> None:
    from slrt_ml.data.io import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, default=str), encoding="utf-8")


def _read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _save_run(run_dir: Path, data: TargetingData, oof: pd.DataFrame, fitted: dict,
              manifest: dict) -> None:
    from slrt_ml.data.io import write_table
    from slrt_ml.features.drift import feature_profile
    from slrt_ml.models import save_model

    run_dir.mkdir(parents=True, exist_ok=True)
    for name, model in fitted.items():
        save_model(model, run_dir / "models" / name)
    write_table(oof, run_dir / "oof_scores.parquet")
    _write_json(feature_profile(data.features), run_dir / "feature_profile.json")
    if data.extra.get("areas") is not None:  # area features (urban/rural) need it at scoring
        write_table(data.extra["areas"], run_dir / "areas.parquet")
    if data.example_records is not None:
        write_table(data.example_records[0], run_dir / "example_households.parquet")
        write_table(data.example_records[1], run_dir / "example_members.parquet")
    _write_json(manifest, run_dir / "manifest.json")


def train(data: TargetingData, out: str | Path, config: Config | None = None,
          *, progress: bool = True) -> TrainingResult:
    """Grouped CV + final fit of every configured model; writes the run folder ``out``."""
    config = config or load_config()
    oof, fitted = _train_models(data, config, progress)
    summary = ranking_summary(data, oof)
    manifest = _manifest(data, config, summary)
    run_dir = Path(out)
    _save_run(run_dir, data, oof, fitted, manifest)
    return TrainingResult(run_dir, oof, summary, fitted, manifest)


def load_targeting_data(data_dir: str | Path, config: Config | None = None) -> TargetingData:
    """Read and validate a registry folder, then build its :class:`TargetingData`."""
    from slrt_ml.data.io import load_registry

    config = config or load_config()
    registry = load_registry(data_dir)
    return registry_targeting_data(registry, elderly_age=config.features.elderly_age)


def run_training(data_dir: str | Path, out: str | Path, config: Config | None = None,
                 *, progress: bool = True) -> TrainingResult:
    """``slrt-ml train``: validate the registry, build features, fit every model."""
    return train(load_targeting_data(data_dir, config), out, config, progress=progress)


def load_run(run_dir: str | Path) -> tuple[dict, pd.DataFrame]:
    """The manifest and out-of-fold scores of a run folder."""
    run_dir = Path(run_dir)
    manifest_path = run_dir / "manifest.json"
    if not manifest_path.exists():
        raise FileNotFoundError(f"{run_dir} is not a run folder: manifest.json is missing "
                                "(create one with `slrt-ml train --out RUN`)")
    return _read_json(manifest_path), pd.read_parquet(run_dir / "oof_scores.parquet")


def run_comparison(run_dir: str | Path, data: TargetingData, *, quota: str = "siksng",
                   by: str | None = None, bootstrap: int = 1000, seed: int = 0,
                   weight: str = "household") -> Any:
    """``slrt-ml compare``: every model at the reference system's quota, with intervals."""
    from slrt_ml.data.mapping import compare_with_reference

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
    quota = quota if quota in ("reference", data.reference) else _parse_quota(quota)
    return compare_with_reference(
        frame, list(manifest["models"]), reference=data.reference,
        extra_slices=data.extra.get("slices", ()), quota=quota, by=by,
        bootstrap=bootstrap, seed=seed, weight=weight,
    )


def write_comparison(run_dir: str | Path, comparison: Any, *, synthetic: bool,
                     title: str = "PKH targeting: models and SIKS-NG at equal coverage") -> dict[str, Path]:
    """Write selections.parquet, comparison.csv, report.md and report.html into the run folder."""
    from slrt_ml.data.io import atomic_path, write_table
    from slrt_ml.evaluation.report import render_html, render_markdown

    run_dir = Path(run_dir)
    paths = {
        "selections": write_table(comparison.selections, run_dir / "selections.parquet"),
        "comparison": write_table(comparison.table, run_dir / "comparison.csv"),
    }
    for key, render in (("markdown", render_markdown), ("report", render_html)):
        suffix = "md" if key == "markdown" else "html"
        with atomic_path(run_dir / f"report.{suffix}") as tmp:
            tmp.write_text(render(comparison, title=title, synthetic=synthetic), encoding="utf-8")
        paths[key] = run_dir / f"report.{suffix}"
    return paths


def compare_and_write(run_dir: str | Path, data: TargetingData, **options: Any) -> tuple[dict, Any]:
    """:func:`run_comparison` then :func:`write_comparison`; returns (paths, comparison)."""
    comparison = run_comparison(run_dir, data, **options)
    return write_comparison(run_dir, comparison, synthetic=data.synthetic), comparison


def _parse_quota(quota: str | int | float) -> str | int | float:
    """"siksng" stays; "5000" is a count; "0.2" is a share."""
    if isinstance(quota, int | float) or quota == "siksng":
        return quota
    try:
        return int(quota)
    except ValueError:
        pass
    try:
        share = float(quota)
    except ValueError:
        raise ValueError(f"--quota must be 'siksng', a count or a share in (0, 1]; got {quota!r}") from None
    if not 0 < share <= 1:
        raise ValueError(f"--quota share must be in (0, 1]; got {quota!r}")
    return share


def load_mapped_data(table_path: str | Path | None, mapping_path: str | Path) -> TargetingData:
    """Any household table through its dataset mapping (``slrt-ml train --mapping``).

    ``table_path`` (CSV, Parquet or Excel) defaults to the mapping's own ``table``. The
    mapping's path and content digest go to ``extra`` and from there to the run manifest.
    """
    from slrt_ml.data.mapping import (
        load_mapping,
        mapped_targeting_data,
        mapping_digest,
        read_mapped_table,
    )

    mapping = load_mapping(mapping_path)
    table = read_mapped_table(mapping, table_path)
    data = mapped_targeting_data(table, mapping)
    data.extra |= {"mapping_digest": mapping_digest(mapping),
                   "table": str(table_path or mapping.table)}  # fmt: skip
    return data
