"""The store's database: one SQLite file (the default) or a PostgreSQL database shared by
several machines (TURNOUT_STORE=postgresql://..., or `turnout --store URL`).

store.py speaks one SQL to both, written for SQLite (`?` placeholders, the same upserts);
what differs (column types, how a transaction that writes begins, row locks, the order
rows were added in) is said here, once per backend. The schema is created and migrated
forward by version (meta's `schema_version`), the same steps on both.

The store URL's password is never printed: errors name the store by its redacted URL,
and the password may be a reference (`user:env:VAR@host`, `user:file:/path@host`).
"""

from __future__ import annotations

import os
import sqlite3
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from turnout import vault
from turnout.endpoint import _with_secret
from turnout.endpoint import redact as redact
from turnout.errors import BadInput, OperationFailed

STORE_ENV = "TURNOUT_STORE"
CONFIG_FILE = "config.toml"  # under $TURNOUT_HOME: store = "postgresql://..." (optional)
PG_SCHEMES = ("postgresql", "postgres")

# v1: what every turnout wrote before the shared store; {id}, {real}, {big}, {seq} differ
V1_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    state TEXT NOT NULL,
    phase TEXT,
    pid {big},
    pid_started {big},
    error TEXT,
    delay_s {real},
    position TEXT,
    changes_applied {big} NOT NULL DEFAULT 0,
    stop_requested INTEGER NOT NULL DEFAULT 0,
    created {real} NOT NULL,
    updated {real} NOT NULL,
    heartbeat {real}
);
CREATE TABLE IF NOT EXISTS table_progress (
    task TEXT NOT NULL REFERENCES tasks(name) ON DELETE CASCADE,
    source TEXT NOT NULL,
    dest TEXT NOT NULL,
    rows_copied {big} NOT NULL DEFAULT 0,
    rows_total {big} NOT NULL DEFAULT 0,
    done INTEGER NOT NULL DEFAULT 0,{seq}
    PRIMARY KEY (task, source)
);
CREATE TABLE IF NOT EXISTS checkpoints (
    task TEXT NOT NULL REFERENCES tasks(name) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (task, key)
);
CREATE TABLE IF NOT EXISTS events (
    id {id},
    task TEXT NOT NULL REFERENCES tasks(name) ON DELETE CASCADE,
    ts {real} NOT NULL,
    level TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_task ON events (task, id);
"""

# each later version: the statements that bring the one before it forward
MIGRATIONS: dict[int, list[str]] = {
    # leases: which agent runs the task, under which epoch, until when; whether it should run
    2: [
        "ALTER TABLE tasks ADD COLUMN agent TEXT",
        "ALTER TABLE tasks ADD COLUMN epoch {big} NOT NULL DEFAULT 0",
        "ALTER TABLE tasks ADD COLUMN lease_expires {real}",
        "ALTER TABLE tasks ADD COLUMN wanted INTEGER NOT NULL DEFAULT 0",
        "CREATE TABLE IF NOT EXISTS agents (name TEXT PRIMARY KEY, host TEXT NOT NULL, "
        "pid {big} NOT NULL, max_tasks INTEGER NOT NULL, started {real} NOT NULL, "
        "seen {real} NOT NULL)",
    ],
    # the name of the task's capture objects on its source (slot, publication, triggers):
    # NULL for tasks made before, whose objects keep the name derived from the task's alone
    3: ["ALTER TABLE tasks ADD COLUMN capture TEXT"],
}
SCHEMA_VERSION = max(MIGRATIONS)


class Conn(Protocol):
    """What the store asks of a connection: sqlite3's execute and executemany."""

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...
    def executemany(self, sql: str, params: Any) -> Any: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class Dialect:
    """What differs between the two backends, as SQL fragments."""

    name: str
    types: dict[str, str]
    begin: str  # a transaction that will write: SQLite takes the write lock at once
    lock: str  # appended to a SELECT whose rows the transaction will change
    added_order: str  # table_progress in the order its rows were first added
    now: str  # the database's clock in seconds since 1970: leases agree on one clock

    def ddl(self, text: str) -> str:
        return text.format(**self.types)


SQLITE = Dialect("sqlite", {"id": "INTEGER PRIMARY KEY AUTOINCREMENT", "real": "REAL",
                            "big": "INTEGER", "seq": ""}, "BEGIN IMMEDIATE", "", "rowid",
                "((julianday('now') - 2440587.5) * 86400.0)")
POSTGRES = Dialect("postgresql", {"id": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
                                  "real": "DOUBLE PRECISION", "big": "BIGINT",
                                  "seq": "\n    seq BIGINT GENERATED ALWAYS AS IDENTITY,"},
                   "BEGIN", " FOR UPDATE", "seq", "EXTRACT(EPOCH FROM clock_timestamp())::float8")


def store_url(explicit: str | None = None, home: Path | None = None) -> str | None:
    """The shared store's URL when one is set (`--store`, $TURNOUT_STORE, else `store` in
    `home`'s config.toml); None: the file (also when `explicit` is "", which asks for the
    file whatever the environment and the config say)."""
    if explicit is not None:
        url = explicit or None
    else:
        url = os.environ.get(STORE_ENV) or (configured_store(home) if home else None)
    if url and url.split(":", 1)[0].lower() not in PG_SCHEMES:
        raise BadInput(f"the store URL {redact(url)!r} is not postgresql://...: the store is "
                       "an SQLite file under $TURNOUT_HOME, or a PostgreSQL database")
    return url


def configured_store(home: Path) -> str | None:
    """`store = "postgresql://…"` in $TURNOUT_HOME/config.toml, the one setting the file
    holds: every command on a machine finds the shared store without an environment. A
    password in it must be a reference (`user:env:VAR@host`, `user:file:/path@host`)."""
    path = home / CONFIG_FILE
    try:
        with open(path, "rb") as fh:
            config = tomllib.load(fh)
    except FileNotFoundError:
        return None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BadInput(f"cannot read {path}: {exc}: fix or remove the file") from None
    unknown = sorted(set(config) - {"store"})
    if unknown:
        raise BadInput(f"{path} sets {', '.join(unknown)}, which turnout does not know: "
                       'the file holds only store = "postgresql://..."')
    url = config.get("store")
    if url is not None and not isinstance(url, str):
        raise BadInput(f'{path}: store must be a string: store = "postgresql://..."')
    password = urlsplit(url).password if url else None
    if password and not password.startswith(("env:", "file:")):
        raise BadInput(f"{path} holds the store's password in clear: write it as "
                       "user:env:VAR@host or user:file:/path@host")
    return url or None


def connect_sqlite(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=30000")
    return db


def connect_postgres(url: str) -> Conn:
    """A connection in autocommit (the store says BEGIN itself) answering like sqlite3's."""
    try:
        import psycopg
    except ImportError:
        raise BadInput("a PostgreSQL store needs psycopg: pip install 'turnout[postgres]'"
                       ) from None
    try:
        conn = psycopg.connect(_with_secret(url), autocommit=True, connect_timeout=10,
                               application_name="turnout-store", row_factory=_rows)
    except psycopg.Error as exc:
        raise OperationFailed(f"cannot reach the store at {redact(url)}: "
                              f"{vault.scrub(str(exc)).strip().splitlines()[0]}") from None
    return _PgConn(conn)


class Row(tuple):  # type: ignore[type-arg]
    """A row read by name or by position, as sqlite3.Row is."""

    names: dict[str, int]

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self.names)


def _rows(cursor: Any) -> Any:
    names = {c.name: i for i, c in enumerate(cursor.description or ())}

    def make(values: Sequence[Any]) -> Row:
        row = Row(values)
        row.names = names
        return row
    return make


class _PgConn:
    """psycopg under sqlite3's face: `?` placeholders, enums as their values."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql.replace("?", "%s"), [_value(p) for p in params])

    def executemany(self, sql: str, params: Any) -> Any:
        cursor = self.conn.cursor()
        cursor.executemany(sql.replace("?", "%s"), [[_value(p) for p in ps] for ps in params])
        return cursor

    def close(self) -> None:
        self.conn.close()


def _value(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


@contextmanager
def transaction(db: Conn, dialect: Dialect) -> Iterator[Conn]:
    """One transaction that writes; rolled back on any error."""
    db.execute(dialect.begin)
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def migrate(db: Conn, dialect: Dialect) -> int:
    """Create the schema, or bring an older one forward; the version it was at (0: new).

    On PostgreSQL an advisory lock keeps two processes that open a new store at once from
    both migrating it."""
    with transaction(db, dialect):
        if dialect is POSTGRES:
            db.execute("SELECT pg_advisory_xact_lock(7411)")  # turnout's store, any number
        for statement in dialect.ddl(V1_SCHEMA).split(";"):
            if statement.strip():
                db.execute(statement)
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        was = int(row[0]) if row else 0
        if was > SCHEMA_VERSION:
            raise BadInput(f"the store was written by a newer turnout (schema {was}, this one "
                           f"knows {SCHEMA_VERSION}): upgrade turnout")
        for version in sorted(v for v in MIGRATIONS if v > max(was, 1)):
            for statement in MIGRATIONS[version]:
                db.execute(dialect.ddl(statement))
        db.execute("INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT (key) "
                   "DO UPDATE SET value = excluded.value", (str(SCHEMA_VERSION),))
    return was
