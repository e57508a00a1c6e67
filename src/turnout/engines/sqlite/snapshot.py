"""The read view SqliteEngine.snapshot() hands out: key-ordered chunks, a whole-table
stream for tables without a key, and row counts, all inside one read transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from turnout.engines.keyrange import after_key
from turnout.engines.snapshot import SnapshotReader
from turnout.engines.sqlite.dialect import column_list, quote
from turnout.filters.expr import Expr
from turnout.model import Key, Row, Table


class SqliteSnapshot(SnapshotReader):
    """Reads inside the read transaction SqliteEngine.snapshot() opened on `db`."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def read_chunk(self, table: Table, after: Key | None, limit: int) -> list[Row]:
        cols, key = column_list(table.column_names), column_list(table.key)
        where, params = after_key(key, after, "?")
        params.append(limit)
        return self.db.execute(
            f"SELECT {cols} FROM {quote(table.name)} {where} ORDER BY {key} LIMIT ?", params
        ).fetchall()

    def stream(self, table: Table, limit: int, where: Expr | None = None,
               ) -> Iterator[list[Row]]:
        """Every row: SQLite's comparisons follow each value's own type, not the column's,
        so `where` is left to the caller's check."""
        cursor = self.db.execute(
            f"SELECT {column_list(table.column_names)} FROM {quote(table.name)}")
        try:
            while rows := cursor.fetchmany(limit):
                yield rows
        finally:
            cursor.close()

    def count_rows(self, table: Table) -> int:
        return int(self.db.execute(f"SELECT count(*) FROM {quote(table.name)}").fetchone()[0])
