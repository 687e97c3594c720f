"""Checks a command makes before any work: inputs exist, outputs are writable, names are known.

A wrong ``--out``, a missing ``--data`` folder, a mistyped ``--model-name`` or an
unreachable tracking server should stop a command in a second, not after an hour of
training. Every check raises :class:`PreflightError` (a ``ValueError``) whose message
names the flag, the thing, what is wrong and the fix, and lists the valid choices.

Only the standard library is imported, so the checks run before pandas, scikit-learn or
TensorFlow are loaded.
"""

from __future__ import annotations

import json
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "PreflightError",
    "TABLE_SUFFIXES",
    "check_input_file",
    "check_input_folder",
    "check_output_file",
    "check_output_folder",
    "check_run_folder",
    "check_run_models",
    "check_tracking_uri",
]

#: output table formats (``data.io.write_table``)
TABLE_SUFFIXES = (".parquet", ".csv", ".xlsx")


class PreflightError(ValueError):
    """A command's flags cannot work; raised before any data is read."""


def check_input_file(path: Path | None, flag: str) -> None:
    """``path`` (when given) is an existing file.

    >>> check_input_file(Path("/no/such.yaml"), "--mapping")
    Traceback (most recent call last):
    ...
    slrt_ml.preflight.PreflightError: --mapping /no/such.yaml: no such file; check the path
    """
    if path is None:
        return
    if path.is_dir():
        raise PreflightError(f"{flag} {path}: is a folder; {flag} takes a file")
    if not path.is_file():
        raise PreflightError(f"{flag} {path}: no such file; check the path")


def check_input_folder(path: Path | None, flag: str, *, hint: str = "") -> None:
    """``path`` (when given) is an existing folder."""
    if path is None:
        return
    if path.is_file():
        raise PreflightError(f"{flag} {path}: is a file; {flag} takes a folder{hint}")
    if not path.is_dir():
        raise PreflightError(f"{flag} {path}: no such folder; check the path{hint}")


def _existing_parent(path: Path) -> Path:
    path = path.absolute()
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(path.anchor)


def _probe_writable(folder: Path, flag: str, target: Path) -> None:
    """Create and delete a file in ``folder``: the honest test (``os.access`` lies for root)."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".slrt-write-test-"):
            pass
    except OSError as err:
        raise PreflightError(
            f"{flag} {target}: cannot write into {folder} ({err.strerror or err}); "
            f"choose a folder you can write to"
        ) from None


def check_output_folder(path: Path, flag: str = "--out") -> None:
    """``path`` is a folder (or can become one) that this process can write into.

    >>> check_output_folder(Path("/proc/x"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    slrt_ml.preflight.PreflightError: --out /proc/x: cannot write into /proc (...); choose a folder you can write to
    """
    parent = _existing_parent(path)
    if not parent.is_dir():
        where = "is a file" if parent == path.absolute() else f"{parent} is a file"
        raise PreflightError(f"{flag} {path}: {where}; {flag} takes a folder")
    _probe_writable(parent, flag, path)


def check_output_file(path: Path, flag: str = "--out", suffixes: Iterable[str] = TABLE_SUFFIXES
                      ) -> None:  # fmt: skip
    """``path`` is a table file name with a known suffix in a folder this process can write.

    >>> check_output_file(Path("scores.txt"))
    Traceback (most recent call last):
    ...
    slrt_ml.preflight.PreflightError: --out scores.txt: unknown format '.txt'; use one of .parquet, .csv, .xlsx
    """
    suffixes = tuple(suffixes)
    if path.is_dir():
        raise PreflightError(f"{flag} {path}: is a folder; give a file name such as "
                             f"{path / ('scores' + suffixes[0])}")  # fmt: skip
    if path.suffix.lower() not in suffixes:
        raise PreflightError(f"{flag} {path}: unknown format {path.suffix or '(none)'!r}; "
                             f"use one of {', '.join(suffixes)}")  # fmt: skip
    parent = _existing_parent(path.parent)
    if not parent.is_dir():
        raise PreflightError(f"{flag} {path}: {parent} is a file, not a folder")
    _probe_writable(parent, flag, path)


def check_run_folder(path: Path, flag: str = "--run") -> dict:
    """``path`` is a run folder written by ``slrt-ml train``; its manifest.

    Returns
    -------
    dict
        The parsed ``manifest.json``.
    """
    check_input_folder(path, flag, hint=" written by `slrt-ml train --out`")
    manifest = path / "manifest.json"
    if not manifest.is_file():
        raise PreflightError(f"{flag} {path}: no manifest.json, so not a run folder; "
                             f"pass the folder `slrt-ml train --out` wrote")  # fmt: skip
    try:
        return json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise PreflightError(f"{flag} {path}: manifest.json unreadable ({err}); "
                             f"train the run again") from None  # fmt: skip


def check_run_models(path: Path, names: Iterable[str] | None, flag: str = "--model-name"
                     ) -> None:  # fmt: skip
    """Every name in ``names`` is a model saved in the run folder ``path``.

    Raises
    ------
    PreflightError
        Naming the unknown models and listing the run's models.
    """
    names = list(names or ())
    if not names:
        return
    manifest = check_run_folder(path, "--model")
    saved = [m for m in manifest.get("models", []) if (path / "models" / m).is_dir()]
    unknown = [n for n in names if n not in saved]
    if unknown:
        raise PreflightError(f"{flag}: {', '.join(map(repr, unknown))} not in run {path}; "
                             f"its models: {', '.join(saved) or '(none)'}")  # fmt: skip


def check_tracking_uri(uri: str, *, timeout: float = 3.0) -> None:
    """The MLflow tracking URI can be used: a local store's folder is writable, a server answers.

    ``sqlite:///PATH`` and ``file:`` stores need a writable folder; ``http(s)://`` must answer
    ``/health`` within ``timeout`` seconds. Other schemes (``databricks`` ...) pass unchecked.
    """
    fix = "; fix --tracking-uri / $MLFLOW_TRACKING_URI, or pass --no-track"
    if uri.startswith("sqlite:///"):
        database = Path(uri.removeprefix("sqlite:///"))
        if database.is_dir():
            raise PreflightError(f"tracking URI {uri}: {database} is a folder, not a database"
                                 + fix)  # fmt: skip
        _probe_writable_uri(_existing_parent(database.parent), uri, fix)
    elif uri.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=timeout):
                pass
        except (urllib.error.URLError, OSError, ValueError) as err:
            reason = getattr(err, "reason", err)
            raise PreflightError(f"tracking URI {uri}: no MLflow server answers ({reason})"
                                 + fix) from None  # fmt: skip
    elif uri.startswith("file:") or "://" not in uri:
        folder = Path(uri.removeprefix("file://").removeprefix("file:"))
        _probe_writable_uri(_existing_parent(folder), uri, fix)


def _probe_writable_uri(folder: Path, uri: str, fix: str) -> None:
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".slrt-write-test-"):
            pass
    except OSError as err:
        raise PreflightError(
            f"tracking URI {uri}: cannot write into {folder} ({err.strerror or err})" + fix
        ) from None
