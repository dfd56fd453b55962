"""`hvdyn report`: charts of the stored history as HTML or SVG; no host is contacted."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hvdyn.cli.options import STATE_DIR_OPTION, duration, output_option, state_dir_of
from hvdyn.cli.output import write_output
from hvdyn.cli.stored_hosts import (
    LIMIT_OPTION,
    PROMETHEUS_URL_OPTION,
    history_where,
    hosts_with_history,
)
from hvdyn.core.errors import EXIT_OK, InputError
from hvdyn.formats.chart_data import host_history
from hvdyn.formats.report_page import report_html, selected_vms, svg_charts
from hvdyn.formats.svg import document
from hvdyn.history.source import open_history


@click.command("report")
@STATE_DIR_OPTION
@PROMETHEUS_URL_OPTION
@LIMIT_OPTION
@click.option("--vm", default=None, help="Only VMs whose name matches this glob (or this id).")
@click.option("--since", default="7d", show_default=True, metavar="DURATION",
              help="History shown, counted back from each host's newest sample.")
@output_option(".html or .svg; HTML to stdout when omitted")
def command(state_dir: Path | None, prometheus_url: str | None, limit: str | None,
           vm: str | None, since: str, output: Path | None) -> int:
    """Charts of pressure, assigned memory against startup/maximum, host available memory.

    Exit 3 when there is no history yet, or when the HTML would go to a terminal.
    """
    window = duration(since)
    if output is not None and output.suffix.lower() not in (".html", ".htm", ".svg"):
        raise InputError(f"-o {output}: use a .html or .svg file name")
    if output is None and sys.stdout.isatty():
        raise InputError("hvdyn report writes an HTML page: give -o FILE.html (or .svg), "
                         "or redirect stdout to a file")
    with open_history(state_dir_of(state_dir), prometheus_url, window) as store:
        hosts = hosts_with_history(store, history_where(state_dir, prometheus_url), limit)
        histories = [host_history(store, h, window) for h in hosts]
    if vm is not None and not any(selected_vms(h, vm) for h in histories):
        raise InputError(f"--vm {vm}: no VM with samples matches on "
                         f"{', '.join(h.host for h in histories)}")
    title = "hvdyn report"
    intro = (f"History of the last {since} back from each host's newest sample; times are "
             "UTC on each host's clock. Settings are drawn as they were at each collect, "
             "applies and rollbacks from the journal as markers.")
    if output is not None and output.suffix.lower() == ".svg":
        heading = f"{title}, {since} back from each host's newest sample (UTC)"
        write_output(document(svg_charts(histories, vm), heading), output)
        return EXIT_OK
    write_output(report_html(histories, title, intro, vm), output)
    return EXIT_OK
