"""Who is connected to a MySQL server, and the write freeze for switchover.

Freeze makes the server read-only (`read_only`, and `super_read_only` where
it exists, MySQL 8): accounts without the SUPER / READ ONLY ADMIN privilege
can no longer write. The values found before are kept in a small table so
unfreeze restores exactly them, even from another process.
"""

from __future__ import annotations

from typing import Any

from turnout.engines.mysql.dialect import quote
from turnout.model import Session

FREEZE_TABLE = "_turnout_freeze"
PROGRAM = "turnout"


def list_sessions(engine: Any) -> list[Session]:
    """The processlist with, per session, whether an open transaction has written."""
    own = _own_ids(engine)
    rows = engine.all(
        "SELECT p.id, p.user, p.host, coalesce(p.db, ''), p.command, p.time, "
        "coalesce(p.state, ''), t.trx_rows_modified > 0 OR t.trx_lock_structs > 0 "
        "FROM information_schema.processlist p LEFT JOIN information_schema.innodb_trx t "
        "ON t.trx_mysql_thread_id = p.id WHERE p.command NOT IN ('Daemon') "
        "AND p.user NOT IN ('system user', 'event_scheduler') ORDER BY p.id"
    )
    return [
        Session(
            id=str(pid), user=user or "", program="", client=host or "", state=state or command,
            writing=bool(writing), own=pid in own or command.startswith("Binlog Dump"),
            extra={"db": db, "command": command, "time": int(time or 0)},
        )
        for pid, user, host, db, command, time, state, writing in rows
    ]


def _own_ids(engine: Any) -> set[int]:
    """Sessions opened by turnout: the connection attribute where the server keeps them."""
    ids = {int(engine.one("SELECT CONNECTION_ID()"))}
    try:
        rows = engine.all(
            "SELECT processlist_id FROM performance_schema.threads t JOIN "
            "performance_schema.session_connect_attrs a ON a.processlist_id = t.processlist_id "
            "WHERE a.attr_name = 'program_name' AND a.attr_value = %s", (PROGRAM,))
    except Exception:  # noqa: BLE001 - performance_schema is optional (off by default in MariaDB)
        return ids
    return ids | {int(r[0]) for r in rows}


def _global(engine: Any, name: str) -> str | None:
    row = engine.all("SHOW GLOBAL VARIABLES LIKE %s", (name,))
    return row[0][1] if row else None


def freeze(engine: Any, reason: str) -> None:
    if engine.table_exists(FREEZE_TABLE):
        return
    previous = {n: _global(engine, n) for n in ("read_only", "super_read_only")}
    engine.execute(f"CREATE TABLE {quote(FREEZE_TABLE)} (name varchar(64) PRIMARY KEY, "
                   "previous varchar(16), reason text)")
    for name, value in previous.items():
        engine.execute(f"INSERT INTO {quote(FREEZE_TABLE)} VALUES (%s, %s, %s)",
                       (name, value, reason))
    engine.execute("SET GLOBAL read_only = ON")
    if previous["super_read_only"] is not None:
        engine.execute("SET GLOBAL super_read_only = ON")


def unfreeze(engine: Any) -> None:
    if not engine.table_exists(FREEZE_TABLE):
        return
    saved = dict(engine.all(f"SELECT name, previous FROM {quote(FREEZE_TABLE)}"))
    if saved.get("super_read_only") is not None:
        engine.execute(f"SET GLOBAL super_read_only = {_on_off(saved['super_read_only'])}")
    engine.execute(f"SET GLOBAL read_only = {_on_off(saved.get('read_only'))}")
    engine.execute(f"DROP TABLE {quote(FREEZE_TABLE)}")


def _on_off(value: str | None) -> str:
    return "ON" if (value or "OFF").upper() in ("ON", "1") else "OFF"
