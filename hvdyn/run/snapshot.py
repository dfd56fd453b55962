"""Snapshots: what discovery saw, saved by `plan --save-snapshot`, read by `render --snapshot`.

A snapshot lets change control render the exact scripts later, on another
machine, with no host contact. Written atomically, read with the same
checks as a live discover stream.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from hvdyn.core.errors import HvdynError, InputError
from hvdyn.core.fileio import read_input, write_atomic
from hvdyn.core.model import HostFacts, HostResult
from hvdyn.run.facts import SNAPSHOT_VERSION, facts_from_json, facts_to_json


def save_snapshot(path: Path, results: Sequence[HostResult]) -> int:
    """Save the facts of every host that was discovered; returns how many."""
    hosts = {r.host: facts_to_json(r.plan.facts) for r in results if r.plan.facts is not None}
    document = {"version": SNAPSHOT_VERSION, "hosts": dict(sorted(hosts.items()))}
    write_atomic(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return len(hosts)


def load_snapshot(path: Path) -> dict[str, HostFacts]:
    try:
        document = json.loads(read_input(path).decode("utf-8", errors="replace"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None
    except RecursionError:
        raise InputError(f"{path}:1:1: nested too deeply for a snapshot") from None
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
