"""Progress of long loops: a live bar on a terminal, a log line at least every 30 s otherwise.

``train`` (folds per model) and ``score`` (households per chunk) report through
:func:`progress`. On a terminal it is a ``rich`` bar. When stdout is not a terminal (a
redirected log, ``nohup``, CI) a bar would print nothing until the end, so instead a
line like ``[progress] gbm folds + final fit: 3/6 done, 1 min 05 s elapsed, ETA 1 min 05 s``
is written when a task starts and ends and at least every ``interval`` seconds between
(from a background timer, so a long fold still shows the run is alive).

>>> import io
>>> out = io.StringIO()
>>> with LogProgress(out, interval=3600, clock=lambda: 0.0) as bar:
...     task = bar.add_task("logit folds", total=2)
...     bar.advance(task)
...     bar.advance(task)
>>> print(out.getvalue(), end="")
[progress] logit folds: 0/2 done, 0 s elapsed
[progress] logit folds: 2/2 done in 0 s
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

__all__ = ["LogProgress", "NoProgress", "ProgressBar", "duration", "progress"]

#: seconds between log lines when stdout is not a terminal
LOG_INTERVAL = 30.0


class ProgressBar(Protocol):
    """What ``train`` and ``score`` use: ``rich.progress.Progress`` has the same methods."""

    def add_task(self, description: str, total: float | None = None) -> Any: ...

    def advance(self, task_id: Any, advance: float = 1) -> None: ...

    def __enter__(self) -> ProgressBar: ...

    def __exit__(self, *exc: object) -> None: ...


def duration(seconds: float) -> str:
    """Seconds as a short human duration.

    >>> duration(4.2), duration(65), duration(3 * 3600 + 120)
    ('4 s', '1 min 05 s', '3 h 02 min')
    """
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class NoProgress:
    """Progress turned off: the same methods, nothing shown."""

    def add_task(self, description: str, total: float | None = None) -> int:
        return 0

    def advance(self, task_id: Any, advance: float = 1) -> None:
        return None

    def __enter__(self) -> NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


@dataclass
class _Task:
    description: str
    total: float | None
    unit: str
    started: float
    done: float = 0.0
    finished: bool = False


class LogProgress:
    """Progress as plain log lines (for a stdout that is not a terminal).

    Parameters
    ----------
    stream : text stream
        Where lines go (flushed after each).
    interval : float
        Longest gap between two lines while a task runs, in seconds.
    unit : str
        What is counted, shown after the count when the total is unknown ("households").
    clock : callable
        Monotonic seconds (tests pass a fake clock).
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        interval: float = LOG_INTERVAL,
        unit: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream, self.interval, self.unit, self.clock = stream, interval, unit, clock
        self._tasks: list[_Task] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None

    def add_task(self, description: str, total: float | None = None) -> int:
        task = _Task(" ".join(description.split()), total, self.unit, self.clock())
        with self._lock:
            self._tasks.append(task)
            self._write(task)
        return len(self._tasks) - 1

    def advance(self, task_id: int, advance: float = 1) -> None:
        task = self._tasks[task_id]
        with self._lock:
            task.done += advance
            if task.total is not None and task.done >= task.total and not task.finished:
                task.finished = True
                self._write(task)

    def line(self, task: _Task) -> str:
        """One log line for ``task``: count, elapsed time and an ETA when the total is known."""
        elapsed = self.clock() - task.started
        if task.finished:
            return f"[progress] {task.description}: {_count(task)} done in {duration(elapsed)}"
        text = f"[progress] {task.description}: {_count(task)} done, {duration(elapsed)} elapsed"
        if task.total and task.done > 0:
            remaining = elapsed / task.done * (task.total - task.done)
            text += f", ETA {duration(remaining)}"
        elif task.done > 0 and elapsed > 0:
            text += f", {task.done / elapsed:,.0f} {task.unit or 'items'}/s"
        return text

    def tick(self) -> None:
        """Write a line for every running task (the timer calls this every ``interval``)."""
        with self._lock:
            for task in self._tasks:
                if not task.finished:
                    self._write(task)

    def _write(self, task: _Task) -> None:
        self.stream.write(self.line(task) + "\n")
        self.stream.flush()

    def _run_timer(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()

    def __enter__(self) -> LogProgress:
        self._timer = threading.Thread(target=self._run_timer, name="progress-log", daemon=True)
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._timer is not None:
            self._timer.join(timeout=1)
        if exc and exc[0] is None:
            self.tick()  # a task without a known total ends with its final count


def _count(task: _Task) -> str:
    if task.total is None:
        return f"{task.done:,.0f}" + (f" {task.unit}" if task.unit else "")
    return f"{task.done:,.0f}/{task.total:,.0f}"


def _rich_bar(stream: TextIO) -> ProgressBar:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), console=Console(file=stream), transient=False,
    )  # fmt: skip


def progress(enabled: bool = True, *, unit: str = "", stream: TextIO | None = None) -> ProgressBar:
    """The progress display to use: a bar, log lines, or nothing.

    Parameters
    ----------
    enabled : bool
        ``False``: nothing is shown.
    unit : str
        What is counted ("households"), for tasks without a total.
    stream : text stream, optional
        Default ``sys.stdout``; a terminal gets a ``rich`` bar, anything else log lines.

    Returns
    -------
    ProgressBar
        Use as a context manager; ``add_task(description, total)``, ``advance(task, n)``.
    """
    if not enabled:
        return NoProgress()
    stream = stream or sys.stdout
    if _is_live(stream):
        return _rich_bar(stream)
    return LogProgress(stream, unit=unit)


def _is_live(stream: TextIO) -> bool:
    """A terminal or a Jupyter front end: places where a bar redraws in place."""
    from rich.console import Console

    console = Console(file=stream)
    return console.is_terminal or console.is_jupyter
