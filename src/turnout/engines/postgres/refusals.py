"""A value the destination refuses, named: table, column and the row's key.

A COPY that meets a value its column cannot take (text into an integer, a number out of
range, text too long) fails with a data error whose context says where: `COPY t, line 3,
column n: "many"`. Without this the task stopped with the server's words alone, naming
no table; the line is the row's place in what was COPYed, so the row, its key and the
column can be named with the fix. That happens after a DDL the task was told to skip
(`turnout task ddl --skip`) or a destination changed by hand.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from turnout.errors import OperationFailed
from turnout.model import Row, Table

_WHERE = re.compile(r"^COPY [^,]+, line (\d+), column (.+?): ", re.MULTILINE)


def refused(exc: BaseException, table: Table, columns: Sequence[str],
            rows: Sequence[Row]) -> OperationFailed | None:
    """`exc` (a psycopg DataError of a COPY of `rows`, laid out as `columns`, into `table` or
    its staging table) as one line naming table, column and key; None when its context
    does not say which row (the caller keeps the server's words)."""
    diag = getattr(exc, "diag", None)
    found = _WHERE.search(getattr(diag, "context", None) or "")
    if found is None:
        return None
    line, column = int(found[1]), found[2]
    if not 1 <= line <= len(rows) or column not in columns:
        return None
    row = rows[line - 1]
    key = ", ".join(str(row[columns.index(k)]) for k in table.key if k in columns)
    reason = (getattr(diag, "message_primary", None) or str(exc)).strip().splitlines()[0]
    return OperationFailed(
        f"{table.name}.{column}: the destination refuses the value of the row with key "
        f"({key or 'none'}): {reason}. The destination's column no longer holds what the "
        f"source's does (a DDL skipped at the barrier, or a change made by hand): alter "
        f"{table.name}.{column} on the destination to take it, or change that row on the "
        "source, then start the task again")


def copy_rows(cur: Any, sql: str, table: Table, columns: Sequence[str], rows: Sequence[Row],
              adapt: Callable[[Row], Row] | None = None) -> None:
    """COPY `rows` (each through `adapt`, when given) with `sql`; a value refused names its
    table, column and key."""
    import psycopg

    try:
        with cur.copy(sql) as copy:
            if adapt is None:
                for row in rows:
                    copy.write_row(row)
            else:
                for row in rows:
                    copy.write_row(adapt(row))
    except psycopg.errors.DataError as exc:
        named = refused(exc, table, columns, rows)
        if named is None:
            raise
        raise named from exc
