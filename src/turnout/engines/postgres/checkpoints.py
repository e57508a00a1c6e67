"""The destination's checkpoint table: where a task's full step and capture record how far
they got, written in the same transaction as the rows they describe, so the two never part.

One row per (owner, name); the table is created with the first checkpoint and dropped
with the last owner's rows, so a destination keeps no turnout object once tasks are gone.
"""

from __future__ import annotations

from typing import Any

from turnout.engines.postgres.dialect import qualified
from turnout.model import Checkpoint

CHECKPOINT_TABLE = "_turnout_checkpoint"


def table_exists(conn: Any, schema: str, name: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')",
        (schema, name),
    ).fetchone()
    return row is not None


def existing_tables(conn: Any, schema: str, names: list[str]) -> set[str]:
    """Which of `names` are tables of `schema` (table_exists for many in one query)."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = ANY (%s) AND c.relkind IN ('r', 'p')",
        (schema, names),
    ).fetchall()
    return {str(r[0]) for r in rows}


def has_rows(conn: Any, schema: str, name: str) -> bool:
    row = conn.execute(f"SELECT 1 FROM {qualified(schema, name)} LIMIT 1")
    return row.fetchone() is not None


def remove_if_empty(conn: Any, schema: str) -> None:
    if table_exists(conn, schema, CHECKPOINT_TABLE) and not has_rows(conn, schema,
                                                                     CHECKPOINT_TABLE):
        conn.execute(f"DROP TABLE {qualified(schema, CHECKPOINT_TABLE)}")


def read(conn: Any, schema: str, owner: str) -> dict[str, str]:
    if not table_exists(conn, schema, CHECKPOINT_TABLE):
        return {}
    rows = conn.execute(
        f"SELECT name, value FROM {qualified(schema, CHECKPOINT_TABLE)} "
        "WHERE owner = %s", (owner,)
    ).fetchall()
    return dict(rows)


def drop(conn: Any, schema: str, owner: str) -> None:
    if not table_exists(conn, schema, CHECKPOINT_TABLE):
        return
    table = qualified(schema, CHECKPOINT_TABLE)
    conn.execute(f"DELETE FROM {table} WHERE owner = %s", (owner,))
    if conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is None:
        conn.execute(f"DROP TABLE {table}")


def fence(cur: Any, schema: str, checkpoint: Checkpoint, create: bool = True) -> str:
    """First in a write transaction that carries `checkpoint` (it has an epoch): its epoch
    row, inserted if absent and locked until the transaction ends (Checkpoint.fence_row).
    Fenced at once, before any row is written, when a newer worker saved it; else the
    saved value, for save().

    One statement: an existing row is locked by the DO UPDATE (which leaves it as it is)
    and read as the latest commit left it, as a locking read would; an absent one is
    inserted, and a second worker inserting it at once waits for the first's outcome."""
    table = qualified(schema, CHECKPOINT_TABLE)
    if create:
        _create(cur, table)
    row = cur.execute(f"INSERT INTO {table} AS c VALUES (%s, %s, %s) ON CONFLICT (owner, name) "
                      "DO UPDATE SET value = c.value RETURNING c.value",
                      checkpoint.fence_row()).fetchone()
    checkpoint.fenced_values(row[0])
    return str(row[0])


def save(cur: Any, schema: str, checkpoint: Checkpoint, create: bool = True,
         saved: str | None = None) -> None:
    """Inside the caller's transaction (`cur`), beside the rows the checkpoint covers.

    `create`: make the table first unless the caller knows a committed transaction of its
    connection has it; all values go in one statement (a thousand spans start at once).
    `saved`: what fence() returned at the transaction's start (a checkpoint with an epoch
    is fenced here when its transaction did not begin with it)."""
    table = qualified(schema, CHECKPOINT_TABLE)
    if create:
        _create(cur, table)
    if checkpoint.epoch is not None and saved is None:
        saved = fence(cur, schema, checkpoint, create=False)
    values = checkpoint.fenced_values(saved)
    cur.execute(
        f"INSERT INTO {table} SELECT %s, name, value FROM unnest(%s::text[], %s::text[]) "
        "AS v(name, value) ON CONFLICT (owner, name) DO UPDATE SET value = EXCLUDED.value",
        (checkpoint.owner, list(values), list(values.values())),
    )


def _create(cur: Any, table: str) -> None:
    cur.execute(f"CREATE TABLE IF NOT EXISTS {table} (owner text NOT NULL, name text NOT NULL, "
                "value text NOT NULL, PRIMARY KEY (owner, name))")
