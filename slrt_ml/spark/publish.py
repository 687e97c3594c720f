"""One output folder per Spark scoring run, published atomically and idempotently.

Spark writes every dataset of a run (``scored/`` partitioned by ``KDPROP``/``KDKAB``,
``rejects/``, ``orphan_members/``, ``drift.csv``) into a fresh hidden folder beside the
output, ``.<name>.tmp-<random>``; the run's ``manifest.json`` is written there last, and
the folder becomes ``<out>`` by one rename. A rerun builds its own temporary folder and
swaps it in: the old ``<out>`` is renamed aside, the new one renamed in, the old one
deleted, so ``<out>`` always holds one complete run (between the two renames it is briefly
absent, never half written). A reader trusts a folder with ``manifest.json`` only.
Leftover temporary folders of crashed runs are deleted by the next run. The folder must
be on a file system every Spark worker and the driver share (local disk in ``local[N]``,
a shared mount on a cluster).
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

__all__ = ["MANIFEST", "NotSparkOutputError", "new_staging", "publish"]

MANIFEST = "manifest.json"
_OWNER = "slrt_ml.spark/1"


class NotSparkOutputError(RuntimeError, ValueError):
    """``<out>`` exists and was not written by a Spark scoring run (never overwritten)."""


def new_staging(out: Path) -> Path:
    """A fresh temporary folder beside ``out``; leftovers of crashed runs are removed.

    Raises
    ------
    NotSparkOutputError
        When ``out`` exists but holds no manifest of a Spark run (or is a file).
    """
    out = Path(out).absolute()
    if out.exists() and not _ours(out):
        raise NotSparkOutputError(
            f"{out}: exists and is not the output folder of a Spark scoring run (no "
            f"{MANIFEST} of ours); choose another --out or move it"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    for pattern in (f".{out.name}.tmp-*", f".{out.name}.old-*"):
        for leftover in out.parent.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)
    staging = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    return staging


def _ours(path: Path) -> bool:
    try:
        return json.loads((path / MANIFEST).read_text(encoding="utf-8")).get("owner") == _OWNER
    except (OSError, ValueError, AttributeError):
        return False


def publish(staging: Path, out: Path, manifest: dict[str, Any]) -> Path:
    """Write ``manifest.json`` into ``staging`` and make it ``out`` (module docstring)."""
    out = Path(out).absolute()
    text = json.dumps({"owner": _OWNER, **manifest}, indent=2, sort_keys=True, default=str)
    (staging / f"{MANIFEST}.tmp").write_text(text + "\n", encoding="utf-8")
    (staging / f"{MANIFEST}.tmp").replace(staging / MANIFEST)
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:12]}"
        out.rename(old)
    staging.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return out
