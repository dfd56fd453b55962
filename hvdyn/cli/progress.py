"""Progress on the terminal (stderr, cleared at the end): collect's bars, apply's step lines.

Only on a terminal: timers, pipes and `--format json` get the result alone.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

from hvdyn.core.vocab import Step

if TYPE_CHECKING:  # rich is imported when a display is drawn
    from rich.console import Console
    from rich.progress import Progress

    from hvdyn.cli.options import Settings
    from hvdyn.run.collect import Progress as CollectCallback
    from hvdyn.run.executor import ProgressCallback


# ---------------------------------------------------------------- collect


def _quiet(host: str, done: int, total: int) -> None:
    """Not a terminal: say nothing (timers and pipes get only the result)."""


@contextlib.contextmanager
def collect_progress(stream: IO[str] | None = None) -> Iterator[CollectCallback]:
    """A progress callback drawing on `stream` (stderr) when it is a TTY, else a no-op."""
    out = stream or sys.stderr
    if not out.isatty():
        yield _quiet
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeRemainingColumn,
    )

    from hvdyn.formats.text import printable

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


# ---------------------------------------------------------------- plan, apply, rollback


def wants_progress(settings: Settings) -> bool:
    return settings.fmt != "json" and sys.stdout.isatty() and sys.stderr.isatty()


def progress_bar(console: Console) -> Progress:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    # markup=False: VM names are data; "[/]" in one must not be read as rich markup.
    return Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False),
                    TimeElapsedColumn(), console=console, transient=True)


def step_text(step: Step, vms: tuple[str, ...]) -> str:
    """What a host's line says: `apply web-01, web-02, web-03 ...` (three names at most)."""
    if not vms:
        return str(step)
    return f"{step} {', '.join(vms[:3])}" + (" ..." if len(vms) > 3 else "")


@contextlib.contextmanager
def progress_display(settings: Settings) -> Iterator[ProgressCallback]:
    """A live per-host line on the terminal (stderr, cleared at the end); else nothing."""
    if not wants_progress(settings):
        yield lambda host, step, vms: None
        return
    from rich.console import Console
    from rich.progress import TaskID

    from hvdyn.formats.text import printable

    progress = progress_bar(Console(stderr=True))
    tasks: dict[str, TaskID] = {}
    lock = threading.Lock()

    def update(host: str, step: Step, vms: tuple[str, ...]) -> None:
        with lock:
            if host not in tasks:
                tasks[host] = progress.add_task(host, total=1)
        if step == Step.DONE:
            progress.update(tasks[host], description=f"{host}: done", completed=1)
        else:
            progress.update(tasks[host], description=printable(f"{host}: {step_text(step, vms)}"))

    with progress:
        yield update
