"""The targeting frame: one aligned row per household for training and evaluation.

A :class:`TargetingData` holds the model features, the training labels and the *targeting
frame* the evaluation reads (target, eligibility, the reference system's list and ranking,
slices, clusters), all in the same household order. This module builds it from a PBDT
registry (:func:`registry_targeting_data`); :mod:`slrt_ml.targeting.mapped` builds it from
any household table through a dataset mapping, so training and comparison run through the
same code.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from slrt_ml.data.codebook import area_keys
from slrt_ml.features import area_features, household_features, pkh_components
from slrt_ml.features.components import pkh_benefit
from slrt_ml.targeting.labels import check_label_prevalence

__all__ = [
    "TargetingData",
    "check_training_label",
    "frame_digest",
    "registry_targeting_data",
    "targeting_frame",
    "POVERTY_LINES_SULSEL_2024",
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
        """The 0/1 poverty label of every household, in frame order."""
        return self.frame["poor"].to_numpy(dtype=np.int8)

    @property
    def sample_weight(self) -> np.ndarray:
        """The survey weight of every household (0 on unlabelled rows; 1 without a survey)."""
        if "survey_weight" not in self.frame:
            return np.ones(len(self.frame))
        return self.frame["survey_weight"].to_numpy(dtype=np.float64)

    @property
    def labelled(self) -> np.ndarray:
        """Whether each household's label comes from the survey (all True without one)."""
        if "labelled" not in self.frame:
            return np.ones(len(self.frame), dtype=bool)
        return self.frame["labelled"].to_numpy() == 1

    @property
    def groups(self) -> np.ndarray:
        """The cluster (desa) of every household: the unit of folds and bootstrap."""
        return self.frame["cluster"].to_numpy()


def frame_digest(*frames: pd.DataFrame) -> str:
    """A content digest of frames (independent of file format), for manifests and MLflow.

    Parameters
    ----------
    *frames : DataFrame
        Hashed in order, with their index and column names.

    Returns
    -------
    str
        The first 16 hex digits of a SHA-256 over the frames' contents.
    """
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
    keys = area_keys(households)
    return pd.DataFrame(
        {"KDKAB": keys["kabupaten"], "KDKEC": keys["kecamatan"], "cluster": keys["desa"]},
        index=households.index,
    )


def _urban(households: pd.DataFrame, areas: pd.DataFrame | None) -> np.ndarray:
    """0/1 urban flag per household: the features' ``perkotaan`` rule (0 without areas)."""
    if areas is None:
        return np.zeros(len(households), dtype="int8")
    return area_features(households, areas)["perkotaan"].to_numpy(dtype="int8")


