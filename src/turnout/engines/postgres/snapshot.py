"""Reading PostgreSQL inside one snapshot: by key range, and from several connections at once.

Key ranges. split() cuts a table where a TABLESAMPLE of its keys says ranges
of about the wanted size end: reading a few percent of the pages costs
milliseconds, where numbering every key costs as much as reading the table.
The cuts are only estimates; a range holding more rows than a chunk is read
in several chunks.

Parallel readers. share() exports the snapshot with pg_export_snapshot()
and hands out readers on connections of their own that import it, so every
worker sees exactly the same rows.

Bounds and keys go into the SQL as literals rather than parameters because
COPY takes none, and the streamed copy (copy.py) reads with the same SQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from turnout.engines.base import KeySpan, SnapshotReader
from turnout.engines.postgres.dialect import column_list, qualified, quote
from turnout.engines.postgres.jsontext import load_json_as_text
from turnout.engines.postgres.values import load_rows_as_text, register
from turnout.filters.expr import Expr
from turnout.filters.sql import to_sql
from turnout.model import Key, Row, Table

SAMPLE_PAGES = (1_000, 20_000)  # pages split() samples, at least and at most
PAGES_PER_RANGE = 50  # sampled pages wanted per range: the cuts land within ~15%
MIN_RANGES = 2  # a table expected to fill fewer ranges is not cut at all

COUNTED_TOGETHER = 100  # tables counted by one query
SIZE_COLUMNS = (  # a table's pages now and rows per page as last analyzed (`c` is pg_class)
    "pg_relation_size(c.oid) / current_setting('block_size')::int, "
    "CASE WHEN c.relpages > 0 AND c.reltuples > 0 THEN c.reltuples / c.relpages END"
)


class PgSnapshot(SnapshotReader):
    """A REPEATABLE READ transaction on its own connection; workers join it through share()."""

    def __init__(self, conn: Any, schema: str, imported: str | None = None) -> None:
        self.conn, self.schema = conn, schema
        self._exported: str | None = None
        # the snapshot capture exported, when this view is that very one (capture.py)
        self.imported = imported

    def read_chunk(self, table: Table, after: Key | None, limit: int) -> list[Row]:
        return self.read_range(table, KeySpan(after), limit)

    def read_range(self, table: Table, span: KeySpan, limit: int,
                   where: Expr | None = None) -> list[Row]:
        sql = select_span(self.conn, self.schema, table, span, limit, where)
        cur = self.conn.cursor()
        load_rows_as_text(cur)
        rows: list[Row] = cur.execute(sql).fetchall()
        return rows

    def stream(self, table: Table, limit: int, where: Expr | None = None,
               ) -> Iterator[list[Row]]:
        """A server-side cursor inside the snapshot's transaction, fetched `limit` rows at a
        time; closed when the iterator is."""
        cursor = quote("_turnout_stream")
        test = "" if where is None else f" WHERE {to_sql(where, quote)}"
        self.conn.execute(
            f"DECLARE {cursor} NO SCROLL CURSOR FOR SELECT {column_list(table.column_names)} "
            f"FROM {qualified(self.schema, table.name)}{test}")
        try:
            while rows := self.conn.execute(f"FETCH {int(limit)} FROM {cursor}").fetchall():
                yield rows
        finally:
            self.conn.execute(f"CLOSE {cursor}")

    def count_rows(self, table: Table) -> int:
        sql = f"SELECT count(*) FROM {qualified(self.schema, table.name)}"
        return int(self.conn.execute(sql).fetchone()[0])

    def split(self, table: Table, rows: int) -> list[Key]:
        return split(self.conn, self.schema, table, rows)

    def count_all(self, tables: list[Table]) -> list[int]:
        """Up to COUNTED_TOGETHER tables per query: a thousand small tables cost a round
        trip each otherwise."""
        counts: list[int] = []
        for start in range(0, len(tables), COUNTED_TOGETHER):
            part = tables[start:start + COUNTED_TOGETHER]
            sql = ", ".join(f"(SELECT count(*) FROM {qualified(self.schema, t.name)})"
                            for t in part)
            counts += [int(n) for n in self.conn.execute(f"SELECT {sql}").fetchone()]
        return counts

    def split_all(self, tables: list[Table], rows: int) -> list[list[Key]]:
        """Every table's size in one query, then a sample only of those worth cutting."""
        sizes = self.conn.execute(
            f"SELECT {SIZE_COLUMNS} FROM unnest(%s::regclass[]) WITH ORDINALITY AS t(oid, n) "
            "JOIN pg_class c ON c.oid = t.oid ORDER BY t.n",
            ([qualified(self.schema, t.name) for t in tables],),
        ).fetchall()
        return [_cuts(self.conn, self.schema, table, rows, pages, density)
                for table, (pages, density) in zip(tables, sizes, strict=True)]

    def share(self) -> AbstractContextManager[SnapshotReader]:
        """Export this snapshot now (once); the worker connects when it enters the block."""
        if self._exported is None:
            self._exported = export(self.conn)
        return self._joined(conninfo(self.conn), self._exported)

    @contextmanager
    def _joined(self, dsn: str, snapshot: str) -> Iterator[SnapshotReader]:
        with join(dsn, snapshot) as conn:
            yield PgSnapshot(conn, self.schema, self.imported)


