"""Who is connected to a PostgreSQL database, and the write fence for switchover.

The fence has two layers. `default_transaction_read_only` on the database
makes every new session start read-only, which most applications meet with
a clear error at their first write; but any session may set it back. So each
table of the schema also gets a statement trigger that refuses every write
unless the session holds the fence's key (`turnout.fence`), which only
turnout reads: the key sits in a table no other role may read. turnout's
own appliers pass either way, since under `session_replication_role =
replica` ordinary triggers do not fire. What can still pass is a role that
can set that role or drop a trigger (a superuser, the tables' owner):
`bypass()` names those, and the procedure refuses, or locks them with
NOLOGIN when asked (undone by unfreeze). The previous database-level value
and the locked roles are kept in the fence table, so unfreeze restores
exactly them, even from another process.
"""

from __future__ import annotations

import secrets
from typing import Any

from turnout.engines.postgres.dialect import qualified, quote
from turnout.model import Session

FREEZE_TABLE = "_turnout_freeze"
FENCE = "_turnout_fence"  # the trigger function, and each trigger's name
FENCE_SETTING = "turnout.fence"  # the session setting that carries the key
APPLICATION = "turnout"
_SETTING = "default_transaction_read_only"
LOCK_WAIT = "300ms"  # a trigger waits this long for a writer's open transaction


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


def freeze(conn: Any, cur: Any, schema: str, reason: str, lock: list[str]) -> bool:
    """Make new sessions read-only and install the fence's function, once; `cur` is a write
    transaction on `conn`. The triggers come in fence_tables(), one table at a time, since
    each waits for the writers of its table. Whether this call installed the fence."""
    if frozen(conn, schema):
        return False
    table = qualified(schema, FREEZE_TABLE)
    previous = _database_setting(conn, _SETTING)
    cur.execute(f"CREATE TABLE {table} (previous text, reason text NOT NULL, "
                "frozen_at timestamptz NOT NULL DEFAULT clock_timestamp(), key text NOT NULL, "
                "locked text[] NOT NULL DEFAULT '{}')")
    cur.execute(f"REVOKE ALL ON {table} FROM PUBLIC")
    key = secrets.token_hex(16)
    cur.execute(f"INSERT INTO {table} (previous, reason, key) VALUES (%s, %s, %s)",
                (previous, reason, key))
    cur.execute(_fence_function(schema))
    cur.execute(f"ALTER DATABASE {_database(conn)} SET {_SETTING} = on")
    for role in lock:
        cur.execute(f"ALTER ROLE {quote(role)} NOLOGIN")
        cur.execute(f"UPDATE {table} SET locked = array_append(locked, %s)", (role,))
    cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE usename = ANY(%s) AND pid <> pg_backend_pid()", (lock,))
    return True


def _fence_function(schema: str) -> str:
    """The trigger function: SECURITY DEFINER, so that it may read the key the caller may not."""
    table = qualified(schema, FREEZE_TABLE)
    return (
        f"CREATE OR REPLACE FUNCTION {qualified(schema, FENCE)}() RETURNS trigger "
        "LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fence$ "
        "DECLARE why text; BEGIN "
        f"IF current_setting('{FENCE_SETTING}', true) IS NOT DISTINCT FROM "
        f"(SELECT key FROM {table}) THEN RETURN NULL; END IF; "
        f"SELECT reason INTO why FROM {table}; "
        "RAISE EXCEPTION 'turnout: writes are frozen on this database (%)', why "
        "USING ERRCODE = 'read_only_sql_transaction'; END $fence$"
    )


def fence_tables(conn: Any, schema: str) -> list[str]:
    """Put the fence trigger on every table of the schema that lacks it; the tables whose
    writers' open transactions kept it out for now."""
    if not frozen(conn, schema):
        return []
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND c.relname NOT LIKE '\\_turnout%%' "
        "AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = %s) "
        "ORDER BY 1", (schema, FENCE)).fetchall()
    blocked = []
    for (name,) in rows:
        try:
            with conn.transaction():
                conn.execute(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")
                conn.execute(f"CREATE TRIGGER {quote(FENCE)} BEFORE INSERT OR UPDATE OR DELETE "
                             f"OR TRUNCATE ON {qualified(schema, name)} FOR EACH STATEMENT "
                             f"EXECUTE FUNCTION {qualified(schema, FENCE)}()")
        except Exception as exc:  # noqa: BLE001 - a lock wait timed out: its writer is named
            if type(exc).__name__ != "LockNotAvailable":
                raise
            blocked.append(name)
    return blocked


def pass_fence(conn: Any, schema: str) -> bool:
    """Let this session write through the fence (turnout's own); whether there is one."""
    if not frozen(conn, schema):
        return False
    key = conn.execute(f"SELECT key FROM {qualified(schema, FREEZE_TABLE)}").fetchone()[0]
    conn.execute("SELECT set_config(%s, %s, false)", (FENCE_SETTING, key))
    return True


def bypass(conn: Any, schema: str) -> list[str]:
    """Roles other than turnout's that can log in and could write past the fence: superusers
    (they may turn triggers off) and the owners of the schema's tables (they may drop one)."""
    rows = conn.execute(
        "SELECT r.rolname, r.rolsuper FROM pg_roles r WHERE r.rolcanlogin "
        "AND r.rolname <> current_user AND (r.rolsuper OR EXISTS (SELECT 1 FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s "
        "AND c.relkind IN ('r', 'p') AND c.relowner = r.oid)) ORDER BY 1", (schema,)).fetchall()
    return [f"{name} ({'superuser' if sup else 'owns tables'})" for name, sup in rows]


def unfreeze(conn: Any, cur: Any, schema: str) -> None:
    """Put back the setting freeze() found, let the locked roles log in, drop the triggers."""
    if not frozen(conn, schema):
        return
    table = qualified(schema, FREEZE_TABLE)
    previous, locked = conn.execute(f"SELECT previous, locked FROM {table}").fetchone()
    if previous is None:
        cur.execute(f"ALTER DATABASE {_database(conn)} RESET {_SETTING}")
    else:
        cur.execute(f"ALTER DATABASE {_database(conn)} SET {_SETTING} = {quote(previous)}")
    for role in locked:
        cur.execute(f"ALTER ROLE {quote(role)} LOGIN")
    cur.execute(f"DROP FUNCTION IF EXISTS {qualified(schema, FENCE)}() CASCADE")  # the triggers
    cur.execute(f"DROP TABLE {table}")


def writers_after_freeze(conn: Any, schema: str) -> list[Session]:
    """The sessions whose open transactions keep the fence off a table (they wrote to it
    before the fence): once every table has it, no other session can write."""
    blocked = fence_tables(conn, schema)
    if not blocked:
        return []
    pids = {str(r[0]) for r in conn.execute(
        "SELECT DISTINCT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s "
        "AND c.relname = ANY(%s) AND l.mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock', "
        "'ExclusiveLock', 'AccessExclusiveLock', 'ShareLock', 'ShareUpdateExclusiveLock') "
        "AND l.granted AND l.pid <> pg_backend_pid()", (schema, blocked)).fetchall()}
    return [s for s in list_sessions(conn) if s.id in pids]


def frozen(conn: Any, schema: str) -> bool:
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
