"""How a command ends on a user's mistake: its message in red, exit code 1, no traceback.

Shared by :mod:`slrt_ml.cli` and the command modules beside it (:mod:`slrt_ml.cli_data`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

__all__ = ["USER_ERRORS", "console", "fail", "user_errors"]

#: What a bad file, column or config value raises (every library error derives from these).
USER_ERRORS = (FileNotFoundError, ValueError)


def console() -> Any:
    """A rich console for stdout."""
    from rich.console import Console

    return Console()


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` and return the exit (code 1) to raise."""
    from rich.markup import escape

    console().print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


@contextmanager
def user_errors() -> Iterator[None]:
    """A bad file, column or config value ends the command with its message, no traceback."""
    try:
        yield
    except USER_ERRORS as err:
        raise fail(str(err)) from None
