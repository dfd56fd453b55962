"""export samples: RFC 4180 CSV that survives hostile names, formula cells, constant memory."""

from __future__ import annotations

import csv
import io
import json
import os
import tracemalloc
from pathlib import Path

import pytest

from hvdyn.formats.samples_export import csv_cell, write_samples
from hvdyn.history import open_store
from hvdyn.history.rows import SampleRow
from tests.runner import run_cli

from .conftest import fill

HOSTILE = ["a\rb", "c\nd", "e\r\nf", '=HYPERLINK("http://x")', "+1+2", "-2+3", "@SUM(A1)",
           "\ttab", 'quote"d, comma']


def _export(state: Path, *args: str) -> str:
    """The exported file's exact text (click's runner would fold CRLF on stdout)."""
    target = state / "out.txt"
    result = run_cli("export", "samples", *args, "-o", target, state_dir=state,
                     catch_exceptions=True)
    assert result.exit_code == 0, result.output
    return target.read_bytes().decode("utf-8")


def test_csv_keeps_one_record_per_sample_and_defuses_formulas(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        store.add_collection(samples=[
            SampleRow(host="h", vm_id=f"V{i}", vm_name=name, ts="2026-03-02T00:00:00Z",
                      physical_mb=1024, added_mb=-5)
            for i, name in enumerate(HOSTILE)], balancer=[], host_memory=[])
    text = _export(tmp_path)
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == len(HOSTILE)
    names = sorted(r["vm_name"] for r in rows)
    expected = sorted(n if not n.startswith(("=", "+", "-", "@", "\t", "\r"))
                      else "'" + n for n in HOSTILE)
    assert names == expected
    assert {r["added_mb"] for r in rows} == {"-5"}  # numbers are never altered
    assert text.count("\r\n") == len(HOSTILE) + 1 + 1  # records + header + the quoted name's
    jsonl = [json.loads(line) for line in _export(tmp_path, "--format", "jsonl").splitlines()]
    assert sorted(r["vm_name"] for r in jsonl) == sorted(HOSTILE)  # JSON carries them as is
    assert sorted(r["vm_name"] for r in json.loads(_export(tmp_path, "--format", "json"))) \
        == sorted(HOSTILE)


@pytest.mark.parametrize("value,cell", [("=1", "'=1"), ("ok", "ok"), (None, ""), (True, 1),
                                        (-3, -3), ("", "")])
def test_csv_cell(value: object, cell: object) -> None:
    assert csv_cell(value) == cell


def _peak_kb(state: Path) -> tuple[int, int]:
    with open_store(state) as store:
        out = io.StringIO()
        tracemalloc.start()
        count = write_samples(store.iter_samples(host="h1"), "csv", _Discard())
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    del out
    return count, peak // 1024


class _Discard(io.StringIO):
    def write(self, text: str) -> int:
        return len(text)


def test_export_memory_does_not_grow_with_history(tmp_path: Path) -> None:
    small, large = tmp_path / "small", tmp_path / "large"
    with open_store(small) as store:
        fill(store, "h1", vms=4, steps=500, batch_steps=250, roll_up=False)
    with open_store(large) as store:
        fill(store, "h1", vms=4, steps=5000, batch_steps=1000, roll_up=False)
    n_small, kb_small = _peak_kb(small)
    n_large, kb_large = _peak_kb(large)
    assert (n_small, n_large) == (2000, 20000)
    assert kb_large < kb_small * 2 + 256, (kb_small, kb_large)  # 10x the rows, not 10x memory


def test_export_to_a_fifo_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    open_store(tmp_path / "state").close()
    result = run_cli("export", "samples", "-o", fifo, state_dir=tmp_path / "state",
                     catch_exceptions=True)
    assert result.exit_code == 3 and "not a regular file" in result.output
    assert fifo.is_fifo()
