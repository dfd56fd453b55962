"""`hvdyn recommend`: right-size VMs from the stored history; no host is contacted."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import click
from rich.console import Console

from hvdyn.analysis.recommend import Advice, advise, advise_rollups
from hvdyn.cli.options import STATE_DIR_OPTION, duration, output_option, state_dir_of
from hvdyn.cli.output import PIPE_WIDTH, stdout_console, write_output
from hvdyn.cli.stored_hosts import (
    LIMIT_OPTION,
    PROMETHEUS_URL_OPTION,
    history_where,
    hosts_with_history,
)
from hvdyn.core.errors import EXIT_OK
from hvdyn.formats.advice_text import advice_json, advice_yaml, print_advice
from hvdyn.history import Store
from hvdyn.history.resolution import RAW, resolution_for
from hvdyn.history.source import HistorySource, open_history, window_start


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


@click.command("recommend")
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
def command(state_dir: Path | None, prometheus_url: str | None, limit: str | None,
              since: str, headroom: int, fmt: str, verbose: bool, output: Path | None) -> int:
    """Right-size startup, maximum and buffer per VM from stored counters.

    One line per VM (current -> advised, verdict, confidence); the evidence
    with -v or in --format json/yaml. Exit 3 when there is no history yet.
    """
    window = duration(since)
    with open_history(state_dir_of(state_dir), prometheus_url, window) as store:
        hosts = hosts_with_history(store, history_where(state_dir, prometheus_url), limit)
        advice = gather_advice(store, hosts, window, headroom / 100)
    if fmt == "table" and output is None:
        print_advice(advice, stdout_console(), verbose=verbose)
    elif fmt == "table":  # the table into a file: as piped, one VM a line, no colour
        buffer = io.StringIO()
        print_advice(advice, Console(file=buffer, width=PIPE_WIDTH, color_system=None,
                                     highlight=False, markup=False), verbose=verbose)
        write_output(buffer.getvalue(), output)
    elif fmt == "json":
        write_output(advice_json(advice), output)
    else:
        write_output(advice_yaml(advice, since), output)
    return EXIT_OK
