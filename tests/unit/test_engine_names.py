"""Nothing outside src/turnout/engines/ asks which engine it has: code that compares a
scheme or an engine's name with a literal (`scheme == "sqlite"`, `origin in ("mysql", …)`,
`url.startswith("sqlite")`) belongs in that engine's package, or reads its capabilities."""

from __future__ import annotations

import ast
from pathlib import Path

from turnout.schemes import ALIASES, ENGINES

SRC = Path(__file__).resolve().parents[2] / "src" / "turnout"
NAMES = {*ENGINES, *ALIASES, "postgres", "mariadb"}


def _named(node: ast.AST) -> bool:
    """Whether `node` is an engine name, or a tuple, list or set holding one."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and node.value.lower() in NAMES
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_named(e) for e in node.elts)
    return False


def engine_tests(tree: ast.AST) -> list[int]:
    """Lines that compare something with an engine's name."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(_named(n) for n in [node.left, *node.comparators]):
            lines.append(node.lineno)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in ("startswith", "endswith") and any(map(_named, node.args))):
            lines.append(node.lineno)
    return lines


def test_the_check_finds_each_form() -> None:
    code = ('a == "sqlite"\n"mysql" != b\nc in ("postgresql", "x")\nd.startswith("sqlite")\n'
            'e == "SQLITE"\nf == "other"\ng = {"mysql": 1}\n')
    assert engine_tests(ast.parse(code)) == [1, 2, 3, 4, 5]


def test_no_module_outside_engines_compares_with_an_engine_name() -> None:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if (SRC / "engines") in path.parents:
            continue
        for line in engine_tests(ast.parse(path.read_text(encoding="utf-8"))):
            found.append(f"{path.relative_to(SRC.parent)}:{line}")
    assert not found, ("engine tests outside engines/ (move them into the engine's package "
                       "or read Engine.capabilities): " + ", ".join(found))
