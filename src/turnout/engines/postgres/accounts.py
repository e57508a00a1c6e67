"""Migration accounts on PostgreSQL: a role with only what a task's side needs, and undoing it.

Source role, and why each grant:

- LOGIN REPLICATION: capture opens a walsender connection and creates, streams
  and drops a logical slot; PostgreSQL allows that to REPLICATION roles only.
- CONNECT on the database: the snapshot, catalog and heartbeat connections
  (granted although PUBLIC usually has it, since hardened servers revoke it).
- CREATE on the database: CREATE PUBLICATION needs it.
- USAGE on the schema, SELECT on its tables (and by default on tables its
  table owners create later): the full step, TOAST look-ups, verification.
- Membership in each role that owns tables of the schema: CREATE / ALTER
  PUBLICATION ... FOR TABLE accepts only a table's owner, and PostgreSQL has
  no narrower privilege. On PostgreSQL 16+ the membership is INHERIT TRUE,
  SET FALSE, so the account may act on those tables but never become their
  owner. Superuser owners are left out (membership would make the account a
  superuser); a comment says how to add their tables by hand. The same
  membership lets the owner set REPLICA IDENTITY FULL, which the precheck asks
  of tables without a key; nothing else is needed for it.
  The heartbeat (pg_logical_emit_message) and WAL positions need nothing more.

Destination role: LOGIN; CONNECT and TEMPORARY on the database (apply stages
batches in temporary tables); USAGE and CREATE on the schema (tables, enum
types, indexes and turnout's checkpoint table). The role owns what it creates,
which covers loading, TRUNCATE, foreign keys and setval() on the tables'
sequences.

Both roles also carry the way back: after switchover the reverse task reads
the destination and writes the source. So the destination role is REPLICATION
with CREATE on the database too (its slot and its publication, of tables it
owns), and the source role has TEMPORARY on the database and CREATE on the
schema (staging tables, the checkpoint table) beside the owners' membership,
which lets it write the tables. `turnout finish` revokes or drops all of it.

The password goes to the server as a SCRAM verifier computed here, so it is
never in the server's statement log either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from turnout.engines.base import check_account_name, check_account_role
from turnout.engines.capabilities import Accounts
from turnout.engines.postgres.dialect import quote
from turnout.engines.postgres.link import PgLink
from turnout.errors import BadInput, NotFound, OperationFailed

if TYPE_CHECKING:
    import psycopg

NAME_LIMIT = 63  # NAMEDATALEN - 1
HIDDEN = "'***'"
Step = tuple[str, str]  # the statement to run, and how it is shown



class PgAccounts(Accounts):
    """Migration accounts on the PostgreSQL database `engine` is connected to."""

    def __init__(self, engine: PgLink) -> None:
        self.engine = engine

    def create(self, user: str, password: str, role: str) -> list[str]:
        return create(self.engine, user, password, role)

    def revoke_write(self, user: str) -> list[str]:
        return revoke_write(self.engine, user)

    def drop(self, user: str) -> list[str]:
        return drop(self.engine, user)

    def is_superuser(self) -> bool:
        return is_superuser(self.engine)


def create(engine: PgLink, user: str, password: str, role: str) -> list[str]:
    """Create `user` for `role` in one transaction: all of it happens, or none."""
    check_account_name(user, NAME_LIMIT)
    check_account_role(role)
    if user.lower().startswith("pg_"):
        raise BadInput(f"account name {user!r} starts with pg_, which PostgreSQL reserves")
    if _role(engine.conn, user) is not None:
        raise BadInput(f"account {user} exists already on {engine.endpoint}: choose another "
                       f"name, or `turnout accounts drop` it first")
    _check_schema(engine)
    verifier = engine.conn.pgconn.encrypt_password(password.encode(), user.encode(), None)
    attributes = "LOGIN REPLICATION"  # either side is captured from, forward or back
    first = f"CREATE ROLE {quote(user)} {attributes} PASSWORD "
    steps = [(first + _literal(verifier.decode()), first + HIDDEN)]
    steps += _source(engine, user) if role == "source" else _dest(engine, user)
    return _run(engine, steps)


def _source(engine: PgLink, user: str) -> list[Step]:
    who, schema, database = quote(user), quote(engine.schema), _database(engine)
    owners = _table_owners(engine)
    plain = [o for o, superuser in owners if not superuser]
    supers = [o for o, superuser in owners if superuser]
    found = [
        f"GRANT CONNECT, CREATE, TEMPORARY ON DATABASE {database} TO {who}",
        f"GRANT USAGE, CREATE ON SCHEMA {schema} TO {who}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {who}",
    ]
    for owner in sorted({*plain, *supers, engine.conn.info.user}):
        found.append(f"ALTER DEFAULT PRIVILEGES FOR ROLE {quote(owner)} IN SCHEMA {schema} "
                     f"GRANT SELECT ON TABLES TO {who}")
    keep_out = " WITH INHERIT TRUE, SET FALSE" if engine.conn.info.server_version >= 160000 else ""
    found += [f"GRANT {quote(owner)} TO {who}{keep_out}" for owner in sorted(plain)]
    found += [f"-- not granted: membership in superuser {owner}, which owns tables here; to "
              f"capture them, have {owner} create the task's publication (the precheck "
              "prints it) or give the tables to a non-superuser owner" for owner in sorted(supers)]
    return [(s, s) for s in found]


def _dest(engine: PgLink, user: str) -> list[Step]:
    who, schema, database = quote(user), quote(engine.schema), _database(engine)
    found = [f"GRANT CONNECT, CREATE, TEMPORARY ON DATABASE {database} TO {who}",
             f"GRANT USAGE, CREATE ON SCHEMA {schema} TO {who}"]
    return [(s, s) for s in found]


def revoke_write(engine: PgLink, user: str) -> list[str]:
    """Leave `user` able to read, and nothing more.

    Memberships go first (they carry the table owners' rights). What the
    account owns here is handed to the URL's account, because an owner may
    alter or drop its tables and grant itself back whatever is revoked; it
    keeps SELECT on those tables, so it can still verify.
    """
    _check_target(engine, user)
    who, schema = quote(user), quote(engine.schema)
    found = [f"REVOKE {quote(r)} FROM {who}" for r in _memberships(engine.conn, user)]
    owned = _owned_tables(engine, user)
    found.append(f"REASSIGN OWNED BY {who} TO CURRENT_USER")
    if owned:
        found.append(f"GRANT SELECT ON {', '.join(owned)} TO {who}")
    found += [
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA {schema} FROM {who}",
        f"REVOKE CREATE ON SCHEMA {schema} FROM {who}",
        f"REVOKE CREATE ON DATABASE {_database(engine)} FROM {who}",
    ]
    return _run(engine, [(s, s) for s in found])


def drop(engine: PgLink, user: str) -> list[str]:
    """Hand what `user` owns here to the URL's account, drop its grants, then the role.

    DROP ROLE still fails while the role holds privileges in another database
    of the server; the error names it, and dropping there first clears it.
    """
    _check_target(engine, user)
    who = quote(user)
    found = [f"REASSIGN OWNED BY {who} TO CURRENT_USER", f"DROP OWNED BY {who}",
             f"DROP ROLE {who}"]
    return _run(engine, [(s, s) for s in found])


def is_superuser(engine: PgLink) -> bool:
    """Whether the URL's role bypasses every permission check (rolsuper)."""
    return bool(_scalar(engine.conn, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))


# helpers -------------------------------------------------------------------


def _run(engine: PgLink, steps: list[Step]) -> list[str]:
    """Run the steps in one transaction; comments are shown, not run."""
    import psycopg

    try:
        with engine.conn.transaction():
            for statement, _shown in steps:
                if not statement.startswith("--"):
                    engine.conn.execute(statement)
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        detail = exc.diag.message_detail if exc.diag and exc.diag.message_detail else ""
        raise OperationFailed(f"{engine.endpoint}: {reason}{' (' + detail + ')' if detail else ''}"
                              f"; nothing was changed: connect as a superuser or the owner "
                              "of the database, schema and tables") from None
    return [shown for _statement, shown in steps]


def _check_target(engine: PgLink, user: str) -> None:
    """Only accounts turnout could have made: never a superuser, nor the URL's own."""
    check_account_name(user, NAME_LIMIT)
    superuser = _role(engine.conn, user)
    if superuser is None:
        raise NotFound(f"no account {user} on {engine.endpoint}")
    if superuser:
        raise BadInput(f"{user} is a superuser on {engine.endpoint}: turnout changes migration "
                       "accounts only")
    if user == engine.conn.info.user:
        raise BadInput(f"{engine.endpoint} connects as {user} itself: connect as another "
                       "account (a superuser or the database owner)")


def _role(conn: psycopg.Connection[Any], user: str) -> bool | None:
    """Whether `user` is a superuser; None when there is no such role."""
    row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
    return None if row is None else bool(row[0])


def _check_schema(engine: PgLink) -> None:
    row = engine.conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (engine.schema,))
    if row.fetchone() is None:
        raise BadInput(f"schema {engine.schema} does not exist in {engine.endpoint}: "
                       f"CREATE SCHEMA {quote(engine.schema)} first")


