"""The structure docs/architecture.md promises: no import cycle, short modules, one-way layers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.architecture import (
    cycles,
    import_edges,
    layers_from_doc,
    long_modules,
    module_files,
    upward_imports,
)

REPO = Path(__file__).resolve().parent.parent
MAX_LINES = 400


@pytest.fixture(scope="module")
def modules() -> dict[str, Path]:
    return module_files(REPO / "hvdyn")


@pytest.fixture(scope="module")
def edges(modules: dict[str, Path]) -> dict[str, set[str]]:
    return import_edges(modules, "hvdyn")


def test_no_import_cycle(edges: dict[str, set[str]]) -> None:
    assert cycles(edges) == []


def test_no_module_over_400_lines(modules: dict[str, Path]) -> None:
    assert long_modules(modules, MAX_LINES) == {}


def test_layers_import_one_way(edges: dict[str, set[str]]) -> None:
    layers = layers_from_doc((REPO / "docs" / "architecture.md").read_text(encoding="utf-8"))
    packages = {m.split(".")[1] for m in edges if m.count(".") >= 1}
    listed = {p.split(".")[1] for p in layers}
    assert packages - {"__main__"} == listed, "every package has a row in docs/architecture.md"
    assert upward_imports(edges, layers) == []


# The checks above must be able to fail: a small tree with every fault.


def _tree(tmp_path: Path, files: dict[str, str]) -> dict[str, Path]:
    for name, text in files.items():
        path = tmp_path / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return module_files(tmp_path / "pkg")


def test_a_function_level_import_cycle_is_found(tmp_path: Path) -> None:
    modules = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from pkg import b\n",
            "b.py": "def late():\n    from pkg.c import x\n",
            "c.py": "import pkg.a\nx = 1\n",
            "d.py": "from pkg.a import b\n",
        },
    )
    assert cycles(import_edges(modules, "pkg")) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_a_package_init_cycle_is_found(tmp_path: Path) -> None:
    modules = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "sub/__init__.py": "from pkg.sub.part import thing\n",
            "sub/part.py": "from pkg.sub import other\nthing = 1\n",
        },
    )
    assert cycles(import_edges(modules, "pkg")) == [["pkg.sub", "pkg.sub.part"]]


def test_relative_imports_count(tmp_path: Path) -> None:
    modules = _tree(
        tmp_path,
        {"__init__.py": "", "a.py": "from . import b\n", "b.py": "from .a import x\n"},
    )
    assert cycles(import_edges(modules, "pkg")) == [["pkg.a", "pkg.b"]]


def test_long_modules_and_upward_imports_are_found(tmp_path: Path) -> None:
    modules = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "low/__init__.py": "",
            "low/x.py": "from pkg.high.y import z\n" + "\n" * 401,
            "high/__init__.py": "",
            "high/y.py": "z = 1\n",
        },
    )
    assert long_modules(modules, MAX_LINES) == {"pkg.low.x": 402}
    doc = "| layer | package | job |\n|---|---|---|\n| 1 | `pkg.low` | a |\n"
    doc += "| 2 | `pkg.high` | b |\n"
    layers = layers_from_doc(doc)
    assert layers == {"pkg.low": 1, "pkg.high": 2}
    assert upward_imports(import_edges(modules, "pkg"), layers) == [
        "pkg.low.x (layer 1) imports pkg.high.y (layer 2)"
    ]
