"""PostgresEngine: what turnout asks of a database, answered for a PostgreSQL schema; the
package docstring (__init__.py) says where each part lives."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from turnout.alter import Alteration
from turnout.endpoint import Endpoint
from turnout.engines.base import Capture, Engine, SnapshotReader
from turnout.engines.capabilities import Capabilities
from turnout.engines.postgres import (
    alter,
    apply,
    build,
    catalog,
    checkpoints,
    ddl,
    ddlcapture,
    faults,
    replication,
    sessions,
    values,
)
from turnout.engines.postgres.accounts import PgAccounts
from turnout.engines.postgres.capture import PgCapture, PgPosition
from turnout.engines.postgres.checkpoints import CHECKPOINT_TABLE
from turnout.engines.postgres.checksums import PgVerifyReader
from turnout.engines.postgres.dialect import column_list, qualified, quote
from turnout.engines.postgres.direct import PgDirectCopy
from turnout.engines.postgres.dump import PgDumper
from turnout.engines.postgres.jsontext import load_json_as_text
from turnout.engines.postgres.refusals import copy_rows
from turnout.engines.postgres.sessions import APPLICATION
from turnout.engines.postgres.snapshot import PgSnapshot
from turnout.engines.postgres.writes import PgWrites
from turnout.errors import BadInput, TurnoutError
from turnout.gaps import Gap
from turnout.model import Checkpoint, Key, Position, Row, Session, Table
from turnout.naming import Naming
from turnout.types import GEOMETRY_FIX, POSTGIS_STEP, CanonicalType, Kind

__all__ = ["CHECKPOINT_TABLE", "PostgresEngine"]
_Snapshot = PgSnapshot  # the reader snapshot() opens (snapshot.py)


def _split_url(url: str) -> tuple[str, str]:
    """The libpq URL without turnout's own `schema=` parameter, and that schema."""
    parts = urlsplit(url)
    params = parse_qsl(parts.query)
    schema = next((v for k, v in params if k == "schema"), "public")
    query = urlencode([(k, v) for k, v in params if k != "schema"])
    scheme = "postgresql"
    return urlunsplit(parts._replace(scheme=scheme, query=query)), schema