def _table_owners(engine: PgLink) -> list[tuple[str, bool]]:
    """The roles owning tables of the schema, and whether each is a superuser."""
    return [(r[0], bool(r[1])) for r in engine.conn.execute(
        "SELECT DISTINCT o.rolname, o.rolsuper FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace JOIN pg_roles o ON o.oid = c.relowner WHERE n.nspname = %s "
        "AND c.relkind IN ('r', 'p') AND c.relname NOT LIKE '\\_turnout%%'", (engine.schema,),
    ).fetchall()]


def _owned_tables(engine: PgLink, user: str) -> list[str]:
    return [f"{quote(engine.schema)}.{quote(r[0])}" for r in engine.conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND c.relowner = "
        "(SELECT oid FROM pg_roles WHERE rolname = %s) ORDER BY c.relname",
        (engine.schema, user),
    ).fetchall()]


def _memberships(conn: psycopg.Connection[Any], user: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
        "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s ORDER BY 1", (user,),
    ).fetchall()]


def _database(engine: PgLink) -> str:
    return quote(_scalar(engine.conn, "SELECT current_database()"))


def _scalar(conn: psycopg.Connection[Any], sql: str) -> Any:
    """The value of a query that always returns one row."""
    row = conn.execute(sql).fetchone()
    assert row is not None, sql
    return row[0]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