def literal(conn: Any, value: Any) -> str:
    """A value as an SQL literal for this connection (COPY takes no parameters)."""
    from psycopg import sql

    return sql.Literal(value).as_string(conn)


def span_where(conn: Any, key: tuple[str, ...], span: KeySpan) -> str:
    """`WHERE (k1, k2) > (…) AND (k1, k2) <= (…)` for the span; empty when it is unbounded.

    Row-value comparison follows the key's collations and column order,
    exactly as ORDER BY on the key does, so ranges and chunks meet without
    gap or overlap.
    """
    cols = column_list(key)
    tests = [
        f"({cols}) {op} ({', '.join(literal(conn, v) for v in bound)})"
        for op, bound in ((">", span.after), ("<=", span.upto))
        if bound is not None
    ]
    return f"WHERE {' AND '.join(tests)}" if tests else ""


def select_span(conn: Any, schema: str, table: Table, span: KeySpan, limit: int,
                where: Expr | None = None) -> str:
    """The first `limit` rows of the span in key order, every column; of those `where`
    holds for, when given."""
    key = column_list(table.key)
    test = span_where(conn, table.key, span)
    if where is not None:  # in parentheses: an OR at its top must not swallow the span
        test = f"{test} AND ({to_sql(where, quote)})" if test \
            else f"WHERE ({to_sql(where, quote)})"
    return (f"SELECT {column_list(table.column_names)} FROM {qualified(schema, table.name)} "
            f"{test} ORDER BY {key} LIMIT {int(limit)}")


def key_at(conn: Any, schema: str, table: Table, span: KeySpan, offset: int) -> Key:
    """The key of the row `offset` rows into the span (counting from 0)."""
    key = column_list(table.key)
    row = conn.execute(
        f"SELECT {key} FROM {qualified(schema, table.name)} {span_where(conn, table.key, span)} "
        f"ORDER BY {key} LIMIT 1 OFFSET {int(offset)}"
    ).fetchone()
    return tuple(row)


def split(conn: Any, schema: str, table: Table, rows: int) -> list[Key]:
    """Keys ending ranges of about `rows` rows each, from a sample of the table's pages."""
    pages, density = conn.execute(
        f"SELECT {SIZE_COLUMNS} FROM pg_class c WHERE c.oid = %s::regclass",
        (qualified(schema, table.name),),
    ).fetchone()
    return _cuts(conn, schema, table, rows, pages, density)


def _cuts(conn: Any, schema: str, table: Table, rows: int, pages: int,
          density: float | None) -> list[Key]:
    """split() once the table's size (pages, rows per page) is known."""
    name = qualified(schema, table.name)
    expected = pages * density / rows if density else None  # ranges, from the statistics
    if not pages or (expected is not None and expected < MIN_RANGES):
        return []
    wanted = PAGES_PER_RANGE * (expected or 0)
    sample = min(pages, max(SAMPLE_PAGES[0], min(SAMPLE_PAGES[1], wanted)))
    percent = 100.0 * sample / pages
    step = max(1, round(rows * percent / 100))  # sampled rows per range
    key = column_list(table.key)
    n, total = (quote(_unused(table, word)) for word in ("n", "total"))
    cuts = conn.execute(
        f"SELECT {key} FROM (SELECT {key}, row_number() OVER (ORDER BY {key}) AS {n}, "
        f"count(*) OVER () AS {total} FROM {name} TABLESAMPLE SYSTEM ({percent:.6f})) s "
        f"WHERE mod({n}, {step}) = 0 AND {n} + {step // 2} <= {total} ORDER BY {n}"
    ).fetchall()
    return [tuple(row) for row in cuts]


def _unused(table: Table, word: str) -> str:
    """A column alias that no key column of the table is called."""
    name = f"turnout_{word}"
    while name in table.key:
        name += "_"
    return name


def export(conn: Any) -> str:
    """Name the connection's snapshot so other connections can join it (see join())."""
    return str(conn.execute("SELECT pg_export_snapshot()").fetchone()[0])


def conninfo(conn: Any) -> str:
    """A connection string that reaches the same server, database and user as `conn`."""
    from psycopg.conninfo import make_conninfo

    options = {o.keyword.decode(): o.val.decode() for o in conn.pgconn.info if o.val is not None}
    return make_conninfo(**options)


@contextmanager
def join(dsn: str, snapshot: str) -> Iterator[Any]:
    """A read-only connection inside an exported snapshot, for the duration of the block."""
    import psycopg

    conn = psycopg.connect(dsn, autocommit=True)
    load_json_as_text(conn)
    register(conn)
    try:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        conn.execute(f"SET TRANSACTION SNAPSHOT {literal(conn, snapshot)}")
        yield conn
        conn.execute("COMMIT")
    finally:
        conn.close()
