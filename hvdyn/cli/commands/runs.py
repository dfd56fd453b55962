"""`hvdyn runs` and `hvdyn runs show RUN`: the recorded runs, and what one changed."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from hvdyn.cli.options import common_options, settings_from
from hvdyn.cli.output import stdout_console
from hvdyn.cli.stored_runs import load_run
from hvdyn.core.errors import EXIT_OK, InputError
from hvdyn.core.model import VmState, format_setting
from hvdyn.core.vocab import CHANGING_RUNS, JournalOutcome, RunKind
from hvdyn.formats.text import printable
from hvdyn.history import open_store
from hvdyn.history.rows import JournalRow, RunRow

OFF = int(VmState.OFF)


def _run_json(run: RunRow) -> dict[str, Any]:
    return {
        "id": run.id, "command": run.command, "started": run.started, "finished": run.finished,
        "user": run.user, "policy": run.policy_path, "outcome": run.outcome,
        "exit_code": run.exit_code, "options": json.loads(run.options or "{}"),
    }


@click.group("runs", invoke_without_command=True)
@common_options
@click.option("--last", type=click.IntRange(1, 10000), default=50, show_default=True,
              help="How many runs to list, newest first.")
@click.option("--command", "commands", default=None, metavar="KINDS",
              help="Only runs of these commands (comma-separated: apply, rollback, audit, "
                   "collect).")
@click.pass_context
def command(ctx: click.Context, /, last: int, commands: str | None, **kwargs: Any) -> int:
    """List runs (apply, rollback, audit, collect); `runs show RUN` for one run's journal.

    Every command that records a run takes the next id, whatever its kind.
    """
    settings = settings_from(kwargs)
    if ctx.invoked_subcommand is not None:
        return EXIT_OK
    kinds = None if commands is None else {c.strip() for c in commands.split(",") if c.strip()}
    if kinds is not None and not kinds <= set(RunKind):
        raise InputError(f"--command {commands}: unknown kind "
                         f"{', '.join(sorted(kinds - set(RunKind)))} "
                         f"(allowed: {', '.join(RunKind)})")
    with open_store(settings.state_dir) as store:
        rows = [r for r in store.runs(limit=last if kinds is None else 1_000_000)
                if kinds is None or r.command in kinds][:last]
    if settings.fmt == "json":
        json.dump({"runs": [_run_json(r) for r in rows]}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("run", "command", "started", "finished", "outcome", "exit"):
        table.add_column(column, no_wrap=True)
    table.add_column("policy", overflow="fold")
    for r in rows:
        table.add_row(str(r.id), r.command, r.started, r.finished or "-", r.outcome or "running?",
                      "-" if r.exit_code is None else str(r.exit_code), r.policy_path or "-")
    stdout_console().print(table)
    return EXIT_OK


def _vm_outcomes(rows: list[JournalRow]) -> list[dict[str, Any]]:
    """One entry per VM: its outcome, fields before/desired/after, and whether it was left off."""
    vms: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        vm = vms.setdefault((row.host, row.vm_id), {
            "host": row.host, "id": row.vm_id, "name": row.vm_name, "outcome": row.outcome,
            "message": row.message, "state_before": row.state_before,
            "state_after": row.state_after, "fields": [],
        })
        vm["fields"].append({"field": row.field, "before": row.before, "desired": row.desired,
                             "after": row.after})
        vm["left_off"] = (row.state_after == OFF and row.state_before not in (None, OFF))
    return list(vms.values())


@command.command("show")
@click.argument("run_id", type=int)
@common_options
def runs_show(run_id: int, **kwargs: Any) -> int:
    """Each VM a run touched: outcome, values before/after, VMs left off, unknown outcomes."""
    settings = settings_from(kwargs)
    with open_store(settings.state_dir) as store:
        run = load_run(store, run_id)
        vms = _vm_outcomes(store.journal(run_id))
    left_off = [v for v in vms if v["left_off"]]
    unknown = [v for v in vms if v["outcome"] in (JournalOutcome.UNKNOWN, JournalOutcome.SENT)]
    if settings.fmt == "json":
        doc = {"run": _run_json(run), "vms": vms, "left_off": [v["id"] for v in left_off],
               "unknown": [v["id"] for v in unknown]}
        json.dump(doc, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return EXIT_OK
    _print_run(run, vms, left_off, unknown)
    return EXIT_OK


def _print_run(run: RunRow, vms: list[dict[str, Any]], left_off: list[dict[str, Any]],
               unknown: list[dict[str, Any]]) -> None:
    """The run's head line, then per host its VMs with `field before -> after` as plan shows."""
    console = stdout_console()
    console.print(Text(f"run {run.id}: {run.command} {run.policy_path or ''}  started "
                       f"{run.started}, outcome {run.outcome or 'unfinished'}", style="bold"))
    if run.command not in CHANGING_RUNS:
        console.print(f"  {run.command} runs change nothing: no journal")
    for host in sorted({vm["host"] for vm in vms}):
        console.print(Text(host, style="bold"))
        for vm in (v for v in vms if v["host"] == host):
            line = Text(f"  {printable(vm['name'])}  ")
            applied = vm["outcome"] == JournalOutcome.APPLIED
            line.append(vm["outcome"], style="green" if applied else "yellow")
            message = (vm["message"] or "").removeprefix(vm["outcome"]).strip()
            if message:  # "applied (VM restarted)": the outcome is already printed
                line.append(f" {message}", style="dim")
            console.print(line)
            for f in vm["fields"]:
                arrow = (f"{format_setting(f['field'], f['before'])} -> "
                         f"{format_setting(f['field'], f['desired'])}")
                now = "?" if f["after"] is None else format_setting(f["field"], f["after"])
                console.print(f"      {f['field']:<11}{arrow:<20} host now: {now}")
    for vm in left_off:
        console.print(Text(f"  left off by hvdyn: {vm['host']} {printable(vm['name'])}",
                           style="red"))
    for vm in unknown:
        console.print(Text(f"  outcome unknown (rerun to converge): {vm['host']} "
                           f"{printable(vm['name'])}", style="yellow"))
