"""One scoring run owns its output: a lock, a staging folder, and the output set published whole.

``slrt-ml score --out X`` writes a *set* of files: ``X`` itself, ``<stem>.rejects.csv``,
``<stem>.orphan_members.csv``, ``<stem>.drift.csv`` (with a training profile) and
``X.manifest.json``, which names the set with its row counts and the run's id. A
:class:`ScoreRun`:

- takes an exclusive lock ``X.lock`` (a JSON file with the run id, pid, host and start
  time, created atomically with ``os.link``, which fails when the file exists). A second
  run on the same ``X`` refuses at once with :class:`OutputLockedError`; a lock left by a
  process that no longer runs on this host is stale and is taken over;
- removes what a crashed earlier run left beside ``X`` (hidden temporary files of these
  names, staging folders), which is safe because the lock is held;
- writes every file of the set into a run-scoped staging folder
  ``.X.<run id>.staging/`` and :meth:`publish` moves them into place together: the old
  manifest goes first, then each file is renamed over its old version (a file of the old
  set that the new set lacks is removed), then the new manifest is written. A set is
  complete exactly when ``X.manifest.json`` exists and names the run's id; after a crash
  mid-publish there is no manifest, never a manifest naming a mixed set;
- removes the staging folder and the lock on every exit path.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import socket
import uuid
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from slrt_ml.data.io import atomic_path

__all__ = ["OutputLockedError", "ScoreRun", "manifest_path", "read_output_manifest"]


class OutputLockedError(RuntimeError, ValueError):
    """Another run holds the lock of this output (or its working folder)."""


def manifest_path(out: Path) -> Path:
    """``<out>.manifest.json``.

    >>> manifest_path(Path("o/scored.xlsx")).as_posix()
    'o/scored.xlsx.manifest.json'
    """
    return out.with_name(out.name + ".manifest.json")


def read_output_manifest(out: str | os.PathLike[str]) -> dict:
    """The manifest of a published output set (``FileNotFoundError`` when none)."""
    return json.loads(manifest_path(Path(out)).read_text(encoding="utf-8"))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


class ScoreRun:
    """The lock, staging folder and publication of one scoring run (module docstring).

    Parameters
    ----------
    out : Path
        The output file.
    """

    def __init__(self, out: str | os.PathLike[str]) -> None:
        self.out = Path(out)
        self.run_id = uuid.uuid4().hex[:12]
        self.lock = self.out.with_name(self.out.name + ".lock")
        self.staging = self.out.with_name(f".{self.out.name}.{self.run_id}.staging")
        self._locked = False

    # --- lock -------------------------------------------------------------------------------

    def _lock_record(self) -> str:
        return json.dumps({"run_id": self.run_id, "pid": os.getpid(), "host": socket.gethostname(),
                           "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})  # fmt: skip

    def acquire(self) -> None:
        """Take ``<out>.lock`` or raise :class:`OutputLockedError` naming the holder."""
        self.out.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            tmp = self.lock.with_name(f".{self.lock.name}.{self.run_id}.new")
            tmp.write_text(self._lock_record(), encoding="utf-8")
            try:
                os.link(tmp, self.lock)  # atomic; fails when the lock exists
                self._locked = True
                return
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
            self._take_over_stale()
        raise OutputLockedError(f"{self.lock}: could not take the lock; try again")

    def _take_over_stale(self) -> None:
        try:
            text = self.lock.read_text(encoding="utf-8")
            holder = json.loads(text)
        except FileNotFoundError:
            return
        except (OSError, ValueError):
            holder, text = {}, None
        same_host = holder.get("host") == socket.gethostname()
        pid = holder.get("pid")
        if isinstance(pid, int) and (not same_host or _pid_alive(pid)):
            raise OutputLockedError(
                f"{self.out}: another scoring run is writing this output (run {holder.get('run_id')}, "
                f"pid {pid} on {holder.get('host')}, started {holder.get('started')}); wait for it "
                f"to finish or choose another --out. If no such run exists, delete {self.lock}"
            )
        grave = self.lock.with_name(f".{self.lock.name}.{self.run_id}.stale")
        try:
            os.rename(self.lock, grave)
        except FileNotFoundError:
            return
        if text is not None and grave.read_text(encoding="utf-8") != text:
            with contextlib.suppress(FileExistsError):  # not the stale lock: put it back
                os.link(grave, self.lock)
        grave.unlink(missing_ok=True)

    def release(self) -> None:
        """Drop the lock (only this run's)."""
        if self._locked:
            with contextlib.suppress(OSError, ValueError):
                if json.loads(self.lock.read_text(encoding="utf-8")).get("run_id") == self.run_id:
                    self.lock.unlink()
            self._locked = False

    # --- leftovers and staging ---------------------------------------------------------------

    def clean_leftovers(self, names: list[str]) -> list[Path]:
        """Remove hidden temporary files of ``names`` and staging folders of earlier runs."""
        folder = self.out.parent
        removed = []
        patterns = [f".{self.out.name}.*.staging", f".{self.lock.name}.*"]
        for name in names:
            stem, suffix = Path(name).stem, Path(name).suffix
            patterns.append(f".{stem}.*.tmp{suffix}")
        for pattern in patterns:
            for path in folder.glob(pattern):
                if path == self.staging or path.name.startswith(f".{self.lock.name}.{self.run_id}"):
                    continue
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
                removed.append(path)
        return removed

    def staged(self, final: Path) -> Path:
        """Where to write ``final`` before publication (inside the staging folder)."""
        self.staging.mkdir(parents=True, exist_ok=True)
        return self.staging / final.name

    def publish(self, files: Mapping[str, Path | None], record: Mapping[str, object]) -> Path:
        """Move the staged files into place as one set and write the manifest.

        ``files`` maps a role (``output``, ``rejects`` ...) to its final path, or None for
        a role this run does not produce (an old file of that role is removed).
        """
        manifest = manifest_path(self.out)
        manifest.unlink(missing_ok=True)
        listed = {}
        for role, final in files.items():
            if final is None:
                continue
            staged = self.staging / final.name
            listed[role] = {"file": final.name, "sha256": _sha256(staged)}
            os.replace(staged, final)
        body = {"run_id": self.run_id, "written": dt.datetime.now(dt.UTC).isoformat(
            timespec="seconds"), "files": listed, **record}  # fmt: skip
        with atomic_path(manifest) as tmp:
            tmp.write_text(json.dumps(body, indent=2, default=str), encoding="utf-8")
        return manifest

    def remove_stale(self, paths: list[Path]) -> None:
        """Delete files of an earlier set that this run does not produce."""
        for path in paths:
            path.unlink(missing_ok=True)

    # --- context ----------------------------------------------------------------------------

    def __enter__(self) -> ScoreRun:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
        self.release()
