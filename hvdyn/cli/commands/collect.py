"""`hvdyn collect`: sample the Dynamic Memory counters of every VM into the store."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from hvdyn.cli.context import load_hosts, transport_factory
from hvdyn.cli.options import duration, host_options, state_dir_of
from hvdyn.cli.output import stdout_console
from hvdyn.cli.progress import collect_progress
from hvdyn.core.errors import EXIT_FAILED, EXIT_OK, InputError
from hvdyn.core.vocab import RunKind, outcome_of_run
from hvdyn.formats.text import printable
from hvdyn.history import Retention, open_store
from hvdyn.run.collect import Collector, CollectResult


def _collect_json(results: list[CollectResult]) -> dict[str, Any]:
    return {
        "hosts": [asdict(r) for r in results],
        "summary": {
            "hosts": len(results),
            "failed": sum(1 for r in results if not r.ok),
            "samples": sum(r.samples for r in results),
            "ambiguous": sorted({f"{r.host}/{n}" for r in results for n in r.ambiguous}),
        },
    }


def _collect_table(results: list[CollectResult]) -> None:
    table = Table(box=None, header_style="bold", pad_edge=False, padding=(0, 1, 0, 0))
    # Only the window (at its " .. ") and the notes may wrap, inside their cells.
    for column in ("host", "status", "VMs", "samples", "balancer"):
        table.add_column(column, no_wrap=True)
    table.add_column("window", min_width=20, overflow="fold")  # the host's clock
    table.add_column("notes", overflow="fold", min_width=12)
    for r in results:
        notes = [f"ambiguous names: {', '.join(printable(n) for n in r.ambiguous)}"] \
            if r.ambiguous else []
        notes += [f"warning: {w}" for w in r.warnings]
        if r.error:
            notes.append(r.error)
        table.add_row(r.host, Text("ok", "green") if r.ok else Text("failed", "red"),
                      str(r.vms), str(r.samples), str(r.balancer),
                      f"{r.first_ts} .. {r.last_ts}" if r.first_ts else "-", "; ".join(notes))
    console = stdout_console()
    console.print(table)
    failed = sum(1 for r in results if not r.ok)
    console.print(Text(f"summary: {len(results)} hosts, {failed} failed, "
                       f"{sum(r.samples for r in results)} samples stored", style="bold"))


@click.command("collect")
@host_options
@click.option("--samples", type=click.IntRange(1, 10000), default=1, show_default=True,
              help="Samples per host in this run (split into several scripts as needed; "
                   "each script's samples are stored as it returns).")
@click.option("--interval", type=click.IntRange(1, 3600), default=60, show_default=True,
              help="Seconds between samples (simulated hosts do not really wait).")
@click.option("--keep", default=None, metavar="DURATION",
              help="Afterwards delete all history older than this, runs and journal "
                   "included (e.g. 90d).")
@click.option("--keep-raw", default="14d", show_default=True, metavar="DURATION",
              help="Keep raw samples this long (at least 2d); older ones live on in rollups.")
@click.option("--keep-hourly", default="90d", show_default=True, metavar="DURATION",
              help="Keep hourly rollups this long.")
@click.option("--keep-daily", default="730d", show_default=True, metavar="DURATION",
              help="Keep daily rollups this long.")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table",
              show_default=True)
def command(inventory: Path | None, limit: str | None, forks: int, state_dir: Path | None,
            ask_pass: bool, samples: int, interval: int, keep: str | None, keep_raw: str,
            keep_hourly: str, keep_daily: str, fmt: str) -> int:
    """Sample Dynamic Memory counters of every VM into the store (exit 1 if a host failed)."""
    keep_for = duration(keep) if keep else None
    try:
        retention = Retention(raw=duration(keep_raw), hourly=duration(keep_hourly),
                              daily=duration(keep_daily))
    except ValueError as exc:
        raise InputError(f"--keep-raw/--keep-hourly/--keep-daily: {exc}") from None
    hosts = load_hosts(inventory, limit)
    state = state_dir_of(state_dir)
    with open_store(state) as store:
        run_id = store.start_run(RunKind.COLLECT, options={
            "inventory": str(inventory) if inventory else None, "limit": limit,
            "samples": samples, "interval": interval, "keep": keep, "keep_raw": keep_raw,
            "keep_hourly": keep_hourly, "keep_daily": keep_daily})
        with collect_progress() as progress:
            collector = Collector(store, transport_factory(state, ask_pass=ask_pass),
                                  samples=samples, interval_s=interval, run_id=run_id,
                                  progress=progress)
            results = collector.run(hosts, forks)
        code = EXIT_FAILED if any(not r.ok for r in results) else EXIT_OK
        aged = store.apply_retention(retention)
        pruned = store.prune(keep_for) if keep_for else None
        store.finish_run(run_id, outcome=outcome_of_run(RunKind.COLLECT, code),
                         exit_code=code)
    if fmt == "json":
        document = _collect_json(results)
        document["retention"] = aged
        if pruned is not None:
            document["pruned"] = pruned
        json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        _collect_table(results)
        if any(aged.values()):
            click.echo("retention: " + ", ".join(f"{n} {t}" for t, n in aged.items() if n))
        if pruned is not None:
            click.echo("pruned: " + ", ".join(f"{n} {t}" for t, n in pruned.items()))
    return code
