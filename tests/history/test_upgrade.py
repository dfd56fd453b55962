"""A store written by the release before this schema (e26611d, version 2) upgrades in place."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from hvdyn.history import Store
from hvdyn.history.schema import MIGRATIONS

LEGACY = Path(__file__).parent / "data" / "store_v2.sqlite3"  # made by make_legacy_store.py


def _old_tables(path: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = sqlite3.connect(path)
    out = {
        "samples": conn.execute(
            "SELECT host, vm_id, vm_name, ts, physical_mb, guest_visible_mb, current_pressure,"
            " average_pressure, minimum_pressure, maximum_pressure, added_mb, removed_mb,"
            " add_ops, remove_ops, extra, ambiguous, run_id FROM samples"
            " ORDER BY host, ts, vm_name, id").fetchall(),
        "balancer": conn.execute("SELECT * FROM balancer_samples ORDER BY id").fetchall(),
        "host_memory": conn.execute("SELECT * FROM host_memory ORDER BY id").fetchall(),
        "journal": conn.execute("SELECT * FROM journal ORDER BY id").fetchall(),
        "runs": conn.execute("SELECT * FROM runs ORDER BY id").fetchall(),
        "audits": conn.execute("SELECT * FROM audits ORDER BY id").fetchall(),
        "guests": conn.execute("SELECT * FROM guests ORDER BY host, vm_id").fetchall(),
        "settings": conn.execute(
            "SELECT host, vm_id, vm_name, ts, maximum_mb FROM vm_settings ORDER BY id").fetchall(),
    }
    conn.close()
    return out


def test_release_store_upgrades_with_nothing_lost(tmp_path: Path) -> None:
    path = tmp_path / "hvdyn.sqlite3"
    shutil.copy(LEGACY, path)
    before = _old_tables(path)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 2
    with Store(path) as store:
        assert store.schema_version == len(MIGRATIONS)
        samples = store.samples()
        got = [(s.host, s.vm_id, s.vm_name, s.ts, s.physical_mb, s.guest_visible_mb,
                s.current_pressure, s.average_pressure, s.minimum_pressure, s.maximum_pressure,
                s.added_mb, s.removed_mb, s.add_ops, s.remove_ops, s.extra, int(s.ambiguous),
                s.run_id) for s in samples]
        assert got == before["samples"]  # every sample, value for value (ambiguous pairs too)
        assert len([s for s in samples if s.vm_name == "dup"]) == 2 * 2 * 30
        assert len(store.balancer_samples()) == len(before["balancer"])
        assert len(store.host_memory()) == len(before["host_memory"])
        assert [r.id for r in store.runs()] == sorted((r[0] for r in before["runs"]),
                                                      reverse=True)
        journal = store.journal(2)
        assert [(j.field, j.before, j.desired, j.after, j.outcome) for j in journal] == [
            ("maximum_mb", 4096, 8192, 8192, "applied")]
        assert len(store.audits(3)) == 1
        assert store.recall_guests("hv-a")["0A000001-0000-4000-8000-000000000001"][0].os_version \
            == "6.1.7601"
        # 30 identical settings rows per VM fold into their changes: 4096 then 8192 from 01:40
        history = store.settings_history("hv-a")
        web = [h for h in history if h.vm_name == "web"]
        assert [(h.start, h.end, h.maximum_mb) for h in web] == [
            ("2026-01-05T00:00:00Z", "2026-01-05T01:40:00Z", 4096),
            ("2026-01-05T01:40:00Z", None, 8192)]
        latest = {s.vm_name: s.maximum_mb for s in store.latest_vm_settings(host="hv-b")}
        assert set(latest.values()) == {8192} and len(latest) == 2
        # the upgraded history rolls up: two closed hours per host (00:00, 01:00)
        assert store.roll_up("hv-a") > 0
        hours = store.rollups("hv-a", 3600)
        web_hours = [r for r in hours if r.vm_name == "web"]
        assert [r.n for r in web_hours] == [12, 12, 6]  # 00:00, 01:00 and the open 02:00
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
