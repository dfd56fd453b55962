"""Read hvdyn's import graph from source: what tests/test_architecture.py checks.

Every `import` and `from ... import` counts, wherever it is written (module
level, inside a function, under `if TYPE_CHECKING:`): a function-level import
still ties the two modules together, it only hides the tie from the reader.
`from hvdyn.pkg import name` is an edge to `hvdyn.pkg.name` when that is a
module, else to the package `hvdyn.pkg` (its `__init__`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from pathlib import Path


def module_files(package_dir: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py under `package_dir`."""
    root = package_dir.parent
    modules: dict[str, Path] = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def import_edges(modules: Mapping[str, Path], top: str) -> dict[str, set[str]]:
    """Module -> the modules of `top` it imports (anywhere in its body)."""
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(node, name, path.name == "__init__.py")
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in modules else base)
            for target in targets:
                if target == top or target.startswith(top + "."):
                    while target not in modules and "." in target:
                        target = target.rsplit(".", 1)[0]  # `import a.b.c` of a name
                    if target != name:
                        edges[name].add(target)
    return edges


def cycles(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected groups of two or more modules (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work: list[tuple[str, Iterable[str]]] = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in edges:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        found.append(sorted(group))
    return found


def long_modules(modules: Mapping[str, Path], limit: int) -> dict[str, int]:
    """Modules with more than `limit` lines, and their length."""
    lengths = {
        name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules.items()
    }
    return {name: n for name, n in sorted(lengths.items()) if n > limit}


LAYER_ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*`([\w.]+)`")


def layers_from_doc(text: str) -> dict[str, int]:
    """The layer table of docs/architecture.md: `| N | `hvdyn.pkg` | job |` -> {pkg: N}."""
    return {m.group(2): int(m.group(1)) for m in map(LAYER_ROW.match, text.splitlines()) if m}


def upward_imports(edges: Mapping[str, Iterable[str]], layers: Mapping[str, int]) -> list[str]:
    """Imports from a lower layer's package into a higher one's (the wrong way)."""

    def layer_of(module: str) -> tuple[str, int] | None:
        for package in sorted(layers, key=len, reverse=True):
            if module == package or module.startswith(package + "."):
                return package, layers[package]
        return None

    wrong = []
    for module, targets in sorted(edges.items()):
        source = layer_of(module)
        for target in sorted(targets):
            dest = layer_of(target)
            if source and dest and source[0] != dest[0] and dest[1] > source[1]:
                wrong.append(f"{module} (layer {source[1]}) imports {target} (layer {dest[1]})")
    return wrong
