"""hvdyn's docstrings and comments cite documents a reader has (docs/, README), not others."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# "DESIGN §5", "reference §4.1": sections of documents that are not in this repository.
UNSHIPPED = re.compile(r"\b(DESIGN|reference)\s*§", re.IGNORECASE)


def citations(root: Path) -> list[str]:
    """FILE:LINE: text for each citation of an unshipped document under `root`."""
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if UNSHIPPED.search(line):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def test_no_citation_of_an_unshipped_document() -> None:
    assert citations(REPO / "hvdyn") == []


def test_a_citation_is_found(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text('"""Exit codes (DESIGN §5)."""\n# see reference §4.1\nx = 1\n')
    assert [c.split(":")[1] for c in citations(tmp_path)] == ["1", "2"]
