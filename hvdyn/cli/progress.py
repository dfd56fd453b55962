"""collect's progress display: per host, samples so far, ETA; only on a terminal."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from hvdyn.formats.results import printable
from hvdyn.run.collect import Progress as ProgressCallback


def _quiet(host: str, done: int, total: int) -> None:
    """Not a terminal: say nothing (timers and pipes get only the result)."""


@contextmanager
def collect_progress(stream: IO[str] | None = None) -> Iterator[ProgressCallback]:
    """A progress callback drawing on `stream` (stderr) when it is a TTY, else a no-op."""
    out = stream or sys.stderr
    if not out.isatty():
        yield _quiet
        return
    display = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                       TextColumn("samples"), TimeRemainingColumn(),
                       console=Console(file=out, markup=False, highlight=False),
                       transient=True)
    tasks: dict[str, TaskID] = {}
    lock = threading.Lock()

    def update(host: str, done: int, total: int) -> None:
        with lock:
            if host not in tasks:
                tasks[host] = display.add_task(printable(host), total=total)
            display.update(tasks[host], completed=done)

    with display:
        yield update
