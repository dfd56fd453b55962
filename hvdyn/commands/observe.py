"""collect and export: sample Dynamic Memory counters into the store and read them out."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, fields
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.table import Table
from rich.text import Text

from hvdyn.cli import STATE_DIR_OPTION, cli, default_state_dir, host_options, stdout_console
from hvdyn.collect import Collector, CollectResult
from hvdyn.commands._common import checked_output, load_hosts, transport_factory
from hvdyn.errors import EXIT_FAILED, EXIT_OK, InputError
from hvdyn.fileio import write_atomic
from hvdyn.report import printable
from hvdyn.store import open_store, parse_duration
from hvdyn.store_rows import SampleRow, format_ts, parse_ts

F = TypeVar("F", bound=Callable[..., Any])


def duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def state_dir_of(value: Path | None) -> Path:
    return value or default_state_dir()


def output_option(suffixes: str) -> Callable[[F], F]:
    return click.option("-o", "--output", type=click.Path(path_type=str, dir_okay=False),
                        default=None, callback=checked_output,
                        help=f"Write to this file atomically ({suffixes}).")


# ---------------------------------------------------------------- collect


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


@cli.command()
@host_options
@click.option("--samples", type=click.IntRange(1, 10000), default=1, show_default=True,
              help="Samples per host in this run.")
@click.option("--interval", type=click.IntRange(1, 3600), default=60, show_default=True,
              help="Seconds between samples (simulated hosts do not really wait).")
@click.option("--keep", default=None, metavar="DURATION",
              help="Afterwards delete history older than this (e.g. 90d).")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table",
              show_default=True)
def collect(inventory: Path | None, limit: str | None, forks: int, state_dir: Path | None,
            ask_pass: bool, samples: int, interval: int, keep: str | None, fmt: str) -> int:
    """Sample Dynamic Memory counters of every VM into the store (exit 1 if a host failed)."""
    keep_for = duration(keep) if keep else None
    hosts = load_hosts(inventory, limit)
    state = state_dir_of(state_dir)
    with open_store(state) as store:
        run_id = store.start_run("collect", options={
            "inventory": str(inventory) if inventory else None, "limit": limit,
            "samples": samples, "interval": interval, "keep": keep})
        collector = Collector(store, transport_factory(state, ask_pass=ask_pass), samples=samples,
                              interval_s=interval, run_id=run_id)
        results = collector.run(hosts, forks)
        code = EXIT_FAILED if any(not r.ok for r in results) else EXIT_OK
        pruned = store.prune(keep_for) if keep_for else None
        store.finish_run(run_id, outcome="failed" if code else "ok", exit_code=code)
    if fmt == "json":
        document = _collect_json(results)
        if pruned is not None:
            document["pruned"] = pruned
        json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        _collect_table(results)
        if pruned is not None:
            click.echo("pruned: " + ", ".join(f"{n} {t}" for t, n in pruned.items()))
    return code


# ---------------------------------------------------------------- export


@cli.group()
def export() -> None:
    """Export stored history."""


@export.command("samples")
@STATE_DIR_OPTION
@click.option("--format", "fmt", type=click.Choice(("csv", "json")), default="csv",
              show_default=True)
@click.option("--host", default=None, help="Only this host.")
@click.option("--since", default=None, metavar="DURATION|TIMESTAMP",
              help="Only samples from this far back from each host's newest sample "
                   "(e.g. 24h), or from an ISO timestamp on.")
@output_option(".csv or .json")
def export_samples(state_dir: Path | None, fmt: str, host: str | None, since: str | None,
                   output: Path | None) -> int:
    """Write the stored VM counter samples as CSV (one row per VM per sample)."""
    with open_store(state_dir_of(state_dir)) as store:
        hosts = [host] if host else store.sample_hosts()
        rows: list[SampleRow] = []
        for name in hosts:
            rows.extend(store.samples(host=name, since=_since(store, name, since)))
    columns = [f.name for f in fields(SampleRow)]
    if fmt == "json":
        text = json.dumps([asdict(r) for r in rows], indent=2, ensure_ascii=False) + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if getattr(row, c) is None else _cell(getattr(row, c))
                             for c in columns])
        text = buffer.getvalue()
    if output is None:
        sys.stdout.write(text)
    else:
        write_atomic(output, text)
        click.echo(f"wrote {len(rows)} samples to {output}", err=True)
    return EXIT_OK


def _cell(value: object) -> object:
    return int(value) if isinstance(value, bool) else value


def _since(store: Any, host: str, since: str | None) -> str | None:
    """--since as a start timestamp for one host (durations count back from its newest sample)."""
    if since is None:
        return None
    try:
        back = parse_duration(since)
    except ValueError:
        try:
            return format_ts(parse_ts(since))
        except Exception:
            raise InputError(f"--since {since!r} is neither a duration (24h) nor a timestamp"
                             ) from None
    newest = store.newest_ts(host)
    return None if newest is None else format_ts(parse_ts(newest) - back)
