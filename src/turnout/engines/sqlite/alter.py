"""Alterations (turnout.alter) as SQLite statements, each made only when the schema shows
it is not made yet (SQLite has no ADD/RENAME COLUMN IF NOT EXISTS).

A widening needs no statement here: a column's declared type only picks its affinity,
and int → bigint, varchar(20) → varchar(60) or numeric(8,2) → numeric(14,2) keep the
affinity, so the values stored are the same either way.
"""

from __future__ import annotations

import sqlite3

from turnout.alter import Alteration, DropTable, RenameTable, WidenColumn
from turnout.engines.alter import ALTERATIONS, Dialect, renamed_already, shown_made
from turnout.engines.alter import statement as written
from turnout.engines.sqlite.dialect import column_ddl, quote
from turnout.model import Table

__all__ = ["ALTERATIONS", "alter", "statement"]


def statement(table: Table, alteration: Alteration) -> str:
    """The statement that makes `alteration` on `table` (as it stands before it)."""
    same = table.origin == "sqlite"
    return written(alteration, Dialect(
        "SQLite", quote(table.name), quote,
        add_column=lambda column: column_ddl(column, False, same),
        widen=lambda column: "-- nothing: SQLite keeps the column's affinity",
        drop_index=lambda name: f"DROP INDEX IF EXISTS {quote(name)}"))


def alter(db: sqlite3.Connection, table: Table, alteration: Alteration) -> str | None:
    """Make `alteration` unless the schema shows it made; the statement run, or None."""
    if isinstance(alteration, WidenColumn):
        return None
    if isinstance(alteration, DropTable):
        db.execute(statement(table, alteration))
        return statement(table, alteration)
    if isinstance(alteration, RenameTable):
        if renamed_already(lambda name: db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                (name,)).fetchone() is not None, table.name, alteration):
            return None
        db.execute(statement(table, alteration))
        return statement(table, alteration)
    columns = {r[1] for r in db.execute(f"PRAGMA table_info({quote(table.name)})")}
    if shown_made(columns, alteration):
        return None
    sql = statement(table, alteration)
    db.execute(sql)
    return sql