def targeting_frame(
    registry: Any, components: pd.DataFrame, *, elderly_age: int = 60
) -> pd.DataFrame:
    """The evaluation's input: one row per household of ``registry.households``, same order.

    Parameters
    ----------
    registry : Registry
        A validated registry with ``truth`` and ``siksng`` (``slrt_ml.data.io.Registry``).
    components : DataFrame
        :func:`slrt_ml.features.households.pkh_components`, indexed by ``IDBDT``.
    elderly_age : int
        Age from which a household head counts as elderly.

    Returns
    -------
    DataFrame
        The targeting frame of ``docs/CONTRACTS.md`` (``IDBDT``, area codes, ``cluster``,
        ``eligible``, ``eligible_now``, ``poor``, ``welfare``, ``target``, ``labelled``,
        ``survey_weight``, ``pkh_benefit``, ``persons``, ``urban``, slices,
        ``siksng_selected``, ``siksng_score``, ``siksng_desil`` when SIKS-NG publishes
        one), on a fresh range index.

    Notes
    -----
    Eligibility is symmetric: ``eligible`` (a PKH component by the *recorded* member file)
    is what every system can see, so models select among these households like SIKS-NG;
    ``target = poor & eligible_now`` is the truth's current state (truth's optional
    ``eligible_now``, else ``eligible``). ``labelled`` is truth's optional ``in_survey``
    (else 1) and ``survey_weight`` its optional ``survey_weight`` on labelled rows, 0 on
    unlabelled ones (1 everywhere when the truth has no survey columns).

    Raises
    ------
    slrt_ml.features.households.FeatureError
        When a household's desa is missing from ``registry.areas`` (the message names it).
    ValueError
        When ``in_survey``/``eligible_now`` are not 0/1 or a labelled household's
        ``survey_weight`` is not a positive finite number (names the column, shows ids).
    """
    hh = registry.households
    ids = hh["IDBDT"]
    frame = _cluster_codes(hh)
    frame.insert(0, "IDBDT", ids.to_numpy())
    frame["eligible"] = components["has_component"].reindex(ids).fillna(0).to_numpy(dtype="int8")
    truth = registry.truth.set_index("IDBDT").reindex(ids)
    frame["poor"] = truth["poor"].to_numpy(dtype="int8")
    frame["welfare"] = truth["welfare_pc"].to_numpy(dtype=float)
    frame["eligible_now"] = _truth_flag(truth, "eligible_now", registry, frame["eligible"])
    frame["target"] = (frame["poor"] & frame["eligible_now"]).astype("int8")
    frame["labelled"] = _truth_flag(truth, "in_survey", registry, np.ones(len(ids), "int8"))
    frame["survey_weight"] = _survey_weight(truth, frame["labelled"].to_numpy(), registry)
    frame["pkh_benefit"] = pkh_benefit(components).reindex(ids).fillna(0.0).to_numpy(float)
    frame["persons"] = hh["Jumlah_ART"].to_numpy(dtype=float)
    frame["urban"] = _urban(hh, registry.areas)
    slices = _head_slices(registry.members, elderly_age).reindex(ids).fillna(0)
    for col in slices:
        frame[col] = slices[col].to_numpy(dtype="int8")
    siksng = registry.siksng.set_index("IDBDT").reindex(ids)
    frame["siksng_selected"] = siksng["pkh_eligible"].fillna(0).to_numpy(dtype="int8")
    # SIKS-NG's own ranking: the registry percentile of its PMT (1 = poorest).
    frame["siksng_score"] = (101 - hh["Percentile"]).to_numpy(dtype=float)
    if "desil" in siksng.columns:  # its published desil (missing: not listed) for desil:K
        frame["siksng_desil"] = pd.to_numeric(siksng["desil"]).to_numpy(float, na_value=np.nan)
    return frame.reset_index(drop=True)


def _truth_where(registry: Any) -> str:
    folder = getattr(registry, "folder", None)
    return f"{folder}/truth" if folder else "truth"


def _truth_flag(truth: pd.DataFrame, column: str, registry: Any, default: Any) -> np.ndarray:
    """An optional 0/1 truth column (``default`` when the truth does not have it)."""
    if column not in truth:
        return np.asarray(default, dtype="int8")
    values = pd.to_numeric(truth[column], errors="coerce")
    bad = ~values.isin([0, 1]).to_numpy()
    if bad.any():
        raise ValueError(
            f"{_truth_where(registry)}: column {column!r} must be 0/1 for every household; "
            f"{int(bad.sum())} are not, e.g. (IDBDT: value) "
            f"{_examples(truth[column], bad)}"
        )
    return values.to_numpy(dtype="int8")


def _examples(values: pd.Series, bad: np.ndarray) -> str:
    rows = np.flatnonzero(bad)[:5]
    return ", ".join(f"{values.index[i]}: {values.iloc[i]!r}" for i in rows)


def _survey_weight(truth: pd.DataFrame, labelled: np.ndarray, registry: Any) -> np.ndarray:
    """Truth's ``survey_weight`` on labelled rows, 0 elsewhere; 1 without survey columns."""
    if "survey_weight" not in truth:
        if "in_survey" in truth:
            return labelled.astype(np.float64)  # a sample without weights: equal weights
        return np.ones(len(truth))
    weight = pd.to_numeric(truth["survey_weight"], errors="coerce").to_numpy(np.float64)
    bad = labelled & ~(np.isfinite(weight) & (weight > 0))
    if bad.any():
        raise ValueError(
            f"{_truth_where(registry)}: column 'survey_weight' must be a positive finite "
            f"expansion factor on every surveyed household (in_survey = 1); {int(bad.sum())} "
            f"are not, e.g. (IDBDT: value) {_examples(truth['survey_weight'], bad)}"
        )
    return np.where(labelled, weight, 0.0)


