"""Alterations (turnout.alter) as SQL: the shape every SQL engine shares.

Adding, dropping or renaming a column, creating an index and dropping a table read the
same in MySQL, PostgreSQL and SQLite but for a few words; one function writes them all,
and each engine supplies only what its dialect says its own way (`Dialect`): how it
names the table, defines a column, widens one, drops an index, and which statements
may say IF [NOT] EXISTS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from turnout.alter import (
    AddColumn,
    Alteration,
    CreateIndex,
    DropColumn,
    DropIndex,
    DropTable,
    RenameColumn,
    RenameTable,
    WidenColumn,
)
from turnout.errors import Unsupported
from turnout.model import Column

ALTERATIONS = frozenset({"AddColumn", "DropColumn", "RenameColumn", "WidenColumn",
                         "CreateIndex", "DropIndex", "DropTable", "RenameTable"})


@dataclass(frozen=True)
class Dialect:
    """What one engine says its own way, for one table (`target`, already quoted)."""

    engine: str  # names the engine in the error for an alteration it does not make
    target: str
    quote: Callable[[str], str]
    add_column: Callable[[Column], str]  # the definition after ADD COLUMN
    widen: Callable[[Column], str]  # the whole statement
    drop_index: Callable[[str], str]  # the whole statement, given the index's name
    column_guard: bool = False  # ADD COLUMN IF NOT EXISTS, DROP COLUMN IF EXISTS
    index_guard: bool = True  # CREATE INDEX IF NOT EXISTS


def statement(alteration: Alteration, dialect: Dialect) -> str:
    """The statement that makes `alteration` on the dialect's table."""
    target, quote = dialect.target, dialect.quote
    column_guard = " IF NOT EXISTS" if dialect.column_guard else ""
    if isinstance(alteration, AddColumn):
        return (f"ALTER TABLE {target} ADD COLUMN{column_guard} "
                f"{dialect.add_column(alteration.column)}")
    if isinstance(alteration, DropColumn):
        guard = " IF EXISTS" if dialect.column_guard else ""
        return f"ALTER TABLE {target} DROP COLUMN{guard} {quote(alteration.name)}"
    if isinstance(alteration, RenameColumn):
        return (f"ALTER TABLE {target} RENAME COLUMN {quote(alteration.old)} "
                f"TO {quote(alteration.new)}")
    if isinstance(alteration, WidenColumn):
        return dialect.widen(alteration.column)
    if isinstance(alteration, CreateIndex):
        index = alteration.index
        unique = "UNIQUE " if index.unique else ""
        guard = "IF NOT EXISTS " if dialect.index_guard else ""
        return (f"CREATE {unique}INDEX {guard}{quote(index.name)} ON {target} "
                f"({', '.join(quote(c) for c in index.columns)})")
    if isinstance(alteration, DropIndex):
        return dialect.drop_index(alteration.name)
    if isinstance(alteration, DropTable):
        return f"DROP TABLE IF EXISTS {target}"
    if isinstance(alteration, RenameTable):  # the same words in all three dialects
        return f"ALTER TABLE {target} RENAME TO {quote(alteration.new)}"
    raise Unsupported(f"{dialect.engine} does not make {alteration} by itself")


def renamed_already(exists: Callable[[str], bool], old: str, alteration: RenameTable) -> bool:
    """Whether a table rename is made already: the old name gone and the new one there (a
    DDL read again after a crash must not rename twice, nor fail on a name gone)."""
    return not exists(old) and exists(alteration.new)


def shown_made(columns: set[str], alteration: Alteration) -> bool:
    """Whether a table's column names now show a column's add, drop or rename made already
    (a DDL read again after a crash must not run twice where the engine cannot say IF
    [NOT] EXISTS)."""
    if isinstance(alteration, AddColumn):
        return alteration.column.name in columns
    if isinstance(alteration, DropColumn):
        return alteration.name not in columns
    if isinstance(alteration, RenameColumn):
        return alteration.old not in columns and alteration.new in columns
    return False
