"""The progress display: shown only on a terminal, names as text, the engine's (host, Step, VMs)
record worded as the display always has."""

from __future__ import annotations

import io
from dataclasses import fields, replace
from pathlib import Path

from rich.console import Console

from hvdyn.cli.options import Settings
from hvdyn.cli.progress import progress_bar, step_text, wants_progress
from hvdyn.core.vocab import Step
from hvdyn.formats.text import printable


def test_a_step_without_vms_is_its_word() -> None:
    assert step_text(Step.DISCOVER, ()) == "discover"


def test_a_batch_names_three_vms_at_most() -> None:
    assert step_text(Step.APPLY, ("web-01", "web-02")) == "apply web-01, web-02"
    assert step_text(Step.RESTART, ("a", "b", "c")) == "restart a, b, c"
    assert step_text(Step.APPLY, ("a", "b", "c", "d")) == "apply a, b, c ..."


def test_progress_only_on_a_terminal_and_never_for_json(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    known = {"inventory": None, "limit": None, "forks": 1, "state_dir": Path("."),
             "fmt": "table", "verbose": False}
    settings = Settings(**{f.name: known.get(f.name, False) for f in fields(Settings)})
    assert not wants_progress(settings)  # pytest captures: not a terminal
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert wants_progress(settings)
    assert not wants_progress(replace(settings, fmt="json"))


def test_progress_shows_vm_names_as_text_not_markup() -> None:
    """A VM named like rich markup ('[/bold]') must neither break nor style the display."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    bar = progress_bar(console)
    bar.add_task(printable("hv01: restart [/bold] evil [red]\x1b]0;x"), total=1)
    console.print(bar.make_tasks_table(bar.tasks))
    assert "[/bold] evil [red]" in out.getvalue() and "\x1b]0;x" not in out.getvalue()
