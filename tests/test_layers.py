"""The layers: each product module imports only from its own layer or the ones below it,
and no two top-level packages import each other, directly or around a cycle.

web/ is the HTTP plumbing the blueprints share (JSON in and out): it runs before them in a
request, but they import it, so it sits below them and above everything they call.
extensions.py creates the shared extension objects unbound (``db``, the Redis extension, the
server sessions) from classes in sessions/ and infra/, and models/ and services/ use them: it
sits in the data layer with models/ and sessions/, above infra/. config.py is the settings
layer under everything. Tests, benchmarks and migrations may import anything.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import PROJECT_DIR

LAYERS: list[tuple[str, set[str]]] = [  # top to bottom
    ("entry", {"wsgi", "gunicorn.conf", "granian_server", "serving"}),
    ("app", {"app", "cli"}),
    ("blueprints", {"blueprints"}),
    ("web", {"web"}),
    ("graphql_runtime", {"graphql_runtime"}),
    ("services", {"services"}),
    ("data", {"models", "sessions", "extensions"}),
    ("infra", {"infra"}),
    ("settings", {"config"}),
]
RANK = {unit: rank for rank, (_, units) in enumerate(LAYERS) for unit in units}
LAYER_NAME = {unit: name for name, units in LAYERS for unit in units}
NOT_PRODUCT = {"tests", "bench", "migrations", "explorer", "deploy", "instance"}


def product_files() -> Iterator[Path]:
    """Every Python file of the product, outside tests, benchmarks, migrations and the venv."""
    for top in sorted(PROJECT_DIR.iterdir()):
        if top.name in NOT_PRODUCT or top.name.startswith("."):
            continue
        if top.is_dir():
            yield from sorted(top.rglob("*.py"))
        elif top.suffix == ".py":
            yield top


def unit_of(path: Path) -> str:
    """The top-level module or package a file belongs to (gunicorn.conf.py is gunicorn.conf)."""
    parts = path.relative_to(PROJECT_DIR).parts
    return parts[0] if len(parts) > 1 else path.name.removesuffix(".py")


def imported_units(tree: ast.AST) -> set[str]:
    """The top-level names a module imports, including imports inside functions."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return {name for name in names if name in RANK}


def import_graph() -> dict[Path, set[str]]:
    """For each product file, the product units it imports."""
    return {path: imported_units(ast.parse(path.read_text())) for path in product_files()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """A cycle in a directed graph, as the list of its nodes, or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for target in sorted(edges.get(node, ())):
            cycle = visit(target, [*path, node])
            if cycle:
                return cycle
        done.add(node)
        return None

    for start in sorted(edges):
        cycle = visit(start, [])
        if cycle:
            return cycle
    return None


def test_every_product_module_has_a_layer() -> None:
    unplaced = sorted({unit_of(path) for path in product_files()} - RANK.keys())
    assert unplaced == [], f"place these in LAYERS (tests/test_layers.py): {unplaced}"


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    upward = [
        f"{path.relative_to(PROJECT_DIR)} ({LAYER_NAME[unit_of(path)]}) imports {target}"
        f" ({LAYER_NAME[target]})"
        for path, targets in import_graph().items()
        for target in sorted(targets)
        if RANK[target] < RANK[unit_of(path)]
    ]
    assert not upward, "imports from a layer above:\n" + "\n".join(upward)


def test_packages_do_not_import_each_other_in_a_cycle() -> None:
    edges: dict[str, set[str]] = {}
    for path, targets in import_graph().items():
        edges.setdefault(unit_of(path), set()).update(targets - {unit_of(path)})
    cycle = find_cycle(edges)
    assert cycle is None, "packages import each other: " + " -> ".join(cycle)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import redis\nimport services.accounts", {"services"}),
        ("def f():\n    from extensions import db", {"extensions"}),
        ("from . import sibling\nfrom config import PROJECT_DIR", {"config"}),
    ],
)
def test_imports_are_read_wherever_they_stand(source: str, expected: set[str]) -> None:
    assert imported_units(ast.parse(source)) == expected


def test_a_cycle_is_found_and_named() -> None:
    edges = {"infra": {"extensions"}, "extensions": {"infra", "sessions"}, "sessions": set()}
    assert find_cycle(edges) == ["extensions", "infra", "extensions"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
