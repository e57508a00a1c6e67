"""What a MySQL account may do, checked before a task writes or reads anything.

A source account needs REPLICATION SLAVE and REPLICATION CLIENT for the
binlog (MariaDB also names them REPLICATION REPLICA and BINLOG MONITOR); a
destination account needs to create, fill and change the task's tables in
its database. Each missing piece is one line with the GRANT that fixes it.
"""

from __future__ import annotations

from turnout.engines.mysql.dialect import quote
from turnout.engines.mysql.link import MysqlLink

DESTINATION = ("SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "INDEX")
_ALIASES = {"REPLICATION SLAVE": "REPLICATION REPLICA", "REPLICATION CLIENT": "BINLOG MONITOR"}


def source_problems(engine: MysqlLink) -> list[str]:
    grants = " ".join(r[0] for r in engine.all("SHOW GRANTS")).upper()
    if "ALL PRIVILEGES ON *.*" in grants:
        return []
    missing = [p for p in _ALIASES if p not in grants and _ALIASES[p] not in grants]
    return [_fix(engine, missing, "*.*")] if missing else []


def destination_problems(engine: MysqlLink) -> list[str]:
    """Privileges on the destination database, granted globally or on the database."""
    return _lacking(engine, DESTINATION)


def ddl_problems(engine: MysqlLink) -> list[str]:
    """What keeps a source's DDL from being replayed on its scratch table (ddlshadow.py)."""
    return _lacking(engine, ("CREATE", "DROP"))


def _lacking(engine: MysqlLink, wanted: tuple[str, ...]) -> list[str]:
    held = {r[0].upper() for r in engine.all(
        f"SELECT privilege_type FROM information_schema.user_privileges WHERE grantee = {_WHO} "
        "UNION SELECT privilege_type FROM information_schema.schema_privileges "
        f"WHERE grantee = {_WHO} AND table_schema = DATABASE()")}
    missing = [p for p in wanted if p not in held]
    return [_fix(engine, missing, f"{quote(engine.database)}.*")] if missing else []


# the current account in the form information_schema names grantees: 'user'@'host'
_WHO = ("concat(char(39), substring_index(current_user(), '@', 1), char(39), '@', char(39), "
        "substring_index(current_user(), '@', -1), char(39))")


def _fix(engine: MysqlLink, missing: list[str], scope: str) -> str:
    user = engine.one("SELECT CURRENT_USER()")
    account = "'{}'@'{}'".format(*user.rsplit("@", 1))
    return (f"user {user} lacks {', '.join(missing)} on {scope}: "
            f"GRANT {', '.join(missing)} ON {scope} TO {account}")
