"""The library side of the ``slrt-ml`` commands: pick the input, merge config and flags.

Each function takes what a command's flags give (paths, comma-separated names, ``None``
for a flag left out) and returns library objects, so ``slrt_ml.cli`` only parses flags
and prints. A flag left out (``None``) takes its value from the config.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from slrt_ml.config import Config, overridden
from slrt_ml.data.io import write_table
from slrt_ml.data.mapped_table import mapped_features, read_mapped_table
from slrt_ml.data.mapping import load_mapping
from slrt_ml.data.registry import load_registry
from slrt_ml.evaluation.compare import Comparison
from slrt_ml.explain import Explanation, explain_households, mapped_location, plot_waterfall
from slrt_ml.features.households import household_features
from slrt_ml.models import PovertyModel
from slrt_ml.pipeline.compare import compare_and_write
from slrt_ml.pipeline.score import load_scoring_models, score_prelist
from slrt_ml.pipeline.score_output import ScoringResult
from slrt_ml.pipeline.score_table import score_table
from slrt_ml.pipeline.train import load_mapped_data, load_targeting_data
from slrt_ml.targeting.frame import TargetingData

__all__ = [
    "split_names",
    "targeting_data",
    "compare_run",
    "explained_features",
    "explain_run",
    "write_explanation",
    "scoring_quota",
    "score_input",
]


def split_names(text: str | None) -> list[str] | None:
    """``"a, b"`` -> ``["a", "b"]``; ``None`` or an empty string -> ``None``.

    >>> split_names("logit, gbm,"), split_names(None)
    (['logit', 'gbm'], None)
    """
    names = [name.strip() for name in (text or "").split(",") if name.strip()]
    return names or None


def targeting_data(
    data: Path | None, mapping: Path | None, table: Path | None, config: Config
) -> TargetingData:
    """A registry folder (``--data``) or a mapped household table (``--mapping [--table]``)."""
    if mapping is not None:
        return load_mapped_data(table, mapping)
    return load_targeting_data(data, config)


def compare_run(
    run: Path,
    data: TargetingData,
    config: Config,
    *,
    lang: str = "en",
    scored: Path | None = None,
    **flags: str | int | None,
) -> tuple[dict[str, Path], Comparison]:
    """Compare a run at equal coverage and write its report (``slrt-ml compare``).

    Parameters
    ----------
    run : Path
        Run folder written by ``slrt-ml train``.
    data : TargetingData
        The data the run was trained on.
    config : Config
        ``compare.*`` gives the defaults, ``seed`` the bootstrap seed.
    lang : {"en", "id"}
        Language of the report.
    scored : Path, optional
        A scored prelist (``slrt-ml score --out``) for the report's prelist section.
    **flags
        ``quota``, ``by``, ``bootstrap``, ``weight``: ``None`` takes the config's value.

    Returns
    -------
    (paths written by label, Comparison)
    """
    options = overridden(config.compare, **flags)
    return compare_and_write(
        run, data, quota=options.quota, by=options.by, bootstrap=options.bootstrap,
        seed=config.seed, weight=options.weight, lang=lang, scored=scored,
    )  # fmt: skip


def _wanted(households: str | None, present: pd.Index | pd.Series, what: str, where: object
            ) -> list[str] | None:  # fmt: skip
    wanted = split_names(households)
    unknown = sorted(set(wanted or ()) - set(present))
    if unknown:
        raise ValueError(f"--households: {len(unknown)} {what} not in {where} (e.g. {unknown[:3]})")
    return wanted


def explained_features(
    data: Path | None, mapping: Path | None, table: Path | None, households: str | None
) -> pd.DataFrame:
    """Features of the households to explain (comma-separated ids; ``None`` = all).

    Raises
    ------
    ValueError
        When an asked household is not in the data, naming how many and a few of them.
    """
    if mapping is not None:
        spec = load_mapping(mapping)
        features = mapped_features(read_mapped_table(spec, table), spec)
        wanted = _wanted(households, features.index, spec.id, "the table")
        return features if wanted is None else features.loc[wanted]
    registry = load_registry(data)
    hh, members = registry.households, registry.members
    wanted = _wanted(households, hh["IDBDT"], "IDBDT", data)
    if wanted is not None:
        hh, members = hh[hh["IDBDT"].isin(wanted)], members[members["IDBDT"].isin(wanted)]
    return household_features(hh, members, registry.areas)


def explain_run(
    run: Path,
    features: pd.DataFrame,
    *,
    model: str | None,
    top_k: int,
    mapping: Path | None = None,
) -> tuple[str, Explanation]:
    """Explain ``features`` with one model of the run (``None``: its champion).

    With a ``mapping``, its ``labels:`` name the columns and answers and its area columns
    form the location block (shown once, never as a household reason).
    """
    models, _, _ = load_scoring_models(run, model_names=[model] if model else None)
    name, fitted = next(iter(models.items()))
    extra = {}
    if mapping is not None:
        spec = load_mapping(mapping)
        extra = {"labels": spec.labels, "location": mapped_location(spec)}
    return name, explain_households(fitted, features, model_name=name, top_k=top_k, **extra)


def write_explanation(
    result: Explanation, out: Path, *, plot: str | None = None
) -> dict[str, Path]:
    """Write the tidy table to ``out``, the reasons beside it and optionally a waterfall PNG.

    Returns
    -------
    dict
        ``{"explanations": ..., "reasons": ...}`` plus ``"waterfall"`` when ``plot`` is given.
    """
    paths = {"explanations": out, "reasons": out.with_name(f"{out.stem}.reasons{out.suffix}")}
    write_table(result.table, paths["explanations"])
    write_table(result.reasons, paths["reasons"])
    if plot:
        paths["waterfall"] = out.with_name(f"waterfall_{plot}.png")
        plot_waterfall(result.table, plot).savefig(paths["waterfall"], dpi=120)
    return paths


def scoring_quota(
    quota_file: Path | None, quota_share: float | None
) -> Mapping[str, int] | float | None:
    """The desa quota of ``slrt-ml score``: a ``KDDESA,quota`` CSV, a share, or none.

    Raises
    ------
    ValueError
        When both are given, or the CSV's first columns are not ``KDDESA,quota``.
    """
    if quota_file is not None and quota_share is not None:
        raise ValueError("give --quota-file or --quota-share, not both")
    if quota_file is None:
        return quota_share
    table = pd.read_csv(quota_file, dtype={"KDDESA": "string"})
    if list(table.columns[:2]) != ["KDDESA", "quota"]:
        raise ValueError(f"{quota_file}: expected columns KDDESA,quota (full 10-digit desa code), "
                         f"got {list(table.columns)}")  # fmt: skip
    return dict(zip(table["KDDESA"], table["quota"].astype(int), strict=True))


def score_input(
    models: Mapping[str, PovertyModel],
    profile: dict | None,
    out: Path,
    *,
    prelist: Path | None,
    mapping: Path | None,
    table: Path | None,
    config: Config,
    quota: Mapping[str, int] | float | None,
    explain: bool,
    restart: bool,
    lang: str = "id",
    priority_models: str | None = None,
    **flags: int | None,
) -> ScoringResult:
    """Score a prelist folder in chunks, or a table through its mapping (``slrt-ml score``).

    ``flags`` ``top_k`` and ``chunk_size`` (``None``: the config's ``scoring.*``); a
    ``quota`` of ``None`` takes ``scoring.quota_share``. ``lang`` and the comma-separated
    ``priority_models`` apply to a prelist (:func:`slrt_ml.pipeline.score.score_prelist`).
    """
    options = overridden(config.scoring, **flags)
    quota = options.quota_share if quota is None else quota
    if mapping is not None:
        return score_table(table, mapping, models, out, explain=explain, top_k=options.top_k,
                           quota=quota, profile=profile, by=config.compare.by)  # fmt: skip
    return score_prelist(prelist, models, out, explain=explain, top_k=options.top_k, quota=quota,
                         profile=profile, chunk_size=options.chunk_size, restart=restart,
                         lang=lang, priority_models=tuple(split_names(priority_models) or ()))  # fmt: skip
