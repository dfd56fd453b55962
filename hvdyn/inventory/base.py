"""What every inventory source produces: hosts with merged vars that remember where they were set.

The built-in YAML reader and the `ansible-inventory` bridge both end in a
`RawInventory`; connection semantics and host patterns work on that alone,
so both sources resolve hosts the same way.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hvdyn.core.errors import InventoryError, raise_located

log = logging.getLogger("hvdyn.inventory")

_PASSWORD_RE = re.compile(r"pass|pwd|secret", re.IGNORECASE)
PASSWORD_ENV_VAR = "hvdyn_password_env"  # names a variable; holds no secret
VAULT_KEY = "__ansible_vault"  # how `ansible-inventory --list` shows an inline vault value


def is_password_key(name: str) -> bool:
    """Password-like variable names: ansible_password, ansible_winrm_pass, become_pass, ..."""
    return name != PASSWORD_ENV_VAR and bool(_PASSWORD_RE.search(name))


def has_jinja(value: Any) -> bool:
    """True when a value (or anything inside it) holds a Jinja expression or statement."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, Mapping):
        return any(has_jinja(v) for v in value.values())
    if isinstance(value, list):
        return any(has_jinja(v) for v in value)
    return False


def is_vaulted(value: Any) -> bool:
    return isinstance(value, Mapping) and VAULT_KEY in value


@dataclass(frozen=True, slots=True)
class Where:
    """A place in an inventory source: FILE:LINE:COL and the key path."""

    file: str
    line: int
    col: int
    key: str

    def error(self, message: str, allowed: str | None = None) -> InventoryError:
        return InventoryError(self.file, self.line, self.col, self.key, message, allowed)


@dataclass(frozen=True, slots=True)
class Var:
    """A variable's value, where the value is written and where its name is."""

    value: Any
    where: Where
    name_at: Where


@dataclass(slots=True)
class RawHost:
    """One host of a source: its merged vars (final precedence) and every group it is in."""

    name: str
    vars: dict[str, Var]
    groups: tuple[str, ...]  # direct and ancestor groups, 'all' excluded, sorted
    where: Where  # first definition


@dataclass(slots=True)
class RawInventory:
    """Hosts in inventory order and, per group, its hosts and its descendants' hosts."""

    source: Path
    mode: str  # "builtin" | "ansible"
    hosts: dict[str, RawHost]
    groups: dict[str, tuple[str, ...]]
    warnings: list[str] = field(default_factory=list)
    group_vars: dict[str, dict[str, Var]] = field(default_factory=dict)  # as written, per group


class Problems:
    """Collects located errors so a file reports all of them at once."""

    def __init__(self) -> None:
        self.errors: list[InventoryError] = []
        self._seen: set[tuple[str, int, int, str]] = set()

    def add(self, where: Where, message: str, allowed: str | None = None) -> None:
        key = (where.file, where.line, where.col, message)
        if key not in self._seen:  # a group var is checked once per host that inherits it
            self._seen.add(key)
            self.errors.append(where.error(message, allowed))

    def raise_any(self) -> None:
        raise_located(self.errors)
