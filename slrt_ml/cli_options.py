"""Shared pieces of the ``slrt-ml`` command line: flag types, choices, help, input checks.

Choices are enums, so a wrong value is refused by the parser listing the valid ones; on/off
flags show no ``<bool>`` type; every command's help ends with an example block.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from slrt_ml.config import Config
from slrt_ml.preflight import check_input_file, check_input_folder, check_tracking_uri

__all__ = [
    "AreaLevel", "ConfigPath", "DataOption", "Engine", "EngineOption", "MasterOption", "Lang", "MappingOption", "NoTrack", "RunDir",
    "TableFormat", "TableOption", "TopK", "TrackingUri", "Weight", "command", "examples",
    "mapping_help", "new_app", "value", "one_input", "check_inputs", "check_tracking",
    "split", "resolved_uri",
]  # fmt: skip


def _flags_without_type(params: list) -> list:
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""  # typer shows ``<bool>`` for a flag otherwise
    return params


class _Command(TyperCommand):
    """A command whose on/off flags show no ``<bool>`` type in the help screen."""

    def get_params(self, ctx: Any) -> list:
        return _flags_without_type(super().get_params(ctx))


class _Group(TyperGroup):
    """A command group whose on/off flags show no ``<bool>`` type in the help screen."""

    def get_params(self, ctx: Any) -> list:
        return _flags_without_type(super().get_params(ctx))


def new_app(**kw: Any) -> typer.Typer:
    """A Typer app with ``-h``, rich help and no locals in tracebacks."""
    return typer.Typer(cls=_Group, no_args_is_help=True, pretty_exceptions_show_locals=False,
                       context_settings={"help_option_names": ["-h", "--help"]},
                       rich_markup_mode="rich", **kw)  # fmt: skip


def examples(*lines: str) -> str:
    """An epilog block: one example command per line (typer joins single newlines)."""
    return "[bold]Examples[/]\n\n" + "\n\n".join(f"  $ {line}" for line in lines)


def command(group: typer.Typer, *lines: str, name: str | None = None) -> Any:
    """``group.command`` with the example block ``lines`` as its epilog."""
    return group.command(name, cls=_Command, epilog=examples(*lines))


class TableFormat(StrEnum):
    parquet = "parquet"
    csv = "csv"


class Weight(StrEnum):
    household = "household"
    person = "person"


class AreaLevel(StrEnum):
    KDKEC = "KDKEC"
    KDDESA = "KDDESA"


class Lang(StrEnum):
    id = "id"
    en = "en"


class Engine(StrEnum):
    local = "local"
    spark = "spark"


EngineOption = Annotated[
    Engine, typer.Option("--engine", help="local (one process) or spark (docs/SPARK.md).")
]
MasterOption = Annotated[
    str, typer.Option("--master", help="Spark master: local[N] or spark://HOST:PORT.")
]


def value(choice: StrEnum | None) -> str | None:
    """The plain string of a choice (``None`` stays ``None``)."""
    return None if choice is None else choice.value


TrackingUri = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        envvar="MLFLOW_TRACKING_URI",
        help="MLflow tracking URI; default: a local SQLite store (./mlflow.db), no server needed.",
    ),
]
NoTrack = Annotated[bool, typer.Option("--no-track", help="Do not log to MLflow.")]
RunDir = Annotated[Path, typer.Option("--run", help="Run folder written by `slrt-ml train`.")]
ConfigPath = Annotated[
    Path | None,
    typer.Option(
        "--config", help="YAML config (default: the packaged default.yaml); flags override it."
    ),
]
DataOption = Annotated[
    Path | None, typer.Option("--data", help="Registry folder (households, members, ...).")
]


def mapping_help(input_flag: str) -> str:
    """Help of ``--mapping``: it replaces ``input_flag`` (``--data`` or ``--prelist``)."""
    return (f"Dataset mapping YAML for your own household table (instead of {input_flag}; "
            "see configs/datasets/).")  # fmt: skip


MappingOption = Annotated[Path | None, typer.Option("--mapping", help=mapping_help("--data"))]
TableOption = Annotated[
    Path | None,
    typer.Option("--table", help="Household table for --mapping (default: the mapping's table)."),
]
TopK = Annotated[
    int | None,
    typer.Option("--top-k", min=1, help="Reasons per household (config: scoring.top_k)."),
]


# --- checks shared by the commands (before any work) ------------------------------------


def one_input(data: Any, mapping: Any, table: Any, *, data_flag: str = "--data") -> None:
    """Exactly one of a PBDT input (--data/--prelist) and --mapping; --table only with it."""
    if (data is None) == (mapping is None):
        raise typer.BadParameter(
            f"give either {data_flag} (PBDT registry) or --mapping YAML [--table FILE] "
            f"(your own household table), not {'both' if data else 'neither'}"
        )
    if table is not None and mapping is None:
        raise typer.BadParameter("--table is the household table of --mapping; add --mapping YAML")


def check_inputs(data: Path | None, mapping: Path | None, table: Path | None,
                  data_flag: str = "--data") -> None:  # fmt: skip
    """Input paths exist; a mapping's keys are valid (read before any table is)."""
    check_input_folder(data, data_flag)
    check_input_file(mapping, "--mapping")
    check_input_file(table, "--table")
    if mapping is not None:
        from slrt_ml.data.mapping import load_mapping

        load_mapping(mapping)


def check_tracking(cfg: Config, tracking_uri: str | None, no_track: bool) -> None:
    if no_track or not cfg.tracking.enabled:
        return
    from slrt_ml.tracking import resolve_tracking_uri

    check_tracking_uri(resolve_tracking_uri(tracking_uri))


def split(text: str | None) -> list[str] | None:
    """``"a, b"`` -> ``["a", "b"]``; empty -> ``None`` (as :func:`commands.split_names`)."""
    return [n.strip() for n in (text or "").split(",") if n.strip()] or None


def resolved_uri(tracking_uri: str | None) -> str:
    from slrt_ml.tracking import resolve_tracking_uri

    return resolve_tracking_uri(tracking_uri)
