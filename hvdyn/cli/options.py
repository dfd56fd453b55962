"""The options commands share, and the `Settings` they collect into.

Imports nothing from `hvdyn.cli.commands` and nothing heavy: the group and
every command use it, and `hvdyn --help` must stay cheap (bench/startup.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from hvdyn.core.errors import InputError, OutputPathError
from hvdyn.core.fileio import check_output

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("table", "json")


def default_state_dir() -> Path:
    """$HVDYN_STATE_DIR, else the XDG state dir ($XDG_STATE_HOME/hvdyn or ~/.local/state/hvdyn)."""
    explicit = os.environ.get("HVDYN_STATE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "hvdyn"


def state_dir_of(value: Path | None) -> Path:
    """--state-dir as given, else the default."""
    return value or default_state_dir()


@dataclass(frozen=True, slots=True)
class Settings:
    """Options every command shares, taken out of its kwargs once (`settings_from`)."""

    inventory: Path | None
    limit: str | None
    forks: int
    state_dir: Path
    fmt: str
    verbose: bool
    ask_pass: bool


POLICY_ARGUMENT = click.argument("policy", type=click.Path(path_type=Path, dir_okay=False))

STATE_DIR_OPTION = click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="State directory (default: $HVDYN_STATE_DIR or the XDG state dir).",
)


def _reader_option(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """Inventory-reader options set how this process reads inventories (no command kwarg).

    Called for defaults too, so each command starts from the environment's settings.
    """
    import dataclasses

    from hvdyn import inventory

    current = inventory.current_reader_options()
    ansible = current.ansible
    if param.name == "inventory_reader":
        reader = value or os.environ.get("HVDYN_INVENTORY_READER") or "auto"
        current = dataclasses.replace(current, reader=str(reader))
    elif param.name == "vault_password_file":
        ansible = dataclasses.replace(ansible, vault_password_files=tuple(value or ()))
    else:
        ansible = dataclasses.replace(ansible, ask_vault_pass=bool(value))
    inventory.use_reader_options(dataclasses.replace(current, ansible=ansible))


READER_OPTIONS = (
    click.option(
        "--inventory-reader",
        type=click.Choice(("auto", "builtin", "ansible")),
        default=None,
        expose_value=False,
        callback=_reader_option,
        help="auto (default): built-in for YAML, ansible-inventory for INI/dirs/plugins; "
        "ansible: always through ansible-inventory (Jinja, vault).",
    ),
    click.option(
        "--vault-password-file",
        type=click.Path(path_type=str, dir_okay=False),
        multiple=True,
        expose_value=False,
        callback=_reader_option,
        help="Passed to ansible-inventory (Ansible mode).",
    ),
    click.option(
        "--ask-vault-pass",
        is_flag=True,
        default=False,
        expose_value=False,
        callback=_reader_option,
        help="Ask once for the vault password and hand it to Ansible by pipe (Ansible mode).",
    ),
)

_HOST_OPTIONS = (
    click.option(
        "-i",
        "--inventory",
        type=click.Path(path_type=Path),
        default=None,
        help="Inventory: YAML, INI, a directory or a plugin config (default: the policy's "
        "`inventory:`).",
    ),
    *READER_OPTIONS,
    click.option(
        "--limit",
        default=None,
        metavar="PATTERN",
        help="Only these hosts or groups (Ansible's patterns: a,b  !x  &y  ~regex  grp[0:2]).",
    ),
    click.option(
        "--forks",
        type=click.IntRange(1, 500),
        default=10,
        show_default=True,
        help="Hosts worked on in parallel.",
    ),
    STATE_DIR_OPTION,
    click.option(
        "--ask-pass",
        is_flag=True,
        help="Prompt for passwords (once per user) not found in env or keyring.",
    ),
)

_OUTPUT_OPTIONS = (
    click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="Output format.",
    ),
    click.option("-v", "--verbose", is_flag=True, help="Also list VMs without changes."),
)


def _decorate(func: F, options: tuple[Callable[[F], F], ...]) -> F:
    for option in reversed(options):
        func = option(func)
    return func


def host_options(func: F) -> F:
    """-i, --limit, --forks, --state-dir, --ask-pass: for every command that reaches hosts."""
    return _decorate(func, _HOST_OPTIONS)


def reader_options(func: F) -> F:
    """--inventory-reader, --vault-password-file, --ask-vault-pass (how -i is read)."""
    return _decorate(func, READER_OPTIONS)


def common_options(func: F) -> F:
    """The host options plus --format table|json and -v (plan, apply, render, ...)."""
    return _decorate(func, _HOST_OPTIONS + _OUTPUT_OPTIONS)


def settings_from(kwargs: dict[str, Any]) -> Settings:
    """Take the `common_options` out of a command's kwargs (what is left is its own)."""
    return Settings(
        inventory=kwargs.pop("inventory"),
        limit=kwargs.pop("limit"),
        forks=kwargs.pop("forks"),
        state_dir=kwargs.pop("state_dir") or default_state_dir(),
        fmt=kwargs.pop("fmt"),
        verbose=kwargs.pop("verbose"),
        ask_pass=kwargs.pop("ask_pass"),
    )


def checked_output(ctx: object, param: object, value: str | None) -> Path | None:
    """click callback of -o options: a path hvdyn will not write exits 3 before any work.

    The option's type keeps the text as typed (`path_type=str`): `out/` names a
    directory, which `Path` would silently turn into a file named `out`.
    """
    if value is None:
        return None
    if value.endswith("/"):
        raise OutputPathError(f"{value}: ends in '/', a directory: give a file name")
    path = Path(value)
    check_output(path)
    return path


def output_option(suffixes: str) -> Callable[[F], F]:
    """-o/--output FILE, checked before any work (`checked_output`)."""
    return click.option("-o", "--output", type=click.Path(path_type=str, dir_okay=False),
                        default=None, callback=checked_output,
                        help=f"Write to this file atomically ({suffixes}).")


def duration(text: str) -> timedelta:
    """A --since/--keep/--interval value; a malformed one is an input error (exit 3)."""
    from hvdyn.history import parse_duration  # the store only for commands that read it

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise InputError(str(exc)) from None
