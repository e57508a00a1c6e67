"""The part of a row filter the source's own SELECT may apply in the full step.

The full step reads the source's rows and keeps those the filter holds for,
in Python (evaluate.py): that check is the truth. Reading only the rows
that could match saves reading and shipping the rest, but only if the SQL
never drops a row the Python check would keep. Engines agree with Python on
some comparisons and not on others: string order and equality follow
collations (case-insensitive, padded, locale-ordered), a float column
compares in binary while Python compares its decimal spelling, a date
literal meets the session's time zone. So the SQL gets a weaker filter:

1. NOTs are pushed down to the comparisons (De Morgan, and `NOT a < 5`
   becomes `a >= 5`), which holds in SQL's three-valued logic too; every
   comparison then counts only positively.
2. A comparison is kept only when SQL judges it exactly as Python does:
   integer and decimal columns against each other and against number
   literals of at most MAX_DIGITS digits (no strings, booleans, floats or
   times), and IS [NOT] NULL of such a column. Any other is replaced by
   TRUE, which only lets more rows through.
3. TRUE inside AND drops out, inside OR makes the OR TRUE.

What is left is implied by the filter: every row the filter keeps, it keeps
too. None when nothing is left (read every row).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from turnout.filters.expr import (
    And,
    Between,
    Column,
    Compare,
    Expr,
    In,
    IsNull,
    Not,
    Operand,
    Or,
)
from turnout.types import Kind

EXACT = frozenset({Kind.INT16, Kind.INT32, Kind.INT64, Kind.DECIMAL})
MAX_DIGITS = 30  # a longer number literal may be read as a double by MySQL
_NEGATED = {"=": "<>", "<>": "=", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}


def pushdown(expr: Expr, kinds: dict[str, Kind]) -> Expr | None:
    """The filter the source may apply before turnout's own check (see the module's
    docstring); `kinds` gives each column's kind. None: read every row."""
    return _relax(_positive(expr, negate=False), kinds)


def _positive(expr: Expr, negate: bool) -> Expr:
    """The same filter with every NOT moved onto a comparison (three-valued logic kept)."""
    match expr:
        case Not(inner):
            return _positive(inner, not negate)
        case And(left, right):
            parts = _positive(left, negate), _positive(right, negate)
            return Or(*parts) if negate else And(*parts)
        case Or(left, right):
            parts = _positive(left, negate), _positive(right, negate)
            return And(*parts) if negate else Or(*parts)
        case Compare(op, left, right):
            return Compare(_NEGATED[op], left, right) if negate else expr
        case In() | Between() | IsNull():
            return replace(expr, negated=expr.negated != negate) if negate else expr
    raise TypeError(expr)


def _relax(expr: Expr, kinds: dict[str, Kind]) -> Expr | None:
    """Comparisons SQL may judge otherwise replaced by TRUE (None), and TRUE folded away."""
    match expr:
        case And(left, right):
            a, b = _relax(left, kinds), _relax(right, kinds)
            return b if a is None else a if b is None else And(a, b)
        case Or(left, right):
            a, b = _relax(left, kinds), _relax(right, kinds)
            return None if a is None or b is None else Or(a, b)
        case Compare(_, left, right):
            operands: tuple[Operand, ...] = (left, right)
        case In(operand, values, _):
            operands = (operand, *values)
        case Between(operand, low, high, _):
            operands = (operand, low, high)
        case IsNull(operand, _):
            operands = (operand,)
        case _:
            raise TypeError(expr)
    return expr if all(_exact(o, kinds) for o in operands) else None


def _exact(operand: Operand, kinds: dict[str, Kind]) -> bool:
    if isinstance(operand, Column):
        return kinds.get(operand.name) in EXACT
    value = operand.value
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return False
    return len(str(abs(value)).replace(".", "")) <= MAX_DIGITS


__all__ = ["EXACT", "pushdown"]
