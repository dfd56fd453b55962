"""``group_vars/`` and ``host_vars/`` beside an inventory file, found and ordered as Ansible does.

ansible-core's host_group_vars plugin looks for ``group_vars/NAME`` then
``NAME.yml``, ``NAME.yaml``, ``NAME.json`` and takes the first that exists; a
directory is read whole: its files (no extension or one of those three) and
sub-directories, in sorted order, skipping hidden files and ``~`` backups.
Later files override earlier ones key by key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hvdyn.core.errors import InventoryError
from hvdyn.core.yamlpos import load_yaml
from hvdyn.inventory.base import Var, Where, log

EXTENSIONS = (".yml", ".yaml", ".json")
MAX_FILES = 2_000  # per group or host; a deeper tree is a mistake, not a fleet


def vars_files(base: Path, kind: str, name: str) -> list[Path]:
    """The files holding vars for group or host `name` (kind: group_vars | host_vars)."""
    folder = base / kind
    if not folder.is_dir() or "/" in name or name in (".", ".."):
        return []
    for suffix in ("", *EXTENSIONS):
        candidate = folder / f"{name}{suffix}"
        if candidate.is_dir():
            found: list[Path] = []
            _walk(candidate, found)
            return found
        if candidate.exists():
            return [candidate]
    return []


def _walk(folder: Path, found: list[Path]) -> None:
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or entry.name.endswith("~"):
            continue
        if entry.is_dir() and not entry.suffix:
            _walk(entry, found)
        elif entry.is_file() and (not entry.suffix or entry.suffix in EXTENSIONS):
            found.append(entry)
        if len(found) > MAX_FILES:
            raise InventoryError(str(folder), 1, 1, "", f"more than {MAX_FILES} vars files")


def read_vars(files: list[Path]) -> dict[str, Var]:
    """Vars of the files in order, later files winning; each var remembers FILE:LINE:COL."""
    merged: dict[str, Var] = {}
    for path in files:
        doc = load_yaml(path, InventoryError, unknown_tags="raw")
        data: Any = doc.data
        if data is None:
            continue
        if not isinstance(data, dict):
            raise doc.located(InventoryError, (), "a vars file must be a mapping of name: value")
        if path.suffix not in EXTENSIONS:
            log.debug("reading vars file without extension: %s", path)
        for name, value in data.items():
            at, key_at = doc.pos((name,)), doc.pos((name,), key=True)
            merged[name] = Var(
                value,
                Where(str(path), at.line, at.col, name),
                Where(str(path), key_at.line, key_at.col, name),
            )
    return merged
