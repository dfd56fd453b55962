"""Golden scripts: every rendered script, byte for byte, for a fixed plan.

A template change shows up here as a reviewable diff of what hosts receive.
When the change is intended, regenerate with

    HVDYN_UPDATE_GOLDEN=1 pytest tests/powershell/test_golden.py

and commit the new files with the template change. That run skips every
case (it compares nothing); run again without the variable to check.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from hvdyn.powershell.templates import SCRIPT_NAMES, render_script

from .helpers import all_params

# `.golden`, not `.ps1`: data to compare against, not source code.
GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
NAMES = ["web01", "O'Brien's VM", "x\u2019; Remove-Item C:\\ -Recurse; \u2018", "$(calc)"]


@pytest.mark.parametrize("review", [False, True], ids=["wire", "review"])
@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_rendered_script_matches_its_golden_file(name: str, review: bool) -> None:
    text = render_script(name, all_params(NAMES)[name], review=review).text
    path = GOLDEN / f"{name}.{'review' if review else 'wire'}.ps1.golden"
    if os.environ.get("HVDYN_UPDATE_GOLDEN"):
        changed = not path.exists() or path.read_bytes() != text.encode("utf-8")
        path.write_bytes(text.encode("utf-8"))
        # A regenerated file proves nothing: skip, so a run that writes never passes.
        done = "rewrote it: review the diff, commit it" if changed else "it already matched"
        pytest.skip(f"HVDYN_UPDATE_GOLDEN: {path.name}: {done}; run without the variable to check")
    want = path.read_bytes().decode("utf-8")
    if text != want:
        diff = "".join(
            difflib.unified_diff(
                want.splitlines(keepends=True),
                text.splitlines(keepends=True),
                fromfile=str(path),
                tofile="rendered",
                n=2,
            )
        )
        pytest.fail(
            f"{name} differs from its golden file (HVDYN_UPDATE_GOLDEN=1 to accept):\n"
            + diff[:6000]
        )
