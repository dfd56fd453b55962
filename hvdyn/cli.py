"""The `hvdyn` command line: parse options, call the engine, hand results to report.

User mistakes raise `HvdynError` subclasses; `main` prints their message
(no traceback) and exits with their code. Usage errors exit 3.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from hvdyn.errors import EXIT_INVALID, HvdynError

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("table", "json")


def default_state_dir() -> Path:
    """$HVDYN_STATE_DIR, else the XDG state dir ($XDG_STATE_HOME/hvdyn or ~/.local/state/hvdyn)."""
    explicit = os.environ.get("HVDYN_STATE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "hvdyn"


@dataclass
class Settings:
    """Options every command shares, collected once by the group."""

    inventory: Path | None
    limit: str | None
    forks: int
    state_dir: Path
    fmt: str
    verbose: bool
    ask_pass: bool


def common_options(func: F) -> F:
    """-i/--inventory, --limit, --forks, --state-dir, --format, -v on every command."""
    options = [
        click.option(
            "-i",
            "--inventory",
            type=click.Path(path_type=Path),
            default=None,
            help="Inventory file (default: the policy's `inventory:`).",
        ),
        click.option(
            "--limit",
            default=None,
            metavar="PATTERN",
            help="Only these hosts or groups (globs, comma-separated, !excludes).",
        ),
        click.option(
            "--forks",
            type=click.IntRange(1, 500),
            default=10,
            show_default=True,
            help="Hosts worked on in parallel.",
        ),
        click.option(
            "--state-dir",
            type=click.Path(path_type=Path),
            default=None,
            help="State directory (default: $HVDYN_STATE_DIR or the XDG state dir).",
        ),
        click.option(
            "--format",
            "fmt",
            type=click.Choice(FORMATS),
            default="table",
            show_default=True,
            help="Output format.",
        ),
        click.option("-v", "--verbose", is_flag=True, help="Also list VMs without changes."),
        click.option("--ask-pass", is_flag=True,
                     help="Prompt for passwords (once per user) not found in env or keyring."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def settings_from(kwargs: dict[str, Any]) -> Settings:
    return Settings(
        inventory=kwargs.pop("inventory"),
        limit=kwargs.pop("limit"),
        forks=kwargs.pop("forks"),
        state_dir=kwargs.pop("state_dir") or default_state_dir(),
        fmt=kwargs.pop("fmt"),
        verbose=kwargs.pop("verbose"),
        ask_pass=kwargs.pop("ask_pass"),
    )


def stdout_console() -> Console:
    return Console(highlight=False, soft_wrap=False)


class HvdynGroup(click.Group):
    """A group that maps errors to hvdyn's exit codes (usage errors exit 3, not 2)."""

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> None:
        try:
            rv = super().main(
                args=args,
                prog_name=prog_name or "hvdyn",
                complete_var=complete_var,
                standalone_mode=False,
                **extra,
            )
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("aborted", err=True)
            sys.exit(130)
        except click.ClickException as exc:
            exc.show()
            sys.exit(EXIT_INVALID)
        except HvdynError as exc:
            click.echo(f"hvdyn: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("hvdyn: interrupted", err=True)
            sys.exit(130)
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(cls=HvdynGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hvdyn")
def cli() -> None:
    """Manage Hyper-V Dynamic Memory on Windows Server 2008 R2 SP1 hosts from a policy.

    \b
    Exit codes: 0 compliant/success, 1 a host or VM failed, 2 drift or
    changes pending, 3 invalid input (policy, inventory, arguments).
    """


def main() -> None:
    """Console entry point."""
    cli.main()


# Commands register themselves on `cli`; imported last because they import this module.
from hvdyn.commands import (  # noqa: E402, F401
    auditing,
    connect,
    converge,
    history,
    observe,
    review,
    simulate,
)
