"""Commands load lazily: the --help listing comes from `COMMANDS`, which must match them."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import click

from hvdyn.cli import commands as commands_package
from hvdyn.cli import group as cli_module


def test_command_table_matches_the_command_modules() -> None:
    modules = {p.stem for p in Path(commands_package.__file__).parent.glob("*.py")}
    assert set(cli_module.COMMANDS) == modules - {"__init__"}
    for name, summary in cli_module.COMMANDS.items():
        module = importlib.import_module(f"hvdyn.cli.commands.{name}")
        real = module.command
        assert isinstance(real, click.Command) and real.name == name
        assert real.callback is not None
        assert real.callback.__module__ == f"hvdyn.cli.commands.{name}"
        assert summary == real.get_short_help_str(limit=1000), name


def test_help_imports_no_command_module() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from hvdyn.cli.group import cli\n"
        "result = CliRunner().invoke(cli, ['--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        "assert 'validate' in result.output and 'rollback' in result.output\n"
        "heavy = ('hvdyn.cli.commands.', 'hvdyn.run.engine', 'pydantic', 'jinja2', 'winrm',"
        " 'requests')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_command_is_found_without_importing_its_module_first() -> None:
    ctx = click.Context(cli_module.cli)
    command = cli_module.cli.get_command(ctx, "validate")
    assert command is not None and command.name == "validate"
    assert cli_module.cli.get_command(ctx, "no-such-command") is None


def test_no_command_module_imports_the_group() -> None:
    """A command defines itself; the group finds it (no `cli` <-> commands tie)."""
    folder = Path(commands_package.__file__).parent
    for path in sorted(folder.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                     for alias in node.names}
        assert not imported & {"hvdyn.cli", "hvdyn.cli.group"}, path.name
