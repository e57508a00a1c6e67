"""Alterations (turnout.alter) as PostgreSQL statements, each made only when the catalog
shows it is not made yet: a DDL read again after a crash runs nothing twice.

PostgreSQL's DDL is transactional, so a statement that fails leaves nothing half done.
"""

from __future__ import annotations

from typing import Any

from turnout.alter import Alteration, RenameColumn, RenameTable
from turnout.engines.alter import ALTERATIONS, Dialect, renamed_already, shown_made
from turnout.engines.alter import statement as written
from turnout.engines.postgres.dialect import (
    column_ddl,
    default_sql,
    qualified,
    quote,
    type_name,
)
from turnout.errors import Unsupported
from turnout.model import Column, Table
from turnout.types import Kind

__all__ = ["ALTERATIONS", "alter", "statement"]


def statement(schema: str, table: Table, alteration: Alteration) -> str:
    """The statement that makes `alteration` on `table` (as it stands before it)."""
    target = qualified(schema, table.name)
    same = table.origin == "postgresql"

    def add_column(column: Column) -> str:
        if column.type.kind is Kind.ENUM and not same:
            raise Unsupported(f"a new enum column {column.name} needs its type created first")
        return column_ddl(column, same)

    return written(alteration, Dialect(
        "PostgreSQL", target, quote, add_column=add_column,
        widen=lambda column: f"ALTER TABLE {target} " + ", ".join(_widen_actions(column, same)),
        drop_index=lambda name: f"DROP INDEX IF EXISTS {qualified(schema, name)}",
        column_guard=True))


def _widen_actions(column: Column, same: bool) -> list[str]:
    declared = column.native_type if same and column.native_type else type_name(column.type)
    name = quote(column.name)
    actions = [f"ALTER COLUMN {name} TYPE {declared}"]
    actions.append(f"ALTER COLUMN {name} {'DROP' if column.nullable else 'SET'} NOT NULL")
    if column.autoincrement:
        return actions
    if same and column.default is not None:
        actions.append(f"ALTER COLUMN {name} SET DEFAULT {column.default}")
    elif not same and column.portable_default is not None:
        actions.append(f"ALTER COLUMN {name} SET DEFAULT "
                       f"{default_sql(column.portable_default, column.type)}")
    else:
        actions.append(f"ALTER COLUMN {name} DROP DEFAULT")
    return actions


def alter(conn: Any, schema: str, table: Table, alteration: Alteration) -> str | None:
    """Make `alteration` unless the catalog shows it made; the statement run, or None."""
    if _done(conn, schema, table, alteration):
        return None
    sql = statement(schema, table, alteration)
    with conn.transaction():
        conn.execute(sql)
    return sql


def _done(conn: Any, schema: str, table: Table, alteration: Alteration) -> bool:
    """Whether the destination holds the alteration already. Only a rename needs asking (the
    old name gone and the new one there): the other statements say IF [NOT] EXISTS, and
    altering a column to the type, nullability and default it has changes nothing."""
    if isinstance(alteration, RenameColumn):
        return shown_made(_columns(conn, schema, table.name), alteration)
    if isinstance(alteration, RenameTable):
        return renamed_already(lambda name: conn.execute(
            "SELECT to_regclass(%s)", (qualified(schema, name),)).fetchone()[0] is not None,
            table.name, alteration)
    return False


def _columns(conn: Any, schema: str, name: str) -> set[str]:
    rows = conn.execute(
        "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = %s::regclass "
        "AND a.attnum > 0 AND NOT a.attisdropped", (qualified(schema, name),)).fetchall()
    return {r[0] for r in rows}
