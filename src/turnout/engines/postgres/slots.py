"""A capture's objects on a PostgreSQL source: the publication naming the task's tables and
the logical replication slot keeping their changes, checked before a task goes on and
dropped with it.

A slot lost or gone means changes lost: every check here stops the task with the fix
(--resnapshot) instead of making a new slot, which would start now and skip what came before.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from turnout.endpoint import Endpoint
from turnout.engines.postgres.dialect import qualified, quote
from turnout.engines.postgres.replication import format_lsn, parse_lsn
from turnout.errors import OperationFailed

DROP_WAIT_S = 15.0  # how long drop_slot() waits for a stopping worker to let go of the slot


def _one(conn: Any, sql: str, params: tuple[Any, ...] = ()) -> Any:
    row = conn.execute(sql, params).fetchone()
    return row[0] if row else None


def publish(conn: Any, schema: str, slot: str, tables: Iterable[str], create: bool) -> bool:
    """Whether the task's publication was there. With `create` a missing one is created
    and its tables are set to the task's; a resumed task's tables are only added."""
    tables = list(tables)
    names = ", ".join(qualified(schema, t) for t in tables)
    if not _one(conn, "SELECT 1 FROM pg_publication WHERE pubname = %s", (slot,)):
        if create:
            conn.execute(f"CREATE PUBLICATION {quote(slot)} FOR TABLE {names}")
        return False
    current = {r[0] for r in conn.execute(
        "SELECT tablename FROM pg_publication_tables WHERE pubname = %s AND "
        "schemaname = %s", (slot, schema)).fetchall()}
    if create and current != set(tables):  # only when the task's tables changed
        conn.execute(f"ALTER PUBLICATION {quote(slot)} SET TABLE {names}")
        return True
    # A resumed task only adds: a table renamed while it was stopped stays in the publication
    # by OID under its new name, as does one created since (the DDL trigger adds it), and the
    # stream's DDL says what became of them; taken out, their later rows would be missed.
    added = [t for t in tables if t not in current
             and _one(conn, "SELECT to_regclass(%s)", (qualified(schema, t),)) is not None]
    if added:
        conn.execute(f"ALTER PUBLICATION {quote(slot)} ADD TABLE "
                     + ", ".join(qualified(schema, t) for t in added))
    return True


def published(conn: Any, schema: str, slot: str, tables: Iterable[str]) -> list[str]:
    """Those of `tables` the publication holds now."""
    rows = conn.execute(
        "SELECT tablename FROM pg_publication_tables WHERE pubname = %s AND schemaname = %s "
        "AND tablename = ANY(%s)", (slot, schema, list(tables))).fetchall()
    return [r[0] for r in rows]


def unpublished_stop(names: list[str]) -> OperationFailed:
    """The stop for tables created while the task was stopped that the event trigger did not
    put in the publication (one older than this turnout left a table without a key out):
    their rows since then are in no stream."""
    listed = ", ".join(repr(n) for n in names)
    return OperationFailed(
        f"table {listed} began to match --tables while the task was stopped, but the "
        "publication did not take it when it was created, so its rows since then cannot be "
        "read: start the task with --resnapshot to copy every table afresh, or leave it out "
        f"with --exclude {names[0]} and move it with a task of its own")


def renamed_away(conn: Any, schema: str, slot: str, tables: Iterable[str]) -> list[str]:
    """Tables the publication still holds (it follows a table by OID) under a name the task
    does not move: renamed or moved to another schema while the task was stopped. Their rows
    come under that name, which matches none of the task's tables, so they would be dropped."""
    rows = conn.execute(
        "SELECT n.nspname, c.relname FROM pg_publication_rel r "
        "JOIN pg_publication p ON p.oid = r.prpubid JOIN pg_class c ON c.oid = r.prrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE p.pubname = %s", (slot,)).fetchall()
    names = set(tables)
    return sorted(f"{s}.{t}" for s, t in rows if s != schema or t not in names)


