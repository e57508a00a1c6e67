"""Who is connected to a MySQL server, and the write fence for switchover.

The fence is `read_only`: accounts without a privilege that passes it
(SUPER, READ_ONLY ADMIN on MariaDB, CONNECTION_ADMIN on MySQL 8) can no
longer write. turnout's own account must hold one, since its appliers write
through the fence; every other account that holds one is named by
`bypass()`, and the procedure refuses until it is fixed, or locks those
accounts (ACCOUNT LOCK, undone by unfreeze) when asked. `super_read_only`
is left alone: it would stop turnout too. What freeze changed is kept in a
small table, so unfreeze restores exactly it, even from another process.

turnout's own sessions carry the `program_name` connection attribute, which
the server shows only with performance_schema on (off by default in
MariaDB); without it they are recognised by this process's own connection
ids and, for turnout's other processes, by their TCP port (own.py).
"""

from __future__ import annotations

from turnout.engines.mysql import own
from turnout.engines.mysql.dialect import quote
from turnout.engines.mysql.link import MysqlLink
from turnout.errors import BadInput
from turnout.model import Session

FREEZE_TABLE = "_turnout_freeze"
PROGRAM = "turnout"
BYPASS = ("SUPER", "READ_ONLY ADMIN", "CONNECTION_ADMIN")  # privileges that pass read_only
LOCKED = "locked:"  # FREEZE_TABLE rows naming an account freeze locked


def list_sessions(engine: MysqlLink) -> list[Session]:
    """The processlist with, per session, whether an open transaction has written."""
    rows = engine.all(
        "SELECT p.id, p.user, p.host, coalesce(p.db, ''), p.command, p.time, "
        "coalesce(p.state, ''), t.trx_rows_modified > 0 OR t.trx_lock_structs > 0 "
        "FROM information_schema.processlist p LEFT JOIN information_schema.innodb_trx t "
        "ON t.trx_mysql_thread_id = p.id WHERE p.command NOT IN ('Daemon') "
        "AND p.user NOT IN ('system user', 'event_scheduler') ORDER BY p.id"
    )
    mine = _own_ids(engine) | own.by_port(engine.settings["port"],
                                          {int(r[0]): r[2] or "" for r in rows})
    return [
        Session(
            id=str(pid), user=user or "", program="turnout" if pid in mine else "",
            client=host or "", state=state or command,
            writing=bool(writing), own=pid in mine or command.startswith("Binlog Dump"),
            extra={"db": db, "command": command, "time": int(time or 0)},
        )
        for pid, user, host, db, command, time, state, writing in rows
    ]


def _own_ids(engine: MysqlLink) -> set[int]:
    """Sessions opened by turnout: this process's, and where the server keeps connection
    attributes, every one marked with turnout's program_name."""
    ids = {int(engine.one("SELECT CONNECTION_ID()"))} | own.ids(engine.settings["port"])
    if str(engine.one("SELECT @@performance_schema")) not in ("1", "ON"):
        return ids
    try:
        rows = engine.all(
            "SELECT processlist_id FROM performance_schema.session_connect_attrs "
            "WHERE attr_name = 'program_name' AND attr_value = %s", (PROGRAM,))
    except Exception:  # noqa: BLE001 - not readable by this account
        return ids
    return ids | {int(r[0]) for r in rows}


def _global(engine: MysqlLink, name: str) -> str | None:
    row = engine.all("SHOW GLOBAL VARIABLES LIKE %s", (name,))
    return row[0][1] if row else None


def _grantees(engine: MysqlLink) -> dict[str, str]:
    """Accounts holding a privilege that passes read_only → their user name."""
    rows = engine.all("SELECT DISTINCT GRANTEE FROM information_schema.USER_PRIVILEGES "
                      "WHERE PRIVILEGE_TYPE IN %s", (BYPASS + ("CONNECTION ADMIN",),))
    return {g: g.split("'")[1] for (g,) in rows}


def _me(engine: MysqlLink) -> tuple[str, str]:
    user, _, host = str(engine.one("SELECT CURRENT_USER()")).rpartition("@")
    return user, f"'{user}'@'{host}'"


def bypass(engine: MysqlLink) -> list[str]:
    """Accounts other than turnout's (any host of its user name) that can write although the
    server is read_only, and are not locked."""
    user, me = _me(engine)
    grantees = _grantees(engine)
    if me not in grantees and not _sees_all(engine):
        raise BadInput(f"account {me} cannot tell which accounts write past read_only on "
                       f"{engine.endpoint}: give it SELECT on mysql.*, or stop the "
                       "application and run with --no-freeze")
    locked = _locked(engine)
    return [f"{g} (can write while read_only is on)" for g, name in sorted(grantees.items())
            if name != user and g not in locked]


