"""Migration accounts on MySQL / MariaDB: 'name'@'%' with only what a task's side needs.

Source account, and why each grant:

- SELECT on the database: the full step's snapshot reads, the catalog, and
  verification.
- REPLICATION SLAVE on *.*: capture reads the binlog as a replica would
  (MariaDB calls it REPLICATION REPLICA); it exists only globally.
- REPLICATION CLIENT on *.*: SHOW MASTER STATUS for the capture position and
  SHOW BINARY LOGS to tell a purged binlog (MariaDB: BINLOG MONITOR).
- PROCESS on *.*: switchover and rollback list the server's sessions to see
  who can still write (ending them, --kill-sessions, needs an administrator).

Destination account: what grants.DESTINATION lists (SELECT, INSERT, UPDATE,
DELETE to load and apply; CREATE, DROP, ALTER, INDEX for the tables, their
indexes, AUTO_INCREMENT and the checkpoint table) plus REFERENCES, which
MySQL 8.0.22+ asks of whoever adds a foreign key, and CREATE TEMPORARY
TABLES for the stages of staged loads (staging.py; without it loads go
direct, slower). All on the database only.

Both accounts also carry the way back: after switchover the reverse task
reads the destination's binlog and writes the source. So the source account
has the destination privileges too, and the destination account the
replication ones; `turnout finish` revokes or drops all of it.

MySQL runs each statement in a transaction of its own, so a failed creation
drops the half-made account again.
"""

from __future__ import annotations

from typing import Any

from turnout.engines.base import check_account_name, check_account_role
from turnout.engines.capabilities import Accounts
from turnout.engines.mysql.dialect import quote
from turnout.engines.mysql.grants import DESTINATION
from turnout.engines.mysql.link import MysqlLink
from turnout.errors import BadInput, NotFound, OperationFailed

NAME_LIMIT = 32  # MySQL's limit; MariaDB allows 80
SOURCE_GLOBAL = ("REPLICATION SLAVE", "REPLICATION CLIENT", "PROCESS")
DEST = (*DESTINATION, "REFERENCES", "CREATE TEMPORARY TABLES")
# what revoke_write takes away, wherever the account holds it
WRITES = ("INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "INDEX", "REFERENCES",
          "CREATE VIEW", "CREATE ROUTINE", "ALTER ROUTINE", "TRIGGER", "EVENT",
          "CREATE TEMPORARY TABLES", "DELETE HISTORY")
_NO_SUCH_USER = (1396, 1141)  # operation failed for user; no such grant defined



class MysqlAccounts(Accounts):
    """Migration accounts on the MySQL or MariaDB database `engine` is connected to."""

    def __init__(self, engine: MysqlLink) -> None:
        self.engine = engine

    def create(self, user: str, password: str, role: str) -> list[str]:
        return create(self.engine, user, password, role)

    def revoke_write(self, user: str) -> list[str]:
        return revoke_write(self.engine, user)

    def drop(self, user: str) -> list[str]:
        return drop(self.engine, user)

    def is_superuser(self) -> bool:
        return is_superuser(self.engine)


def create(engine: MysqlLink, user: str, password: str, role: str) -> list[str]:
    """Create the account and grant its role's privileges; the statements, password hidden."""
    check_account_name(user, NAME_LIMIT)
    check_account_role(role)
    who, database = _account(user), f"{quote(engine.database)}.*"
    grants = [f"GRANT {', '.join(DEST)} ON {database} TO {who}",  # role: forward or back
              f"GRANT {', '.join(SOURCE_GLOBAL)} ON *.* TO {who}"]
    first = f"CREATE USER {who} IDENTIFIED BY "
    try:
        _execute(engine, first.replace("%", "%%") + "%s", (password,))
    except _Refused as exc:
        if exc.code == 1396:
            raise BadInput(f"account {who} exists already on {engine.endpoint}: choose another "
                           "name, or `turnout accounts drop` it first") from None
        raise exc.failed(engine) from None
    try:
        for statement in grants:
            _execute(engine, statement)
    except _Refused as exc:
        _execute(engine, f"DROP USER {who}")
        raise exc.failed(engine) from None
    return [first + "'***'", *grants]


