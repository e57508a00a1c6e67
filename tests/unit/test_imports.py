"""No import circles in src/turnout: flows run one way, stage by stage.

Every import counts, wherever it is written (module level, inside a function, under
`if TYPE_CHECKING:`): a function-local import hides a circle from the interpreter until
that function runs, it does not remove it. Importing `a.b.c` runs the packages `a` and
`a.b` first, so it depends on their `__init__` too (unless the importer sits inside them,
which Python has begun already). The graph is read from the source with `ast`, so
nothing is imported to check it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "turnout"

def module_names() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imported(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """The package's modules that module `name` imports, anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _nearest(alias.name, known)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, package)
            for alias in node.names:
                child = f"{base}.{alias.name}"
                yield from [child] if child in known else _nearest(base, known)


def _absolute(module: str | None, level: int, package: str) -> str:
    """The dotted name a (possibly relative) `from ... import` reads from."""
    if not level:
        return module or ""
    parts = package.split(".")
    base = ".".join(parts[: len(parts) - level + 1])
    return f"{base}.{module}" if module else base


def _nearest(dotted: str, known: set[str]) -> Iterator[str]:
    """The module itself, or the nearest enclosing package of ours (`turnout.x.y` → x's)."""
    while dotted:
        if dotted in known:
            yield dotted
            return
        dotted = dotted.rpartition(".")[0]


def _packages_run(target: str, importer: str, known: set[str]) -> set[str]:
    """The target and the packages above it that importing it runs, leaving out those the
    importer sits in (begun before it) and the top package, whose `__init__` holds no
    imports of its own."""
    found = {target}
    parent = target.rpartition(".")[0]
    while "." in parent:
        if parent in known and not importer.startswith(parent + "."):
            found.add(parent)
        parent = parent.rpartition(".")[0]
    return found


def graph() -> dict[str, set[str]]:
    modules = module_names()
    known = set(modules)
    return {
        name: {m for t in imported(name, path, known) for m in _packages_run(t, name, known)}
        - {name}
        for name, path in modules.items()
    }


def circles(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(frozenset(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def one_cycle(group: frozenset[str], edges: dict[str, set[str]]) -> list[str]:
    """A shortest path around the group from its first module back to itself, to name it."""
    start = min(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(edges[node] & group):
            if nxt == start:
                return [*paths[node], start]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    return sorted(group)


def test_the_graph_sees_the_package() -> None:
    edges = graph()
    assert {"turnout.tasks", "turnout.switchover", "turnout.switchover.back"} <= (
        edges["turnout.api"])
    assert "turnout.migrate.plan" in edges["turnout.migrate.runner"]  # from turnout.x import y


def test_no_import_circles() -> None:
    edges = graph()
    groups = circles(edges)
    assert not groups, "import circles:\n" + "\n".join(
        " -> ".join(one_cycle(g, edges)) for g in groups)


def test_the_packages_above_an_import_count() -> None:
    known = {"turnout", "turnout.a", "turnout.a.b", "turnout.a.c"}
    assert _packages_run("turnout.a.b", "turnout.x", known) == {"turnout.a.b", "turnout.a"}
    assert _packages_run("turnout.a.b", "turnout.a.c", known) == {"turnout.a.b"}


def test_circles_are_found() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(edges) == [frozenset("abc")]
    assert one_cycle(frozenset("abc"), edges) == ["a", "b", "c", "a"]


def test_imports_inside_functions_and_relative_ones_count(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from turnout import api\n    from .b import c\n")
    known = {"turnout.api", "turnout.x.b"}
    assert set(imported("turnout.x.m", module, known)) == {"turnout.api", "turnout.x.b"}
