"""The package's shape: algorithms/ knows nothing of suite/; inside suite/ the wings import
downward only (results -> grid -> records -> paper -> errors), every suite import sits at the
top of its module (a function-local import hides a circle), and no name in a package shadows
one of its submodules."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# A module's floor: it may import modules on its own floor or below, never above.
FLOORS = {"suite.errors": 0, "suite._startup": 2, "suite.paper": 1, "suite.records": 2, "suite.grid": 3,
          "suite.results": 4, "suite": 5, "suite.__main__": 5}


def floor(module: str) -> int:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in FLOORS:
            return FLOORS[".".join(parts[:n])]
    raise AssertionError(f"{module} has no floor")


def imports(path: Path) -> list[tuple[str, bool]]:
    """(imported module, at the module's top level) for each import in a source file."""
    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):  # a relative import keeps its dots: ".nets"
            found.append(("." * node.level + (node.module or ""), id(node) in top))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, id(node) in top) for alias in node.names)
    return found


def modules(package: str) -> list[tuple[str, Path]]:
    base = ROOT / package
    return [(".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"), p)
            for p in sorted(base.rglob("*.py"))]


def test_algorithms_import_nothing_from_suite():
    for name, path in modules("algorithms"):
        assert not [m for m, _ in imports(path) if m == "suite" or m.startswith("suite.")], name


@pytest.mark.parametrize("name,path", modules("suite"), ids=lambda x: x if isinstance(x, str) else "")
def test_suite_imports_downward_at_the_top(name, path):
    for imported, at_top in imports(path):
        assert not imported.startswith("."), f"{name}: relative import {imported} (suite/ imports absolutely)"
        if imported != "suite" and not imported.startswith("suite."):
            continue
        assert at_top, f"{name} imports {imported} inside a function"
        if name not in ("suite", "suite.__main__"):
            assert floor(imported) <= floor(name), f"{name} ({floor(name)}) imports {imported} ({floor(imported)})"
            assert imported != "suite", f"{name} imports the package's front door"


def test_no_name_shadows_a_submodule():
    for package in ("suite", "suite.records", "suite.grid", "suite.results", "algorithms"):
        module = importlib.import_module(package)
        for sub in pkgutil.iter_modules(module.__path__):
            value = getattr(module, sub.name, None)
            assert value is None or getattr(value, "__name__", None) == f"{package}.{sub.name}", (
                f"{package}.{sub.name} is a {type(value).__name__}, hiding the submodule of that name")
