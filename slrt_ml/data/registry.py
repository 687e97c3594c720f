"""Registry folders: find, read and validate the tables of one folder of files.

A registry folder holds ``households`` and ``members`` and, optionally, ``areas``,
``siksng`` and ``truth`` (docs/CONTRACTS.md), each as ``.parquet``, ``.csv`` or ``.xlsx``;
a prelist folder holds ``prelist_households`` and ``prelist_members``. The table kind of
a file follows its name (:func:`table_kind`). Reading one file is :mod:`slrt_ml.data.io`'s
job, checking one table :mod:`slrt_ml.data.schema`'s; this module puts the files of a
folder together and reports every problem of every file at once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from slrt_ml.data.codebook import DEFAULT_VERSION
from slrt_ml.data.io import TABLE_SUFFIXES, TableReadError, find_table, read_table
from slrt_ml.data.schema import Problem, SchemaError, validate_table

__all__ = [
    "FileReport",
    "Registry",
    "load_prelist",
    "load_registry",
    "table_kind",
    "validate_paths",
    "validate_tables",
]

_FILE_KINDS = {  # file-name prefix -> table kind (longest prefixes first)
    "prelist_households": "households",
    "prelist_members": "members",
    "households": "households",
    "members": "members",
    "siksng": "siksng",
    "truth": "truth",
    "areas": "areas",
}
_OPTIONAL_TABLES = ("areas", "siksng", "truth")
_LINKED_TABLES = ("members", "siksng", "truth")  # their IDBDTs must be households
_REQUIRED_PAIRS = (("households", "members"), ("prelist_households", "prelist_members"))


def table_kind(path: str | os.PathLike[str]) -> str:
    """Table kind from a file name: ``households*``, ``prelist_members*``, ``siksng*`` ...

    Raises
    ------
    TableReadError
        When the name starts with none of the known table names.

    >>> table_kind("exports/prelist_members_2024-03.csv")
    'members'
    """
    name = Path(path).name.lower()
    for prefix, kind in _FILE_KINDS.items():
        if name.startswith(prefix):
            return kind
    raise TableReadError(
        f"{path}: cannot tell the table kind from the file name; name it after one of "
        f"{', '.join(_FILE_KINDS)} (e.g. households.csv)"
    )


@dataclass
class Registry:
    """The validated tables of one registry folder (areas, siksng, truth may be missing)."""

    households: pd.DataFrame
    members: pd.DataFrame
    areas: pd.DataFrame | None
    siksng: pd.DataFrame | None
    truth: pd.DataFrame | None
    metadata: dict = field(default_factory=dict)
    folder: Path = Path(".")


def _optional_table(folder: Path, name: str) -> Path | None:
    if not any((folder / f"{name}{suffix}").is_file() for suffix in TABLE_SUFFIXES):
        return None
    return find_table(folder, name)


def _metadata(folder: Path) -> dict:
    path = folder / "metadata.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise TableReadError(f"{path}: not valid JSON ({exc})") from exc


def validate_tables(
    tables: Mapping[str, pd.DataFrame],
    *,
    files: Mapping[str, str] | None = None,
    version: str = DEFAULT_VERSION,
) -> dict[str, pd.DataFrame]:
    """Validate every table of a registry, members against households.

    Parameters
    ----------
    tables
        Table kind (``households``, ``members``, ``areas``, ``siksng``, ``truth``) -> frame.
    files
        Table kind -> the file name shown in problems (default: the kind).
    version
        Codebook version.

    Returns
    -------
    dict
        The same kinds, each validated with canonical dtypes.

    Raises
    ------
    SchemaError
        One error listing the problems of all tables.
    """
    files = files or {}
    out, problems = {}, []
    households = tables.get("households")
    for kind, df in tables.items():
        extra = {"households": households} if kind in _LINKED_TABLES else {}
        try:
            out[kind] = validate_table(
                df, kind, file=files.get(kind, kind), version=version, **extra
            )
        except SchemaError as exc:
            problems += exc.problems
    if problems:
        raise SchemaError(problems)
    return out


def _read_tables(
    paths: Mapping[str, Path], *, validate: bool, version: str
) -> dict[str, pd.DataFrame]:
    tables = {kind: read_table(path, kind, version=version) for kind, path in paths.items()}
    if not validate:
        return tables
    files = {kind: str(path) for kind, path in paths.items()}
    return validate_tables(tables, files=files, version=version)


def load_registry(
    folder: str | os.PathLike[str], *, validate: bool = True, version: str = DEFAULT_VERSION
) -> Registry:
    """Read a registry folder (households, members and, if present, areas, siksng, truth).

    With ``validate`` (the default) every table is checked against the contract and comes
    back with canonical dtypes.

    Raises
    ------
    TableReadError
        A required file is missing or a file cannot be read.
    SchemaError
        One error with all problems of all files (``validate=True`` only).
    """
    folder = Path(folder)
    paths = {
        "households": find_table(folder, "households"),
        "members": find_table(folder, "members"),
    }
    for name in _OPTIONAL_TABLES:
        if (path := _optional_table(folder, name)) is not None:
            paths[name] = path
    frames = _read_tables(paths, validate=validate, version=version)
    return Registry(
        households=frames["households"],
        members=frames["members"],
        areas=frames.get("areas"),
        siksng=frames.get("siksng"),
        truth=frames.get("truth"),
        metadata=_metadata(folder),
        folder=folder,
    )


def load_prelist(
    folder: str | os.PathLike[str], *, validate: bool = False, version: str = DEFAULT_VERSION
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read ``prelist_households.*`` and ``prelist_members.*`` of a folder.

    Not validated by default: batch scoring keeps the valid households and writes the rest
    to a rejects file (:func:`slrt_ml.data.rejects.household_rejects`), so one bad row must
    not stop the read. ``validate=True`` checks both tables and raises on any problem.

    Returns
    -------
    tuple of DataFrame
        ``(households, members)``.
    """
    folder = Path(folder)
    paths = {
        "households": find_table(folder, "prelist_households"),
        "members": find_table(folder, "prelist_members"),
    }
    frames = _read_tables(paths, validate=validate, version=version)
    return frames["households"], frames["members"]


