"""The targeting frame of a Parquet registry, built by Spark with the local engine's code.

The local ``slrt-ml compare`` reads the registry (households, members, truth, SIKS-NG,
areas), validates it and builds the *targeting frame*
(:func:`slrt_ml.targeting.frame.targeting_frame`: desa, eligibility from the member file's
PKH components, target, survey weights, persons, slices, SIKS-NG's list and ranking).
Every column is a function of one household's own rows (its member rows, its truth and
SIKS-NG rows) and of the small areas table, so the same functions can run on hash buckets
of households: truth and SIKS-NG are joined onto the households (one row each, checked),
households and members are hashed on ``IDBDT`` into buckets, and
``cogroup(...).applyInPandas`` hands each bucket to :func:`bucket_frame`'s function, which
validates the bucket's tables (:func:`slrt_ml.data.registry.validate_tables`) and calls
``pkh_components`` and ``targeting_frame`` exactly as the local loader does.

Rows keep ``_pos``, the household's place in the household data (file by sorted path,
then row), so the driver can put them back in the local engine's order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from slrt_ml.data.io import TableReadError
from slrt_ml.data.registry import Registry, validate_tables
from slrt_ml.features import pkh_components
from slrt_ml.spark import chunks
from slrt_ml.targeting.frame import targeting_frame

__all__ = [
    "FRAME_COLUMNS",
    "OPTIONAL_COLUMNS",
    "RegistryTableError",
    "find_registry",
    "bucket_frame",
    "frame_schema",
]

#: The targeting frame's columns the comparison reads, with their Spark types (the local
#: frame also has ``poor`` and ``eligible_now``, which the comparison does not read).
FRAME_COLUMNS: dict[str, str] = {
    "IDBDT": "string", "KDKAB": "string", "KDKEC": "string", "cluster": "string",
    "eligible": "tinyint", "welfare": "double", "target": "tinyint", "labelled": "tinyint",
    "survey_weight": "double", "pkh_benefit": "double", "persons": "double",
    "urban": "tinyint", "female_head": "tinyint", "elderly_head": "tinyint",
    "disabled_member": "tinyint", "siksng_selected": "tinyint", "siksng_score": "double",
}  # fmt: skip

#: Columns the frame has when the registry does: SIKS-NG's published ``desil`` (the
#: ``desil:K`` rule lists the reference by it), as ``targeting_frame`` adds it.
OPTIONAL_COLUMNS: dict[str, tuple[str, str]] = {"siksng_desil": ("siksng", "desil")}

#: Prefixes of the truth and SIKS-NG columns joined onto the household rows.
JOINED = {"truth": "__truth__", "siksng": "__siksng__"}
_REQUIRED = ("households", "members", "truth", "siksng")


class RegistryTableError(TableReadError):
    """A registry table the Spark comparison needs is missing, or its rows do not pair up
    with the households (a repeated IDBDT, a truth or SIKS-NG row of no household)."""


def _dataset(folder: Path, name: str) -> Path | None:
    for candidate in (folder / f"{name}.parquet", folder / name):
        if candidate.is_file() or (candidate.is_dir() and any(candidate.rglob("*.parquet"))):
            return candidate
    return None


def find_registry(folder: str | Path) -> dict[str, Path]:
    """``households, members, truth, siksng`` (and ``areas`` when present) of a registry
    folder, each ``<name>.parquet`` (a file or a dataset folder) or a folder ``<name>/``.

    Raises
    ------
    RegistryTableError
        When a required table is missing (the Spark engine reads Parquet only).
    """
    folder = Path(folder)
    found = {name: _dataset(folder, name) for name in (*_REQUIRED, "areas")}
    missing = [name for name in _REQUIRED if found[name] is None]
    if missing:
        raise RegistryTableError(
            f"{folder}: no Parquet {', '.join(missing)} (a file <name>.parquet or a dataset "
            "folder); the Spark comparison reads a Parquet registry: write one with "
            "`slrt-ml data synth --format parquet` or `--engine spark`, or use --engine local"
        )
    return {name: path for name, path in found.items() if path is not None}


def frame_schema(optional: Sequence[str] = ()) -> str:
    """DDL schema of the rows :func:`bucket_frame`'s function returns (``_pos`` first;
    ``optional``: names of :data:`OPTIONAL_COLUMNS`, all double)."""
    fields = [f"{chunks.POS} bigint", *(f"`{c}` {t}" for c, t in FRAME_COLUMNS.items())]
    return ", ".join([*fields, *(f"`{c}` double" for c in optional)])


def _joined_table(hh: pd.DataFrame, table: str, types: dict[str, str]) -> pd.DataFrame:
    """The truth or SIKS-NG rows joined onto a bucket's households, with their own names."""
    prefix = JOINED[table]
    columns = [c for c in hh.columns if c.startswith(prefix)]
    present = hh[f"{prefix}IDBDT"].notna().to_numpy() if len(hh) else np.zeros(0, bool)
    rows = hh.loc[present, columns].rename(columns=lambda c: c[len(prefix) :])
    return chunks.as_read_locally(rows, table, types)


def bucket_frame(
    areas: pd.DataFrame | None,
    types: dict[str, dict[str, str]],
    *,
    folder: Path,
    elderly_age: int,
    version: str,
    optional: Sequence[str] = (),
) -> Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame]:
    """The function ``applyInPandas`` runs on one bucket: validate its tables as the local
    loader does, then its targeting-frame rows (:data:`FRAME_COLUMNS`, with ``_pos``).

    ``areas``: the areas table, validated once on the driver; ``types``: table -> Spark
    column types (for empty sides and text columns); ``optional``: the
    :data:`OPTIONAL_COLUMNS` this registry has.
    """

    def run(hh: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
        hh = hh.sort_values(chunks.POS, kind="stable") if len(hh) else hh
        positions = hh[chunks.POS].to_numpy(np.int64) if len(hh) else np.zeros(0, np.int64)
        tables = {
            "households": chunks.as_read_locally(
                hh.drop(columns=[c for c in hh.columns if c.startswith("__")]),
                "households", types["households"],
            ),
            "members": chunks.as_read_locally(members, "members", types["members"]),
            **{t: _joined_table(hh, t, types[t]) for t in JOINED},
        }  # fmt: skip
        valid = validate_tables(tables, version=version)
        registry = Registry(
            households=valid["households"], members=valid["members"],
            areas=areas, siksng=valid["siksng"], truth=valid["truth"],
            folder=folder,
        )  # fmt: skip
        components = pkh_components(registry.members, elderly_age=elderly_age)
        frame = targeting_frame(registry, components, elderly_age=elderly_age)
        out = frame.reindex(columns=[*FRAME_COLUMNS, *optional])
        out.insert(0, chunks.POS, positions)
        for name, kind in FRAME_COLUMNS.items():
            if kind == "string":
                out[name] = out[name].astype(object).where(out[name].notna(), None)
        return out

    return run
