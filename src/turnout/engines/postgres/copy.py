"""Streaming COPY from one PostgreSQL server into another, never decoding a row.

The server sends COPY output as one protocol message per row, and psycopg's
Copy.read() pays a generator round trip for each one, which made Python the
slowest part of a PostgreSQL → PostgreSQL copy. relay() drains libpq
directly and hands the destination blocks of up to RELAY_BYTES, flushing
whenever the source pauses so both servers keep working. copy_formats()
picks binary COPY where both servers are sure to read it alike.
"""

from __future__ import annotations

import selectors
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from turnout.engines.postgres.dialect import qualified
from turnout.errors import OperationFailed
from turnout.model import Table

RELAY_BYTES = 1 << 20  # COPY data handed to the destination per write, at most
FIRST_USER_OID = 16384  # FirstNormalObjectId: types below it are built in, alike everywhere


def copy_formats(source: Any, src_schema: str, dest: Any, dst_schema: str,
                 pairs: list[tuple[Table, Table]]) -> list[str]:
    """For each (source table, destination table): "binary" when both servers read each
    other's binary COPY exactly, else "text". One query on each server for all of them:
    a thousand small tables cost two round trips each otherwise.

    Binary spares both servers the text conversions, about a fifth of what
    a COPY costs them. It is safe between servers of one major version when
    every column has the same type on both sides and that type is built in
    (the same OID in every database) or an enum (sent as its label); arrays
    and composites of other types carry OIDs of their own database, and a
    mismatched type would be misread, so those go as text.
    """
    if source.info.server_version // 10000 != dest.connection.info.server_version // 10000:
        return ["text"] * len(pairs)
    theirs = _column_types(source, src_schema, [t for t, _ in pairs])
    ours = _column_types(dest, dst_schema, [d for _, d in pairs])
    return ["binary" if all(a == b and a[1] for a, b in zip(mine, other, strict=True))
            else "text" for mine, other in zip(theirs, ours, strict=True)]


def _column_types(conn: Any, schema: str, tables: list[Table]
                  ) -> list[list[tuple[str, bool]]]:
    """Each table's columns: type name, and whether its binary form is the same in every
    database."""
    relations = [qualified(schema, t.name) for t in tables for _ in t.column_names]
    names = [name for t in tables for name in t.column_names]
    rows = conn.execute(
        "SELECT format_type(a.atttypid, a.atttypmod), "
        f"coalesce(a.atttypid < {FIRST_USER_OID} OR t.typtype = 'e', false) "
        "FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS c(rel, name, n) "
        "LEFT JOIN pg_attribute a ON a.attrelid = c.rel::regclass AND a.attname = c.name "
        "AND NOT a.attisdropped LEFT JOIN pg_type t ON t.oid = a.atttypid ORDER BY c.n",
        (relations, names),
    ).fetchall()
    found: list[list[tuple[str, bool]]] = []
    at = 0
    for table in tables:
        width = len(table.column_names)
        found.append([(str(n), bool(p)) for n, p in rows[at:at + width]])
        at += width
    return found


def relay(source: Any, copies_to_stdout: list[str],
          writer: Callable[[int], AbstractContextManager[Callable[[bytes], None]]]) -> None:
    """Run the `COPY … TO STDOUT` statements on `source` as one query and pass the output of
    the n-th to the write function `writer(n)` opens, the one after the other.

    One query for all: a thousand small tables paid a round trip each on the source
    otherwise, while the destination waited. The source sends each COPY's output as soon
    as the one before it has been read. After an error the source connection is left
    mid-COPY: its owner closes it.
    """
    from psycopg import pq

    pg = source.pgconn
    pg.send_query("; ".join(copies_to_stdout).encode(source.info.encoding))
    with selectors.DefaultSelector() as waiter:
        waiter.register(pg.socket, selectors.EVENT_READ)
        for n in range(len(copies_to_stdout)):
            _result(pg, waiter, pq.ExecStatus.COPY_OUT)
            with writer(n) as write:
                _drain(pg, waiter, write)
            _result(pg, waiter, pq.ExecStatus.COMMAND_OK)
        _result(pg, waiter, None)


def _drain(pg: Any, waiter: selectors.BaseSelector, write: Callable[[bytes], None]) -> None:
    """Pass COPY data on in big blocks until the server says it has sent everything."""
    get = pg.get_copy_data
    parts: list[Any] = []
    size = 0
    while True:
        nbytes, data = get(1)  # 1: never block, so a pause is the moment to flush
        if nbytes > 0:
            parts.append(data)
            size += nbytes
            if size < RELAY_BYTES:
                continue
        if parts:
            write(b"".join(parts))
            parts.clear()
            size = 0
        if nbytes == 0:
            waiter.select()
            pg.consume_input()
        elif nbytes == -1:
            return
        elif nbytes < -1:
            raise OperationFailed(f"COPY from the source failed: {_message(pg.error_message)}")


def _result(pg: Any, waiter: selectors.BaseSelector, status: Any) -> None:
    """Wait for the query's next result and check it is of `status` (None: the end)."""
    pg.consume_input()
    while pg.is_busy():
        waiter.select()
        pg.consume_input()
    result = pg.get_result()
    if status is None and result is None:
        return
    if result is None or result.status != status:
        error = _message(result.error_message) if result is not None else "no result"
        raise OperationFailed(f"COPY from the source failed: {error or result.status}")


def _message(raw: bytes) -> str:
    return raw.decode(errors="replace").strip()