def renamed_away_stop(names: list[str]) -> OperationFailed:
    """The stop for renamed_away(): turnout does not follow a renamed table yet."""
    listed = ", ".join(repr(n) for n in names)
    return OperationFailed(
        f"a table of this task was renamed to {listed} on the source while the task was "
        "stopped: a renamed table is not followed, so the task stops here rather than lose "
        "its rows: rename it back on the source and start the task with --resnapshot (the "
        "tables are copied afresh), or delete the task and create one that selects the new "
        "name (docs/ddl.md)")


def check_slot(conn: Any, endpoint: Endpoint, slot: str) -> None:
    """The slot is there, on this database, and holds what it was made to: else the task
    stops with the fix, as it does for a purged binlog."""
    database, here = slot_database(conn, slot)
    if database is None:
        raise OperationFailed(
            f"replication slot {slot} of this task is gone from {endpoint} "
            "(dropped while the task was stopped?), and the changes since the task's "
            "checkpoint with it: start the task again with --resnapshot to copy the tables "
            "afresh"
        )
    if database != here:
        raise OperationFailed(
            f"replication slot {slot} belongs to database {database} of the same server "
            "(slot names are server-wide): give this task another name, or delete the task "
            "that owns the slot"
        )
    lost = slot_lost(conn, slot)
    if lost is not None:
        raise OperationFailed(
            f"replication slot {slot} on {endpoint} was invalidated "
            f"({lost}): the changes since the task's checkpoint are gone; start the task "
            "again with --resnapshot to copy the tables afresh, and raise "
            "max_slot_wal_keep_size (or set it to -1) so a stopped task keeps its WAL"
        )


def check_not_read_past(conn: Any, endpoint: Endpoint, slot: str, lsn: int) -> None:
    """The slot hands out changes from `lsn`, where the task stands: the server starts a
    stream no earlier than the slot's confirmed point, so a slot that someone else read
    and confirmed further (another turnout task of the same name, from another store,
    adopted it) would skip the changes between without a word."""
    confirmed = _one(conn, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots "
                     "WHERE slot_name = %s", (slot,))
    if confirmed is not None and parse_lsn(confirmed) > lsn:
        raise OperationFailed(
            f"replication slot {slot} on {endpoint} was read past this task's position "
            f"({format_lsn(lsn)} < {confirmed}): something else streamed from it (another "
            "turnout task of the same name, from another store?), and the changes between "
            "are gone from it; stop that, then start this task again with --resnapshot"
        )


def slot_lost(conn: Any, slot: str) -> str | None:
    """Why the slot can no longer hand out changes (None while it can). The columns that
    say so differ by version (wal_status 13+, conflicting 16, invalidation_reason 17+),
    so the row is read as JSON and whichever are there are looked at."""
    text = _one(conn, "SELECT to_jsonb(s)::text FROM pg_replication_slots s "
                "WHERE slot_name = %s", (slot,))
    row = json.loads(text) if text else {}
    if row.get("invalidation_reason"):
        return f"invalidation_reason {row['invalidation_reason']}"
    if row.get("wal_status") == "lost":
        return "wal_status lost: the server removed WAL it still needed"
    if row.get("conflicting"):
        return "conflicting: rows it needed were removed"
    return None


def slot_database(conn: Any, slot: str) -> tuple[str | None, str]:
    """The database the task's slot is on (None when there is none), and this database."""
    row = conn.execute(
        "SELECT (SELECT database FROM pg_replication_slots WHERE slot_name = %s), "
        "current_database()", (slot,),
    ).fetchone()
    return row[0], row[1]


def drop_slot(conn: Any, slot: str) -> None:
    """Drop the slot, waiting a little for a worker that is stopping to let go of it."""
    import psycopg

    deadline = time.monotonic() + DROP_WAIT_S
    while True:
        try:
            conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
            return
        except psycopg.errors.ObjectInUse as exc:
            if time.monotonic() > deadline:
                raise OperationFailed(
                    f"replication slot {slot} is in use: {exc}; stop the task first"
                ) from None
            time.sleep(0.2)
