"""The PostgreSQL engine (psycopg 3): connections, snapshot reads, COPY loads, streamed
copies between servers, checkpoints, sessions and freeze; applying batches is in apply.py.

Change capture through logical decoding (pgoutput) is in capture.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from turnout.coalesce import Batch
from turnout.endpoint import Endpoint
from turnout.engines.base import Capture, DirectCopy, Engine, SnapshotReader
from turnout.engines.keyrange import after_key
from turnout.engines.postgres import apply, catalog
from turnout.engines.postgres.capture import PgCapture, PgPosition
from turnout.engines.postgres.dialect import (
    column_list,
    create_enum_sql,
    create_index_sql,
    create_table_sql,
    enum_type_name,
    foreign_key_sql,
    primary_key_sql,
    qualified,
    quote,
)
from turnout.errors import BadInput, OperationFailed, TransientError
from turnout.model import Checkpoint, Key, Position, Row, Session, Table
from turnout.types import CanonicalType, Kind

CHECKPOINT_TABLE = "_turnout_checkpoint"
FREEZE_TABLE = "_turnout_freeze"
APPLICATION = "turnout"
RELAY_BATCH = 2000  # COPY rows per write when streaming between two servers


def _split_url(url: str) -> tuple[str, str]:
    """The libpq URL without turnout's own `schema=` parameter, and that schema."""
    parts = urlsplit(url)
    params = parse_qsl(parts.query)
    schema = next((v for k, v in params if k == "schema"), "public")
    query = urlencode([(k, v) for k, v in params if k != "schema"])
    scheme = "postgresql"
    return urlunsplit(parts._replace(scheme=scheme, query=query)), schema


