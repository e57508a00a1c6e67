"""Building a table's objects on a PostgreSQL destination: the table with its enum types and
sequences, then (after the data) its primary key, indexes, checks and foreign keys.

Tables read from PostgreSQL itself go in the source's own SQL (ddl.py); tables of other
engines are built here from the canonical fields through dialect.py. Each step looks
first at what the destination already holds, so a task started again builds only the rest.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from turnout.engines.postgres import apply, ddl
from turnout.engines.postgres.dialect import (
    column_list,
    create_enum_sql,
    create_index_sql,
    create_table_sql,
    enum_type_name,
    foreign_key_sql,
    primary_key_sql,
    qualified,
    quote,
    sequence_backed,
    sequence_sql,
)
from turnout.engines.postgres.present import Held, held
from turnout.errors import OperationFailed
from turnout.model import Index, Table
from turnout.types import Kind

SCHEME = "postgresql"


NAME_BYTES = 63  # PostgreSQL's longest identifier (NAMEDATALEN - 1)
TABLES_PER_TRANSACTION = 100  # each table created holds a lock until the commit


def create_tables(conn: Any, schema: str, tables: list[Table]) -> None:
    """The tables, many in one transaction: a thousand small tables spent more on their
    own transactions than on being created (a crash loses a batch, made again at restart).
    The statements go in one pipeline, a look at the catalog (an enum's type) waiting
    for what was sent before it: one round trip per batch rather than per table."""
    for start in range(0, len(tables), TABLES_PER_TRANSACTION):
        with ddl.in_schema(conn, schema) as cur, conn.pipeline():
            for table in tables[start:start + TABLES_PER_TRANSACTION]:
                _create_table(cur, schema, table)


def _create_table(cur: Any, schema: str, table: Table) -> None:
    if ddl.carries(table, SCHEME):
        ddl.create_table(cur, schema, table)
        _identity_full(cur, schema, table)
        return
    same_engine = table.origin == SCHEME
    for column in table.columns:
        if column.type.kind is not Kind.ENUM:
            continue
        name = enum_type_name(table, column, same_engine)
        exists = cur.execute(
            "SELECT 1 FROM pg_type WHERE typname = %s AND typnamespace = %s::regnamespace",
            (name, quote(schema)),
        ).fetchone()
        if not exists:
            cur.execute(create_enum_sql(schema, name, column.type.values))
    cur.execute(create_table_sql(schema, table, same_engine))
    for column in table.columns:
        if sequence_backed(column):
            for statement in sequence_sql(schema, table, column):
                cur.execute(statement)
    _identity_full(cur, schema, table)


def _identity_full(cur: Any, schema: str, table: Table) -> None:
    """A table without a key logs whole old rows, which the reverse task after switchover
    matches its rows by (its precheck would ask for this very statement)."""
    if not table.key:
        cur.execute(f"ALTER TABLE {qualified(schema, table.name)} REPLICA IDENTITY FULL")


def create_indexes(conn: Any, schema: str, tables: list[Table]) -> None:
    """The tables' keys and indexes in one transaction (the caller keeps the batches small
    where one build must not wait for another), every statement sent in one pipeline: a
    thousand small tables spent more on round trips than on builds. A batch that fails
    is built again one statement at a time, so that the error names its object."""
    import psycopg

    try:
        _create_batch(conn, schema, tables, pipelined=True)
    except psycopg.Error:
        _create_batch(conn, schema, tables, pipelined=False)


def _create_batch(conn: Any, schema: str, tables: list[Table], pipelined: bool) -> None:
    with ddl.in_schema(conn, schema) as cur:
        present = held(cur, schema, [t.name for t in tables])
        with conn.pipeline() if pipelined else nullcontext():
            for table in tables:
                _create_indexes(cur, schema, table, present)


def _create_indexes(cur: Any, schema: str, table: Table, present: Held) -> None:
    if _carried(table):
        ddl.create_indexes(cur, schema, table, present)
        return
    if table.primary_key and not present.constraint(table.name, "", "p"):
        name = _primary_key_index(table)
        if name and present.own_unique_index(table.name, name, table.primary_key):
            cur.execute(f"ALTER TABLE {qualified(schema, table.name)} ADD CONSTRAINT "
                        f"{quote(name)} PRIMARY KEY USING INDEX {quote(name)}")
        else:
            cur.execute(primary_key_sql(schema, table))
        present.added(table.name, name, "p")
    built = _built_indexes(cur, schema, table.name, present)
    for index in table.indexes:
        if index.name not in built:
            _build_index(cur, schema, table, index)
    if table.origin == SCHEME:  # after the data, like the indexes
        _create_checks(cur, schema, table, present)


def _carried(table: Table) -> bool:
    """Whether the table's keys and indexes go in its PostgreSQL source's own SQL."""
    return ddl.carries(table, SCHEME) and bool(table.source_indexes or not table.indexes)


def _primary_key_index(table: Table) -> str:
    """The name the primary key's index gets: its PostgreSQL source's, else PostgreSQL's
    own choice (TABLE_pkey); empty when there is none or it is too long to be sure of."""
    name = table.primary_key_name if _carried(table) else f"{table.name}_pkey"
    return name if len(name.encode()) <= NAME_BYTES else ""


def index_parts(table: Table) -> list[str]:
    """The table's index builds that may run at once, each on a connection of its own,
    before create_indexes() adds the rest: the primary key's unique index (create_indexes
    then makes it the key without reading the table again, as pgcopydb does) and every
    plain index. A build is one server process's work, so building a big table's indexes
    one after another left the server's other cores idle."""
    parts = [_primary_key_index(table)] if table.primary_key else []
    if _carried(table):
        parts += [i.name for i in table.source_indexes if i.definition and not i.constraint]
    else:
        parts += [i.name for i in table.indexes]
    return [p for p in parts if p]


