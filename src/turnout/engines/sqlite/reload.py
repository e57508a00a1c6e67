"""A table without a key whose columns changed on a SQLite source: logged afresh.

Such a table's triggers log whole rows, value by value, in the columns the triggers
were made with. After an ADD COLUMN (or a changed type) the triggers still log the old
columns, so the rows logged since lack the new one's values, which nothing else keeps.
So the table is taken whole again, as newtables.py takes a new table: in one write
transaction its triggers are made for the columns it has now, the changes logged for it
that no read handed out yet are passed by (they are all in the table as it is), and a
`truncate` then every present row as an insert are logged. The destination, altered
first (the DDL change), is emptied and filled in the stream's order. A crash before the
DDL is applied does it again: harmless, since the same rows are logged again after the
same place.

A RENAME COLUMN needs none of this: SQLite rewrites the triggers with the new name and
keeps the column in its place, and the values are logged by place. A DROP COLUMN is
refused by SQLite itself while the triggers name the column (docs/ddl.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from turnout.engines.sqlite.catalog import reflect_table
from turnout.engines.sqlite.dialect import literal, quote
from turnout.model import Table

TRUNCATE = "truncate"  # the log's op for "the table is emptied, its rows follow"
SUPERSEDED = "superseded"  # a change logged before the table was logged afresh: passed by


def renamed_only(before: Table, after: Table) -> bool:
    """Whether only names of columns changed, each in its place with its type."""
    return (len(before.columns) == len(after.columns) and before.key == after.key
            and all((a.type, a.nullable, a.default) == (b.type, b.nullable, b.default)
                    for a, b in zip(before.columns, after.columns, strict=True)))


def reload(db: sqlite3.Connection, name: str, after_seq: int, triggers: list[str],
           trigger_sql: Callable[[Table], list[str]], image_sql: Callable[[Table, str], str],
           log: str, now_sql: str) -> Table:
    """Log the table afresh after `after_seq` (module docstring); the table as it is."""
    db.execute("BEGIN IMMEDIATE")
    try:
        table = reflect_table(db, name)  # again, under the write lock
        for trigger in triggers:
            db.execute(f"DROP TRIGGER IF EXISTS {quote(trigger)}")
        for sql in trigger_sql(table):
            db.execute(sql)
        # kept, not deleted: the log has no gaps (capture.py), a read passes them by
        db.execute(f"UPDATE {log} SET op = '{SUPERSEDED}' WHERE tbl = ? AND seq > ?",
                   (name, after_seq))
        db.execute(f"INSERT INTO {log} (tbl, op, key, ts) VALUES ({literal(name)}, "
                   f"'{TRUNCATE}', '[]', {now_sql})")
        db.execute(f"INSERT INTO {log} (tbl, op, key, ts) SELECT {literal(name)}, 'insert', "
                   f"{image_sql(table, 't')}, {now_sql} FROM {quote(name)} t")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return table
