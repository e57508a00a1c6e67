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
    AddColumn,
    Alteration,
    CreateIndex,
    DropColumn,
    DropIndex,
    DropTable,
    RenameColumn,
    WidenColumn,
)
from turnout.engines.mysql.dialect import column_ddl, column_list, quote
from turnout.errors import Unsupported
from turnout.model import Table
from turnout.types import Kind

ALTERATIONS = frozenset({"AddColumn", "DropColumn", "RenameColumn", "WidenColumn",
                         "CreateIndex", "DropIndex", "DropTable"})

Query = Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]]


def statement(table: Table, alteration: Alteration, same: bool,
              own_types: dict[Kind, str]) -> str:
    """The statement that makes `alteration` on `table` (as it stands before it)."""
    target = quote(table.name)
    keyed = set(table.primary_key) | {c for i in table.indexes for c in i.columns}
    if isinstance(alteration, AddColumn):
        column = alteration.column
        return (f"ALTER TABLE {target} ADD COLUMN "
                f"{column_ddl(column, same, False, own_types, counter=False)}")
    if isinstance(alteration, DropColumn):
        return f"ALTER TABLE {target} DROP COLUMN {quote(alteration.name)}"
    if isinstance(alteration, RenameColumn):
        return (f"ALTER TABLE {target} RENAME COLUMN {quote(alteration.old)} "
                f"TO {quote(alteration.new)}")
    if isinstance(alteration, WidenColumn):
        column = alteration.column
        counts = column.autoincrement and table.primary_key[:1] == (column.name,)
        definition = column_ddl(column, same, column.name in keyed, own_types, counter=counts)
        return f"ALTER TABLE {target} MODIFY COLUMN {definition}"
    if isinstance(alteration, CreateIndex):
        index = alteration.index
        unique = "UNIQUE " if index.unique else ""
        return (f"CREATE {unique}INDEX {quote(index.name)} ON {target} "
                f"({column_list(index.columns)})")
    if isinstance(alteration, DropIndex):
        return f"DROP INDEX {quote(alteration.name)} ON {target}"
    if isinstance(alteration, DropTable):
        return f"DROP TABLE IF EXISTS {target}"
    raise Unsupported(f"MySQL does not make {alteration} by itself")


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
    columns = {r[0] for r in query(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() "
        "AND table_name = %s", (table.name,))}
    if isinstance(alteration, AddColumn):
        return alteration.column.name in columns
    if isinstance(alteration, DropColumn):
        return alteration.name not in columns
    if isinstance(alteration, RenameColumn):
        return alteration.old not in columns and alteration.new in columns
    return False


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
