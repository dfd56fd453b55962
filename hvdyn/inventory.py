"""Ansible-style YAML inventory -> typed `HostSpec`s; `--limit` selection (DESIGN §4).

Existing Ansible inventories must carry over, so unknown non-hvdyn vars are
kept as they are. Our own vars are checked strictly, and a password in the
file is refused: credentials come from the environment, keyring or a prompt.
Variable precedence follows Ansible: groups by depth (parents first, then by
name), a child group's vars over its parents', host vars over all groups.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hvdyn.errors import InputError, InventoryError, MultipleInputErrors
from hvdyn.fileio import input_problem
from hvdyn.model import HostSpec
from hvdyn.yamlpos import KeyPath, YamlDoc, key_str, load_yaml

TRANSPORTS = ("winrm", "psrp", "mock")
SCHEMES = ("http", "https")
AUTHS = ("ntlm", "kerberos", "credssp", "basic", "certificate")
HVDYN_VARS = (
    "hvdyn_transport",
    "hvdyn_scheme",
    "hvdyn_user",
    "hvdyn_auth",
    "hvdyn_password_env",
    "hvdyn_mock_fixture",
    # read by the real transports (hvdyn/transport/_options.py, docs/transports.md)
    "hvdyn_tls_min",
    "hvdyn_cert_validation",
    "hvdyn_ca_bundle",
    "hvdyn_allow_unencrypted",
    "hvdyn_script_delivery",
    "hvdyn_operation_timeout_s",
    "hvdyn_max_envelope_kb",
    "hvdyn_psrp_recycle_after",
    "hvdyn_cert_pem",
    "hvdyn_cert_key_pem",
    "hvdyn_credssp_disable_tlsv1_2",
)
PASSWORD_VARS = frozenset(
    {
        "ansible_password",
        "ansible_ssh_pass",
        "ansible_winrm_password",
        "ansible_psrp_password",
        "hvdyn_password",
    }
)
GROUP_KEYS = ("hosts", "vars", "children")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CHOICES = {
    "hvdyn_transport": TRANSPORTS,
    "hvdyn_scheme": SCHEMES,
    "ansible_winrm_scheme": SCHEMES,
    "hvdyn_auth": AUTHS,
    "ansible_winrm_transport": AUTHS,
}


@dataclass(frozen=True, slots=True)
class Inventory:
    """Hosts by name and group membership (a group lists hosts of its descendants too)."""

    path: Path
    hosts: Mapping[str, HostSpec]
    groups: Mapping[str, tuple[str, ...]]


@dataclass(slots=True)
class _Group:
    vars: dict[str, KeyPath] = field(default_factory=dict)  # var -> where defined
    hosts: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)


class _Reader:
    """Walks the YAML groups, collecting vars with their positions and all errors."""

    def __init__(self, doc: YamlDoc) -> None:
        self.doc = doc
        self.errors: list[InventoryError] = []
        self.groups: dict[str, _Group] = {}
        self.host_vars: dict[str, dict[str, KeyPath]] = {}
        self.host_path: dict[str, KeyPath] = {}

    def error(
        self, path: KeyPath, message: str, allowed: str | None = None, *, key: bool = False
    ) -> None:
        pos = self.doc.pos(path, key=key)
        self.errors.append(
            InventoryError(self.doc.file, pos.line, pos.col, key_str(path), message, allowed)
        )

    def value(self, path: KeyPath) -> Any:
        data: Any = self.doc.data
        for part in path:
            data = data[part]
        return data

    def read(self) -> None:
        data = self.doc.data
        if not isinstance(data, dict) or not data:
            self.error((), "expected a mapping of groups, usually 'all:'", "all")
            return
        self.groups["all"] = _Group()
        for name in data:
            self.group(name, (name,))
            if name != "all":
                self.groups["all"].children.append(name)

    def group(self, name: str, path: KeyPath) -> None:
        group = self.groups.setdefault(name, _Group())
        body = self.value(path)
        if body is None:
            return
        if not isinstance(body, dict):
            self.error(path, "a group must be a mapping", ", ".join(GROUP_KEYS))
            return
        for key in body:
            if key not in GROUP_KEYS:
                self.error((*path, key), "unknown group key", ", ".join(GROUP_KEYS), key=True)
        for var_path in self.mapping((*path, "vars"), "vars must be a mapping of name: value"):
            if self.check_var(var_path):
                group.vars[str(var_path[-1])] = var_path
        for host_path in self.mapping((*path, "hosts"), "hosts must be a mapping of name: vars"):
            host = str(host_path[-1])
            group.hosts.append(host)
            self.host_path.setdefault(host, host_path)
            own = self.host_vars.setdefault(host, {})
            for var_path in self.mapping(host_path, "host vars must be a mapping"):
                if self.check_var(var_path):
                    own[str(var_path[-1])] = var_path
        for child_path in self.mapping((*path, "children"), "children must be a mapping of groups"):
            child = str(child_path[-1])
            if child == "all":
                self.error(child_path, "'all' cannot be a child group", key=True)
                continue
            group.children.append(child)
            self.group(child, child_path)

    def mapping(self, path: KeyPath, message: str) -> list[KeyPath]:
        """Key paths of the mapping at `path` (absent or null = empty)."""
        body = self.value(path[:-1]).get(path[-1])
        if body is None:
            return []
        if not isinstance(body, dict):
            self.error(path, message)
            return []
        return [(*path, key) for key in body]

    def check_var(self, path: KeyPath) -> bool:
        """Validate one var definition where it is written; False drops it."""
        name, value = str(path[-1]), self.value(path)
        if name in PASSWORD_VARS:
            self.error(
                path,
                "a password does not belong in the inventory; set hvdyn_password_env to the "
                "name of an environment variable that holds it",
                "hvdyn_password_env",
                key=True,
            )
            return False
        if name.startswith("hvdyn_") and name not in HVDYN_VARS:
            self.error(path, f"unknown hvdyn variable {name!r}", ", ".join(HVDYN_VARS), key=True)
            return False
        problem = _var_problem(name, value)
        if problem:
            self.error(path, *problem)
            return False
        return True


def _var_problem(name: str, value: Any) -> tuple[str, str] | None:
    """(message, allowed) when a var hvdyn reads has a bad value."""
    if name in _CHOICES:
        choices = _CHOICES[name]
        if value not in choices:
            return f"unsupported value {value!r}", ", ".join(choices)
    elif name == "ansible_port":
        port = int(value) if isinstance(value, str) and value.isdigit() else value
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            return f"not a TCP port: {value!r}", "1..65535"
    elif name == "hvdyn_password_env":
        if not isinstance(value, str) or not _ENV_NAME_RE.match(value):
            return f"not an environment variable name: {value!r}", "e.g. HVDYN_PASSWORD"
    elif name in ("ansible_host", "ansible_user", "hvdyn_user", "hvdyn_mock_fixture") and (
        not isinstance(value, str) or not value.strip()
    ):
        return f"expected a non-empty string, got {value!r}", "a string"
    return None


def _depths(groups: Mapping[str, _Group]) -> tuple[dict[str, int], list[str]]:
    """Longest distance of every group from 'all' (Ansible's depth); names in a cycle."""
    depth: dict[str, int] = {"all": 0}
    state: dict[str, int] = {}  # 1 = on stack, 2 = done
    cycles: list[str] = []

    def visit(name: str, d: int) -> None:
        if state.get(name) == 1:
            cycles.append(name)
            return
        if depth.get(name, -1) >= d and state.get(name) == 2:
            return
        depth[name] = max(depth.get(name, 0), d)
        state[name] = 1
        for child in groups[name].children:
            visit(child, d + 1)
        state[name] = 2

    visit("all", 0)
    return depth, cycles


def load_inventory(path: Path) -> Inventory:
    """Read an Ansible-style YAML inventory into typed hosts; raise located errors."""
    doc = load_yaml(path, InventoryError, unknown_tags="raw")
    reader = _Reader(doc)
    reader.read()
    groups = reader.groups
    depth, cycles = _depths(groups) if "all" in groups else ({}, [])
    for name in sorted(set(cycles)):
        reader.error((), f"group {name!r} is its own descendant (children cycle)")
    hosts: dict[str, HostSpec] = {}
    members: dict[str, set[str]] = {name: set() for name in groups}
    if not cycles and not reader.errors:
        host_groups = _host_groups(groups)
        for name in sorted(reader.host_vars):
            chain = sorted(host_groups[name], key=lambda g: (depth[g], g))
            for g in chain:
                members[g].add(name)
            merged: dict[str, KeyPath] = {}
            for g in chain:
                merged.update(groups[g].vars)
            merged.update(reader.host_vars[name])
            spec = _host_spec(
                reader, path, name, merged, tuple(sorted(g for g in chain if g != "all"))
            )
            if spec is not None:
                hosts[name] = spec
    errors = sorted(reader.errors, key=lambda e: (e.line, e.col))
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise MultipleInputErrors(list(errors))
    return Inventory(
        path=path,
        hosts=hosts,
        groups={g: tuple(sorted(m)) for g, m in sorted(members.items())},
    )


def _host_groups(groups: Mapping[str, _Group]) -> dict[str, set[str]]:
    """Every host's groups: direct ones plus all their ancestors, 'all' included."""
    parents: dict[str, set[str]] = {name: set() for name in groups}
    for name, group in groups.items():
        for child in group.children:
            parents[child].add(name)
    ancestors: dict[str, set[str]] = {}

    def up(name: str) -> set[str]:
        if name not in ancestors:
            found = {name}
            for parent in parents[name]:
                found |= up(parent)
            ancestors[name] = found
        return ancestors[name]

    out: dict[str, set[str]] = {}
    for name, group in groups.items():
        for host in group.hosts:
            out.setdefault(host, {"all"}).update(up(name))
    return out


def _host_spec(
    reader: _Reader,
    inv_path: Path,
    name: str,
    where: Mapping[str, KeyPath],
    groups: tuple[str, ...],
) -> HostSpec | None:
    values = {var: reader.value(p) for var, p in where.items()}

    def first(*names: str) -> Any:
        return next((values[n] for n in names if n in values), None)

    transport = first("hvdyn_transport")
    if transport is None:
        transport = "psrp" if values.get("ansible_connection") == "psrp" else "winrm"
    port_value = first("ansible_port")
    port = None if port_value is None else int(port_value)
    scheme = first("hvdyn_scheme", "ansible_winrm_scheme") or ("https" if port == 5986 else "http")
    fixture: str | None = None
    if "hvdyn_mock_fixture" in where:
        try:
            resolved = (inv_path.parent / values["hvdyn_mock_fixture"]).resolve()
        except OSError:  # a name longer than NAME_MAX, a symlink loop
            resolved = Path(os.path.abspath(inv_path.parent / values["hvdyn_mock_fixture"]))
        fixture = str(resolved)
        problem = input_problem(resolved) if transport == "mock" else None
        if problem is not None:
            missing = not os.path.lexists(resolved) if len(resolved.name) < 256 else False
            reader.error(where["hvdyn_mock_fixture"], f"fixture file not found: {resolved}"
                         if missing else f"fixture file unusable: {problem}")
            return None
    elif transport == "mock":
        reader.error(
            reader.host_path[name],
            "a mock host needs hvdyn_mock_fixture (a fixture file, relative to the inventory)",
            key=True,
        )
        return None
    return HostSpec(
        name=name,
        address=str(first("ansible_host") or name),
        transport=str(transport),
        groups=groups,
        port=port,
        scheme=str(scheme),
        user=first("hvdyn_user", "ansible_user"),
        auth=str(first("hvdyn_auth", "ansible_winrm_transport") or "ntlm"),
        password_env=first("hvdyn_password_env"),
        mock_fixture=fixture,
        vars=values,
    )


# ---------------------------------------------------------------- --limit


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern), re.IGNORECASE)


