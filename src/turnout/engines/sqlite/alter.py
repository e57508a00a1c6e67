"""Alterations (turnout.alter) as SQLite statements, each made only when the schema shows
it is not made yet (SQLite has no ADD/RENAME COLUMN IF NOT EXISTS).

A widening needs no statement here: a column's declared type only picks its affinity,
and int → bigint, varchar(20) → varchar(60) or numeric(8,2) → numeric(14,2) keep the
affinity, so the values stored are the same either way.
"""

from __future__ import annotations

import sqlite3

from turnout.alter import (
    AddColumn,
    Alteration,
    CreateIndex,
    DropColumn,
    DropIndex,
    DropTable,
    RenameColumn,
    WidenColumn,
)
from turnout.engines.sqlite.dialect import column_ddl, column_list, quote
from turnout.errors import Unsupported
from turnout.model import Table

ALTERATIONS = frozenset({"AddColumn", "DropColumn", "RenameColumn", "WidenColumn",
                         "CreateIndex", "DropIndex", "DropTable"})


def statement(table: Table, alteration: Alteration) -> str:
    """The statement that makes `alteration` on `table` (as it stands before it)."""
    target = quote(table.name)
    if isinstance(alteration, AddColumn):
        same = table.origin == "sqlite"
        return f"ALTER TABLE {target} ADD COLUMN {column_ddl(alteration.column, False, same)}"
    if isinstance(alteration, DropColumn):
        return f"ALTER TABLE {target} DROP COLUMN {quote(alteration.name)}"
    if isinstance(alteration, RenameColumn):
        return (f"ALTER TABLE {target} RENAME COLUMN {quote(alteration.old)} "
                f"TO {quote(alteration.new)}")
    if isinstance(alteration, WidenColumn):
        return "-- nothing: SQLite keeps the column's affinity"
    if isinstance(alteration, CreateIndex):
        index = alteration.index
        unique = "UNIQUE " if index.unique else ""
        return (f"CREATE {unique}INDEX IF NOT EXISTS {quote(index.name)} ON {target} "
                f"({column_list(index.columns)})")
    if isinstance(alteration, DropIndex):
        return f"DROP INDEX IF EXISTS {quote(alteration.name)}"
    if isinstance(alteration, DropTable):
        return f"DROP TABLE IF EXISTS {target}"
    raise Unsupported(f"SQLite does not make {alteration} by itself")


def alter(db: sqlite3.Connection, table: Table, alteration: Alteration) -> str | None:
    """Make `alteration` unless the schema shows it made; the statement run, or None."""
    if isinstance(alteration, WidenColumn):
        return None
    if isinstance(alteration, DropTable):
        db.execute(statement(table, alteration))
        return statement(table, alteration)
    columns = {r[1] for r in db.execute(f"PRAGMA table_info({quote(table.name)})")}
    if isinstance(alteration, AddColumn) and alteration.column.name in columns:
        return None
    if isinstance(alteration, DropColumn) and alteration.name not in columns:
        return None
    if isinstance(alteration, RenameColumn) and (alteration.old not in columns
                                                 and alteration.new in columns):
        return None
    sql = statement(table, alteration)
    db.execute(sql)
    return sql
