"""Persist simulated hosts in the state dir, so `apply` then `audit` agree.

One JSON file per host under `<state_dir>/sim/`, named by host plus a short
hash of the fixture's absolute path. First use (or a changed fixture file)
loads the fixture; writes go to a temp file and `os.replace`, and a
per-file lock serialises load-run-save when several workers share a host.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from hvdyn.core.errors import LocatedError, StoreError
from hvdyn.core.fileio import read_input
from hvdyn.core.model import HostSpec
from hvdyn.sim.fixture import load_fixture
from hvdyn.sim.state import HostState
from hvdyn.sim.validate import parse_state

try:  # POSIX advisory locks; on Windows the in-process lock is all we have
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

SIM_DIR = "sim"
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def state_path(state_dir: Path, host: str, fixture: str | Path) -> Path:
    """Where the state of `host` simulated from `fixture` lives."""
    absolute = str(Path(fixture).absolute())
    digest = hashlib.sha256(absolute.encode()).hexdigest()[:10]
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", host)[:64] or "host"
    return Path(state_dir) / SIM_DIR / f"{safe}-{digest}.json"


def _fixture_sha(fixture: str | Path) -> str | None:
    try:
        return hashlib.sha256(read_input(fixture)).hexdigest()
    except LocatedError:
        return None


def load_state(state_dir: Path, host: str, fixture: str | Path) -> HostState:
    """Saved state for the host, or fresh state from the fixture.

    The fixture wins when its content changed since the state was saved,
    so editing a fixture takes effect without a manual reset.
    """
    return _load(state_dir, host, fixture)[0]


def _load(state_dir: Path, host: str, fixture: str | Path) -> tuple[HostState, str | None]:
    """The state and the text it was read from (None when built from the fixture)."""
    path = state_path(state_dir, host, fixture)
    if path.exists():
        try:
            text = read_input(path).decode("utf-8")
            state = parse_state(text)
        except (LocatedError, ValueError) as exc:
            reason = exc.message if isinstance(exc, LocatedError) else str(exc)
            raise StoreError(
                f"simulated host state {path} is unusable: {reason} "
                "(`hvdyn sim reset` rebuilds it from the fixture)"
            ) from None
        if state.fixture_sha256 == _fixture_sha(fixture):
            return state, text
    return load_fixture(fixture, default_name=host), None


def _dump(state: HostState) -> str:
    return json.dumps(state.to_json(), ensure_ascii=False, indent=1, sort_keys=True)


def save_state(state_dir: Path, host: str, fixture: str | Path, state: HostState) -> Path:
    """Write the state atomically (temp file in the same dir, then os.replace)."""
    return _write(state_path(state_dir, host, fixture), _dump(state))


def _write(path: Path, text: str) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        # No fsync: os.replace keeps the file whole if hvdyn dies; a simulated host's state
        # need not survive a power cut, and an fsync per script cost more than the script
        # on first contact with many hosts (bench.fanout, cold).
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(Exception):
            os.unlink(tmp)
        raise StoreError(f"cannot write simulated host state {path}: {exc}") from None
    return path


@contextlib.contextmanager
def session(state_dir: Path, host: str, fixture: str | Path) -> Iterator[HostState]:
    """Load, yield for changes, save; one session per host at a time."""
    path = state_path(state_dir, host, fixture)
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(str(path), threading.Lock())
    with lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(str(path) + ".lock", "a") as lock_file:
            if fcntl is not None:
                fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
            state, saved = _load(state_dir, host, fixture)
            # A read-only script (discover, ping) writes nothing, also on first contact:
            # state built from the fixture is built the same way next time (a file
            # written per host cost more than the script on first contact with many).
            # Compared as data: json's C parser is cheap, its indenting encoder is not.
            before = state.to_json() if saved is None else json.loads(saved)
            yield state
            if state.to_json() != before:
                _write(path, _dump(state))


Target = HostSpec | tuple[str, str | Path]


def reset(state_dir: Path, targets: Iterable[Target] | None = None) -> list[Path]:
    """Restore hosts to their fixtures; `None` forgets every simulated host.

    Each target is a mock `HostSpec` or `(host, fixture)`; its fixture is
    loaded (so a broken fixture fails here) and written as the new state.
    Returns the state files written or removed.
    """
    sim_dir = Path(state_dir) / SIM_DIR
    if targets is None:
        removed = sorted(sim_dir.glob("*.json")) if sim_dir.exists() else []
        for path in removed:
            path.unlink()
        return removed
    written: list[Path] = []
    for target in targets:
        if isinstance(target, HostSpec):
            if target.mock_fixture is None:
                continue
            host, fixture = target.name, target.mock_fixture
        else:
            host, fixture = target[0], str(target[1])
        state = load_fixture(fixture, default_name=host)
        written.append(save_state(state_dir, host, fixture, state))
    return written
