"""The `hvdyn` command line: parse options, call the engine, hand results to report.

User mistakes raise `HvdynError` subclasses; `main` prints their message
(no traceback) and exits with their code. Usage errors exit 3.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from hvdyn.core.errors import EXIT_FAILED, EXIT_INVALID, HvdynError, error_text

if TYPE_CHECKING:  # rich is imported by the commands that print tables (not --help, validate)
    from rich.console import Console

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("table", "json")

# Every command: name -> (module of `hvdyn.cli.commands` that registers it on `cli`,
# the one-line summary `hvdyn --help` shows). A module is imported only when
# one of its commands runs, so `--help` does not pay for pydantic, Jinja, the
# engine or the store (bench/startup.py). tests/cli/test_lazy_commands.py
# checks this table against the commands themselves.
COMMANDS: dict[str, tuple[str, str]] = {
    "apply": (
        "converge",
        "Converge VMs to the policy (journaled; `hvdyn rollback RUN` undoes it).",
    ),
    "audit": (
        "auditing",
        "Drift and health findings (exit 2 on drift or an error finding, 1 if a host failed).",
    ),
    "collect": (
        "observe",
        "Sample Dynamic Memory counters of every VM into the store (exit 1 if a host failed).",
    ),
    "explain": (
        "review",
        "Show where each desired value of a VM comes from (defaults or which rule).",
    ),
    "export": ("observe", "Export stored history."),
    "exporter": (
        "exporting",
        "Serve Dynamic Memory metrics to Prometheus, collecting hosts in the background.",
    ),
    "inventory": (
        "inventories",
        "Show what hvdyn will connect to for each host: transport, endpoint, auth, user.",
    ),
    "ping": (
        "connect",
        "Check each host: connection, authentication, PowerShell, root\\virtualization.",
    ),
    "probe": (
        "probe",
        "Read-only: ask each host what only a real host can tell.",
    ),
    "plan": (
        "converge",
        "Discover hosts and show what would change and why (exit 2 when something would).",
    ),
    "recommend": ("history", "Right-size startup, maximum and buffer per VM from stored counters."),
    "render": ("review", "Write the exact apply script per host for review; change nothing."),
    "report": (
        "history",
        "Charts of pressure, assigned memory against startup/maximum, host available memory.",
    ),
    "rollback": (
        "runs",
        "Restore the values a run journaled, through the same plan, checks and options as apply.",
    ),
    "runs": (
        "runs",
        "List runs (apply, rollback, audit, collect); `runs show RUN` for one run's journal.",
    ),
    "schedule": (
        "auditing",
        "Print a systemd timer or crontab line for an hvdyn command given after `--`.",
    ),
    "sim": ("simulate", "The simulated 2008 R2 SP1 hosts behind `hvdyn_transport: mock`."),
    "validate": ("converge", "Check a policy and its inventory without contacting any host."),
    "whatif": (
        "whatif",
        "Replay a policy against recorded demand (exit 0 fits, 2 at risk or does not fit).",
    ),
}


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
    return Settings(
        inventory=kwargs.pop("inventory"),
        limit=kwargs.pop("limit"),
        forks=kwargs.pop("forks"),
        state_dir=kwargs.pop("state_dir") or default_state_dir(),
        fmt=kwargs.pop("fmt"),
        verbose=kwargs.pop("verbose"),
        ask_pass=kwargs.pop("ask_pass"),
    )


PIPE_WIDTH = 100_000  # "never wrap": wider than any record hvdyn prints


def stdout_console() -> Console:
    """The terminal's width on a terminal; piped or redirected, lines never wrap.

    A file or a pipe gets one record per line (grep/awk read it), not rich's
    default of 80 columns with continuation lines.
    """
    from rich.console import Console

    # markup=False: names and messages come from hosts and guests (data, never markup).
    if sys.stdout.isatty():
        return Console(highlight=False, soft_wrap=False, markup=False)
    return Console(highlight=False, soft_wrap=False, markup=False, width=PIPE_WIDTH)


def import_commands(modules: tuple[str, ...] | None = None) -> None:
    """Import command modules; their decorators register the commands on `cli`."""
    for module in modules or tuple(sorted({m for m, _ in COMMANDS.values()})):
        importlib.import_module(f"hvdyn.cli.commands.{module}")


class HvdynGroup(click.Group):
    """Maps errors to hvdyn's exit codes (usage errors exit 3, not 2); loads commands lazily.

    A command's module is imported when the command is looked up to run;
    `--help` lists the commands from `COMMANDS` without importing them.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in COMMANDS:
            import_commands((COMMANDS[cmd_name][0],))
            command = super().get_command(ctx, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

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
            sys.exit(EXIT_FAILED)
        except click.ClickException as exc:
            exc.show()
            sys.exit(EXIT_INVALID)
        except HvdynError as exc:
            click.echo(f"hvdyn: {error_text(exc)}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:  # exit 1, not 130: the contract has 0-3 (see the README)
            click.echo("hvdyn: interrupted", err=True)
            sys.exit(EXIT_FAILED)
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(cls=HvdynGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hvdyn")
def cli() -> None:
    """Manage Hyper-V Dynamic Memory on Windows Server 2008 R2 SP1 hosts from a policy.

    \b
    Exit codes: 0 compliant/success, 1 a host or VM failed (or the run was
    interrupted), 2 drift or changes pending, 3 invalid input (policy,
    inventory, fixture, arguments).
    """


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """Console entry point.

    SIGTERM (systemd's stop, `timeout`) ends any command as Ctrl-C does: exit
    1, "interrupted", never 143 (the contract has 0-3). apply, rollback and
    the exporter install their own handlers while they run.
    """
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)
    cli.main()
