"""`hvdyn inventory`: what hvdyn will connect to, host by host, and why.

``--list`` prints the resolution as JSON (a contract: tests compare it with
Ansible's own resolution of the same inventory); without it, a table.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from hvdyn.cli.options import reader_options
from hvdyn.core.errors import EXIT_OK
from hvdyn.inventory import Inventory, load_inventory, selected_names


def host_records(inventory: Inventory, names: list[str]) -> list[dict[str, Any]]:
    """One record per host in the `--list` shape, sorted by name."""
    records = []
    raw = inventory.raw
    for name in sorted(names):
        conn = inventory.connections[name]
        groups = list(raw.hosts[name].groups) if raw else []
        skipped = conn.skipped is not None
        records.append(
            {
                "name": name,
                "groups": groups,
                "transport": None if skipped else conn.transport,
                "address": conn.address,
                "port": None if skipped else conn.port,
                "scheme": None if skipped else conn.scheme,
                "auth": list(conn.auth),
                "user": conn.user,
                "cert_validation": None if skipped else conn.cert_validation,
                "skipped": conn.skipped,
            }
        )
    return records


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)


def table_lines(records: list[dict[str, Any]]) -> list[str]:
    """Aligned columns, one host per line, never wrapped (pipes and terminals alike)."""
    rows = [("host", "transport", "endpoint", "auth", "user", "cert", "groups")]
    for r in records:
        groups = ",".join(r["groups"]) or "-"
        if r["skipped"]:
            rows.append((r["name"], "-", f"skipped: {r['skipped']}", "-", "-", "-", groups))
            continue
        if r["transport"] == "mock":  # simulated: no endpoint, no credentials
            rows.append((r["name"], "mock", r["address"], "-", "-", "-", groups))
            continue
        endpoint = f"{r['scheme']}://{r['address']}:{r['port']}"
        rows.append((r["name"], r["transport"], endpoint, ",".join(r["auth"]) or "-",
                     r["user"] or "(none)", r["cert_validation"], groups))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            for row in rows]


@click.command("inventory")
@click.option("-i", "--inventory", "source", type=click.Path(path_type=Path), required=True,
              help="Inventory: YAML, INI, a directory or a plugin config.")
@reader_options
@click.option("--limit", default=None, metavar="PATTERN", help="Only these hosts (Ansible's "
              "patterns).")
@click.option("--list", "as_list", is_flag=True, help="Print JSON (the `hosts` list).")
def command(source: Path, limit: str | None, as_list: bool) -> int:
    """Show what hvdyn will connect to for each host: transport, endpoint, auth, user.

    Hosts that are not WinRM/PSRP targets (ansible_connection: ssh, ...) are
    listed with the reason they are skipped.
    """
    inventory = load_inventory(source)
    records = host_records(inventory, selected_names(inventory, limit))
    if as_list:
        json.dump({"hosts": records}, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        for line in table_lines(records):
            click.echo(_printable(line))
    return EXIT_OK
