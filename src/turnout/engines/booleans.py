"""Booleans held as integers (MySQL's tinyint(1), SQLite's BOOLEAN): finding the rows whose
value is neither 0 nor 1, which a real boolean elsewhere cannot hold. SQL shared by the
engines that store them so; each quotes names its own way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from turnout.model import Table

Query = Callable[[str], list[tuple[Any, ...]]]


def odd_booleans(query: Query, table: Table, columns: list[str],
                 quote: Callable[[str], str]) -> dict[str, tuple[str, Any]]:
    """For each column holding another value than 0 and 1 somewhere: an example row's key (as
    text) and that value. One scan finds whether there is any, since usually there is none;
    only then is each column asked on its own."""
    if not columns:
        return {}
    key = table.key or table.column_names
    keys = ", ".join(quote(k) for k in key)
    odd = " OR ".join(f"{quote(c)} NOT IN (0, 1)" for c in columns)
    if not query(f"SELECT 1 FROM {quote(table.name)} WHERE {odd} LIMIT 1"):
        return {}
    found = {}
    for column in columns:
        rows = query(f"SELECT {keys}, {quote(column)} FROM {quote(table.name)} "
                     f"WHERE {quote(column)} NOT IN (0, 1) LIMIT 1")
        if rows:
            *at, value = rows[0]
            found[column] = (", ".join(map(str, at)), value)
    return found
