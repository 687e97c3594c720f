"""A synthetic registry at national scale: one kabupaten per Spark task, seeded per kabupaten.

:func:`synth_registry_spark` splits ``households`` over kabupaten in several provinces
(:func:`kabupaten_layout`: at least six, three provinces, about 200,000 households each
beyond that), and every Spark task runs the local generator
(:func:`slrt_ml.data.synth.generator.iter_registry`) for one kabupaten with its own seed
``SeedSequence([seed, KDPROP, KDKAB])``. Each kabupaten is a self-contained registry (its
areas, SIKS-NG quota cut and prelist are its own). Files go to
``<table>/KDPROP=<pp>/KDKAB=<kk>/part-00000.parquet`` (hive partitions: the codes live in
the folder names, read back as text), so the output depends on the seed and the
household count only, never on the number of workers or tasks. Everything is written
into a temporary folder beside ``out`` and renamed into place at the end, with
``metadata.json`` (per kabupaten: codes, households, seed, the generator's metadata).
"""

from __future__ import annotations

import json
import math
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["KABUPATEN_HOUSEHOLDS", "kabupaten_layout", "synth_kabupaten", "synth_registry_spark"]

#: households per kabupaten beyond the six-kabupaten minimum
KABUPATEN_HOUSEHOLDS = 200_000
#: province codes used in turn (South, Central and Southeast Sulawesi, then more)
_PROVINCES = ["73", "72", "74", "71", "75", "76", "61", "62", "63", "64", "65", "51", "52", "53"]
_TABLES = ("areas", "households", "members", "siksng", "truth", "prelist_households",
           "prelist_members")  # fmt: skip


def kabupaten_layout(households: int, minimum: int = 6) -> list[dict[str, Any]]:
    """Kabupaten codes, households and seed key of each task; provinces take turns.

    >>> [(k["kdprop"], k["kdkab"], k["households"]) for k in kabupaten_layout(20)]
    [('73', '99', 4), ('72', '99', 4), ('74', '99', 3), ('73', '98', 3), ('72', '98', 3), ('74', '98', 3)]
    """
    n = max(minimum, math.ceil(households / KABUPATEN_HOUSEHOLDS))
    provinces = _PROVINCES[: max(3, min(len(_PROVINCES), math.ceil(n / 20)))]
    base, extra = divmod(households, n)
    return [{"kdprop": provinces[i % len(provinces)], "kdkab": f"{99 - i // len(provinces):02d}",
             "households": base + (1 if i < extra else 0)} for i in range(n)]  # fmt: skip


def _kabupaten_seed(seed: int, kdprop: str, kdkab: str) -> int:
    return int(np.random.SeedSequence([seed, int(kdprop), int(kdkab)]).generate_state(1)[0])


def synth_kabupaten(task: dict[str, Any], folder: str, params: Any) -> dict[str, Any]:
    """Write one kabupaten's tables under ``folder`` (module docstring); its metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from slrt_ml.data.synth.generator import iter_registry
    from slrt_ml.data.synth.parameters import Profile

    kdprop, kdkab = task["kdprop"], task["kdkab"]
    seed = _kabupaten_seed(task["seed"], kdprop, kdkab)
    profile = Profile(name=f"spark-{kdprop}{kdkab}", kdprop=kdprop, kdkab=kdkab)
    writers: dict[str, Any] = {}
    counts: dict[str, int] = {}
    metadata: dict[str, Any] = {}
    try:
        for name, value in iter_registry(task["households"], seed, profile=profile, params=params):
            if name == "metadata":
                metadata = value
                continue
            frame = value.drop(columns=[c for c in ("KDPROP", "KDKAB") if c in value.columns])
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if name not in writers:
                path = Path(folder) / name / f"KDPROP={kdprop}" / f"KDKAB={kdkab}"
                path.mkdir(parents=True, exist_ok=True)
                writers[name] = pq.ParquetWriter(path / "part-00000.parquet", table.schema)
            writers[name].write_table(table.cast(writers[name].schema))
            counts[name] = counts.get(name, 0) + len(frame)
    finally:
        for writer in writers.values():
            writer.close()
    return {"kdprop": kdprop, "kdkab": kdkab, "households": task["households"], "seed": seed,
            "counts": counts, "metadata": metadata}  # fmt: skip


def synth_registry_spark(
    out: str | Path,
    households: int,
    seed: int = 0,
    *,
    master: str = "local[2]",
    spark=None,
    params: Any = None,
    tasks: int | None = None,
) -> dict[str, Any]:
    """Write a partitioned Parquet registry to ``out`` with Spark (module docstring).

    ``tasks`` sets the number of Spark partitions of the kabupaten list (default: one per
    kabupaten); the files do not depend on it.

    Raises
    ------
    FileExistsError
        When ``out`` exists and is not empty.
    """
    from slrt_ml.data.synth.parameters import SynthParameters
    from slrt_ml.spark.session import quiet_pyspark, spark_session

    out = Path(out).absolute()
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out}: exists and is not empty; choose a new --out")
    params = params or SynthParameters()
    layout = [{**k, "seed": seed} for k in kabupaten_layout(households)]
    spark = spark or spark_session(master)
    staging = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:12]}"
    staging.mkdir(parents=True)
    folder = str(staging)
    try:
        with quiet_pyspark():
            rdd = spark.sparkContext.parallelize(layout, tasks or len(layout))
            done = rdd.map(lambda task: synth_kabupaten(task, folder, params)).collect()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    done.sort(key=lambda k: (k["kdprop"], k["kdkab"]))
    totals = {t: sum(k["counts"].get(t, 0) for k in done) for t in _TABLES}
    metadata = {"engine": "spark", "seed": seed, "households": households, "format": "parquet",
                "partitioning": ["KDPROP", "KDKAB"], "counts": totals, "kabupaten": done}  # fmt: skip
    (staging / "metadata.json").write_text(
        json.dumps(metadata, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
    )
    if out.exists():
        out.rmdir()
    staging.rename(out)
    return metadata
