"""The `hvdyn` group: finds each command lazily, maps errors to exit codes.

User mistakes raise `HvdynError` subclasses; `main` prints their message
(no traceback) and exits with their code. Usage errors exit 3.
"""

from __future__ import annotations

import importlib
import signal
import sys
from typing import Any

import click

from hvdyn.core.errors import EXIT_FAILED, EXIT_INVALID, HvdynError, error_text

# Every command: name -> the one-line summary `hvdyn --help` shows. The command is
# the module-level `command` of `hvdyn.cli.commands.<name>`, imported only when it is
# looked up to run, so `--help` does not pay for pydantic, Jinja, the engine or the
# store (bench/startup.py). tests/cli/test_lazy_commands.py checks this table
# against the commands themselves.
COMMANDS: dict[str, str] = {
    "apply": "Converge VMs to the policy (journaled; `hvdyn rollback RUN` undoes it).",
    "audit": "Drift and health findings (exit 2 on drift or an error finding, 1 if a host failed).",
    "collect":
        "Sample Dynamic Memory counters of every VM into the store (exit 1 if a host failed).",
    "explain": "Show where each desired value of a VM comes from (defaults or which rule).",
    "export": "Export stored history.",
    "exporter": "Serve Dynamic Memory metrics to Prometheus, collecting hosts in the background.",
    "inventory": "Show what hvdyn will connect to for each host: transport, endpoint, auth, user.",
    "ping": "Check each host: connection, authentication, PowerShell, root\\virtualization.",
    "probe": "Read-only: ask each host what only a real host can tell.",
    "plan": "Discover hosts and show what would change and why (exit 2 when something would).",
    "recommend": "Right-size startup, maximum and buffer per VM from stored counters.",
    "render": "Write the exact apply script per host for review; change nothing.",
    "report": "Charts of pressure, assigned memory against startup/maximum, host available memory.",
    "rollback":
        "Restore the values a run journaled, through the same plan, checks and options as apply.",
    "runs": "List runs (apply, rollback, audit, collect); `runs show RUN` for one run's journal.",
    "schedule": "Print a systemd timer or crontab line for an hvdyn command given after `--`.",
    "sim": "The simulated 2008 R2 SP1 hosts behind `hvdyn_transport: mock`.",
    "validate": "Check a policy and its inventory without contacting any host.",
    "whatif": "Replay a policy against recorded demand (exit 0 fits, 2 at risk or does not fit).",
}


def load_command(name: str) -> click.Command:
    """The `command` of `hvdyn.cli.commands.<name>` (imported now, once per process)."""
    module = importlib.import_module(f"hvdyn.cli.commands.{name}")
    command = module.command
    if not isinstance(command, click.Command):
        raise TypeError(f"hvdyn.cli.commands.{name}.command is not a click command")
    return command


class HvdynGroup(click.Group):
    """Maps errors to hvdyn's exit codes (usage errors exit 3, not 2); loads commands lazily.

    A command's module is imported when the command is looked up to run
    (click's lazy-group pattern); `--help` lists the commands from `COMMANDS`
    without importing them.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return load_command(cmd_name) if cmd_name in COMMANDS else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name]) for name in sorted(COMMANDS)]
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
