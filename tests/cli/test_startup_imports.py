"""`hvdyn validate` and `--help` import what they need, not the engine, store or renderer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Runs the CLI in this interpreter and prints the hvdyn/third-party modules it imported.
_PROBE = """
import json, sys
sys.argv = ["hvdyn", *sys.argv[1:]]
from hvdyn.cli.group import main
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _imported(*argv: str, state_dir: Path) -> tuple[int, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env={"HVDYN_STATE_DIR": str(state_dir), "PATH": "/usr/bin:/bin"},
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return int(report["code"] or 0), set(report["modules"])


def _loaded(modules: set[str], *names: str) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in names or m in names)


def test_validate_loads_neither_engine_nor_store_nor_renderer(tmp_path: Path) -> None:
    code, modules = _imported("validate", "examples/lab.yaml", state_dir=tmp_path)
    assert code == 0
    assert "hvdyn.policy.load" in modules and "hvdyn.sim.fixture" in modules  # what it checks
    not_needed = ("hvdyn.run.engine", "hvdyn.run.executor", "hvdyn.history", "hvdyn.run.journal",
                  "hvdyn.powershell.templates", "hvdyn.formats.results", "hvdyn.run.snapshot",
                  "hvdyn.run.rollback")
    assert [m for m in not_needed if m in modules] == []
    assert _loaded(modules, "jinja2", "sqlite3", "rich") == []


def test_help_does_not_load_rich(tmp_path: Path) -> None:
    code, modules = _imported("--help", state_dir=tmp_path)
    assert code == 0
    assert _loaded(modules, "rich", "pydantic", "jinja2") == []


def test_plan_still_loads_what_it_runs(tmp_path: Path) -> None:
    code, modules = _imported("plan", "examples/lab.yaml", "--format", "json",
                              state_dir=tmp_path)
    assert code == 2  # the lab drifts from its policy until applied
    expected = {"hvdyn.run.engine", "hvdyn.history", "hvdyn.powershell.templates",
                "hvdyn.formats.results"}
    assert expected <= modules
    assert not {"hvdyn.run.journal", "hvdyn.run.snapshot", "hvdyn.run.rollback"} & modules
