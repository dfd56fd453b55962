"""`hvdyn whatif`: replay a policy against recorded demand; no host is contacted."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from hvdyn.cli.context import load_targets
from hvdyn.cli.options import STATE_DIR_OPTION, duration, output_option, state_dir_of
from hvdyn.core.errors import InputError
from hvdyn.core.fileio import write_atomic
from hvdyn.history import open_store

WHATIF_FORMATS = ("table", "json", "html")


@click.command("whatif")
@click.argument("policy", type=click.Path(path_type=Path, dir_okay=False))
@click.option("-i", "--inventory", type=click.Path(path_type=Path), default=None,
              help="Inventory file (default: the policy's `inventory:`).")
@click.option("--limit", default=None, metavar="PATTERN",
              help="Only these hosts or groups (globs, comma-separated, !excludes).")
@STATE_DIR_OPTION
@click.option("--since", default="14d", show_default=True, metavar="DURATION",
              help="History replayed, counted back from each host's newest sample.")
@click.option("--format", "fmt", type=click.Choice(WHATIF_FORMATS), default="table",
              show_default=True)
@click.option("-v", "--verbose", is_flag=True, help="List every VM, not only those that "
              "change or are at risk.")
@click.option("--prometheus-url", default=None, metavar="URL",
              help="Read the history from this Prometheus server (fed by `hvdyn exporter`) "
                   "instead of the state dir's store.")
@click.option("--jobs", type=click.IntRange(1, 64), default=None,
              help="Processes replaying hosts in parallel (default: the number of CPUs).")
@output_option("table, json or html; html needs -o")
def command(policy: Path, inventory: Path | None, limit: str | None, state_dir: Path | None,
           since: str, fmt: str, verbose: bool, prometheus_url: str | None, jobs: int | None,
           output: Path | None) -> int:
    """Replay a policy against recorded demand (exit 0 fits, 2 at risk or does not fit)."""
    from hvdyn.whatif.output import report_html, report_json, summary_line, text_report
    from hvdyn.whatif.run import run_whatif

    window = duration(since)
    if fmt == "html" and output is None and sys.stdout.isatty():
        raise InputError("--format html writes a page: give -o FILE.html")
    targets = load_targets(policy, inventory, limit)
    state = state_dir_of(state_dir)
    open_store(state).close()  # create or migrate once, before any worker reads it
    report = run_whatif(state, targets.policy, targets.hosts, window, since,
                        keep_series=fmt == "html", jobs=jobs or os.cpu_count() or 1,
                        prometheus_url=prometheus_url)
    if not report.hosts:
        raise InputError(
            f"no samples stored yet for {', '.join(report.without_history)}: run "
            "`hvdyn collect` first (whatif replays recorded demand)")
    text = {"json": report_json, "html": report_html}.get(fmt)
    body = text(report) if text else text_report(report, verbose=verbose)
    if output is None:
        sys.stdout.write(body)
    else:
        write_atomic(output, body)
        click.echo(f"wrote {output}", err=True)
        click.echo(summary_line(report), err=True)
    return report.exit_code
