"""runs, runs show, rollback: what apply changed (the journal), and putting it back."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from hvdyn.cli.apply_flow import apply_options, recorded_apply, run_footer, run_options
from hvdyn.cli.commands.converge import print_results
from hvdyn.cli.context import load_targets
from hvdyn.cli.group import Settings, cli, common_options, settings_from, stdout_console
from hvdyn.core.errors import EXIT_OK, InputError
from hvdyn.core.model import VmState
from hvdyn.core.vocab import JournalOutcome
from hvdyn.formats.results import format_value, printable
from hvdyn.history import Store, open_store
from hvdyn.history.rows import JournalRow, RunRow
from hvdyn.inventory import load_inventory, select_hosts
from hvdyn.policy.load import load_policy
from hvdyn.run.journal import RollbackPolicy

OFF = int(VmState.OFF)
CHANGING = ("apply", "rollback")  # the runs that journal changes
RUN_KINDS = ("apply", "rollback", "audit", "collect")  # every command that records a run


def _run_json(run: RunRow) -> dict[str, Any]:
    return {
        "id": run.id, "command": run.command, "started": run.started, "finished": run.finished,
        "user": run.user, "policy": run.policy_path, "outcome": run.outcome,
        "exit_code": run.exit_code, "options": json.loads(run.options or "{}"),
    }


@cli.group(invoke_without_command=True)
@common_options
@click.option("--last", type=click.IntRange(1, 10000), default=50, show_default=True,
              help="How many runs to list, newest first.")
@click.option("--command", "commands", default=None, metavar="KINDS",
              help="Only runs of these commands (comma-separated: apply, rollback, audit, "
                   "collect).")
@click.pass_context
def runs(ctx: click.Context, /, last: int, commands: str | None, **kwargs: Any) -> int:
    """List runs (apply, rollback, audit, collect); `runs show RUN` for one run's journal.

    Every command that records a run takes the next id, whatever its kind.
    """
    settings = settings_from(kwargs)
    if ctx.invoked_subcommand is not None:
        return EXIT_OK
    kinds = None if commands is None else {c.strip() for c in commands.split(",") if c.strip()}
    if kinds is not None and not kinds <= set(RUN_KINDS):
        raise InputError(f"--command {commands}: unknown kind "
                         f"{', '.join(sorted(kinds - set(RUN_KINDS)))} "
                         f"(allowed: {', '.join(RUN_KINDS)})")
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


def _load_run(store: Store, run_id: int) -> RunRow:
    run = store.run(run_id)
    if run is None:
        raise InputError(f"no run {run_id} in {store.path}")
    return run


@runs.command("show")
@click.argument("run_id", type=int)
@common_options
def runs_show(run_id: int, **kwargs: Any) -> int:
    """Each VM a run touched: outcome, values before/after, VMs left off, unknown outcomes."""
    settings = settings_from(kwargs)
    with open_store(settings.state_dir) as store:
        run = _load_run(store, run_id)
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
    if run.command not in CHANGING:
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
                arrow = (f"{format_value(f['field'], f['before'])} -> "
                         f"{format_value(f['field'], f['desired'])}")
                now = "?" if f["after"] is None else format_value(f["field"], f["after"])
                console.print(f"      {f['field']:<11}{arrow:<20} host now: {now}")
    for vm in left_off:
        console.print(Text(f"  left off by hvdyn: {vm['host']} {printable(vm['name'])}",
                           style="red"))
    for vm in unknown:
        console.print(Text(f"  outcome unknown (rerun to converge): {vm['host']} "
                           f"{printable(vm['name'])}", style="yellow"))


@cli.command()
@click.argument("run_id", type=int)
@common_options
@apply_options
def rollback(run_id: int, **kwargs: Any) -> int:
    """Restore the values a run journaled, through the same plan, checks and options as apply."""
    settings = settings_from(kwargs)
    options = run_options(settings, kwargs)
    with open_store(settings.state_dir) as store:
        run = _load_run(store, run_id)
        journal = store.journal(run_id)
    if run.command not in CHANGING:
        article = "an" if run.command[:1] in "aeiou" else "a"
        raise InputError(f"run {run_id} is {article} {run.command}: nothing to roll back "
                         "(only apply and rollback runs change hosts)")
    recorded = json.loads(run.options or "{}")
    policy, inventory = _original_policy(run, recorded, settings)
    rollback_policy = RollbackPolicy.from_journal(
        run_id, journal,
        host_reserve_mb=policy.host_reserve_mb if policy else 2048,
        max_overcommit=policy.max_overcommit if policy else None,
    )
    hosts = [h for h in select_hosts(load_inventory(inventory), settings.limit)
             if h.name in rollback_policy.hosts]
    results, code, new_run = recorded_apply(
        command="rollback", policy=rollback_policy, hosts=hosts, settings=settings,
        options=options, policy_path=None if run.policy_path is None else Path(run.policy_path),
        policy_digest=run.policy_digest,
        extra={"inventory": str(inventory), "rollback_of": run_id},
    )
    print_results(results, settings, scripts=options.dry_run, run_id=new_run)
    run_footer("rollback", new_run, code)
    return code


def _original_policy(run: RunRow, recorded: dict[str, Any], settings: Settings
                     ) -> tuple[Any, Path]:
    """The run's policy (for reserve and overcommit limits) and inventory; -i wins."""
    policy = None
    if run.policy_path and Path(run.policy_path).is_file():
        if settings.inventory is None and "inventory" not in recorded:
            targets = load_targets(Path(run.policy_path), None, settings.limit)
            return targets.policy, targets.inventory_path
        policy = load_policy(Path(run.policy_path))
    inventory = settings.inventory or (Path(recorded["inventory"]) if "inventory" in recorded
                                       else None)
    if inventory is None:
        raise InputError(f"run {run.id} names no inventory: pass -i/--inventory")
    return policy, inventory