def revoke_write(engine: MysqlLink, user: str) -> list[str]:
    """Revoke every write privilege the account holds, globally or on the database.

    Database privileges bind at connection time: sessions the account has open
    keep them until they reconnect (end them with `turnout sessions --end`).
    """
    who = _check_target(engine, user)
    found = []
    for scope, held in _held(engine, who).items():
        writes = [p for p in WRITES if p in held]
        if writes:
            found.append(f"REVOKE {', '.join(writes)} ON {scope} FROM {who}")
    for statement in found:
        _run(engine, statement)
    return found


def drop(engine: MysqlLink, user: str) -> list[str]:
    """Drop the account; its grants go with it (MySQL's tables have no owner to hand over)."""
    statement = f"DROP USER {_check_target(engine, user)}"
    _run(engine, statement)
    return [statement]


def is_superuser(engine: MysqlLink) -> bool:
    """Whether the URL's account holds ALL PRIVILEGES or SUPER on *.*."""
    return _mighty([r[0] for r in engine.all("SHOW GRANTS")])


# helpers -------------------------------------------------------------------


class _Refused(Exception):
    """A statement the server refused: its error code and message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message

    def failed(self, engine: MysqlLink) -> OperationFailed:
        return OperationFailed(f"{engine.endpoint}: {self.message}: connect as an account "
                               "that may create users and grant privileges (root)")


def _execute(engine: MysqlLink, statement: str, params: Any = None) -> None:
    import pymysql

    try:
        engine.execute(statement, params)
    except pymysql.err.MySQLError as exc:
        raise _Refused(exc.args[0], str(exc.args[-1])) from None


def _run(engine: MysqlLink, statement: str) -> None:
    try:
        _execute(engine, statement)
    except _Refused as exc:
        raise exc.failed(engine) from None


def _account(user: str) -> str:
    return f"'{user}'@'%'"


def _check_target(engine: MysqlLink, user: str) -> str:
    """The account, when it is one turnout could have made: never the URL's own, nor one
    with SUPER or ALL PRIVILEGES."""
    who = _account(check_account_name(user, NAME_LIMIT))
    import pymysql

    try:
        grants = [r[0] for r in engine.all(f"SHOW GRANTS FOR {who}")]
    except pymysql.err.MySQLError as exc:
        if exc.args[0] in _NO_SUCH_USER:
            raise NotFound(f"no account {who} on {engine.endpoint}") from None
        raise _Refused(exc.args[0], str(exc.args[-1])).failed(engine) from None
    if _mighty(grants):
        raise BadInput(f"{who} holds SUPER or ALL PRIVILEGES on {engine.endpoint}: turnout "
                       "changes migration accounts only")
    if engine.one("SELECT CURRENT_USER()") == f"{user}@%":
        raise BadInput(f"{engine.endpoint} connects as {who} itself: connect as root")
    return who


def _held(engine: MysqlLink, who: str) -> dict[str, set[str]]:
    """The account's privileges by scope: *.* and this database's `db`.*."""
    held: dict[str, set[str]] = {"*.*": set(), f"{quote(engine.database)}.*": set()}
    for (privilege,) in engine.all("SELECT privilege_type FROM information_schema."
                                   "user_privileges WHERE grantee = %s", (who,)):
        held["*.*"].add(privilege.upper())
    for (privilege,) in engine.all(
            "SELECT privilege_type FROM information_schema.schema_privileges WHERE grantee = %s "
            "AND table_schema = %s", (who, engine.database)):
        held[f"{quote(engine.database)}.*"].add(privilege.upper())
    return held


def _mighty(grants: list[str]) -> bool:
    """Whether SHOW GRANTS lines give ALL PRIVILEGES or SUPER on *.*."""
    for line in grants:
        head, on, _rest = line.upper().partition(" ON *.* ")
        if not on or not head.startswith("GRANT "):
            continue
        privileges = {p.strip() for p in head.removeprefix("GRANT ").split(",")}
        if "ALL PRIVILEGES" in privileges or "ALL" in privileges or "SUPER" in privileges:
            return True
    return False
