"""The `hvdyn` command line: parse options, call the engine, hand results to report.

User mistakes raise `HvdynError` subclasses; `main` prints their message
(no traceback) and exits with their code. Usage errors exit 3.
"""

from __future__ import annotations

import ast
import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from hvdyn.errors import EXIT_INVALID, HvdynError

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("table", "json")

# Modules of `hvdyn.commands` whose commands register themselves on `cli`
# (`@cli.command()` / `@cli.group()`). Add a new module here. A module is
# imported only when one of its commands runs, so `hvdyn --help` does not
# pay for pydantic, Jinja, the engine or the store (bench/startup.py).
COMMAND_MODULES = (
    "auditing", "connect", "converge", "history", "observe", "review", "runs", "simulate"
)


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


@dataclass(frozen=True, slots=True)
class ListedCommand:
    """What `hvdyn --help` shows of a command, read from its module's source."""

    name: str
    module: str
    help: str | None
    short_help: str | None
    hidden: bool
    deprecated: bool

    def placeholder(self) -> click.Command:
        """A stand-in with the same listing (click derives the short help the same way)."""
        return click.Command(
            self.name,
            help=self.help,
            short_help=self.short_help,
            hidden=self.hidden,
            deprecated=self.deprecated,
        )


def _click_name(function: str) -> str:
    """click's default command name for a function (click.decorators, 8.2+)."""
    name = function.lower().replace("_", "-")
    left, sep, suffix = name.rpartition("-")
    return left if sep and suffix in {"command", "cmd", "group", "grp"} else name


_LISTED_KEYS = ("name", "help", "short_help", "hidden", "deprecated")


def _listed_in(module: str, source: str) -> list[ListedCommand] | None:
    """Top-level `@cli.command(...)` / `@cli.group(...)` functions; None for a form not read."""
    listed: list[ListedCommand] = []
    for node in ast.parse(source).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for deco in node.decorator_list:
            call = deco if isinstance(deco, ast.Call) else None
            target = call.func if call is not None else deco
            if not (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == "cli"
                and target.attr in ("command", "group")
            ):
                continue
            attrs: dict[str, object] = {}
            if call is not None:
                if any(k.arg is None for k in call.keywords) or len(call.args) > 1:
                    return None
                try:
                    if call.args:
                        attrs["name"] = ast.literal_eval(call.args[0])
                    for k in call.keywords:
                        if k.arg in _LISTED_KEYS:
                            attrs[str(k.arg)] = ast.literal_eval(k.value)
                except ValueError:
                    return None
            name = attrs.get("name") or _click_name(node.name)
            help_ = attrs.get("help") or ast.get_docstring(node, clean=False)
            short = attrs.get("short_help")
            if not isinstance(name, str) or not isinstance(help_, str | None):
                return None
            listed.append(
                ListedCommand(
                    name=name,
                    module=module,
                    help=help_,
                    short_help=short if isinstance(short, str) else None,
                    hidden=bool(attrs.get("hidden", False)),
                    deprecated=bool(attrs.get("deprecated", False)),
                )
            )
    return listed


@lru_cache(maxsize=1)
def command_index() -> dict[str, ListedCommand] | None:
    """Every command of COMMAND_MODULES by name, from source; None if a module cannot be read.

    None makes the group import all command modules instead (e.g. an install
    without .py sources); `tests/cli/test_lazy_commands.py` checks that the
    listing equals the one of the imported commands.
    """
    base = Path(__file__).resolve().with_name("commands")
    index: dict[str, ListedCommand] = {}
    for module in COMMAND_MODULES:
        try:
            listed = _listed_in(module, (base / f"{module}.py").read_text("utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
            return None
        if listed is None:
            return None
        index.update((c.name, c) for c in listed)
    return index


def import_commands(modules: tuple[str, ...] = COMMAND_MODULES) -> None:
    """Import command modules; their decorators register the commands on `cli`."""
    for module in modules:
        importlib.import_module(f"hvdyn.commands.{module}")


class HvdynGroup(click.Group):
    """Maps errors to hvdyn's exit codes (usage errors exit 3, not 2); loads commands lazily.

    A command's module is imported when the command is looked up to run;
    the listing in ``--help`` comes from `command_index` without imports.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        index = command_index()
        if index is None:
            import_commands()
            return super().list_commands(ctx)
        return sorted(set(super().list_commands(ctx)) | set(index))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            index = command_index()
            listed = None if index is None else index.get(cmd_name)
            import_commands(COMMAND_MODULES if listed is None else (listed.module,))
            command = super().get_command(ctx, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's listing, with commands not imported yet shown from their source."""
        index = command_index() or {}
        rows: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            command = super().get_command(ctx, name)
            if command is None and name in index:
                command = index[name].placeholder()
            if command is None:
                command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            rows.append((name, command))
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(n, c.get_short_help_str(limit)) for n, c in rows])

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

