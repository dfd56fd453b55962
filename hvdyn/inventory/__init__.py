"""Inventories -> typed `HostSpec`s and `--limit` selection, resolved as Ansible resolves them.

Two readers produce the same `RawInventory`: the built-in YAML reader
(`reader`) and Ansible itself run as a subprocess (`ansible`). Which one is
used (`--inventory-reader`, `$HVDYN_INVENTORY_READER`):

- ``auto`` (default): the built-in reader for a YAML/JSON file; Ansible for an
  INI file, a directory, a dynamic inventory script or a plugin configuration;
- ``builtin``: never run Ansible; ``ansible``: always (Jinja, vault, ...).

`connection` gives each host's vars the meaning Ansible's winrm/psrp plugins
give them; `patterns` implements Ansible's `--limit` grammar (in Ansible mode
Ansible selects). Credentials never live here: a plain-text password is
refused; a vault-encrypted one (Ansible mode) is kept in memory only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hvdyn.core.errors import InputError, InventoryError
from hvdyn.core.fileio import input_problem, read_input
from hvdyn.core.model import HostSpec
from hvdyn.inventory.ansible import AnsibleOptions, find_ansible_inventory, read_with_ansible
from hvdyn.inventory.ansible import select_with_ansible as _ansible_select
from hvdyn.inventory.base import Problems, RawHost, RawInventory, Where, log
from hvdyn.inventory.connection import (
    Connection,
    check_connection,
    check_vars,
    missing_user,
    resolve,
)
from hvdyn.inventory.patterns import select as select_names
from hvdyn.inventory.reader import SECTIONS as GROUP_KEYS
from hvdyn.inventory.reader import read_yaml_inventory

__all__ = [
    "GROUP_KEYS",
    "AnsibleOptions",
    "Connection",
    "Inventory",
    "ReaderOptions",
    "current_reader_options",
    "find_ansible_inventory",
    "inventory_password",
    "last_loaded",
    "load_inventory",
    "select_hosts",
    "selected_names",
    "use_reader_options",
    "users_missing",
]

READERS = ("auto", "builtin", "ansible")
YAML_SUFFIXES = (".yml", ".yaml", ".json")


@dataclass(frozen=True, slots=True)
class ReaderOptions:
    reader: str = "auto"
    ansible: AnsibleOptions = field(default_factory=AnsibleOptions)


_options = ReaderOptions(reader=os.environ.get("HVDYN_INVENTORY_READER") or "auto")
_passwords: dict[str, str] = {}  # host -> password decrypted by Ansible; memory only
_loaded: list[Inventory] = []  # the inventory loaded last (validate reads it again)


def use_reader_options(options: ReaderOptions) -> None:
    """Set how this process reads inventories (the CLI calls it once per command)."""
    global _options
    if options.reader not in READERS:
        raise InputError(f"unknown inventory reader {options.reader!r} (allowed: auto, builtin, "
                         "ansible)")
    _options = options


def current_reader_options() -> ReaderOptions:
    return _options


def inventory_password(host: str) -> str | None:
    """The password Ansible decrypted for `host` (a vaulted ansible_password), if any."""
    return _passwords.get(host)


@dataclass(frozen=True, slots=True)
class Inventory:
    """Target hosts by name, group membership (sorted), and what was not a target and why."""

    path: Path
    hosts: Mapping[str, HostSpec]
    groups: Mapping[str, tuple[str, ...]]
    skipped: Mapping[str, str] = field(default_factory=dict)
    connections: Mapping[str, Connection] = field(default_factory=dict)
    raw: RawInventory | None = None
    options: ReaderOptions = field(default_factory=ReaderOptions)


def _sniff(path: Path) -> str:
    """What kind of source a path is: yaml, ini, script, dir or plugin."""
    if path.is_dir():
        return "dir"
    head = read_input(path, InventoryError)[:65536].decode("utf-8", "replace")
    if path.suffix.lower() in YAML_SUFFIXES:
        return "plugin" if any(line.startswith("plugin:") for line in head.splitlines()) else "yaml"
    if os.access(path, os.X_OK):
        return "script"
    for line in head.splitlines():
        text = line.strip()
        if not text or text.startswith(("#", ";", "---")):
            continue
        if text.startswith("["):
            return "ini"
        key, colon, _ = text.partition(":")
        return "yaml" if colon and " " not in key and "=" not in key else "ini"
    return "yaml"


_KINDS = {"ini": "an INI inventory", "dir": "an inventory directory",
          "script": "a dynamic inventory script", "plugin": "an inventory plugin configuration"}


def _read(path: Path, options: ReaderOptions) -> tuple[RawInventory, dict[str, str]]:
    kind = _sniff(path)
    use_ansible = options.reader == "ansible" or (options.reader == "auto" and kind != "yaml")
    if not use_ansible:
        if kind != "yaml":
            raise InputError(f"{path}: {_KINDS[kind]} needs Ansible; the built-in reader reads "
                             "YAML inventories only (use --inventory-reader auto or ansible)")
        return read_yaml_inventory(path), {}
    if find_ansible_inventory(options.ansible) is None:
        what = _KINDS.get(kind, "this inventory (--inventory-reader ansible)")
        raise InputError(
            f"{path}: {what} is read with Ansible's ansible-inventory, which is not installed: "
            "pip install ansible-core (or set HVDYN_ANSIBLE_INVENTORY to its path); the built-in "
            "reader reads YAML inventories only"
        )
    return read_with_ansible(path, options.ansible)


def _fixture(path: Path, name: str, conn: Connection, raw: RawInventory,
             problems: Problems) -> str | None:
    host = raw.hosts[name]
    var = host.vars.get("hvdyn_mock_fixture")
    if var is None:
        if conn.transport == "mock":
            problems.add(host.where, "a mock host needs hvdyn_mock_fixture (a fixture file, "
                         "relative to the inventory)")
        return None
    base = path if path.is_dir() else path.parent
    try:
        resolved = (base / str(var.value)).resolve()
    except OSError:  # a name longer than NAME_MAX, a symlink loop
        resolved = Path(os.path.abspath(base / str(var.value)))
    problem = input_problem(resolved) if conn.transport == "mock" else None
    if problem is not None:
        missing = not os.path.lexists(resolved) if len(resolved.name) < 256 else False
        problems.add(var.where, f"fixture file not found: {resolved}" if missing
                     else f"fixture file unusable: {problem}")
    return str(resolved)


def load_inventory(path: Path, options: ReaderOptions | None = None) -> Inventory:
    """Read an inventory source into typed hosts; raise located errors (exit 3)."""
    options = options or _options
    raw, secrets = _read(path, options)
    problems = Problems()
    builtin = raw.mode == "builtin"
    for group, defined in raw.group_vars.items():  # checked where written, hosts or not
        check_vars(RawHost(group, defined, (), Where(str(path), 1, 1, group)), problems,
                   builtin=builtin, group=True)
    hosts: dict[str, HostSpec] = {}
    skipped: dict[str, str] = {}
    connections: dict[str, Connection] = {}
    for name, host in raw.hosts.items():
        usable = check_vars(host, problems, builtin=builtin)
        conn = resolve(name, usable)
        connections[name] = conn
        if conn.skipped:
            skipped[name] = conn.skipped
            continue
        check_connection(name, conn, usable, problems, host.where)
        values = {k: v.value for k, v in usable.items()}
        fixture = _fixture(path, name, conn, raw, problems)
        hosts[name] = HostSpec(
            name=name,
            address=conn.address,
            transport=conn.transport,
            groups=host.groups,
            port=conn.port,
            scheme=conn.scheme,
            user=conn.user,
            auth=conn.auth[0] if conn.auth else "ntlm",
            auth_order=conn.auth,
            password_env=values.get("hvdyn_password_env"),
            mock_fixture=fixture,
            vars=values,
        )
    problems.raise_any()
    _passwords.clear()  # the inventory loaded last is the one this process works on
    _passwords.update(secrets)
    inventory = Inventory(
        path=path,
        hosts={n: hosts[n] for n in sorted(hosts)},
        groups={g: tuple(sorted(m)) for g, m in sorted(raw.groups.items())},
        skipped=skipped,
        connections=connections,
        raw=raw,
        options=options,
    )
    _loaded[:] = [inventory]
    return inventory


def last_loaded(path: Path) -> Inventory | None:
    """The inventory this process loaded last from `path`, without reading it again."""
    return _loaded[0] if _loaded and _loaded[0].path == path else None


def selected_names(inventory: Inventory, limit: str | None) -> list[str]:
    """Every host (targets and skipped) a `--limit` selects, sorted by name."""
    raw = inventory.raw
    everyone = sorted(inventory.connections) or sorted(inventory.hosts)
    if limit is None or not limit.strip() or raw is None:
        return everyone
    if raw.mode == "ansible":
        names = _ansible_select(inventory.path, inventory.options.ansible, limit)
        if not names:
            raise InputError(f"--limit {limit}: selects no hosts")
        return sorted(names)
    return sorted(select_names(list(raw.hosts), raw.groups, limit))


def select_hosts(inventory: Inventory, limit: str | None) -> list[HostSpec]:
    """Target hosts selected by Ansible's `--limit` grammar, sorted by name.

    Hosts that are not WinRM/PSRP targets (``ansible_connection: ssh``, ...)
    are left out with one line each saying so.
    """
    names = selected_names(inventory, limit)
    for name in names:
        if name in inventory.skipped:
            log.warning("%s: skipped: %s", name, inventory.skipped[name])
    chosen = [inventory.hosts[n] for n in names if n in inventory.hosts]
    if not names:
        raise InventoryError(str(inventory.path), 1, 1, "", "no hosts in this inventory")
    if not chosen:  # hosts there are, but none hvdyn can reach
        raise InventoryError(
            str(inventory.path), 1, 1, "",
            "no WinRM/PSRP hosts selected" + (f" by --limit {limit}" if limit else "")
            + f" ({len(names)} skipped: not winrm or psrp)",
        )
    return chosen


def users_missing(inventory: Inventory, names: list[str]) -> list[InventoryError]:
    """Hosts whose auth needs a user name and have none (validate flags them)."""
    raw = inventory.raw
    errors: list[InventoryError] = []
    for name in names:
        conn = inventory.connections.get(name)
        if conn is None or raw is None or not missing_user(conn):
            continue
        errors.append(raw.hosts[name].where.error(
            f"{name}: no user for {conn.auth[0]} authentication", "set ansible_user "
            "(DOMAIN\\user or user@REALM), or use kerberos with a ticket or certificate auth"))
    return errors
