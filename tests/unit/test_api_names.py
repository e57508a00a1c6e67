"""turnout.api loads each name on first use from the module its table names; type checkers
read the imports under TYPE_CHECKING. Both must say the same, and every name must load."""

from __future__ import annotations

import ast
import inspect

from turnout import api


def typed_names() -> dict[str, tuple[str, str]]:
    """{name in api: (module, its name there)} from the imports under TYPE_CHECKING."""
    tree = ast.parse(inspect.getsource(api))
    block = next(node for node in tree.body if isinstance(node, ast.If)
                 and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
    return {alias.asname or alias.name: (node.module or "", alias.name)
            for node in block.body if isinstance(node, ast.ImportFrom)
            for alias in node.names}


def test_the_lazy_table_and_the_typed_imports_agree() -> None:
    assert api._WHERE == typed_names()


def test_every_name_loads_and_unknown_ones_fail() -> None:
    for name in api.__all__:
        assert getattr(api, name) is not None
    assert set(api.__all__) <= set(dir(api))
    try:
        api.no_such_name  # noqa: B018 - the attribute error is the point
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("an unknown name loaded")