class PostgresEngine(Engine, DirectCopy):
    scheme = "postgresql"

    def __init__(self, endpoint: Endpoint, *, create: bool = False) -> None:
        super().__init__(endpoint, create=create)
        self.url, self.schema = _split_url(endpoint.url)
        self.conn = self.connect()
        self._replica_checked = False

    def connect(self) -> Any:
        import psycopg

        try:
            conn = psycopg.connect(
                self.url, autocommit=True, application_name=APPLICATION, connect_timeout=10
            )
        except psycopg.OperationalError as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise BadInput(f"cannot connect to {self.endpoint}: {reason}") from None
        # a database frozen by freeze() starts sessions read-only; turnout's own may write
        conn.execute("SET default_transaction_read_only = off")
        return conn

    def close(self) -> None:
        self.conn.close()

    @classmethod
    def position_from_dict(cls, data: dict[str, Any]) -> Position:
        return PgPosition.parse(data["lsn"])

    # catalog -------------------------------------------------------------

    def list_tables(self) -> list[str]:
        with self.conn.cursor() as cur:
            return catalog.list_tables(cur, self.schema)

    def reflect(self, names: list[str]) -> list[Table]:
        with self.conn.cursor() as cur:
            return [catalog.reflect_table(cur, self.schema, n) for n in names]

    def type_problem(self, ctype: CanonicalType) -> str | None:
        return None  # every canonical type has a PostgreSQL type

    def create_table(self, table: Table) -> None:
        same_engine = table.origin == self.scheme
        for column in table.columns:
            if column.type.kind is not Kind.ENUM:
                continue
            name = enum_type_name(table, column, same_engine)
            exists = self.conn.execute(
                "SELECT 1 FROM pg_type WHERE typname = %s AND typnamespace = %s::regnamespace",
                (name, quote(self.schema)),
            ).fetchone()
            if not exists:
                self.conn.execute(create_enum_sql(self.schema, name, column.type.values))
        self.conn.execute(create_table_sql(self.schema, table, same_engine))

    def create_indexes(self, table: Table) -> None:
        if table.primary_key and not self._has_primary_key(table.name):
            self.conn.execute(primary_key_sql(self.schema, table))
        for index in table.indexes:
            self.conn.execute(create_index_sql(self.schema, table, index))

    def create_foreign_keys(self, table: Table) -> None:
        for n, fk in enumerate(table.foreign_keys):
            name = f"{table.name}_fk{n}_{apply.digest(fk.ref_table)}"
            exists = self.conn.execute(
                "SELECT 1 FROM pg_constraint WHERE conname = %s AND connamespace = "
                "%s::regnamespace", (name, quote(self.schema))
            ).fetchone()
            if not exists:
                self.conn.execute(foreign_key_sql(self.schema, table, fk, name))

    def sync_sequences(self, table: Table) -> None:
        name = qualified(self.schema, table.name)
        for column in table.columns:
            if not column.autoincrement:
                continue
            self.conn.execute(
                f"SELECT setval(seq, greatest((SELECT max({quote(column.name)}) FROM {name}), 1)) "
                "FROM pg_get_serial_sequence(%s, %s) AS seq WHERE seq IS NOT NULL",
                (name, column.name),
            )

    def _has_primary_key(self, name: str) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM pg_index WHERE indisprimary AND indrelid = %s::regclass",
            (qualified(self.schema, name),),
        ).fetchone()
        return row is not None

    def table_exists(self, name: str) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')",
            (self.schema, name),
        ).fetchone()
        return row is not None

    def has_rows(self, name: str) -> bool:
        row = self.conn.execute(f"SELECT 1 FROM {qualified(self.schema, name)} LIMIT 1")
        return row.fetchone() is not None

    # rows ----------------------------------------------------------------

    @contextmanager
    def snapshot(self) -> Iterator[SnapshotReader]:
        conn = self.connect()
        try:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield _Snapshot(conn, self.schema)
            conn.execute("COMMIT")
        finally:
            conn.close()

    def load(self, table: Table, rows: list[Row], checkpoint: Checkpoint) -> None:
        adapt = apply.adapter(table)
        with self._write() as cur:
            if rows:
                target = qualified(self.schema, table.name)
                sql = f"COPY {target} ({column_list(table.column_names)}) FROM STDIN"
                with cur.copy(sql) as copy:
                    for row in rows:
                        copy.write_row(adapt(row))
            self._save_checkpoint(cur, checkpoint)

    def can_copy_from(self, source: Engine) -> bool:
        return isinstance(source, PostgresEngine)

    def copy_chunk_from(
        self,
        source: Engine,
        table: Table,
        dest: Table,
        after: Key | None,
        limit: int,
        checkpoint: Callable[[int, Key | None], Checkpoint],
    ) -> tuple[int, Key | None]:
        """Stream COPY text from the source server into the destination, block by block."""
        assert isinstance(source, PostgresEngine)
        key = column_list(table.key)
        where, params = after_key(key, after, "%s")
        params.append(limit)
        origin = qualified(source.schema, table.name)
        select = (f"SELECT {column_list(table.column_names)} FROM {origin} {where} "
                  f"ORDER BY {key} LIMIT %s")
        target = f"{qualified(self.schema, dest.name)} ({column_list(dest.column_names)})"
        with self._write() as cur, source.conn.cursor() as out:
            with out.copy(f"COPY ({select}) TO STDOUT", params) as reader, cur.copy(
                f"COPY {target} FROM STDIN"
            ) as writer:
                pending: list[Any] = []
                for block in reader:  # one block per row: relay them in batches
                    pending.append(block)
                    if len(pending) >= RELAY_BATCH:
                        writer.write(b"".join(pending))
                        pending.clear()
                if pending:
                    writer.write(b"".join(pending))
            copied = max(cur.rowcount, 0)
            last = after
            if copied:  # the last key in the source's own order
                row = source.conn.execute(
                    f"SELECT {key} FROM {origin} {where} ORDER BY {key} LIMIT 1 OFFSET %s",
                    [*params[:-1], copied - 1],
                ).fetchone()
                last = tuple(row)
            self._save_checkpoint(cur, checkpoint(copied, last))
        return copied, last

    def capture(self, tables: list[Table], slot: str) -> Capture:
        return PgCapture(self, tables, slot)

    def capture_problems(self, slot: str) -> list[str]:
        problems = []
        wal_level = self.conn.execute("SHOW wal_level").fetchone()[0]
        if wal_level != "logical":
            problems.append(
                f"{self.endpoint} has wal_level = {wal_level}: run ALTER SYSTEM SET wal_level = "
                "logical and restart PostgreSQL (logical decoding needs it)"
            )
        user, allowed = self.conn.execute(
            "SELECT current_user, rolsuper OR rolreplication FROM pg_roles "
            "WHERE rolname = current_user"
        ).fetchone()
        if not allowed:
            problems.append(
                f"user {user} may not use replication slots: ALTER ROLE {quote(user)} REPLICATION"
            )
        used, limit, mine = self.conn.execute(
            "SELECT count(*), current_setting('max_replication_slots')::int, "
            "count(*) FILTER (WHERE slot_name = %s) FROM pg_replication_slots",
            (f"turnout_{slot}",),
        ).fetchone()
        if not mine and used >= limit:
            problems.append(
                f"all {limit} replication slots are in use: raise max_replication_slots "
                "(restart needed) or drop a slot nobody uses"
            )
        return problems

    def apply(self, batch: Batch, checkpoint: Checkpoint) -> None:
        import psycopg

        try:
            self._apply(batch, checkpoint, clear_first=False)
        except psycopg.errors.UniqueViolation:
            self._apply(batch, checkpoint, clear_first=True)  # rows trading unique values

    def _apply(self, batch: Batch, checkpoint: Checkpoint, clear_first: bool) -> None:
        parents_first = apply.parents_first(list(batch.tables.values()))
        with self._write() as cur:
            for tb in reversed(parents_first):  # children lose rows before their parents
                keys = [*tb.deletes, *tb.upserts] if clear_first else list(tb.deletes)
                if keys:
                    apply.delete_keys(cur, self.schema, tb, keys)
            for tb in parents_first:  # parents gain rows before their children
                if tb.upserts:
                    apply.upsert(cur, self.schema, tb)
            self._save_checkpoint(cur, checkpoint)

    def read_checkpoint(self, owner: str) -> dict[str, str]:
        if not self.table_exists(CHECKPOINT_TABLE):
            return {}
        rows = self.conn.execute(
            f"SELECT name, value FROM {qualified(self.schema, CHECKPOINT_TABLE)} "
            "WHERE owner = %s", (owner,)
        ).fetchall()
        return dict(rows)

    def drop_checkpoint(self, owner: str) -> None:
        if not self.table_exists(CHECKPOINT_TABLE):
            return
        table = qualified(self.schema, CHECKPOINT_TABLE)
        self.conn.execute(f"DELETE FROM {table} WHERE owner = %s", (owner,))
        if self.conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is None:
            self.conn.execute(f"DROP TABLE {table}")

    def _save_checkpoint(self, cur: Any, checkpoint: Checkpoint) -> None:
        table = qualified(self.schema, CHECKPOINT_TABLE)
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (owner text NOT NULL, name text NOT NULL, "
            "value text NOT NULL, PRIMARY KEY (owner, name))"
        )
        cur.executemany(
            f"INSERT INTO {table} VALUES (%s, %s, %s) "
            "ON CONFLICT (owner, name) DO UPDATE SET value = EXCLUDED.value",
            [(checkpoint.owner, k, v) for k, v in checkpoint.values.items()],
        )

    def _replica_role(self) -> None:
        """Apply like a replica: foreign keys and the application's triggers do not fire.

        Without the privilege (superuser) turnout orders each batch by foreign
        keys instead, which covers everything but cycles.
        """
        import psycopg

        if self._replica_checked:
            return
        self._replica_checked = True
        try:
            self.conn.execute("SET session_replication_role = replica")
        except psycopg.errors.InsufficientPrivilege:
            pass

    @contextmanager
    def _write(self) -> Iterator[Any]:
        import psycopg

        self._replica_role()
        try:
            with self.conn.transaction(), self.conn.cursor() as cur:
                yield cur
        except psycopg.errors.ReadOnlySqlTransaction as exc:
            raise OperationFailed(f"{self.endpoint} refuses writes: {exc}") from None
        except (psycopg.errors.DeadlockDetected, psycopg.errors.LockNotAvailable) as exc:
            raise TransientError(f"{self.endpoint}: {exc}") from None

    # operations ----------------------------------------------------------

    def sessions(self) -> list[Session]:
        rows = self.conn.execute(
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

    def freeze(self, reason: str) -> None:
        """default_transaction_read_only on the database for every new session but turnout's.

        The previous database-level value is kept in a small table so unfreeze
        restores exactly it.
        """
        table = qualified(self.schema, FREEZE_TABLE)
        if self.table_exists(FREEZE_TABLE):
            return
        previous = self._database_setting("default_transaction_read_only")
        with self._write() as cur:
            cur.execute(f"CREATE TABLE {table} (previous text, reason text NOT NULL)")
            cur.execute(f"INSERT INTO {table} VALUES (%s, %s)", (previous, reason))
            cur.execute(f"ALTER DATABASE {self._database()} SET default_transaction_read_only = on")

    def unfreeze(self) -> None:
        if not self.table_exists(FREEZE_TABLE):
            return
        table = qualified(self.schema, FREEZE_TABLE)
        previous = self.conn.execute(f"SELECT previous FROM {table}").fetchone()[0]
        with self._write() as cur:
            if previous is None:
                cur.execute(
                    f"ALTER DATABASE {self._database()} RESET default_transaction_read_only"
                )
            else:
                cur.execute(f"ALTER DATABASE {self._database()} SET "
                            f"default_transaction_read_only = {quote(previous)}")
            cur.execute(f"DROP TABLE {table}")

    def _database(self) -> str:
        return quote(self.conn.execute("SELECT current_database()").fetchone()[0])

    def _database_setting(self, name: str) -> str | None:
        row = self.conn.execute(
            "SELECT s FROM pg_db_role_setting r, unnest(r.setconfig) s "
            "WHERE r.setrole = 0 AND r.setdatabase = "
            "(SELECT oid FROM pg_database WHERE datname = current_database()) AND s LIKE %s",
            (name + "=%",),
        ).fetchone()
        return row[0].split("=", 1)[1] if row else None


class _Snapshot(SnapshotReader):
    def __init__(self, conn: Any, schema: str) -> None:
        self.conn, self.schema = conn, schema

    def read_chunk(self, table: Table, after: Key | None, limit: int) -> list[Row]:
        cols, key = column_list(table.column_names), column_list(table.key)
        where, params = after_key(key, after, "%s")
        params.append(limit)
        sql = (f"SELECT {cols} FROM {qualified(self.schema, table.name)} {where} "
               f"ORDER BY {key} LIMIT %s")
        return self.conn.execute(sql, params).fetchall()

    def count_rows(self, table: Table) -> int:
        sql = f"SELECT count(*) FROM {qualified(self.schema, table.name)}"
        return int(self.conn.execute(sql).fetchone()[0])
