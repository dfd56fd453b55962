"""The built-in reader: an Ansible YAML inventory file, resolved as ansible-core resolves it.

Groups, hosts and vars are read in file order as ansible-core's ``yaml``
inventory plugin does: ``all``/top-level groups, ``hosts``/``vars``/``children``,
ranges and ``host:port`` keys, the implicit ``ungrouped`` group,
``ansible_group_priority``, YAML merge keys, and ``group_vars/``/``host_vars/``
beside the file. Where Ansible only warns (unknown group keys, a top-level key
that is not a group, such as an anchor holder) this reader warns too.

Variable precedence (ansible-core's defaults, lowest first): the ``all``
group's vars, other groups' vars by (depth, ansible_group_priority, name),
``group_vars/all``, ``group_vars/<group>`` in the same order, the host's vars
in the file (a host defined twice: later definitions win key by key), then
``host_vars/<host>``.

Jinja and Ansible Vault need Ansible itself; this reader refuses them where
hvdyn would read them, and `--inventory-reader ansible` reads the same file
through ``ansible-inventory``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hvdyn.core.errors import InputError, InventoryError
from hvdyn.core.yamlpos import KeyPath, YamlDoc, key_str, load_yaml
from hvdyn.inventory.base import Problems, RawHost, RawInventory, Var, Where, log
from hvdyn.inventory.names import RangeError, expand, split_port
from hvdyn.inventory.varsdirs import read_vars, vars_files

SECTIONS = ("vars", "children", "hosts")
PRIORITY_VAR = "ansible_group_priority"


@dataclass(slots=True)
class _Group:
    name: str
    vars: dict[str, Var] = field(default_factory=dict)
    hosts: dict[str, None] = field(default_factory=dict)  # an ordered set
    children: list[str] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    priority: int = 1


class _Reader:
    """Walks the YAML groups in file order, as ansible-core's yaml plugin does."""

    def __init__(self, doc: YamlDoc, problems: Problems) -> None:
        self.doc = doc
        self.problems = problems
        self.warnings: list[str] = []
        self.groups: dict[str, _Group] = {"all": _Group("all"), "ungrouped": _Group("ungrouped")}
        self.host_vars: dict[str, dict[str, Var]] = {}
        self.host_where: dict[str, Where] = {}

    def where(self, path: KeyPath, *, key: bool = False) -> Where:
        pos = self.doc.pos(path, key=key)
        return Where(self.doc.file, pos.line, pos.col, key_str(path))

    def var(self, path: KeyPath, value: Any) -> Var:
        return Var(value, self.where(path), self.where(path, key=True))

    def warn(self, path: KeyPath, message: str) -> None:
        where = self.where(path, key=True)
        self.warnings.append(f"{where.file}:{where.line}:{where.col}: {message}")

    def read(self) -> None:
        data = self.doc.data
        if data is None or data == {}:
            self.problems.add(self.where(()), "the inventory file is empty", "all:")
            return
        if not isinstance(data, dict):
            self.problems.add(self.where(()), "expected a mapping of groups, usually 'all:'", "all")
            return
        if "plugin" in data:
            raise InputError(
                f"{self.doc.file}: an inventory plugin configuration (plugin: {data['plugin']!r}) "
                "needs Ansible: install ansible-core, then use --inventory-reader ansible"
            )
        for name, body in data.items():
            self.group(name, body, (name,))
        self.add_child("all", "ungrouped")
        for group in self.groups.values():
            if group.name != "all" and not group.parents:
                self.add_child("all", group.name)
        for host in self.host_vars:
            if not any(host in g.hosts for g in self.groups.values() if g.name != "all"):
                self.groups["ungrouped"].hosts[host] = None

    def add_child(self, parent: str, child: str) -> None:
        if child not in self.groups[parent].children:
            self.groups[parent].children.append(child)
            self.groups[child].parents.append(parent)

    def group(self, name: str, body: Any, path: KeyPath) -> bool:
        if not isinstance(body, dict | None):
            self.warn(path, f"skipping {name!r}: not a valid group definition (Ansible skips it)")
            return False
        group = self.groups.setdefault(name, _Group(name))
        if body is None:
            return True
        for section in SECTIONS:
            value = body.get(section)
            if isinstance(value, str):
                body[section] = {value: None}
            elif value is not None and not isinstance(value, dict):
                where = self.where((*path, section))
                self.problems.add(where, f"{section} must be a mapping", ", ".join(SECTIONS))
                body[section] = None
        for key, value in body.items():
            sub = (*path, key)
            if not isinstance(value, dict | None):
                self.warn(sub, f"skipping key {key!r} in group {name!r}: not a mapping "
                          "(Ansible skips it)")
                continue
            if value is None:
                continue
            if key not in SECTIONS:
                self.warn(sub, f"unexpected key {key!r} in group {name!r} (Ansible skips it)")
            elif key == "vars":
                for var, var_value in value.items():
                    self.group_var(group, (*sub, var), var_value)
            elif key == "children":
                for child, child_body in value.items():
                    if child == "all":
                        self.problems.add(self.where((*sub, child), key=True),
                                          "'all' cannot be a child group")
                    elif self.group(child, child_body, (*sub, child)):
                        self.add_child(name, child)
            else:
                for host_key, host_body in value.items():
                    self.hosts(group, host_key, host_body, (*sub, host_key))
        return True

    def group_var(self, group: _Group, path: KeyPath, value: Any) -> None:
        if str(path[-1]) != PRIORITY_VAR:
            group.vars[str(path[-1])] = self.var(path, value)
            return
        try:
            group.priority = int(value)
        except (TypeError, ValueError, OverflowError):  # OverflowError: .inf
            self.problems.add(self.where(path), f"not an integer: {value!r}", "e.g. 10")

    def hosts(self, group: _Group, key: str, body: Any, path: KeyPath) -> None:
        if body is not None and not isinstance(body, dict):
            self.problems.add(self.where(path), "host vars must be a mapping of name: value")
            return
        pattern, port = split_port(key)
        try:
            names = expand(pattern)
        except RangeError as exc:
            self.problems.add(self.where(path, key=True), str(exc), "e.g. hv[01:20].corp.example")
            return
        for name in names:
            if name not in self.host_vars:
                self.host_vars[name] = {}
                self.host_where[name] = self.where(path, key=True)
                if port is not None:
                    self.host_vars[name]["ansible_port"] = Var(
                        port, self.where(path, key=True), self.where(path, key=True)
                    )
            group.hosts.setdefault(name, None)
            for var, value in (body or {}).items():
                self.host_vars[name][str(var)] = self.var((*path, var), value)


