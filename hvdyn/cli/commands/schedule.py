"""`hvdyn schedule`: a systemd service and timer (or a crontab line) for an hvdyn command."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

import click

from hvdyn.cli.options import state_dir_of
from hvdyn.core.errors import EXIT_OK, InputError, OutputPathError
from hvdyn.core.fileio import write_atomic
from hvdyn.formats.schedule_units import (
    DRIFT_EXIT_COMMANDS,
    check_cron,
    check_on_calendar,
    check_unit_name,
    cron_command,
    exporter_unit,
    service_unit,
    systemd_exec,
    timer_unit,
)

_PATH_OPTIONS = {"-i", "--inventory", "-o", "--output", "--state-dir"}


def hvdyn_executable() -> str:
    """Absolute path of the hvdyn console script running now (or on PATH)."""
    argv0 = Path(sys.argv[0])
    if argv0.name.startswith("hvdyn") and argv0.exists():
        return str(argv0.absolute())
    sibling = Path(sys.executable).parent / "hvdyn"
    if sibling.exists():
        return str(sibling.absolute())
    found = shutil.which("hvdyn")
    if found:
        return str(Path(found).absolute())
    return f"{sys.executable} -c 'from hvdyn.cli import main; main()'"


def absolute_args(args: tuple[str, ...]) -> list[str]:
    """Make path arguments absolute: values of path options and existing files."""
    out: list[str] = []
    previous = ""
    for arg in args:
        if "=" in arg and arg.split("=", 1)[0] in _PATH_OPTIONS:
            key, value = arg.split("=", 1)
            out.append(f"{key}={Path(value).absolute()}")
        elif previous in _PATH_OPTIONS or (not arg.startswith("-") and Path(arg).exists()):
            out.append(str(Path(arg).absolute()))
        else:
            out.append(arg)
        previous = arg
    return out


@click.command("schedule", context_settings={"ignore_unknown_options": True})
@click.option("--systemd", "kind", flag_value="systemd", help="Print a service and timer.")
@click.option("--cron", "kind", flag_value="cron", help="Print a crontab line.")
@click.option("--on-calendar", default="hourly", show_default=True,
              help="systemd OnCalendar expression (checked with systemd-analyze calendar).")
@click.option("--cron-expr", default="0 * * * *", show_default=True,
              help="cron schedule (five fields, checked against crontab(5) ranges).")
@click.option("--name", default=None, help="Unit name (default: hvdyn-<command>).")
@click.option("--state-dir", type=click.Path(path_type=Path), default=None,
              help="HVDYN_STATE_DIR for the job (default: this shell's).")
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              default=None,
              help="With --systemd: write <name>.service and <name>.timer into this directory "
                   "(ready for `systemctl link`) instead of printing them.")
# The argument keeps its name (usage shows COMMAND...); inside the function it is the tuple.
@click.argument("command", nargs=-1, type=click.UNPROCESSED, required=True)
def command(kind: str | None, on_calendar: str, cron_expr: str, name: str | None,
             state_dir: Path | None, out_dir: Path | None, command: tuple[str, ...]) -> int:
    """Print a systemd timer or crontab line for an hvdyn command given after `--`.

    \b
    Example:
      hvdyn schedule --systemd -o /etc/hvdyn/units -- audit /etc/hvdyn/policy.yaml \\
          --format junit -o /var/lib/hvdyn/audit.xml
    """
    if kind is None:
        raise InputError("choose --systemd or --cron")
    args = list(command[1:]) if command and command[0] == "hvdyn" else list(command)
    if not args:
        raise InputError("give the hvdyn command to schedule after `--`")
    if out_dir is not None and kind != "systemd":
        raise InputError("-o DIR writes systemd units: use it with --systemd")
    state = Path(state_dir_of(state_dir)).absolute()
    line = " ".join([hvdyn_executable(), *(shlex.quote(a) for a in absolute_args(tuple(args)))])
    unit = check_unit_name(name) if name is not None else f"hvdyn-{args[0]}"
    if args[0] == "exporter" and "--once" not in args:  # runs continuously: a service
        if kind != "systemd":
            raise InputError("the exporter runs continuously: use --systemd (a service)")
        units = {f"{unit}.service": exporter_unit(unit, systemd_exec(line), state)}
        enable = f"{unit}.service"
    elif kind == "systemd":
        calendar = check_on_calendar(on_calendar)
        units = {f"{unit}.service": service_unit(unit, line, args[0], str(state)),
                 f"{unit}.timer": timer_unit(unit, calendar)}
        enable = f"{unit}.timer"
    else:
        expr = check_cron(cron_expr)
        log = state / f"{unit}.log"
        note = ", exit 2 = drift, reported in the output" if args[0] in DRIFT_EXIT_COMMANDS else ""
        click.echo(f"# {unit}: crontab -e, then add{note}")
        click.echo(cron_command(f"{expr} HVDYN_STATE_DIR={shlex.quote(str(state))} {line} "
                                f">>{shlex.quote(str(log))} 2>&1"))
        return EXIT_OK
    if out_dir is None:
        for file_name, text in units.items():
            click.echo(f"# /etc/systemd/system/{file_name}\n{text}")
        click.echo(f"# enable with: systemctl daemon-reload && systemctl enable --now {enable}")
        return EXIT_OK
    if not out_dir.is_dir():
        try:  # its parent must exist: hvdyn creates one directory, and says so
            out_dir.mkdir()
        except FileExistsError:
            raise OutputPathError(f"{out_dir} exists and is not a directory") from None
        except OSError as exc:
            raise OutputPathError(f"{out_dir}: cannot create: {exc.strerror or exc}") from None
        click.echo(f"created directory {out_dir}", err=True)
    paths = [(out_dir / file_name).absolute() for file_name in units]
    for path, text in zip(paths, units.values(), strict=True):
        write_atomic(path, text)
    click.echo(f"wrote {' and '.join(map(str, paths))}; enable with:\n"
               f"  systemctl link {' '.join(map(str, paths))}\n"
               f"  systemctl daemon-reload && systemctl enable --now {enable}")
    return EXIT_OK
