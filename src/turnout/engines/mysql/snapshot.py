"""Reading MySQL for the full step: by key range, and from several connections at once.

Key ranges. split() cuts a table whose key starts with an integer column
evenly over the values that column holds, into as many ranges as the
server's row estimate asks for: two index lookups, where numbering the keys
would read the whole table. A composite key is cut on its first column
only (a bound shorter than the key compares that prefix), so rows sharing
a first value stay in one range. Cuts are estimates: a range holding more
than a chunk is read in several chunks.

Several readers. MySQL hands no snapshot to another connection, so share()
opens one of its own in the worker. MariaDB names the binlog position a
consistent snapshot holds (`binlog_snapshot_file`/`_position`, taken in the
same step as the snapshot), so when a new snapshot holds the very position
of this one, both see exactly the same rows (writes a session kept out of
the binlog aside, which capture would miss anyway). When that cannot be
shown (the source committed in between, or a server that does not say, as
MySQL 8), the worker reads through this reader's own connection instead,
one query at a time, so that the copy stays one moment of the source; loads
still run in parallel. later() skips the check, for a full step whose
changes are replayed afterwards (see SnapshotReader.later).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from turnout.engines.base import KeySpan, SnapshotReader
from turnout.engines.mysql.dialect import column_list, quote
from turnout.engines.mysql.values import query_reader
from turnout.filters.expr import Expr
from turnout.filters.sql import to_sql
from turnout.model import Key, Row, Table
from turnout.types import Kind

MIN_RANGES = 2  # a table expected to fill fewer ranges is not cut at all
Opener = Callable[[], Any]  # a new mysqlclient connection to the same database


@contextmanager
def opened(connect: Opener, zero_dates: str) -> Iterator[MysqlSnapshot]:
    """A reader on a new connection inside a consistent snapshot, for the duration of the
    block. `connect` opens further connections for share() and later()."""
    conn = connect()
    try:
        view = begin(conn)
        yield MysqlSnapshot(conn, zero_dates, connect, view)
        conn.commit()
    finally:
        conn.close()


def begin(conn: Any) -> str | None:
    """Start a read-only consistent snapshot; the binlog position it holds, when the server
    names it (MariaDB with a binlog), else None."""
    with conn.cursor() as cur:
        cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        cur.execute("SHOW SESSION STATUS LIKE 'binlog_snapshot_%'")
        status = {str(name).lower(): str(value) for name, value in cur.fetchall()}
    file = status.get("binlog_snapshot_file")
    return f"{file}:{status.get('binlog_snapshot_position')}" if file else None


class MysqlSnapshot(SnapshotReader):
    """A consistent snapshot on one mysqlclient connection; safe to share between threads
    (a lock passes its connection to one query at a time)."""

    def __init__(self, conn: Any, zero_dates: str, connect: Opener, view: str | None) -> None:
        self.conn, self.zero_dates, self.connect, self.view = conn, zero_dates, connect, view
        self.lock = threading.Lock()
        self._converters: dict[str, Callable[[Row], Row] | None] = {}

    def read_chunk(self, table: Table, after: Key | None, limit: int) -> list[Row]:
        return self.read_range(table, KeySpan(after), limit)

    def read_range(self, table: Table, span: KeySpan, limit: int,
                   where: Expr | None = None) -> list[Row]:
        sql, params = select_span(table, span, limit, where)
        if table.name not in self._converters:
            self._converters[table.name] = query_reader(table, self.zero_dates)
        convert = self._converters[table.name]
        with self.lock, self.conn.cursor() as cur:
            cur.execute(sql, params)
            rows = cur.fetchall()
        return list(rows) if convert is None else [convert(r) for r in rows]

    def stream(self, table: Table, limit: int, where: Expr | None = None,
               ) -> Iterator[list[Row]]:
        """One unbuffered query on this reader's connection, which it holds (and so the
        lock) until the iterator ends or is closed."""
        from MySQLdb.cursors import SSCursor

        if table.name not in self._converters:
            self._converters[table.name] = query_reader(table, self.zero_dates)
        convert = self._converters[table.name]
        with self.lock:
            cur = self.conn.cursor(SSCursor)
            try:
                test = "" if where is None else f" WHERE {condition(where)}"
                cur.execute(f"SELECT {select_list(table)} FROM {quote(table.name)}{test}")
                while rows := cur.fetchmany(limit):
                    yield list(rows) if convert is None else [convert(r) for r in rows]
            finally:
                cur.close()  # reads what is left, so the connection serves the next query

    def count_rows(self, table: Table) -> int:
        with self.lock, self.conn.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {quote(table.name)}")
            return int(cur.fetchone()[0])

    def split(self, table: Table, rows: int) -> list[Key]:
        with self.lock:
            return split(self.conn, table, rows)

    def share(self) -> AbstractContextManager[SnapshotReader]:
        return self._sibling(same_view=True)

    def later(self) -> AbstractContextManager[SnapshotReader]:
        return self._sibling(same_view=False)

    @contextmanager
    def _sibling(self, same_view: bool) -> Iterator[SnapshotReader]:
        """A reader on a connection of its own; for `same_view`, this one when the new
        snapshot cannot be shown to hold exactly what this one holds."""
        with opened(self.connect, self.zero_dates) as other:
            if not same_view or (other.view is not None and other.view == self.view):
                yield other
                return
        yield self  # its own connection closed: it would only sit idle


def select_span(table: Table, span: KeySpan, limit: int,
                where: Expr | None = None) -> tuple[str, list[Any]]:
    """The first `limit` rows of the span in key order, every column, and the parameters;
    of those `where` holds for, when given.

    A bound shorter than the key (split() cuts on the first column) compares
    that many leading key columns. Row-value comparison follows the key's
    collations and column order, as ORDER BY does, so chunks and ranges meet
    without gap or overlap.
    """
    tests: list[str] = []
    params: list[Any] = []
    for op, bound in ((">", span.after), ("<=", span.upto)):
        if bound is not None:
            marks = ", ".join(["%s"] * len(bound))
            tests.append(f"({column_list(table.key[:len(bound)])}) {op} ({marks})")
            params += bound
    if where is not None:
        # in parentheses, so an OR at its top cannot swallow the span; %% since the
        # driver formats the parameters into the statement
        tests.append(f"({condition(where)})".replace("%", "%%"))
    test = f"WHERE {' AND '.join(tests)} " if tests else ""
    sql = (f"SELECT {select_list(table)} FROM {quote(table.name)} {test}"
           f"ORDER BY {column_list(table.key)} LIMIT %s")
    return sql, [*params, int(limit)]


def condition(where: Expr) -> str:
    """A row filter in MySQL's SQL: its quoting, and strings with backslashes doubled."""
    return to_sql(where, quote, lambda text: "'" + text.replace("\\", "\\\\")
                  .replace("'", "''") + "'")