def _sees_all(engine: MysqlLink) -> bool:
    try:
        engine.all("SELECT 1 FROM mysql.user LIMIT 1")
        return True
    except Exception:  # noqa: BLE001 - no SELECT on mysql.user
        return False


def _locked(engine: MysqlLink) -> set[str]:
    for sql in ("SELECT user, host FROM mysql.global_priv "  # MariaDB 10.4+
                "WHERE json_value(priv, '$.account_locked') = '1'",
                "SELECT user, host FROM mysql.user WHERE account_locked = 'Y'"):  # MySQL
        try:
            return {f"'{u}'@'{h}'" for u, h in engine.all(sql)}
        except Exception:  # noqa: BLE001 - the other server's catalog
            continue
    return set()


def frozen(engine: MysqlLink) -> bool:
    return bool(engine.table_exists(FREEZE_TABLE))


def freeze(engine: MysqlLink, reason: str, lock: list[str]) -> bool:
    """read_only on, and the accounts in `lock` (as bypass() names them) locked and their
    sessions ended. Whether this call put the fence up."""
    if frozen(engine):
        return False
    elsewhere = engine.one("SELECT min(table_schema) FROM information_schema.tables "
                           "WHERE table_name = %s AND table_schema <> DATABASE()",
                           (FREEZE_TABLE,))
    if elsewhere:  # read_only is the server's: the two could not be opened apart
        raise BadInput(f"database {elsewhere} on the same server as {engine.endpoint} is "
                       "fenced already, and read_only fences the whole server: with both "
                       "sides on one server, stop the application and run with --no-freeze")
    user, me = _me(engine)
    if me not in _grantees(engine):
        raise BadInput(f"account {me} cannot write through read_only on {engine.endpoint}, "
                       "and turnout's appliers must: GRANT READ_ONLY ADMIN (MariaDB) or "
                       "CONNECTION_ADMIN (MySQL) ON *.* to it, or stop the application and run "
                       "with --no-freeze")
    previous = _global(engine, "read_only")
    engine.execute(f"CREATE TABLE {quote(FREEZE_TABLE)} (name varchar(300) PRIMARY KEY, "
                   "previous varchar(16), reason text)")
    engine.execute(f"INSERT INTO {quote(FREEZE_TABLE)} VALUES (%s, %s, %s)",
                   ("read_only", previous, reason))
    for account in lock:
        grantee = account.split(" (")[0]
        engine.execute(f"INSERT INTO {quote(FREEZE_TABLE)} VALUES (%s, NULL, %s)",
                       (LOCKED + grantee, reason))
        engine.execute(f"ALTER USER {grantee} ACCOUNT LOCK")
        name, host = grantee.split("'")[1], grantee.split("'")[3]
        for (pid,) in engine.all("SELECT id FROM information_schema.processlist "
                                 "WHERE user = %s AND host LIKE %s", (name, _host_like(host))):
            engine.execute(f"KILL CONNECTION {int(pid)}")
    engine.execute("SET GLOBAL read_only = ON")
    return True


def _host_like(host: str) -> str:
    """A processlist host pattern for an account's host ('%' matches any client)."""
    return "%" if host == "%" else host + "%"


def unfreeze(engine: MysqlLink) -> None:
    if not frozen(engine):
        return
    saved = dict(engine.all(f"SELECT name, previous FROM {quote(FREEZE_TABLE)}"))
    for name in saved:
        if name.startswith(LOCKED):
            engine.execute(f"ALTER USER {name.removeprefix(LOCKED)} ACCOUNT UNLOCK")
    others = engine.one("SELECT count(*) FROM information_schema.tables WHERE table_name = %s "
                        "AND table_schema <> DATABASE()", (FREEZE_TABLE,))
    if not others:  # read_only is the whole server's: another database may still be fenced
        engine.execute(f"SET GLOBAL read_only = {_on_off(saved.get('read_only'))}")
    engine.execute(f"DROP TABLE {quote(FREEZE_TABLE)}")


def writers_after_freeze(engine: MysqlLink) -> list[Session]:
    """Sessions that can still write: those inside a writing transaction, and those of
    turnout's own account that are not turnout's (the account passes read_only)."""
    user, _ = _me(engine)
    return [s for s in list_sessions(engine)
            if not s.own and (s.writing or (frozen(engine) and s.user == user))]


def _on_off(value: str | None) -> str:
    return "ON" if (value or "OFF").upper() in ("ON", "1") else "OFF"
