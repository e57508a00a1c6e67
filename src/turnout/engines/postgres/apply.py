"""Applying a batch to PostgreSQL: staging tables filled by COPY, then set-based writes.

Each batch stays one transaction (the caller's): keys and rows are COPYed
into temporary tables emptied at commit, then one `DELETE … USING` and
one `INSERT … ON CONFLICT DO UPDATE` per table.

The staging tables live as long as the session (Staging): creating and dropping them in
every transaction was the dearest statement of a batch under `pgbench -R 1000` (five
CREATE TEMP TABLE per batch, 4.7 s of the apply thread's 8 s of statements at load 20),
and each one writes the catalog and sends every backend an invalidation. A table whose
layout the task knows differently now (a DDL) gets its staging table made afresh.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from turnout.coalesce import TableBatch, no_such_row, parents_first
from turnout.engines.postgres.dialect import column_list, qualified, quote
from turnout.engines.postgres.refusals import copy_rows
from turnout.errors import OperationFailed
from turnout.model import Key, Row, Table
from turnout.types import Kind

__all__ = ["Staging", "apply_ops", "delete_all", "delete_keys", "parents_first", "stage_rows",
           "upsert"]


@dataclass
class Staging:
    """The session's staging tables (ON COMMIT DELETE ROWS), by name, with the layout each was
    made for. One made in a transaction that rolls back is gone with it, so a table counts
    as made only once its transaction commits (committed()); one used twice in a transaction
    is emptied before its second use."""

    made: dict[str, str] = field(default_factory=dict)  # name -> layout, committed
    fresh: dict[str, str] = field(default_factory=dict)  # made in the open transaction
    used: set[str] = field(default_factory=set)  # filled in the open transaction

    def prepare(self, cur: Any, stage: str, layout: str, select: str) -> None:
        """Make `stage` as `select` (WITH NO DATA) unless it is there with `layout`, empty."""
        if self.fresh.get(stage, self.made.get(stage)) != layout:
            cur.execute(f"DROP TABLE IF EXISTS pg_temp.{stage}")
            cur.execute(f"CREATE TEMP TABLE {stage} ON COMMIT DELETE ROWS AS {select} "
                        "WITH NO DATA")
            self.fresh[stage] = layout
        elif stage in self.used:
            cur.execute(f"DELETE FROM pg_temp.{stage}")
        self.used.add(stage)

    def committed(self) -> None:
        self.made.update(self.fresh)
        self.ended()

    def ended(self) -> None:
        """The transaction ended (a rollback forgets the tables it made)."""
        self.fresh.clear()
        self.used.clear()

    def forget(self) -> None:
        """Tables may have changed (a DDL): make each staging table again at its next use."""
        self.made.clear()


def _layout(tb: TableBatch, columns: tuple[str, ...]) -> str:
    """What a staging table of `tb`'s table was made for: the columns and their types."""
    types = {c.name: c.type for c in tb.table.columns}
    return repr([(c, types.get(c)) for c in columns])


def stage_rows(cur: Any, staging: Staging, schema: str, tb: TableBatch, purpose: str,
               columns: tuple[str, ...], rows: list[Row]) -> str:
    """A temporary table holding `rows`, emptied at commit; its name (one per table and
    purpose)."""
    stage = quote(f"_turnout_{purpose}_{digest(tb.table.name)}")
    staging.prepare(cur, stage, _layout(tb, columns), f"SELECT {column_list(columns)} "
                    f"FROM {qualified(schema, tb.table.name)}")
    copy_rows(cur, f"COPY {stage} FROM STDIN", tb.table, columns, rows)
    return stage


def delete_all(cur: Any, schema: str, tb: TableBatch) -> None:
    """A TRUNCATE at the source, as a DELETE: it stays inside the batch's transaction
    without the exclusive lock TRUNCATE takes, and works whatever references the table."""
    cur.execute(f"DELETE FROM {qualified(schema, tb.table.name)}")


def delete_keys(cur: Any, staging: Staging, schema: str, tb: TableBatch, keys: list[Key]
                ) -> None:
    key = tb.table.key
    stage = stage_rows(cur, staging, schema, tb, "keys", key, keys)
    match = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in key)
    cur.execute(f"DELETE FROM {qualified(schema, tb.table.name)} t USING {stage} s WHERE {match}")


def upsert(cur: Any, staging: Staging, schema: str, tb: TableBatch) -> None:
    table = tb.table
    adapt = adapter(table)
    rows = [adapt(r) for r in tb.upserts.values()]
    stage = stage_rows(cur, staging, schema, tb, "rows", table.column_names, rows)
    others = [c for c in table.column_names if c not in table.key]
    action = (
        "DO UPDATE SET " + ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in others)
        if others
        else "DO NOTHING"
    )
    cols = column_list(table.column_names)
    cur.execute(
        f"INSERT INTO {qualified(schema, table.name)} ({cols}) OVERRIDING SYSTEM VALUE "
        f"SELECT {cols} FROM {stage} ON CONFLICT ({column_list(table.key)}) {action}"
    )


