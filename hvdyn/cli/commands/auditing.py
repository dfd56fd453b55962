"""audit and schedule: the job a scheduler runs, and the unit files that run it."""

from __future__ import annotations

import shlex
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from hvdyn.analysis.audit import AuditReport, run_audit, store_audit
from hvdyn.cli.commands.observe import duration, output_option, state_dir_of
from hvdyn.cli.context import load_targets, transport_factory
from hvdyn.cli.group import cli, host_options, stdout_console
from hvdyn.core.errors import EXIT_OK, InputError, OutputPathError
from hvdyn.core.fileio import write_atomic
from hvdyn.formats.audit_text import audit_json, print_audit
from hvdyn.formats.chart_data import HostHistory, host_history
from hvdyn.formats.html import audit_html
from hvdyn.formats.junit import to_junit
from hvdyn.formats.prometheus import to_prometheus
from hvdyn.formats.schedule_units import (
    DRIFT_EXIT_COMMANDS,
    check_cron,
    check_on_calendar,
    check_unit_name,
    cron_command,
    service_unit,
    systemd_exec,
    timer_unit,
)
from hvdyn.history import open_store

AUDIT_FORMATS = ("table", "json", "junit", "prometheus", "html")


def render_audit(report: AuditReport, fmt: str, since: str = "",
                 histories: Sequence[HostHistory] = ()) -> str:
    if fmt == "json":
        return audit_json(report)
    if fmt == "junit":
        return to_junit(report)
    if fmt == "prometheus":
        return to_prometheus(report)
    if fmt == "html":
        return audit_html(report, since or str(report.since), histories)
    raise ValueError(fmt)


@cli.command()
@click.argument("policy", type=click.Path(path_type=Path, dir_okay=False))
@host_options
@click.option("--since", default="24h", show_default=True, metavar="DURATION",
              help="Health window, counted back from each host's newest stored sample.")
@click.option("--format", "fmt", type=click.Choice(AUDIT_FORMATS), default="table",
              show_default=True)
@output_option("any format; the table goes to stdout")
def audit(policy: Path, inventory: Path | None, limit: str | None, forks: int,
          state_dir: Path | None, ask_pass: bool, since: str, fmt: str,
          output: Path | None) -> int:
    """Drift and health findings (exit 2 on drift or an error finding, 1 if a host failed)."""
    window = duration(since)
    targets = load_targets(policy, inventory, limit)
    state = state_dir_of(state_dir)
    with open_store(state) as store:
        run_id = store.start_run(
            "audit", policy_path=str(policy.absolute()), policy_digest=targets.policy.digest,
            options={"inventory": str(targets.inventory_path), "limit": limit, "since": since,
                     "format": fmt})
        report = run_audit(targets.policy, targets.hosts,
                           transport_factory(state, ask_pass=ask_pass), store,
                           since=window, forks=forks, keep_samples=fmt == "html")
        report = AuditReport(policy=report.policy, since=report.since, hosts=report.hosts,
                             findings=report.findings, run_id=run_id)
        store_audit(store, run_id, report)
        code = report.exit_code
        histories = [host_history(store, h.host, window) for h in report.hosts
                     if fmt == "html" and store.newest_ts(h.host) is not None]
        store.finish_run(run_id, outcome={0: "compliant", 1: "failed", 2: "drift"}[code],
                         exit_code=code)
    if fmt == "table":
        print_audit(report, stdout_console())
        if output is not None:
            write_atomic(output, audit_json(report))
    else:
        text = render_audit(report, fmt, since, histories)
        if output is None:
            sys.stdout.write(text)
        else:
            write_atomic(output, text)  # 0644: readable by node_exporter / the web server
    if output is not None:
        click.echo(f"wrote {output}", err=True)
    failing = [f for f in report.findings if f.fails and f.kind != "drift"]
    for f in failing:
        click.echo(f"{f.id} {f.severity}: {f.host}/{f.vm_name or '-'}: {f.message}", err=True)
    return code


# ---------------------------------------------------------------- schedule

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
    return f"{sys.executable} -c 'from hvdyn.cli.group import main; main()'"


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


@cli.command(context_settings={"ignore_unknown_options": True})
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
@click.argument("command", nargs=-1, type=click.UNPROCESSED, required=True)
def schedule(kind: str | None, on_calendar: str, cron_expr: str, name: str | None,
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
        from hvdyn.cli.commands.exporting import exporter_unit

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
