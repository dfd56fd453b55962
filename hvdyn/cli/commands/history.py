"""report and recommend: read the stored history; no host is contacted."""

from __future__ import annotations

import io
import sys
from datetime import timedelta
from pathlib import Path

import click
from rich.console import Console

from hvdyn.analysis.recommend import Advice, advise, advise_rollups
from hvdyn.cli.commands.observe import duration, output_option, state_dir_of
from hvdyn.cli.group import PIPE_WIDTH, STATE_DIR_OPTION, cli, stdout_console
from hvdyn.cli.stored_hosts import LIMIT_OPTION, select_stored_hosts
from hvdyn.core.errors import EXIT_OK, InputError
from hvdyn.core.fileio import write_atomic
from hvdyn.formats.advice_text import advice_json, advice_yaml, print_advice
from hvdyn.formats.chart_data import host_history
from hvdyn.formats.report_page import report_html, selected_vms, svg_charts
from hvdyn.formats.svg import document
from hvdyn.history import Store, store_path
from hvdyn.history.resolution import RAW, resolution_for
from hvdyn.history.source import HistorySource, open_history, window_start

PROMETHEUS_URL_OPTION = click.option(
    "--prometheus-url", default=None, metavar="URL",
    help="Read the history from this Prometheus server (fed by `hvdyn exporter`) "
         "instead of the state dir's store.")


def _hosts(source: HistorySource, where: str, limit: str | None) -> list[str]:
    """Hosts with history selected by --limit; an input error when there are none."""
    stored = source.sample_hosts()
    if not stored:
        hint = ("run `hvdyn exporter` for it to scrape" if where.startswith("http")
                else "run `hvdyn collect` first")
        raise InputError(f"no samples yet in {where}: {hint}")
    return select_stored_hosts(stored, limit)


def _where(state_dir: Path | None, prometheus_url: str | None) -> str:
    return prometheus_url or str(store_path(state_dir_of(state_dir)))


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        write_atomic(output, text)
        click.echo(f"wrote {output}", err=True)


# ---------------------------------------------------------------- recommend


def gather_advice(store: HistorySource, hosts: list[str], since: timedelta, headroom: float
                  ) -> list[Advice]:
    """Advice per host from raw samples, or from rollups for long windows (see resolution).

    Rollups live in the SQLite store; Prometheus gives raw samples only.
    """
    advice: list[Advice] = []
    for host in hosts:
        start = window_start(store, host, since)
        settings = store.latest_vm_settings(host=host)
        if not isinstance(store, Store):
            samples = store.samples(host=host, since=start, include_ambiguous=False)
            advice += advise(host, samples, settings, headroom=headroom)
            continue
        res = resolution_for(store, host, since, summary=True)
        if res == RAW:
            samples = store.brief_samples(host=host, since=start, include_ambiguous=False)
            advice += advise(host, samples, settings, headroom=headroom)
        else:
            advice += advise_rollups(host, store.rollups(host, res, since=start), settings,
                                     headroom=headroom)
    return advice


@cli.command()
@STATE_DIR_OPTION
@PROMETHEUS_URL_OPTION
@LIMIT_OPTION
@click.option("--since", default="14d", show_default=True, metavar="DURATION",
              help="History used, counted back from each host's newest sample.")
@click.option("--headroom", type=click.IntRange(0, 200), default=20, show_default=True,
              help="Percent added to the busy-level target for the maximum.")
@click.option("--format", "fmt", type=click.Choice(("table", "yaml", "json")),
              default="table", show_default=True)
@click.option("-v", "--verbose", is_flag=True, help="Also print each VM's evidence.")
@output_option("yaml/json/table")
def recommend(state_dir: Path | None, prometheus_url: str | None, limit: str | None,
              since: str, headroom: int, fmt: str, verbose: bool, output: Path | None) -> int:
    """Right-size startup, maximum and buffer per VM from stored counters.

    One line per VM (current -> advised, verdict, confidence); the evidence
    with -v or in --format json/yaml. Exit 3 when there is no history yet.
    """
    window = duration(since)
    with open_history(state_dir_of(state_dir), prometheus_url, window) as store:
        hosts = _hosts(store, _where(state_dir, prometheus_url), limit)
        advice = gather_advice(store, hosts, window, headroom / 100)
    if fmt == "table" and output is None:
        print_advice(advice, stdout_console(), verbose=verbose)
    elif fmt == "table":  # the table into a file: as piped, one VM a line, no colour
        buffer = io.StringIO()
        print_advice(advice, Console(file=buffer, width=PIPE_WIDTH, color_system=None,
                                     highlight=False, markup=False), verbose=verbose)
        _write(buffer.getvalue(), output)
    elif fmt == "json":
        _write(advice_json(advice), output)
    else:
        _write(advice_yaml(advice, since), output)
    return EXIT_OK


# ---------------------------------------------------------------- report


@cli.command()
@STATE_DIR_OPTION
@PROMETHEUS_URL_OPTION
@LIMIT_OPTION
@click.option("--vm", default=None, help="Only VMs whose name matches this glob (or this id).")
@click.option("--since", default="7d", show_default=True, metavar="DURATION",
              help="History shown, counted back from each host's newest sample.")
@output_option(".html or .svg; HTML to stdout when omitted")
def report(state_dir: Path | None, prometheus_url: str | None, limit: str | None,
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
        hosts = _hosts(store, _where(state_dir, prometheus_url), limit)
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
        _write(document(svg_charts(histories, vm), heading), output)
        return EXIT_OK
    _write(report_html(histories, title, intro, vm), output)
    return EXIT_OK
