"""Applying a batch to MySQL in bulk: multi-row deletes by key, then multi-row upserts.

`INSERT … ON DUPLICATE KEY UPDATE` matches a row on ANY unique key, so on a
table with a secondary unique index a row taking over another row's unique
value would overwrite that other row. Such tables get `REPLACE` instead,
which removes the conflicting row; since a batch ends on a source commit,
every row so removed is one the batch itself rewrites.
"""

from __future__ import annotations

import hashlib
from typing import Any

from turnout.coalesce import Batch, TableBatch, no_such_row, parents_first
from turnout.engines.mysql.dialect import column_list, quote
from turnout.engines.mysql.values import writer
from turnout.model import Column, Key, Row
from turnout.types import Kind

ROWS_PER_STATEMENT = 1000


def apply_batch(cur: Any, batch: Batch, mariadb: bool = True) -> None:
    """Tables the source truncated are emptied first (foreign keys unchecked, as TRUNCATE
    does). Deletes next, children before parents, with foreign keys checked so the destination's
    own ON DELETE actions run: MySQL does not write cascaded deletes to the binlog, so the
    destination has to repeat them. Upserts then go in unchecked, parents first.

    The setting is sent only where a step needs it changed: a batch of a live stream is
    often a few changes, and each SET is a round trip of its own."""
    ordered = parents_first(list(batch.tables.values()))
    checks = _ForeignKeyChecks(cur)
    for tb in reversed(ordered):
        if tb.truncate:
            checks.set(False)  # a source TRUNCATE runs no ON DELETE action
            cur.execute(f"DELETE FROM {quote(tb.table.name)}")
    for tb in reversed(ordered):
        if tb.deletes:
            checks.set(True)
            delete_keys(cur, tb, list(tb.deletes))
    for tb in ordered:
        if tb.upserts or tb.ops:
            checks.set(False)
        if tb.upserts:
            upsert(cur, tb)
        if tb.ops:  # a table without a key: each change in order
            apply_ops(cur, tb, mariadb)


class _ForeignKeyChecks:
    """The session's foreign_key_checks, sent when it changes. Unknown at first: the caller's
    transaction may have set it either way."""

    def __init__(self, cur: Any) -> None:
        self.cur = cur
        self.on: bool | None = None

    def set(self, on: bool) -> None:
        if self.on is not on:
            self.cur.execute(f"SET foreign_key_checks = {int(on)}")
            self.on = on


def apply_ops(cur: Any, tb: TableBatch, mariadb: bool) -> None:
    """A table without a key: a run of inserts as one multi-row INSERT, an update or delete
    on one row (`LIMIT 1`) whose every column matches the old row, NULL-safe (`<=>`)."""
    table = tb.table
    adapt = writer(table)
    tests, doubled = zip(*(_match(c, mariadb) for c in table.columns), strict=True)
    where = " AND ".join(tests)
    cols = column_list(table.column_names)
    marks = "(" + ", ".join(["%s"] * len(table.columns)) + ")"
    insert = f"INSERT INTO {quote(table.name)} ({cols}) VALUES {marks}"
    sets = ", ".join(f"{quote(c)} = %s" for c in table.column_names)
    update = f"UPDATE {quote(table.name)} SET {sets} WHERE {where} LIMIT 1"
    delete = f"DELETE FROM {quote(table.name)} WHERE {where} LIMIT 1"
    found = f"SELECT 1 FROM {quote(table.name)} WHERE {where} LIMIT 1"
    inserts: list[Row] = []
    for before, after in tb.ops:
        if before is None and after is not None:
            inserts.append(adapt(after))
            continue
        if inserts:
            cur.executemany(insert, inserts)
            inserts = []
        assert before is not None
        old = [p for v, twice in zip(adapt(before), doubled, strict=True)
               for p in ((v, v) if twice else (v,))]
        if after is None:
            done = cur.execute(delete, old)
        else:  # an update to the same values changes no row: it is found all the same
            done = cur.execute(update, [*adapt(after), *old]) or cur.execute(found, old)
        if done != 1:
            raise no_such_row(table, before, after is not None)
    if inserts:
        cur.executemany(insert, inserts)


def _match(column: Column, mariadb: bool) -> tuple[str, bool]:
    """The NULL-safe test of one column against the old value, and whether it takes the
    value twice. Strings compare by code point and length: the column's collation may
    call 'a', 'A' and 'a ' equal, and LIMIT 1 would then pick another row. MySQL's JSON
    compares with a document, not with the text (MariaDB's JSON is text)."""
    name = quote(column.name)
    kind = column.type.kind
    if kind in (Kind.TEXT, Kind.VARCHAR, Kind.ENUM) or (kind is Kind.JSON and mariadb):
        return (f"({name} <=> %s COLLATE utf8mb4_bin AND "
                f"CHAR_LENGTH({name}) <=> CHAR_LENGTH(%s))", True)
    if kind is Kind.CHAR:  # MySQL drops a CHAR's trailing spaces anyway
        return f"{name} <=> %s COLLATE utf8mb4_bin", False
    if kind is Kind.JSON:
        return f"{name} <=> CAST(%s AS JSON)", False
    return f"{name} <=> %s", False


def delete_keys(cur: Any, tb: TableBatch, keys: list[Key]) -> None:
    table = tb.table
    adapt = writer(table)  # key values need the same conversion as row values
    key_at = table.key_positions()
    width = len(table.key)
    one = "(" + ", ".join(["%s"] * width) + ")"
    for start in range(0, len(keys), ROWS_PER_STATEMENT):
        part = keys[start:start + ROWS_PER_STATEMENT]
        params = [v for key in part for v in _adapt_key(adapt, key, key_at, len(table.columns))]
        cur.execute(
            f"DELETE FROM {quote(table.name)} WHERE ({column_list(table.key)}) IN "
            f"({', '.join([one] * len(part))})", params)


def _adapt_key(adapt: Any, key: Key, key_at: tuple[int, ...], width: int) -> tuple[Any, ...]:
    row: list[Any] = [None] * width
    for i, value in zip(key_at, key, strict=True):
        row[i] = value
    converted = adapt(tuple(row))
    return tuple(converted[i] for i in key_at)


def upsert(cur: Any, tb: TableBatch) -> None:
    table = tb.table
    adapt = writer(table)
    rows = [adapt(r) for r in tb.upserts.values()]
    cols = column_list(table.column_names)
    marks = "(" + ", ".join(["%s"] * len(table.columns)) + ")"
    if any(index.unique for index in table.indexes):
        sql = f"REPLACE INTO {quote(table.name)} ({cols}) VALUES {marks}"
    else:
        others = [c for c in table.column_names if c not in table.key] or list(table.key)
        update = ", ".join(f"{quote(c)} = VALUES({quote(c)})" for c in others)
        sql = (f"INSERT INTO {quote(table.name)} ({cols}) VALUES {marks} "
               f"ON DUPLICATE KEY UPDATE {update}")
    cur.executemany(sql, rows)  # PyMySQL sends these as multi-row statements


def digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:8]
