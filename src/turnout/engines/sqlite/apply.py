"""Writing replayed changes into SQLite: upserts by key, and the changes of a table without
a key one by one (SqliteEngine.apply runs both inside its transaction)."""

from __future__ import annotations

import sqlite3

from turnout.coalesce import TableBatch, no_such_row
from turnout.engines.sqlite.dialect import column_list, quote
from turnout.engines.sqlite.values import adapt_rows
from turnout.model import Table


def apply_ops(db: sqlite3.Connection, tb: TableBatch) -> None:
    """A table without a key: each change in order, an update or delete acting on one row
    holding exactly the old values (NULL-safe `IS`), found by its rowid. Such a table
    always has one: only a table with a primary key can be WITHOUT ROWID."""
    table, t = tb.table, quote(tb.table.name)
    cols = table.column_names
    rowid = next(n for n in ("rowid", "_rowid_", "oid") if n not in cols)
    one = (f"SELECT {rowid} FROM {t} WHERE "
           f"{' AND '.join(f'{quote(c)} IS ?' for c in cols)} LIMIT 1")
    insert = f"INSERT INTO {t} ({column_list(cols)}) VALUES ({', '.join('?' * len(cols))})"
    delete = f"DELETE FROM {t} WHERE {rowid} = ({one})"
    update = (f"UPDATE {t} SET {', '.join(f'{quote(c)} = ?' for c in cols)} "
              f"WHERE {rowid} = ({one})")
    for before, after in tb.ops:
        if before is None:
            assert after is not None
            row, = adapt_rows(table, [after])
            db.execute(insert, row)
            continue
        old, = adapt_rows(table, [before])
        if after is None:
            done = db.execute(delete, old).rowcount
        else:
            new, = adapt_rows(table, [after])
            done = db.execute(update, (*new, *old)).rowcount
        if done != 1:
            raise no_such_row(table, before, after is not None)


def upsert_sql(table: Table) -> str:
    """An insert that replaces the row of the same key: replaying a change twice is harmless."""
    cols = table.column_names
    others = [c for c in cols if c not in table.key]
    action = (
        "DO UPDATE SET " + ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in others)
        if others
        else "DO NOTHING"
    )
    return (
        f"INSERT INTO {quote(table.name)} ({column_list(cols)}) "
        f"VALUES ({', '.join('?' * len(cols))}) ON CONFLICT ({column_list(table.key)}) {action}"
    )
