"""`hvdyn export samples`: the stored raw counter samples as CSV, JSON or JSON lines."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from hvdyn.cli.options import STATE_DIR_OPTION, output_option, state_dir_of
from hvdyn.core.errors import EXIT_OK, InputError
from hvdyn.formats.samples_export import atomic_text_file, write_samples
from hvdyn.history import open_store, parse_duration
from hvdyn.history.rows import SampleRow, format_ts, parse_ts


@click.group("export")
def command() -> None:
    """Export stored history."""


@command.command("samples")
@STATE_DIR_OPTION
@click.option("--format", "fmt", type=click.Choice(("csv", "json", "jsonl")), default="csv",
              show_default=True, help="csv (RFC 4180, formula cells neutralised), a JSON "
                                      "array, or JSON lines (one object per line).")
@click.option("--host", default=None, help="Only this host.")
@click.option("--since", default=None, metavar="DURATION|TIMESTAMP",
              help="Only samples from this far back from each host's newest sample "
                   "(e.g. 24h), or from an ISO timestamp on.")
@output_option(".csv, .json or .jsonl")
def export_samples(state_dir: Path | None, fmt: str, host: str | None, since: str | None,
                   output: Path | None) -> int:
    """Write the stored raw VM counter samples, one row per VM per sample, streamed
    (constant memory: per host, per counter instance, oldest first)."""
    with open_store(state_dir_of(state_dir)) as store:
        hosts = [host] if host else store.sample_hosts()
        starts = {name: _since(store, name, since) for name in hosts}

        def rows() -> Iterator[SampleRow]:
            for name in hosts:
                yield from store.iter_samples(host=name, since=starts[name])

        if output is None:
            write_samples(rows(), fmt, sys.stdout)
        else:
            with atomic_text_file(output) as handle:
                count = write_samples(rows(), fmt, handle)
            click.echo(f"wrote {count} samples to {output}", err=True)
    return EXIT_OK


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
