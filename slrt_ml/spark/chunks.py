"""The per-chunk function of the local engine, run by Spark on hash buckets of households.

The local engine streams the prelist in chunks of households with their member rows and
calls :meth:`slrt_ml.pipeline.score.PrelistScorer.score_chunk` on each (validate, drop
NIK, features, scores, reasons) and counts the features into the drift report. Here the
same method runs inside Spark: households and members are hashed on ``IDBDT`` into
buckets (about ``chunk_size`` households each), ``cogroup(...).applyInPandas`` hands each
bucket's households and members to :func:`bucket_scorer`'s function, and its rows come
back as one Arrow table of three kinds: ``scored`` (one row per scored household),
``rejected`` (one per rejected household row, and one per orphan member group with
:data:`~slrt_ml.data.rejects.ORPHAN_REASON`) and ``drift`` (the bucket's drift counts as
JSON). Every copy of an IDBDT hashes to the same bucket, so a repeated IDBDT is rejected
there exactly as the local engine rejects it within its chunk.

Each row keeps ``pos``, the household's place in the input (file order, row order), so
ties in the per-desa rank break by input order as they do locally.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from slrt_ml.data.rejects import ORPHAN_REASON
from slrt_ml.data.schema import string_columns
from slrt_ml.features.drift import DriftAccumulator
from slrt_ml.pipeline.score_inputs import isin
from slrt_ml.pipeline.score_output import DIRECTIONS

__all__ = ["BucketMismatchError", "bucket_schema", "bucket_scorer", "as_read_locally"]

#: helper columns the Spark engine adds to the inputs (never seen by the chunk function)
POS, BUCKET = "_pos", "_bucket"

_PANDAS_TYPES = {"bigint": "int64", "int": "int32", "smallint": "int16", "tinyint": "int8",
                 "double": "float64", "float": "float32", "boolean": "bool", "string": "str"}  # fmt: skip


class BucketMismatchError(RuntimeError):
    """The rows a bucket returned do not match its input rows (a bug, not bad data)."""


def score_columns(extra: Sequence[str], explain: bool, top_k: int) -> list[str]:
    """The score columns of a scored row (as :func:`slrt_ml.pipeline.score_output.model_scores`)."""
    columns = ["score", "prob_poor"]
    if explain:
        columns += [f"reason_{d}_{i}" for d in DIRECTIONS for i in range(1, top_k + 1)]
        columns.append("area_effect")
    return columns + list(extra)


def bucket_schema(extra: Sequence[str], explain: bool, top_k: int) -> str:
    """DDL schema of the rows :func:`bucket_scorer`'s function returns."""
    fields = ["kind string", "IDBDT string", "pos bigint", "desa string", "reason string",
              "drift string"]  # fmt: skip
    for name in score_columns(extra, explain, top_k):
        kind = "string" if name.startswith("reason_") else "double"
        fields.append(f"`{name}` {kind}")
    return ", ".join(fields)


def as_read_locally(frame: pd.DataFrame, table: str, spark_types: dict[str, str]) -> pd.DataFrame:
    """A Spark batch as :func:`slrt_ml.data.io.iter_table_chunks` reads a Parquet chunk:
    input order, code/id/area/NIK/text columns as dtype ``string``; an empty side of a
    cogroup gets every column with its type."""
    if frame.shape[1] == 0:
        frame = pd.DataFrame({c: pd.Series(dtype=_PANDAS_TYPES.get(t, "object"))
                              for c, t in spark_types.items()})  # fmt: skip
    frame = frame.sort_values(POS, kind="stable") if POS in frame.columns else frame
    frame = frame.drop(columns=[c for c in (POS, BUCKET) if c in frame.columns])
    frame = frame.reset_index(drop=True)
    for name in string_columns(table):
        if name in frame.columns and frame[name].dtype != "string":
            frame[name] = frame[name].astype("string")
    return frame


def bucket_scorer(
    scorer_broadcast,
    areas: pd.DataFrame | None,
    hh_types: dict[str, str],
    mem_types: dict[str, str],
    columns: list[str],
) -> Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame]:
    """The function ``applyInPandas`` runs on one bucket (module docstring).

    ``scorer_broadcast`` is a Spark broadcast of a
    :class:`~slrt_ml.pipeline.score.PrelistScorer` (models, profile, options); ``columns``
    the names of :func:`bucket_schema`.
    """

    def run(hh: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
        scorer = scorer_broadcast.value
        positions = (hh.sort_values(POS, kind="stable")[POS].to_numpy(np.int64)
                     if POS in hh.columns else np.zeros(0, np.int64))  # fmt: skip
        hh = as_read_locally(hh, "households", hh_types)
        members = as_read_locally(members, "members", mem_types)
        scored, rejects, features = scorer.score_chunk(hh, members, areas)
        drift = DriftAccumulator(scorer.profile or {})
        drift.add(features)
        return _rows(hh, positions, scored, rejects, json.dumps(drift.state()), columns)

    return run


def _rows(
    hh: pd.DataFrame,
    positions: np.ndarray,
    scored: pd.DataFrame,
    rejects: pd.DataFrame,
    drift: str,
    columns: list[str],
) -> pd.DataFrame:
    """The bucket's output rows; ``pos`` of scored and rejected rows from the input rows.

    Scored IDBDTs are unique (every copy of a repeated IDBDT is rejected), so the rows not
    scored are the input rows whose IDBDT is not among them, in input order: exactly the
    rejected household rows.

    Raises
    ------
    BucketMismatchError
        When the rows not scored are not as many as the rejected household rows.
    """
    ids = hh["IDBDT"].astype("string")
    scored_ids = scored["IDBDT"].astype("string")
    by_id = pd.Series(positions, index=pd.Index(ids)).loc[lambda s: ~s.index.duplicated()]
    is_orphan = rejects["reason"].eq(ORPHAN_REASON).fillna(False).to_numpy(bool)
    not_scored = ~isin(ids, scored_ids) if len(hh) else np.zeros(0, bool)
    n_rejected = int((~is_orphan).sum())
    if int(not_scored.sum()) != n_rejected:
        raise BucketMismatchError(
            f"bucket of {len(hh)} households: {int(not_scored.sum())} rows not scored but "
            f"{n_rejected} rejected household rows (scored {len(scored)})"
        )
    out_scored = scored.drop(columns=[c for c in scored.columns if c not in columns])
    out_scored = out_scored.assign(kind="scored",
                                   pos=by_id.reindex(pd.Index(scored_ids)).to_numpy(np.int64))  # fmt: skip
    reject_pos = np.full(len(rejects), -1, np.int64)
    reject_pos[~is_orphan] = positions[not_scored]
    out_rejects = rejects.assign(kind="rejected", pos=reject_pos)
    out_drift = pd.DataFrame({"kind": ["drift"], "drift": [drift]})
    out = pd.concat([out_scored, out_rejects, out_drift], ignore_index=True)
    out = out.reindex(columns=columns)
    for name in columns:
        if name in ("kind", "IDBDT", "desa", "reason", "drift") or name.startswith("reason_"):
            out[name] = out[name].astype(object).where(out[name].notna(), None)
    out["pos"] = out["pos"].fillna(-1).astype(np.int64)
    return out