class PostgresEngine(PgWrites, PgDirectCopy, Engine):
    scheme = "postgresql"
    naming = Naming("PostgreSQL", limit=63, limit_in_bytes=True, indexes_per_schema=True)
    capabilities = Capabilities(accounts=True, end_sessions=True, dump_tool="pg_dump",
                                strict_booleans=True,
                                alterations=alter.ALTERATIONS)

    def __init__(self, endpoint: Endpoint, *, create: bool = False) -> None:
        super().__init__(endpoint, create=create)
        self.url, self.schema = _split_url(endpoint.url)
        self.conn = self.connect()
        self.init_writes()
        self._formats: dict[tuple[str, str, str], str] = {}  # COPY format per table pair

    def connect(self) -> Any:
        import psycopg

        try:
            conn = psycopg.connect(
                self.url, autocommit=True, application_name=APPLICATION, connect_timeout=10,
                **faults.net_options(self.url),
            )
        except psycopg.OperationalError as exc:
            if faults.is_unreachable(exc):  # down or restarting: a running task retries
                raise faults.unreachable(self.endpoint, exc) from None
            raise BadInput(f"cannot connect to {self.endpoint}: {faults.reason(exc)}") from None
        # a database frozen by freeze() starts sessions read-only; turnout's own may write
        conn.execute("SET default_transaction_read_only = off")
        conn.execute(values.settings_sql())  # floats and intervals as text in one form
        load_json_as_text(conn)
        values.register(conn)
        sessions.pass_fence(conn, self.schema)
        return conn

    def close(self) -> None:
        self.conn.close()

    @classmethod
    def classify_error(cls, exc: BaseException) -> TurnoutError | None:
        return faults.classify(exc)

    @classmethod
    def position_from_dict(cls, data: dict[str, Any]) -> Position:
        return PgPosition.parse(data["lsn"])

    # catalog -------------------------------------------------------------

    def list_tables(self) -> list[str]:
        with self.conn.cursor() as cur:
            return catalog.list_tables(cur, self.schema)

    def reflect(self, names: list[str]) -> list[Table]:
        """Read with the schema as the search_path: a source's own SQL then names what is in
        its schema unqualified, which a destination resolves in its own (ddl.py)."""
        with ddl.in_schema(self.conn, self.schema) as cur:
            return catalog.reflect_tables(cur, self.schema, names)

    def type_problem(self, ctype: CanonicalType) -> str | None:
        """Every canonical type has a PostgreSQL type but MySQL's geometry, which needs PostGIS
        and turnout does not create it: its text (EWKT) is what PostGIS reads exactly."""
        if ctype.kind is Kind.GEOMETRY:
            return GEOMETRY_FIX.format(engine="PostgreSQL") + POSTGIS_STEP
        return None

    def gaps_held(self, ctype: CanonicalType) -> frozenset[Gap]:
        return values.gaps_held(ctype)

    def gaps_refused(self, ctype: CanonicalType) -> frozenset[Gap]:
        return values.gaps_refused(ctype)

    def gap_test(self, table: Table, column: str, gap: Gap) -> str | None:
        return values.gap_test(quote(column), table.column(column).type.kind, gap,
                               self.conn.info.server_version)

    def first_key(self, table: Table, where: str) -> Key | None:
        row = self.conn.execute(
            f"SELECT {column_list(table.key)} FROM {qualified(self.schema, table.name)} "
            f"WHERE {where} LIMIT 1").fetchone()
        return tuple(row) if row else None

    def apply_problems(self, tables: list[str]) -> list[str]:
        return ddl.always_identities(self.conn, self.schema, tables)

    def schema_problems(self, tables: list[Table]) -> list[str]:
        return ddl.missing_types(self.conn, self.schema, tables, self.scheme)

    # building tables (build.py) -----------------------------------------

    def create_table(self, table: Table) -> None:
        build.create_tables(self.conn, self.schema, [table])

    def create_tables(self, tables: list[Table]) -> None:
        build.create_tables(self.conn, self.schema, tables)

    def create_indexes(self, table: Table) -> None:
        build.create_indexes(self.conn, self.schema, [table])

    def create_indexes_of(self, tables: list[Table]) -> None:
        build.create_indexes(self.conn, self.schema, tables)

    def index_parts(self, table: Table) -> list[str]:
        return build.index_parts(table)

    def create_index_part(self, table: Table, part: str) -> None:
        build.create_index_part(self.conn, self.schema, table, part)

    def create_foreign_keys(self, table: Table) -> None:
        build.create_foreign_keys(self.conn, self.schema, table)

    def sync_sequences(self, table: Table) -> None:
        build.sync_sequences(self.conn, self.schema, table)

    def alter(self, table: Table, alteration: Alteration) -> str | None:
        self._staging.forget()
        return alter.alter(self.conn, self.schema, table, alteration)

    def alter_statement(self, table: Table, alteration: Alteration) -> str:
        return alter.statement(self.schema, table, alteration)

    def run_statement(self, sql: str) -> None:
        self._staging.forget()
        with self.conn.transaction():
            self.conn.execute(sql)

    def table_exists(self, name: str) -> bool:
        return checkpoints.table_exists(self.conn, self.schema, name)

    def existing_tables(self, names: list[str]) -> set[str]:
        return checkpoints.existing_tables(self.conn, self.schema, names)

    def has_rows(self, name: str) -> bool:
        return checkpoints.has_rows(self.conn, self.schema, name)

    # rows ----------------------------------------------------------------

    @contextmanager
    def snapshot(self, exported: str | None = None) -> Iterator[SnapshotReader]:
        """A repeatable-read view; inside the snapshot capture exported when `exported` is given.

        An exported snapshot lives only while the connection that created the
        slot is idle; if it cannot be imported any more, a fresh view is used:
        it is later than where capture starts, which replaying makes harmless.
        """
        import psycopg
        from psycopg import sql

        conn = self.connect()
        try:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            imported = exported
            if exported:
                try:
                    conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(exported))
                except psycopg.Error:
                    imported = None
                    conn.execute("ROLLBACK")
                    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield _Snapshot(conn, self.schema, imported)
            conn.execute("COMMIT")
        finally:
            conn.close()

    def load(self, table: Table, rows: list[Row], checkpoint: Checkpoint) -> None:
        adapt = apply.adapter(table)
        with self._write(checkpoint) as cur:
            if rows:
                target = qualified(self.schema, table.name)
                sql = f"COPY {target} ({column_list(table.column_names)}) FROM STDIN"
                copy_rows(cur, sql, table, table.column_names, rows, adapt)
            self._save_checkpoint(cur, checkpoint)

    def capture(self, tables: list[Table], slot: str) -> Capture:
        return PgCapture(self, tables, slot)

    def capture_problems(self, slot: str, tables: list[str] | None = None) -> list[str]:
        """Server settings, privileges and, given the task's `tables`, their publication
        ownership and REPLICA IDENTITY: one line each, with the fix."""
        return replication.problems(self.conn, self.endpoint, self.schema, f"turnout_{slot}",
                                    tables)

    def ddl_ahead(self) -> str | None:
        return ddlcapture.ahead(self.conn, self.endpoint, self.schema)

    def leftover_captures(self, owned: set[str]) -> list[str]:
        """turnout's logical slots on this database that nothing streams from and no task owns.

        A stopped task, or one in its full step, has an idle slot too: `owned`
        names those, so only slots of deleted or crashed-while-deleting tasks remain.
        """
        rows = self.conn.execute(
            "SELECT slot_name FROM pg_replication_slots WHERE slot_type = 'logical' "
            "AND database = current_database() AND NOT active AND slot_name LIKE %s "
            "ORDER BY slot_name", ("turnout\\_%",),
        ).fetchall()
        return [r[0] for r in rows if r[0].removeprefix("turnout_") not in owned]

    # operations ----------------------------------------------------------

    @property
    def dumper(self) -> PgDumper:
        return PgDumper(self, self.url, self.schema)

    @property
    def accounts(self) -> PgAccounts:
        """Migration accounts (accounts.py says what each grant is for)."""
        return PgAccounts(self)

    def verify_reader(self) -> PgVerifyReader:
        return PgVerifyReader(self.connect(), self.schema)

    def sessions(self) -> list[Session]:
        return sessions.list_sessions(self.conn)

    def freeze(self, reason: str, lock: list[str] | None = None) -> bool:
        with self._write() as cur:
            made = sessions.freeze(self.conn, cur, self.schema, reason,
                                   [r.split(" (")[0] for r in lock or []])
        sessions.pass_fence(self.conn, self.schema)
        sessions.fence_tables(self.conn, self.schema)
        return made

    def frozen(self) -> bool:
        return sessions.frozen(self.conn, self.schema)

    def fence_bypass(self) -> list[str]:
        return sessions.bypass(self.conn, self.schema)

    def writers_after_freeze(self) -> list[Session]:
        return sessions.writers_after_freeze(self.conn, self.schema)

    def end_sessions(self, ids: list[str]) -> None:
        for pid in ids:
            self.conn.execute("SELECT pg_terminate_backend(%s)", (int(pid),))

    def unfreeze(self) -> None:
        with self._write() as cur:
            sessions.unfreeze(self.conn, cur, self.schema)
