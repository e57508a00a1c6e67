"""Which literals a filter may compare with which columns, so every engine reads it alike.

Engines differ where a literal meets a column of another kind: PostgreSQL
refuses `name = 5` and `flag = 1` outright, MySQL compares them after a
conversion of its own, and turnout (evaluate.py) would read them a third way.
So precheck allows only the pairs every engine agrees on: a number with a
number column, TRUE or FALSE with a boolean one, and a quoted string with
anything but those two (dates, times and text are written as strings).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from turnout.filters.expr import (
    And,
    Between,
    Column,
    Compare,
    Expr,
    In,
    Literal,
    Not,
    Operand,
    Or,
    render_literal,
)
from turnout.types import CanonicalType, Kind

NUMBERS = {Kind.INT16, Kind.INT32, Kind.INT64, Kind.DECIMAL, Kind.FLOAT32, Kind.FLOAT64}


def literal_problems(table: str, expr: Expr, types: dict[str, CanonicalType]) -> list[str]:
    """One line per literal compared with a column of a kind it does not suit."""
    found: list[str] = []
    for column, literal in _pairs(expr):
        ctype = types.get(column)
        if ctype is None:
            continue  # an unknown column is reported on its own
        value = literal.value
        if isinstance(value, bool):
            fits, hint = ctype.kind is Kind.BOOLEAN, "a boolean column"
        elif isinstance(value, int | Decimal):
            fits, hint = ctype.kind in NUMBERS, "a number column"
        else:
            fits, hint = ctype.kind not in NUMBERS | {Kind.BOOLEAN}, "a text or date column"
        if not fits:
            shown = ("TRUE or FALSE" if ctype.kind is Kind.BOOLEAN
                     else "a number" if ctype.kind in NUMBERS else "a quoted string")
            found.append(f"--where {table}=…: {table}.{column} is {ctype}, compared with "
                         f"{render_literal(value)}, which suits {hint}: write {shown} there")
    return found


def _pairs(expr: Expr) -> Iterator[tuple[str, Literal]]:
    """Each (column, literal) that meet in a comparison, IN list or BETWEEN."""
    match expr:
        case Compare(_, left, right):
            yield from _meet(left, [right])
            yield from _meet(right, [left])
        case In(operand, values, _):
            yield from _meet(operand, list(values))
        case Between(operand, low, high, _):
            yield from _meet(operand, [low, high])
            for bound in (low, high):
                yield from _meet(bound, [operand])
        case Not(inner):
            yield from _pairs(inner)
        case And(left, right) | Or(left, right):
            yield from _pairs(left)
            yield from _pairs(right)


def _meet(side: Operand, others: list[Operand]) -> Iterator[tuple[str, Literal]]:
    if isinstance(side, Column):
        yield from ((side.name, o) for o in others if isinstance(o, Literal))
