"""The dev bucket judges tickets on its own: nothing under ``devbucket/``
imports ``chalicelib`` (the code it judges), and its modules import one
another without a cycle (each has one job, below the ones that use it).

Read statically with :mod:`ast`, so an import inside a function, or under
``if TYPE_CHECKING:``, counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "devbucket"


def imports(path: Path, package: str) -> set[str]:
    """Every module ``path`` imports, by absolute dotted name (``from . import
    x`` names both the package and ``package.x``, since either may be meant)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def import_graph(folder: Path) -> dict[str, set[str]]:
    """The package in ``folder``: each module and the modules of the package it imports."""
    package = folder.name
    modules = {
        package if path.stem == "__init__" else f"{package}.{path.stem}": path
        for path in folder.glob("*.py")
    }
    return {name: imports(path, package) for name, path in modules.items()}


def chalicelib_imports(graph: dict[str, set[str]]) -> dict[str, list[str]]:
    found = {
        module: sorted(name for name in names if name.split(".")[0] == "chalicelib")
        for module, names in graph.items()
    }
    return {module: names for module, names in found.items() if names}


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle among the package's own modules, if there is one."""
    inside = {module: {name for name in names if name in graph} for module, names in graph.items()}
    try:
        tuple(graphlib.TopologicalSorter(inside).static_order())
    except graphlib.CycleError as error:
        return list(error.args[1])
    return None


def test_the_dev_bucket_imports_nothing_from_chalicelib() -> None:
    graph = import_graph(PACKAGE)
    assert {
        "devbucket",
        "devbucket.server",
        "devbucket.oss",
        "devbucket.s3",
        "devbucket.rest",
        "devbucket.multipart",
        "devbucket.uploads",
    } <= set(graph)
    assert chalicelib_imports(graph) == {}


def test_the_dev_bucket_has_no_import_cycle() -> None:
    assert cycle(import_graph(PACKAGE)) is None


@pytest.fixture
def tangled(tmp_path: Path) -> Path:
    """A package that breaks both rules, each time inside a function."""
    folder = tmp_path / "tangled"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "a.py").write_text("def f():\n    from .b import g\n")
    (folder / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n"
    )
    (folder / "c.py").write_text("def h():\n    import chalicelib.auth\n")
    (folder / "d.py").write_text("def k():\n    from chalicelib import settings\n")
    return folder


def test_the_checks_see_imports_inside_functions_and_type_checking(tangled: Path) -> None:
    graph = import_graph(tangled)
    assert chalicelib_imports(graph) == {
        "tangled.c": ["chalicelib.auth"],
        "tangled.d": ["chalicelib", "chalicelib.settings"],
    }
    assert sorted(set(cycle(graph) or ())) == ["tangled.a", "tangled.b"]
