"""Alterations (turnout.alter) as MySQL/MariaDB statements.

MySQL commits each DDL statement by itself, so the statement and the checkpoint
cannot share a transaction: a DDL read again after a crash must therefore be
harmless, and each statement here runs only when information_schema shows it
is not made yet (MySQL 8 has no ADD/DROP COLUMN IF EXISTS; MariaDB has, but
one rule for both is simpler). A widening runs again unasked: MODIFY to the
definition the column has changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from turnout.alter import (
    Alteration,
    CreateIndex,
    DropIndex,
    DropTable,
    RenameTable,
    WidenColumn,
)
from turnout.engines.alter import ALTERATIONS, Dialect, renamed_already, shown_made
from turnout.engines.alter import statement as written
from turnout.engines.mysql.dialect import column_ddl, quote
from turnout.model import Column, Table
from turnout.types import Kind

__all__ = ["ALTERATIONS", "done", "split", "statement"]

Query = Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]]


def statement(table: Table, alteration: Alteration, same: bool,
              own_types: dict[Kind, str]) -> str:
    """The statement that makes `alteration` on `table` (as it stands before it)."""
    target = quote(table.name)
    keyed = set(table.primary_key) | {c for i in table.indexes for c in i.columns}

    def widen(column: Column) -> str:
        counts = column.autoincrement and table.primary_key[:1] == (column.name,)
        definition = column_ddl(column, same, column.name in keyed, own_types, counter=counts)
        return f"ALTER TABLE {target} MODIFY COLUMN {definition}"

    return written(alteration, Dialect(
        "MySQL", target, quote,
        add_column=lambda column: column_ddl(column, same, False, own_types, counter=False),
        widen=widen,
        drop_index=lambda name: f"DROP INDEX {quote(name)} ON {target}",
        index_guard=False))


def done(query: Query, table: Table, alteration: Alteration) -> bool:
    """Whether information_schema shows the alteration made already."""
    if isinstance(alteration, CreateIndex | DropIndex):
        name = alteration.index.name if isinstance(alteration, CreateIndex) else alteration.name
        there = bool(query("SELECT 1 FROM information_schema.statistics WHERE table_schema = "
                           "DATABASE() AND table_name = %s AND index_name = %s",
                           (table.name, name)))
        return there == isinstance(alteration, CreateIndex)
    if isinstance(alteration, WidenColumn | DropTable):
        return False
    if isinstance(alteration, RenameTable):
        return renamed_already(lambda name: bool(query(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() "
            "AND table_name = %s", (name,))), table.name, alteration)
    columns = {r[0] for r in query(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() "
        "AND table_name = %s", (table.name,))}
    return shown_made(columns, alteration)


def split(sql: str) -> list[str]:
    """Statements of a script, split at semicolons outside quotes (the driver runs one
    statement per call)."""
    out: list[str] = []
    current: list[str] = []
    quote_char = ""
    for ch in sql:
        if quote_char:
            quote_char = "" if ch == quote_char else quote_char
        elif ch in "'\"`":
            quote_char = ch
        elif ch == ";":
            out.append("".join(current))
            current = []
            continue
        current.append(ch)
    out.append("".join(current))
    return [s.strip() for s in out if s.strip()]
