"""A row filter as SQL, for the engine that reads the source's rows.

Each engine says how it quotes a name and writes a string (its dialect);
the rest is common SQL: every engine reads AND, OR, NOT, IN, BETWEEN and IS
NULL alike, with the same three-valued logic evaluate.py follows.
Parentheses around every part keep precedence out of the question.
"""

from __future__ import annotations

from collections.abc import Callable

from turnout.filters.expr import Column, Expr, Literal, Operand, render


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

    return render(expr, operand)


__all__ = ["Literal", "standard_string", "to_sql"]