def _known(names: list[str], limit: int = 20) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" … and {len(names) - limit} more" if len(names) > limit else "")


def select_hosts(inventory: Inventory, limit: str | None) -> list[HostSpec]:
    """Hosts selected by an Ansible-like `--limit` (comma-separated globs), sorted by name.

    A pattern matches host names and group names (a group brings its hosts).
    ``!pat`` removes, ``&pat`` intersects. Any pattern that matches nothing is
    an error: a typo in an exclusion must not widen a change.
    """
    if limit is None or not limit.strip():
        return [inventory.hosts[n] for n in sorted(inventory.hosts)]
    include: set[str] | None = None
    exclude: set[str] = set()
    intersect: list[set[str]] = []
    unmatched: list[str] = []
    for raw in (p.strip() for p in limit.split(",")):
        if not raw:
            continue
        op, pattern = (raw[0], raw[1:]) if raw[0] in "!&" else ("", raw)
        rx = _glob(pattern)
        found = {h for h in inventory.hosts if rx.match(h)}
        for group, group_hosts in inventory.groups.items():
            if rx.match(group):
                found.update(group_hosts)
        if not found:
            unmatched.append(raw)
        elif op == "!":
            exclude |= found
        elif op == "&":
            intersect.append(found)
        else:
            include = found if include is None else include | found
    if unmatched:
        hosts, groups = _known(sorted(inventory.hosts)), _known(sorted(inventory.groups))
        raise InputError(
            f"--limit {', '.join(unmatched)}: matches no host or group "
            f"(hosts: {hosts}; groups: {groups})"
        )
    selected = set(inventory.hosts) if include is None else include
    for found in intersect:
        selected &= found
    selected -= exclude
    if not selected:
        raise InputError(f"--limit {limit}: selects no hosts")
    return [inventory.hosts[n] for n in sorted(selected)]
