"""Tables created on a SQLite source while a task follows it, which the task's --tables
selects: they get the capture's triggers, and their rows as they are go into the change
log as inserts, in one write transaction, so no row falls between the two and a crash
loses none (the rows are ordinary logged changes from then on).

capture.py calls adopt() before each read once the schema has moved, and hands out a DDL
change for each table adopted, placed before the read's rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from turnout.engines.sqlite.catalog import list_tables, reflect_table
from turnout.engines.sqlite.dialect import literal, quote
from turnout.model import Table


def adopt(db: sqlite3.Connection, known: set[str], selects: Callable[[str], bool],
          trigger_sql: Callable[[Table], list[str]], row_sql: Callable[[Table, str], str],
          log: str, now_sql: str) -> list[Table]:
    """Tables new since `known` that `selects` accepts, captured from now on with their
    present rows logged; each table as it is."""
    if not [n for n in list_tables(db) if n not in known and selects(n)]:
        return []
    adopted = []
    db.execute("BEGIN IMMEDIATE")
    try:
        for name in list_tables(db):  # again, under the write lock
            if name in known or not selects(name):
                continue
            table = reflect_table(db, name)
            for sql in trigger_sql(table):
                db.execute(sql)
            db.execute(f"INSERT INTO {log} (tbl, op, key, ts) SELECT {literal(name)}, "
                       f"'insert', {row_sql(table, 't')}, {now_sql} FROM {quote(name)} t")
            adopted.append(table)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return adopted
