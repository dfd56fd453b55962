"""What the README and examples promise stays true."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hvdyn.analysis.catalog import audit_table, checks_table
from tests.runner import Hvdyn

from .helpers import REPO

EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))


def _marked_block(doc: Path, marker: str) -> str:
    """The text between `<!-- marker:start -->` and `<!-- marker:end -->` in a document."""
    text = doc.read_text(encoding="utf-8")
    block = re.search(rf"<!-- {marker}:start -->\n(.*?)\n<!-- {marker}:end -->", text, re.S)
    assert block is not None, f"{doc.name} has no {marker} block"
    return block.group(1)


def test_readme_checks_table_is_generated_from_the_rule_declarations() -> None:
    assert _marked_block(REPO / "README.md", "checks-table") == checks_table(), (
        "regenerate it: hvdyn.analysis.catalog.checks_table()"
    )


def test_metrics_doc_finding_table_is_generated_from_the_rule_declarations() -> None:
    assert _marked_block(REPO / "docs" / "metrics.md", "findings-table") == audit_table(), (
        "regenerate it: hvdyn.analysis.catalog.audit_table()"
    )


def test_readme_opens_with_the_two_commands() -> None:
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    commands = [line for line in lines[:6] if line.startswith("python3 -m venv")]
    assert commands[0].endswith("hvdyn apply examples/lab.yaml --allow-restart")
    assert commands[1].endswith("pytest")
    assert commands[1] in (REPO / ".ci" / "run").read_text(encoding="utf-8")


@pytest.mark.parametrize("policy", EXAMPLES, ids=lambda p: p.name)
def test_every_example_validates_and_plans(hvdyn: Hvdyn, policy: Path) -> None:
    assert hvdyn("validate", policy).exit_code == 0
    run = hvdyn("plan", policy, "--format", "json")
    assert run.exit_code in (0, 2), run.stderr
    assert run.json()["summary"]["failed"] == 0


def test_doc_examples_write_to_scratch_paths() -> None:
    """An example's -o/--output/--save-snapshot never lands in the clone (they are run there)."""
    docs = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    relative = []
    for doc in docs:
        for block in re.findall(r"```[a-z]*\n(.*?)```", doc.read_text(encoding="utf-8"), re.S):
            for line in block.splitlines():
                for target in re.findall(r"(?:-o|--output|--save-snapshot)[ =](\S+)", line):
                    if not target.startswith(("/", "$", "~")) and not target.isupper():
                        relative.append(f"{doc.name}: {line.strip()}")
    assert relative == []