# --- validating files (the `slrt-ml data validate` command) ----------------------------------


@dataclass
class FileReport:
    """Outcome of validating one file: its kind, row count and problems (empty when valid)."""

    path: Path
    kind: str
    rows: int
    problems: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems


def _table_files(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(
                p for p in path.iterdir() if p.suffix.lower() in TABLE_SUFFIXES and _known(p)
            )
        else:
            files.append(path)
    return list(dict.fromkeys(files))


def _known(path: Path) -> bool:
    return any(path.name.lower().startswith(prefix) for prefix in _FILE_KINDS)


def _partner(path: Path, files: list[Path]) -> Path | None:
    """The household file that goes with a member, siksng or truth file (same folder)."""
    name = path.name.lower()
    prefix = "prelist_households" if name.startswith("prelist_") else "households"
    if "members" in name:
        wanted = name.replace("members", "households", 1)
        same = next(
            (f for f in files if f.parent == path.parent and f.name.lower() == wanted), None
        )
        if same is not None:
            return same
    beside = [f for f in files if f.parent == path.parent and Path(f.name.lower()).stem == prefix]
    return beside[0] if len(beside) == 1 else None


def _unreadable(path: Path, kind: str, err: Exception) -> FileReport:
    problem = Problem(str(path), "(file)", "readable table file", 0, [],
                      f"{err}; export the table again as UTF-8 CSV, Parquet or .xlsx")  # fmt: skip
    return FileReport(path, kind, 0, [problem])


def _report(path: Path, files: list[Path], version: str) -> FileReport:
    kind = table_kind(path)
    try:
        df = read_table(path, kind, version=version)
        extra = {}
        if kind in _LINKED_TABLES and (partner := _partner(path, files)) is not None:
            extra["households"] = read_table(partner, "households", version=version)
    except TableReadError as err:
        return _unreadable(path, kind, err)
    try:
        validate_table(df, kind, file=path.name, version=version, **extra)
    except SchemaError as exc:
        return FileReport(path, kind, len(df), exc.problems)
    return FileReport(path, kind, len(df))


def _folder_reports(folder: Path) -> list[FileReport]:
    """Folder-level problems: a required table missing, one table in two formats."""
    reports = []
    stems: dict[str, list[Path]] = {}
    for p in sorted(folder.iterdir()):
        if p.suffix.lower() in TABLE_SUFFIXES and _known(p):
            stems.setdefault(p.stem.lower(), []).append(p)
    for stem, paths in stems.items():
        if len(paths) > 1:
            names = ", ".join(p.name for p in paths)
            problem = Problem(str(folder), stem, "one file per table", len(paths), [],
                              f"{folder} holds {names}: keep one format of the {stem} table")  # fmt: skip
            reports.append(FileReport(paths[0], table_kind(paths[0]), 0, [problem]))
    for pair in _REQUIRED_PAIRS:
        present = [name for name in pair if name in stems]
        for name in pair:
            if present and name not in stems:
                problem = Problem(str(folder), name, "required table", 0, [],
                                  f"{folder} has {present[0]} but no {name}.parquet/.csv/.xlsx; "
                                  "add the table")  # fmt: skip
                reports.append(FileReport(folder / name, table_kind(name), 0, [problem]))
    return reports


def validate_paths(
    paths: Sequence[str | os.PathLike[str]], *, version: str = DEFAULT_VERSION
) -> list[FileReport]:
    """Validate registry folders and/or single files; one report per file.

    The table kind comes from the file name (``households*``, ``members*``, ``siksng*``,
    ``truth*``, ``areas*``, ``prelist_households*``, ``prelist_members*``). A member file
    is also checked against the household file beside it when that file is among ``paths``
    (or in the same folder given); siksng and truth files likewise. A folder also fails
    when it lacks households or members (prelist_households or prelist_members) while
    holding the other, or holds one table in two formats. A file that cannot be read is
    reported as a problem of that file.

    Raises
    ------
    TableReadError
        No table file found, or a file cannot be read.
    """
    files = _table_files(paths)
    if not files:
        raise TableReadError(f"no table files found in {', '.join(map(str, paths))}")
    folders = [_folder_reports(Path(p)) for p in paths if Path(p).is_dir()]
    return [r for found in folders for r in found] + [
        _report(path, files, version) for path in files
    ]
