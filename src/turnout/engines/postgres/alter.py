"""Alterations (turnout.alter) as PostgreSQL statements, each made only when the catalog
shows it is not made yet: a DDL read again after a crash runs nothing twice.

PostgreSQL's DDL is transactional, so a statement that fails leaves nothing half done.
"""

from __future__ import annotations

from typing import Any

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
from turnout.engines.postgres.dialect import (
    column_ddl,
    column_list,
    default_sql,
    qualified,
    quote,
    type_name,
)
from turnout.errors import Unsupported
from turnout.model import Column, Table
from turnout.types import Kind

ALTERATIONS = frozenset({"AddColumn", "DropColumn", "RenameColumn", "WidenColumn",
                         "CreateIndex", "DropIndex", "DropTable"})


def statement(schema: str, table: Table, alteration: Alteration) -> str:
    """The statement that makes `alteration` on `table` (as it stands before it)."""
    target = qualified(schema, table.name)
    same = table.origin == "postgresql"
    if isinstance(alteration, AddColumn):
        column = alteration.column
        if column.type.kind is Kind.ENUM and not same:
            raise Unsupported(f"a new enum column {column.name} needs its type created first")
        return f"ALTER TABLE {target} ADD COLUMN IF NOT EXISTS {column_ddl(column, same)}"
    if isinstance(alteration, DropColumn):
        return f"ALTER TABLE {target} DROP COLUMN IF EXISTS {quote(alteration.name)}"
    if isinstance(alteration, RenameColumn):
        return (f"ALTER TABLE {target} RENAME COLUMN {quote(alteration.old)} "
                f"TO {quote(alteration.new)}")
    if isinstance(alteration, WidenColumn):
        return f"ALTER TABLE {target} " + ", ".join(_widen_actions(alteration.column, same))
    if isinstance(alteration, CreateIndex):
        index = alteration.index
        unique = "UNIQUE " if index.unique else ""
        return (f"CREATE {unique}INDEX IF NOT EXISTS {quote(index.name)} ON {target} "
                f"({column_list(index.columns)})")
    if isinstance(alteration, DropIndex):
        return f"DROP INDEX IF EXISTS {qualified(schema, alteration.name)}"
    if isinstance(alteration, DropTable):
        return f"DROP TABLE IF EXISTS {target}"
    raise Unsupported(f"PostgreSQL does not make {alteration} by itself")


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
        columns = _columns(conn, schema, table.name)
        return alteration.old not in columns and alteration.new in columns
    return False


def _columns(conn: Any, schema: str, name: str) -> set[str]:
    rows = conn.execute(
        "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = %s::regclass "
        "AND a.attnum > 0 AND NOT a.attisdropped", (qualified(schema, name),)).fetchall()
    return {r[0] for r in rows}