def check_training_label(data: TargetingData, *, column: str, source: str) -> None:
    """:func:`~slrt_ml.targeting.labels.check_label_prevalence` over the labelled rows,
    weighted by the survey weight (raises ``LabelError`` naming ``column`` and ``source``)."""
    rows = data.labelled
    check_label_prevalence(
        data.poor[rows], column=column, source=source, sample_weight=data.sample_weight[rows]
    )


def _welfare_target(frame: pd.DataFrame, metadata: dict[str, Any]) -> pd.Series | None:
    if frame["welfare"].isna().all():
        return None
    lines = {**POVERTY_LINES_SULSEL_2024, **(metadata.get("poverty_lines") or {})}
    line = np.where(frame["urban"] == 1, lines["urban"], lines["rural"])
    ratio = np.log(np.clip(frame["welfare"].to_numpy(), 1.0, None) / line)
    return pd.Series(ratio, index=frame["IDBDT"], name="log_welfare_ratio")


def _example_records(registry: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    ids = registry.households["IDBDT"].head(EXAMPLE_HOUSEHOLDS)
    hh = registry.households[registry.households["IDBDT"].isin(ids)]
    mem = registry.members[registry.members["IDBDT"].isin(ids)].drop(
        columns=["NIK"], errors="ignore"
    )
    return hh.reset_index(drop=True), mem.reset_index(drop=True)


def registry_targeting_data(registry: Any, *, elderly_age: int = 60) -> TargetingData:
    """Features, labels and targeting frame from a loaded PBDT registry.

    Parameters
    ----------
    registry : Registry
        From :func:`slrt_ml.data.io.load_registry` or
        :func:`slrt_ml.pipeline.in_memory.validate_registry`.
    elderly_age : int
        Age from which a member counts as elderly (features, components and slices).

    Returns
    -------
    TargetingData
        Features, targeting frame and welfare target, with a digest of the input tables.

    Raises
    ------
    ValueError
        When the registry has no ``truth`` or ``siksng`` table, or a survey column of the
        truth is malformed.
    slrt_ml.targeting.labels.LabelError
        When the label of the labelled households has one class or a (weighted)
        prevalence outside [1%, 99%].
    slrt_ml.features.households.FeatureError
        When a household's desa is missing from ``registry.areas``.
    """
    if registry.truth is None or registry.siksng is None:
        raise ValueError(
            f"{registry.folder}: training and comparison need truth.* and siksng.* beside "
            "households.* and members.*"
        )
    components = pkh_components(registry.members, elderly_age=elderly_age)
    features = household_features(registry.households, registry.members, registry.areas,
                                  elderly_age=elderly_age)  # fmt: skip
    frame = targeting_frame(registry, components, elderly_age=elderly_age)
    meta = registry.metadata or {}
    extra: dict[str, Any] = {}
    if registry.areas is not None:
        extra["areas"] = registry.areas
    if "survey_weight" in registry.truth:
        extra["survey_weight_column"] = "truth.survey_weight"
    if meta.get("gap_decomposition") is not None:
        extra["gap_decomposition"] = meta["gap_decomposition"]
    data = TargetingData(
        features=features,
        frame=frame,
        welfare_target=_welfare_target(frame, meta),
        name=Path(registry.folder).name if registry.folder else "registry",
        codebook_version=meta.get("codebook_version", "pbdt2015"),
        synthetic=meta.get("generator") == "slrt_ml.synth",
        example_records=_example_records(registry),
        extra=extra,
        digest=frame_digest(
            registry.households,
            registry.members.drop(columns=["NIK"], errors="ignore"),
            registry.truth,
            registry.siksng,
        ),  # fmt: skip
    )
    check_training_label(data, column="poor", source=_truth_where(registry))
    return data