def create_index_part(conn: Any, schema: str, table: Table, part: str) -> None:
    """One of index_parts(), in a transaction of its own (idempotent)."""
    with ddl.in_schema(conn, schema) as cur:
        present = held(cur, schema, [table.name])
        if table.primary_key and part == _primary_key_index(table):
            if not present.constraint(table.name, "", "p"):
                cur.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {quote(part)} ON "
                            f"{qualified(schema, table.name)} "
                            f"({column_list(table.primary_key)})")
        elif _carried(table):
            for index in table.source_indexes:
                if index.name == part:
                    cur.execute(ddl.index_sql(cur, schema, table, index, present))
        else:
            built = _built_indexes(cur, schema, table.name, present)
            for index in table.indexes:
                if index.name == part and index.name not in built:
                    _build_index(cur, schema, table, index)


def _built_indexes(cur: Any, schema: str, name: str, present: Held) -> set[str]:
    """Indexes of this very table that are complete; an invalid one (a build that died
    half way) is dropped, so the next build makes it whole instead of skipping it."""
    for index in present.invalid_indexes(name):
        cur.execute(f"DROP INDEX {qualified(schema, index)}")
    return present.valid_indexes(name)


def _build_index(cur: Any, schema: str, table: Table, index: Index) -> None:
    """One index; a name another relation of the schema holds, or rows a unique index
    refuses, stop the task with the object named (never skipped: the next run retries)."""
    import psycopg

    try:
        cur.execute(create_index_sql(schema, table, index))
    except psycopg.errors.DuplicateTable:
        raise OperationFailed(
            f"cannot build index {index.name!r} of table {table.name!r}: schema "
            f"{schema!r} already has another relation called so: drop or rename "
            "that one on the destination") from None
    except psycopg.errors.UniqueViolation as exc:
        detail = (exc.diag.message_detail or "").strip()
        raise OperationFailed(
            f"cannot build unique index {index.name!r} of table {table.name!r} on "
            f"({', '.join(index.columns)}): the destination holds duplicates ({detail}); "
            "remove them there, then start the task again") from None


def _create_checks(cur: Any, schema: str, table: Table, present: Held) -> None:
    for name, definition in table.checks:
        if not present.constraint(table.name, name):
            cur.execute(f"ALTER TABLE {qualified(schema, table.name)} "
                        f"ADD CONSTRAINT {quote(name)} {definition}")
            present.added(table.name, name, "c")


def create_foreign_keys(conn: Any, schema: str, table: Table) -> None:
    same_engine = ddl.carries(table, SCHEME)
    for n, fk in enumerate(table.foreign_keys):
        name = fk.name or f"{table.name}_fk{n}_{apply.digest(fk.ref_table)}"
        exists = conn.execute(  # a foreign key's name is its table's own here
            "SELECT 1 FROM pg_constraint WHERE conname = %s AND conrelid = %s::regclass",
            (name, qualified(schema, table.name)),
        ).fetchone()
        if exists:
            continue
        if same_engine:
            conn.execute(ddl.foreign_key_sql(schema, table, fk, name))
        else:
            conn.execute(foreign_key_sql(schema, table, fk, name))
    if same_engine:
        ddl.comment_foreign_keys(conn, schema, table)


def sync_sequences(conn: Any, schema: str, table: Table) -> None:
    name = qualified(schema, table.name)
    for column in table.columns:
        if not column.autoincrement:
            continue
        conn.execute(
            # a numeric(20) column may hold more than a sequence counts to
            f"SELECT setval(seq, least(greatest((SELECT max({quote(column.name)}) "
            f"FROM {name}), 1), 9223372036854775807)::bigint) "
            "FROM pg_get_serial_sequence(%s, %s) AS seq WHERE seq IS NOT NULL",
            (name, column.name),
        )
