"""Opening a store: concurrent creation, private modes, and an emptied file."""

from __future__ import annotations

import logging
import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from hvdyn.core.errors import StoreError
from hvdyn.history import open_store, store_path
from hvdyn.history.schema import MIGRATIONS


def _open_and_write(state: str, barrier: object, queue: object) -> None:
    try:
        barrier.wait(10)  # type: ignore[attr-defined]
        with open_store(Path(state)) as store:
            run = store.start_run("collect")
            store.finish_run(run, outcome="ok", exit_code=0)
        queue.put("ok")  # type: ignore[attr-defined]
    except Exception as exc:  # report, don't hang the parent
        queue.put(f"{type(exc).__name__}: {exc}")  # type: ignore[attr-defined]


@pytest.mark.parametrize("round_", range(3))
def test_commands_creating_one_store_at_once_all_succeed(tmp_path: Path, round_: int) -> None:
    ctx = multiprocessing.get_context("spawn" if round_ == 0 else "fork")
    workers = 6
    barrier = ctx.Barrier(workers)
    queue = ctx.Queue()
    state = tmp_path / "state"
    procs = [ctx.Process(target=_open_and_write, args=(str(state), barrier, queue))
             for _ in range(workers)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(10)
    assert results == ["ok"] * workers
    with open_store(state) as store:
        assert store.schema_version == len(MIGRATIONS)
        assert len(store.runs()) == workers
    assert sorted(os.listdir(state)) in (["hvdyn.sqlite3"],
                                         ["hvdyn.sqlite3", "hvdyn.sqlite3-shm",
                                          "hvdyn.sqlite3-wal"])


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_state_dir_is_private(tmp_path: Path) -> None:
    state = tmp_path / "a" / "state"
    old = os.umask(0o022)
    try:
        with open_store(state) as store:
            store.start_run("audit")
            assert _mode(state) == 0o700
            for name in os.listdir(state):
                assert _mode(state / name) == 0o600, name
    finally:
        os.umask(old)


def test_loose_modes_are_tightened_once_with_a_warning(tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    state = tmp_path / "state"
    open_store(state).close()
    os.chmod(state, 0o755)
    os.chmod(store_path(state), 0o644)
    with caplog.at_level(logging.WARNING, logger="hvdyn.history"):
        open_store(state).close()
        open_store(state).close()
    assert _mode(state) == 0o700 and _mode(store_path(state)) == 0o600
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "755 -> 700" in warnings[0] and "644 -> 600" in warnings[0]


def test_shared_sticky_dir_is_left_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    open_store(shared).close()
    assert _mode(shared) == 0o1777
    assert _mode(store_path(shared)) == 0o600


def test_empty_store_file_is_refused_not_reinitialised(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with open_store(state) as store:
        store.start_run("collect")
    path = store_path(state)
    for companion in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        companion.unlink(missing_ok=True)
    path.write_bytes(b"")
    with pytest.raises(StoreError, match=r"empty file .0 bytes.*move the file aside"):
        open_store(state)
    assert path.stat().st_size == 0  # untouched
    path.unlink()  # the user's way of asking for a new store
    with open_store(state) as store:
        assert store.runs() == []
