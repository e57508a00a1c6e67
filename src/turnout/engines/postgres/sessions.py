"""Who is connected to a PostgreSQL database, and the write freeze for switchover.

Freeze sets `default_transaction_read_only` on the database, so every new
session but turnout's (which overrides it) starts read-only. The previous
database-level value is kept in a small table so unfreeze restores exactly
it, even from another process.
"""

from __future__ import annotations

from typing import Any

from turnout.engines.postgres.dialect import qualified, quote
from turnout.model import Session

FREEZE_TABLE = "_turnout_freeze"
APPLICATION = "turnout"
_SETTING = "default_transaction_read_only"


def list_sessions(conn: Any) -> list[Session]:
    """pg_stat_activity of this database; a session holding a transaction id is writing."""
    rows = conn.execute(
        "SELECT pid, usename, application_name, coalesce(client_addr::text, 'local'), "
        "coalesce(state, ''), backend_xid IS NOT NULL, "
        "pid = pg_backend_pid() OR application_name = %s "
        "FROM pg_stat_activity WHERE datname = current_database() "
        "AND backend_type = 'client backend' ORDER BY pid",
        (APPLICATION,),
    ).fetchall()
    return [
        Session(id=str(pid), user=user or "", program=app or "", client=client, state=state,
                writing=writing, own=own)
        for pid, user, app, client, state, writing, own in rows
    ]


def freeze(conn: Any, cur: Any, schema: str, reason: str) -> None:
    """Make new sessions read-only, once; `cur` is a write transaction on `conn`."""
    if _frozen(conn, schema):
        return
    table = qualified(schema, FREEZE_TABLE)
    previous = _database_setting(conn, _SETTING)
    cur.execute(f"CREATE TABLE {table} (previous text, reason text NOT NULL, "
                "frozen_at timestamptz NOT NULL DEFAULT clock_timestamp())")
    cur.execute(f"INSERT INTO {table} VALUES (%s, %s)", (previous, reason))
    cur.execute(f"ALTER DATABASE {_database(conn)} SET {_SETTING} = on")


def unfreeze(conn: Any, cur: Any, schema: str) -> None:
    """Put back the setting freeze() found."""
    if not _frozen(conn, schema):
        return
    table = qualified(schema, FREEZE_TABLE)
    previous = conn.execute(f"SELECT previous FROM {table}").fetchone()[0]
    if previous is None:
        cur.execute(f"ALTER DATABASE {_database(conn)} RESET {_SETTING}")
    else:
        cur.execute(f"ALTER DATABASE {_database(conn)} SET {_SETTING} = {quote(previous)}")
    cur.execute(f"DROP TABLE {table}")


def writers_after_freeze(conn: Any, schema: str) -> list[Session]:
    """Freeze makes only new sessions read-only: any other session that connected before it
    may still write, and so may one holding a transaction id."""
    if not _frozen(conn, schema):
        return []
    since = conn.execute(f"SELECT frozen_at FROM {qualified(schema, FREEZE_TABLE)}").fetchone()[0]
    started = dict(conn.execute(
        "SELECT pid::text, backend_start FROM pg_stat_activity "
        "WHERE datname = current_database() AND backend_type = 'client backend'").fetchall())
    return [s for s in list_sessions(conn)
            if not s.own and (s.writing or (s.id in started and started[s.id] < since))]


def _frozen(conn: Any, schema: str) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL",
                        (qualified(schema, FREEZE_TABLE),)).fetchone()[0]


def _database(conn: Any) -> str:
    return quote(conn.execute("SELECT current_database()").fetchone()[0])


def _database_setting(conn: Any, name: str) -> str | None:
    row = conn.execute(
        "SELECT s FROM pg_db_role_setting r, unnest(r.setconfig) s "
        "WHERE r.setrole = 0 AND r.setdatabase = "
        "(SELECT oid FROM pg_database WHERE datname = current_database()) AND s LIKE %s",
        (name + "=%",),
    ).fetchone()
    return row[0].split("=", 1)[1] if row else None