def select_list(table: Table) -> str:
    """Every column; a FLOAT as the double it widens to, since a query prints FLOAT with six
    digits (16777216 reads as 16777200) and the copy would lose the rest."""
    return ", ".join(f"{quote(c.name)} + 0e0" if c.type.kind is Kind.FLOAT32 else quote(c.name)
                     for c in table.columns)


def split(conn: Any, table: Table, rows: int) -> list[Key]:
    """Cuts (one-column keys, inclusive ends) into ranges of about `rows` rows; [] when the
    key does not start with an integer column or the table fills fewer than MIN_RANGES."""
    with conn.cursor() as cur:
        cur.execute("SELECT table_rows FROM information_schema.tables WHERE table_schema = "
                    "DATABASE() AND table_name = %s", (table.name,))
        found = cur.fetchone()
        ranges = int(found[0] or 0) // max(rows, 1) if found else 0
        if ranges < MIN_RANGES:
            return []
        first = quote(table.key[0])
        cur.execute(f"SELECT min({first}), max({first}) FROM {quote(table.name)}")
        lo, hi = cur.fetchone()
    if not isinstance(lo, int) or not isinstance(hi, int):  # not an integer (bit is bytes)
        return []
    cuts = sorted({lo - 1 + (hi - lo + 1) * n // ranges for n in range(1, ranges)})
    return [(cut,) for cut in cuts if lo <= cut < hi]
