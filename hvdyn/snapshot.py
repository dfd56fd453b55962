"""Snapshots: what discovery saw, saved by `plan --save-snapshot`, read by `render --snapshot`.

A snapshot lets change control render the exact scripts later, on another
machine, with no host contact. Written atomically, read with the same
checks as a live discover stream.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from hvdyn.errors import HvdynError, InputError
from hvdyn.facts import SNAPSHOT_VERSION, facts_from_json, facts_to_json
from hvdyn.model import HostFacts, HostResult


def write_atomic(path: Path, text: str, *, mode: int = 0o644) -> None:
    """Write a file so readers see the old or the new content, never half of it.

    `mode` is set explicitly: the temporary file starts as 0600, and reports
    are read by other accounts (a web server, node_exporter).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_snapshot(path: Path, results: Sequence[HostResult]) -> int:
    """Save the facts of every host that was discovered; returns how many."""
    hosts = {r.host: facts_to_json(r.plan.facts) for r in results if r.plan.facts is not None}
    document = {"version": SNAPSHOT_VERSION, "hosts": dict(sorted(hosts.items()))}
    write_atomic(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return len(hosts)


def load_snapshot(path: Path) -> dict[str, HostFacts]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read snapshot: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None
    if not isinstance(document, dict) or document.get("version") != SNAPSHOT_VERSION:
        raise InputError(f"{path}: not an hvdyn snapshot (version {SNAPSHOT_VERSION})")
    hosts = document.get("hosts")
    if not isinstance(hosts, dict):
        raise InputError(f"{path}: snapshot has no 'hosts' mapping")
    loaded: dict[str, HostFacts] = {}
    for name, data in hosts.items():
        if not isinstance(data, dict):
            raise InputError(f"{path}: host {name!r} is not an object")
        try:
            loaded[name] = facts_from_json(data, host=name, source=f"snapshot {path.name}")
        except HvdynError as exc:
            raise InputError(f"{path}: {exc}") from None
    return loaded