def apply_ops(cur: Any, staging: Staging, schema: str, tb: TableBatch) -> None:
    """A table without a key: its changes in order. Inserts alone are COPYed straight into
    the table (an append-only log's batches). Otherwise the old and new rows are COPYed into
    two staging tables numbered by change; a run of inserts is one INSERT … SELECT, and an
    update or delete acts on one row (its ctid) whose every column matches the old row.
    Columns compare by their text form, NULL-safe: every type has one (json has no `=`),
    and it tells apart what `=` may call equal (-0 and 0, citext's cases)."""
    table = tb.table
    cols, adapt = table.column_names, adapter(table)
    if all(before is None for before, _ in tb.ops):
        copy_rows(cur, f"COPY {qualified(schema, table.name)} ({column_list(cols)}) FROM STDIN",
                  table, cols, [after for _, after in tb.ops if after is not None], adapt)
        return
    n = _unused(cols, "turnout_change")
    old = _stage_numbered(cur, staging, schema, tb, "old", n, [
        (i, *adapt(before)) for i, (before, _) in enumerate(tb.ops) if before is not None])
    new = _stage_numbered(cur, staging, schema, tb, "new", n, [
        (i, *adapt(after)) for i, (_, after) in enumerate(tb.ops) if after is not None])
    name, listed = qualified(schema, table.name), column_list(cols)
    match = " AND ".join(f"t.{quote(c)}::text IS NOT DISTINCT FROM o.{quote(c)}::text"
                         for c in cols)
    one = f"(SELECT t.ctid FROM {name} t, {old} o WHERE o.{n} = %s AND {match} LIMIT 1)"
    delete = f"DELETE FROM {name} WHERE ctid = {one}"
    update = (f"UPDATE {name} t SET {', '.join(f'{quote(c)} = s.{quote(c)}' for c in cols)} "
              f"FROM {new} s WHERE s.{n} = %s AND t.ctid = {one}")
    insert = (f"INSERT INTO {name} ({listed}) OVERRIDING SYSTEM VALUE SELECT {listed} "
              f"FROM {new} WHERE {n} BETWEEN %s AND %s")
    first = None  # the first of a run of inserts not written yet
    for i, (before, after) in enumerate([*tb.ops, (None, None)]):
        if before is None and after is not None:
            first = i if first is None else first
            continue
        if first is not None:
            cur.execute(insert, (first, i - 1))
            first = None
        if before is None:
            continue  # the end
        if after is None:
            cur.execute(delete, (i,))
        else:
            cur.execute(update, (i, i))
        if cur.rowcount != 1:
            raise no_such_row(table, before, after is not None)


def _stage_numbered(cur: Any, staging: Staging, schema: str, tb: TableBatch, purpose: str,
                    number: str, rows: list[Row]) -> str:
    """A temporary table of the table's columns after a change number, holding `rows`."""
    stage = quote(f"_turnout_{purpose}_{digest(tb.table.name)}")
    cols = tb.table.column_names
    staging.prepare(cur, stage, f"{number} {_layout(tb, cols)}", f"SELECT 0 AS {number}, "
                    f"{column_list(cols)} FROM {qualified(schema, tb.table.name)}")
    copy_rows(cur, f"COPY {stage} FROM STDIN", tb.table, (number, *cols), rows)
    return stage


def _unused(columns: tuple[str, ...], name: str) -> str:
    """`name` quoted, made longer until no column is called so."""
    while name in columns:
        name += "_"
    return quote(name)


def digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def _json_text(value: Any) -> Any:
    """A JSON document's text: JsonText and other engines' JSON text as they are, parsed
    Python values (a scalar included, so `true` stays true) written as JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode()
    return json.dumps(value)


class NoBoolean(ValueError):
    """An integer other than 0 and 1 on its way into a boolean column."""


def _boolean(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        return value
    if value not in (0, 1):
        raise NoBoolean(value)
    return value == 1


def adapter(table: Table) -> Any:
    """Values as COPY takes them: JSON documents and typeless values as text, integers from
    another engine's booleans (MySQL's tinyint(1)) as booleans when they are 0 or 1; any
    other integer stops the task, naming the row, since true would be a made-up value."""
    converters: list[Any] = []
    for column in table.columns:
        if column.type.kind is Kind.BOOLEAN:
            converters.append(_boolean)
        elif column.type.kind is Kind.JSON:
            converters.append(_json_text)
        elif column.type.kind is Kind.ANY and column.native_type in ("", "text"):
            converters.append(lambda v: v if v is None or isinstance(v, str | bytes) else str(v))
        else:
            converters.append(None)
    if not any(converters):
        return lambda row: row
    pairs = list(enumerate(converters))

    def adapt(row: Row) -> Row:
        try:
            return tuple(v if f is None else f(v) for (_, f), v in zip(pairs, row, strict=True))
        except NoBoolean as exc:
            at = next(i for i, f in pairs if f is _boolean and row[i] == exc.args[0])
            key = ", ".join(str(row[i]) for i in table.key_positions())
            raise OperationFailed(
                f"{table.name}.{table.columns[at].name}: the row with key ({key}) holds "
                f"{exc.args[0]}, which a PostgreSQL boolean cannot hold: keep the column an "
                f"integer (a MySQL source: ?tinyint1=int; any source: --cast "
                f"{table.name}.{table.columns[at].name}=int16) and start the task afresh"
            ) from None

    return adapt