def _depths(groups: dict[str, _Group], problems: Problems, where: Where) -> dict[str, int]:
    """Longest distance of every group from 'all' (Ansible's depth); a cycle is an error."""
    depth: dict[str, int] = {}
    on_stack: set[str] = set()
    cyclic: set[str] = set()

    def visit(name: str, d: int) -> None:
        if name in on_stack:
            cyclic.add(name)
            return
        if depth.get(name, -1) >= d:
            return
        depth[name] = d
        on_stack.add(name)
        for child in groups[name].children:
            visit(child, d + 1)
        on_stack.discard(name)

    visit("all", 0)
    for name in sorted(cyclic):
        problems.add(where, f"group {name!r} is its own descendant (children cycle)")
    return depth


def _ancestors(groups: dict[str, _Group], name: str) -> set[str]:
    found, todo = {name}, [name]
    while todo:
        for parent in groups[todo.pop()].parents:
            if parent not in found:
                found.add(parent)
                todo.append(parent)
    return found


def _members(groups: dict[str, _Group], name: str, order: dict[str, int]) -> tuple[str, ...]:
    """Hosts of a group and its descendants: own hosts, then children's (Ansible's order)."""
    seen: dict[str, None] = {}
    visited: set[str] = set()
    queue = [name]
    while queue:
        group = groups[queue.pop(0)]
        if group.name in visited:
            continue
        visited.add(group.name)
        for host in group.hosts:
            seen.setdefault(host, None)
        queue.extend(group.children)
    return tuple(sorted(seen, key=order.__getitem__))


def read_yaml_inventory(path: Path) -> RawInventory:
    """Read an Ansible YAML inventory file (and its group_vars/host_vars) into a RawInventory."""
    doc = load_yaml(path, InventoryError, unknown_tags="raw")
    problems = Problems()
    reader = _Reader(doc, problems)
    reader.read()
    problems.raise_any()
    groups = reader.groups
    depth = _depths(groups, problems, Where(doc.file, 1, 1, ""))
    problems.raise_any()
    base = path.parent
    group_files = {g: read_vars(vars_files(base, "group_vars", g)) for g in groups}
    order = {name: i for i, name in enumerate(reader.host_vars)}
    hosts: dict[str, RawHost] = {}
    direct: dict[str, list[str]] = {}
    for group in groups.values():
        for host in group.hosts:
            direct.setdefault(host, []).append(group.name)
    lineage = {g: _ancestors(groups, g) for g in groups}
    for name, own in reader.host_vars.items():
        member_of: set[str] = {"all"}
        for group_name in direct.get(name, []):
            member_of |= lineage[group_name]
        chain = sorted(
            (groups[g] for g in member_of if g != "all"),
            key=lambda g: (depth[g.name], g.priority, g.name),
        )
        merged: dict[str, Var] = dict(groups["all"].vars)
        for group in chain:
            merged.update(group.vars)
        merged.update(group_files["all"])
        for group in chain:
            merged.update(group_files[group.name])
        merged.update(own)
        merged.update(read_vars(vars_files(base, "host_vars", name)))
        hosts[name] = RawHost(
            name=name,
            vars=merged,
            groups=tuple(sorted(g.name for g in chain)),
            where=reader.host_where[name],
        )
    for warning in reader.warnings:
        log.warning("%s", warning)
    return RawInventory(
        source=path,
        mode="builtin",
        hosts=hosts,
        groups={g: _members(groups, g, order) for g in groups},
        warnings=reader.warnings,
        group_vars={g: {**groups[g].vars, **group_files[g]} for g in groups},
    )
