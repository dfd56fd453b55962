"""The journal's outcome CHECK is built from `JournalOutcome` and is the DDL stores already hold."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest

from hvdyn.core.vocab import JournalOutcome
from hvdyn.history.schema import MIGRATIONS, migrate

LEGACY = Path(__file__).parent / "data" / "store_v2.sqlite3"  # written by an earlier release

# sha256 of each migration's text as released. A migration is never edited (stores that
# ran it hold its DDL and its version number): a new schema is a new entry.
RELEASED = (
    "028eaac40131f445b5d73c73ed8f47a5945953cd2dbe970649fb5d06c600466c",
    "f84306bf5434f361cfe6a51f249c55d71476461b559d7a9e71afce23938c8f3f",
    "7725371fd0474c9e708732e6b82db0b9bb7f34acf9a74d2d9e79c2c7b69adc50",
)


def test_migrations_are_the_released_text() -> None:
    digests = tuple(hashlib.sha256(m.encode("utf-8")).hexdigest() for m in MIGRATIONS)
    assert digests[: len(RELEASED)] == RELEASED


def test_the_check_lists_every_journal_outcome_in_order() -> None:
    assert JournalOutcome.sql_list() == "('sent','applied','failed','pending','conflict','unknown')"
    assert f"CHECK (outcome IN\n        {JournalOutcome.sql_list()})" in MIGRATIONS[0]


def _journal_ddl(conn: sqlite3.Connection) -> str:
    row = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'journal'").fetchone()
    return str(row[0])


def test_a_new_store_holds_the_journal_ddl_of_a_released_store(tmp_path: Path) -> None:
    fresh = sqlite3.connect(tmp_path / "new.sqlite3", isolation_level=None)
    migrate(fresh)
    shutil.copy(LEGACY, tmp_path / "old.sqlite3")  # opening it would leave -wal/-shm files
    legacy = sqlite3.connect(tmp_path / "old.sqlite3")
    assert _journal_ddl(fresh) == _journal_ddl(legacy)


def test_the_check_refuses_a_word_outside_the_vocabulary(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "s.sqlite3", isolation_level=None)
    migrate(conn)
    conn.execute("INSERT INTO runs (id, command, started) VALUES (1, 'apply', 'now')")
    insert = (
        "INSERT INTO journal (run_id, host, vm_id, vm_name, field, before, desired, outcome,"
        " created, updated) VALUES (1, 'h', 'v', 'n', 'buffer', '20', '25', ?, 'now', 'now')"
    )
    for outcome in JournalOutcome:
        conn.execute(insert, (outcome,))
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(insert, ("done",))
