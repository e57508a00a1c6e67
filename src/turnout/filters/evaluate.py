"""A row filter evaluated in Python, with SQL's meaning, for the incremental step.

SQL's three values: a comparison with NULL is unknown (None here), NOT
unknown is unknown, unknown AND false is false, unknown OR true is true, and
a row is kept only when the whole filter is true. So `a <> 1` keeps neither
a row where a is NULL nor one where it is 1, in the database and here alike.

A literal compared with a column takes the column value's kind, as each
engine casts a literal to the column's type: '2024-01-31' against a date is
a date, 10 against a decimal is a decimal.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from turnout.filters.expr import (
    And,
    Between,
    Column,
    Compare,
    Expr,
    In,
    IsNull,
    Literal,
    Not,
    Operand,
    Or,
)

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "<>": operator.ne, "<": operator.lt,
    "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


def matches(expr: Expr, row: Mapping[str, Any]) -> bool:
    """Whether a row (column name → value) is kept: the filter is true, not false or unknown."""
    return truth(expr, row) is True


def truth(expr: Expr, row: Mapping[str, Any]) -> bool | None:
    """True, False or None (unknown) as SQL would say for this row."""
    match expr:
        case Compare(op, left, right):
            return compare(op, _value(left, row), _value(right, row))
        case In(operand, values, negated):
            value = _value(operand, row)
            found = _any(compare("=", value, v.value) for v in values)
            return _not(found) if negated else found
        case Between(operand, low, high, negated):
            value = _value(operand, row)
            inside = _all((compare(">=", value, _value(low, row)),
                           compare("<=", value, _value(high, row))))
            return _not(inside) if negated else inside
        case IsNull(operand, negated):
            return (_value(operand, row) is not None) if negated else _value(operand, row) is None
        case Not(inner):
            return _not(truth(inner, row))
        case And(left, right):
            return _all((truth(left, row), truth(right, row)))
        case Or(left, right):
            return _any((truth(left, row), truth(right, row)))
    raise TypeError(expr)


def compare(op: str, left: Any, right: Any) -> bool | None:
    """One comparison; None when either side is NULL or the two cannot be compared."""
    if left is None or right is None:
        return None
    left, right = _alike(left, right)
    try:
        return _OPS[op](left, right)
    except TypeError:
        return None


def _value(operand: Operand, row: Mapping[str, Any]) -> Any:
    if isinstance(operand, Column):
        return row.get(operand.name)  # a column a DDL dropped since reads as NULL
    assert isinstance(operand, Literal)
    return operand.value


def _alike(left: Any, right: Any) -> tuple[Any, Any]:
    """Both sides as one kind: the literal's text or number read as the column value's kind."""
    if type(left) is type(right):
        return left, right
    if isinstance(right, str) and not isinstance(left, str):
        return left, _read_as(right, left)
    if isinstance(left, str) and not isinstance(right, str):
        return _read_as(left, right), right
    if isinstance(left, bool) or isinstance(right, bool):  # a boolean column is 0/1 in MySQL
        return int(left), int(right)
    if isinstance(left, int | float | Decimal) and isinstance(right, int | float | Decimal):
        return _decimal(left), _decimal(right)
    return left, right


def _read_as(text: str, like: Any) -> Any:
    """A string literal read as the kind of the value it is compared with."""
    try:
        if isinstance(like, dt.datetime):
            read = dt.datetime.fromisoformat(text)
            if like.tzinfo is not None and read.tzinfo is None:
                read = read.replace(tzinfo=dt.UTC)
            return read
        if isinstance(like, dt.date):
            return dt.date.fromisoformat(text)
        if isinstance(like, dt.time):
            return dt.time.fromisoformat(text)
        if isinstance(like, bool):
            return text.strip().lower() in ("1", "t", "true", "yes", "on")
        if isinstance(like, int | float | Decimal):
            return Decimal(text.strip())
    except (ValueError, InvalidOperation):
        return text
    return text


def _decimal(number: int | float | Decimal) -> Decimal:
    return number if isinstance(number, Decimal) else Decimal(str(number))


def _not(value: bool | None) -> bool | None:
    return None if value is None else not value


def _all(values: Any) -> bool | None:
    return _decided(values, False)


def _any(values: Any) -> bool | None:
    return _decided(values, True)


def _decided(values: Any, decisive: bool) -> bool | None:
    """SQL's AND (decisive False) or OR (decisive True) of three-valued truths: one decisive
    value decides, else any unknown leaves the whole unknown."""
    seen_unknown = False
    for value in values:
        if value is decisive:
            return decisive
        seen_unknown |= value is None
    return None if seen_unknown else not decisive
