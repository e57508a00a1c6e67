"""A row filter as SQL, for the engine that reads the source's rows.

Each engine says how it quotes a name and writes a string (its dialect);
the rest is common SQL: every engine reads AND, OR, NOT, IN, BETWEEN and IS
NULL alike, with the same three-valued logic evaluate.py follows.
Parentheses around every part keep precedence out of the question.
"""

from __future__ import annotations

from collections.abc import Callable

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


def standard_string(text: str) -> str:
    """A string literal as standard SQL writes it (PostgreSQL, SQLite)."""
    return "'" + text.replace("'", "''") + "'"


def to_sql(expr: Expr, quote: Callable[[str], str],
           string: Callable[[str], str] = standard_string,
           names: dict[str, str] | None = None) -> str:
    """The filter as a WHERE condition; `names` maps a column to the name it has here."""
    def operand(o: Operand) -> str:
        if isinstance(o, Column):
            return quote((names or {}).get(o.name, o.name))
        value = o.value
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, str):
            return string(value)
        return str(value)

    def walk(e: Expr) -> str:
        match e:
            case Compare(op, left, right):
                return f"{operand(left)} {op} {operand(right)}"
            case In(o, values, negated):
                listed = ", ".join(operand(v) for v in values)
                return f"{operand(o)} {'NOT IN' if negated else 'IN'} ({listed})"
            case Between(o, low, high, negated):
                word = "NOT BETWEEN" if negated else "BETWEEN"
                return f"{operand(o)} {word} {operand(low)} AND {operand(high)}"
            case IsNull(o, negated):
                return f"{operand(o)} IS {'NOT NULL' if negated else 'NULL'}"
            case Not(inner):
                return f"NOT ({walk(inner)})"
            case And(left, right):
                return f"({walk(left)}) AND ({walk(right)})"
            case Or(left, right):
                return f"({walk(left)}) OR ({walk(right)})"
        raise TypeError(e)

    return walk(expr)


__all__ = ["Literal", "standard_string", "to_sql"]
