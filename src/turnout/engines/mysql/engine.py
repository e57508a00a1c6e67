"""MysqlEngine: what turnout asks of a database, answered for a MySQL or MariaDB database;
the package docstring (__init__.py) says where each part lives."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from turnout.alter import Alteration
from turnout.coalesce import Batch
from turnout.endpoint import Endpoint
from turnout.engines.base import Capture, Engine, SnapshotReader
from turnout.engines.booleans import odd_booleans
from turnout.engines.capabilities import Capabilities
from turnout.engines.mysql import (
    alter,
    apply,
    bulk,
    catalog,
    charsets,
    client,
    ddl,
    faults,
    grants,
    keylimits,
    own,
    sessions,
    values,
)
from turnout.engines.mysql.accounts import MysqlAccounts
from turnout.engines.mysql.capture import MysqlCapture
from turnout.engines.mysql.captureneeds import capture_problems, ddl_note
from turnout.engines.mysql.checksums import MysqlVerifyReader
from turnout.engines.mysql.dialect import (
    column_list,
    counter,
    create_index_sql,
    create_table_sql,
    foreign_key_sql,
    quote,
    type_problem,
)
from turnout.engines.mysql.dump import MysqlDumper
from turnout.engines.mysql.positions import MysqlPosition
from turnout.engines.mysql.settings import SESSION_SETUP, connection_settings, own_types
from turnout.engines.mysql.snapshot import opened
from turnout.engines.mysql.values import same, writer
from turnout.errors import BadInput, OperationFailed, TransientError, TurnoutError
from turnout.gaps import Gap
from turnout.model import EPOCH_KEY, Checkpoint, Key, Position, Row, Session, Table
from turnout.naming import Naming
from turnout.types import CanonicalType

CHECKPOINT_TABLE = "_turnout_checkpoint"
_LOST_CONNECTION = (2006, 2013)
_RETRY = (1205, 1213)  # lock wait timeout, deadlock


class MysqlEngine(Engine):
    scheme = "mysql"
    capabilities = Capabilities(
        accounts=True, end_sessions=True, dump_tool="mysqldump or mariadb-dump",
        logs_cascades=False,  # InnoDB performs them below the binlog
        checks_rows_adding_foreign_keys=False,  # see create_foreign_keys
        alterations=alter.ALTERATIONS,
    )

    def __init__(self, endpoint: Endpoint, *, create: bool = False) -> None:
        super().__init__(endpoint, create=create)
        self.settings, self.options = connection_settings(endpoint)
        self.database = self.settings["database"]
        self.conn = self.connect(create=create)
        version = self.one("SELECT VERSION()")
        self.mariadb = "mariadb" in version.lower()
        self.own_types = own_types(version)
        self.flavor = "mariadb" if self.mariadb else "mysql"
        folds = self.one("SELECT @@lower_case_table_names") != 0  # 1 and 2 compare lowered
        self.naming = Naming("MySQL", limit=64, fold_tables=folds, fold_columns=True,
                             foreign_keys_per_schema=True)
        self._loader: bulk.BulkLoader | None = None  # opened by the first load()
        self._captures: list[MysqlCapture] = []  # their streams close with the engine

    @classmethod
    def classify_error(cls, exc: BaseException) -> TurnoutError | None:
        return faults.classify(exc)

    def connect(self, create: bool = False) -> Any:
        import pymysql

        try:
            conn = faults.tuned_connection_class()(**self.settings)
        except pymysql.err.OperationalError as exc:
            if exc.args[0] == 1049 and create:  # unknown database: make it
                self._create_database()
                return self.connect()
            if faults.is_unreachable(exc):  # down or restarting: a running task retries
                raise faults.unreachable(self.endpoint, exc) from None
            raise BadInput(f"cannot connect to {self.endpoint}: {exc.args[-1]}") from None
        with conn.cursor() as cur:
            cur.execute(SESSION_SETUP)
            cur.execute("SELECT CONNECTION_ID()")
            own.opened(self.settings["port"], int(cur.fetchone()[0]))  # turnout's, by its id
        return conn

    def _create_database(self) -> None:
        import pymysql

        settings = {**self.settings, "database": None}
        with pymysql.connect(**settings) as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS {quote(self.database)} "
                        "CHARACTER SET utf8mb4")

    def close(self) -> None:
        for capture in self._captures:
            capture.close()
        if self._loader is not None:
            self._loader.close()
        self.conn.close()

    def fast_connect(self, local_infile: bool = False) -> Any:
        """A mysqlclient connection, for bulk reads and loads (see client.py)."""
        return client.connect(self.settings, SESSION_SETUP, local_infile=local_infile)

    def one(self, sql: str, params: Any = None) -> Any:
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            row = cur.fetchone()
        return row[0] if row else None

    def all(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())

    def execute(self, sql: str, params: Any = None) -> None:
        with self.conn.cursor() as cur:
            cur.execute(sql, params)

    @classmethod
    def position_from_dict(cls, data: dict[str, Any]) -> Position:
        return MysqlPosition(data["file"], int(data["pos"]), data.get("gtid"))

    # catalog -------------------------------------------------------------

    def list_tables(self) -> list[str]:
        with self.conn.cursor() as cur:
            return catalog.list_tables(cur)

    def reflect(self, names: list[str]) -> list[Table]:
        boolean = self.options["tinyint1"] == "boolean"
        with self.conn.cursor() as cur:
            return [catalog.reflect_table(cur, n, boolean, self.mariadb) for n in names]

    def type_problem(self, ctype: CanonicalType) -> str | None:
        return type_problem(ctype)

    def gaps_held(self, ctype: CanonicalType) -> frozenset[Gap]:
        return values.gaps_held(ctype, self.options["zero_dates"])

    def gaps_refused(self, ctype: CanonicalType) -> frozenset[Gap]:
        return values.gaps_refused(ctype)

    def gap_test(self, table: Table, column: str, gap: Gap) -> str | None:
        wide = gap is Gap.NUL and self.one(
            "SELECT character_set_name FROM information_schema.columns WHERE table_schema = "
            "DATABASE() AND table_name = %s AND column_name = %s",
            (table.name, column)) in charsets.WIDE
        return values.gap_test(quote(column), gap, wide)

    def first_key(self, table: Table, where: str) -> Key | None:
        rows = self.all(f"SELECT {column_list(table.key)} FROM {quote(table.name)} "
                        f"WHERE {where} LIMIT 1")
        return tuple(rows[0]) if rows else None

    def boolean_problems(self, table: Table, columns: list[str]) -> dict[str, str]:
        """A tinyint(1) read as a boolean may hold any of -128..127; one row holding another
        value than 0 and 1 is enough to refuse: a boolean would turn it into true."""
        fix = ("neither true nor false: add ?tinyint1=int to the source URL to keep tinyint(1) "
               "columns integers, or --cast TABLE.COLUMN=int16 for this one")
        return {column: f"the row with key ({key}) holds {value}, which is {fix}"
                for column, (key, value) in odd_booleans(self.all, table, columns, quote).items()}

    def schema_problems(self, tables: list[Table]) -> list[str]:
        """Keys past InnoDB's length limit once another engine's types are mapped (a MySQL
        source's own keys fit already)."""
        return [line for t in tables if t.origin != self.scheme
                for line in keylimits.key_problems(t, self.own_types, self.mariadb)]

    def counted(self, table: Table) -> set[str]:
        """MySQL lets one column a table count (AUTO_INCREMENT): dialect.counter() picks it."""
        if ddl.carries(table, self.scheme, self.flavor):
            return super().counted(table)
        return {name for name in [counter(table)] if name}

    def create_table(self, table: Table) -> None:
        if ddl.carries(table, self.scheme, self.flavor):
            self.execute(ddl.create_table_sql(table))
            return
        with keylimits.naming(table.name, "its primary key"):
            self.execute(create_table_sql(table, table.origin == self.scheme, self.own_types))

    def alter(self, table: Table, alteration: Alteration) -> str | None:
        if alter.done(self.all, table, alteration):
            return None
        sql = self.alter_statement(table, alteration)
        self.execute(sql)
        return sql

    def alter_statement(self, table: Table, alteration: Alteration) -> str:
        return alter.statement(table, alteration, table.origin == self.scheme, self.own_types)

    def run_statement(self, sql: str) -> None:
        for statement in alter.split(sql):
            self.execute(statement)

    def create_indexes(self, table: Table) -> None:
        have = {r[0] for r in self.all(
            "SELECT index_name FROM information_schema.statistics WHERE table_schema = "
            "DATABASE() AND table_name = %s", (table.name,))}
        own = ddl.carries(table, self.scheme, self.flavor)
        if own and (table.source_indexes or not table.indexes):
            self._create_own_indexes(table, have)
            return
        for index in table.indexes:
            if index.name not in have:
                with keylimits.naming(table.name, f"index {index.name}"):
                    self.execute(create_index_sql(table, index))

    def _create_own_indexes(self, table: Table, have: set[str]) -> None:
        """A MySQL source's keys and CHECK constraints as it wrote them, after the data."""
        for statement in ddl.create_index_statements(table, have):
            self.execute(statement)
        checks = {r[0] for r in self.all(
            "SELECT constraint_name FROM information_schema.table_constraints WHERE "
            "table_schema = DATABASE() AND table_name = %s AND constraint_type = 'CHECK'",
            (table.name,))}
        for statement in ddl.check_statements(table, checks):
            self.execute(statement)

    def create_foreign_keys(self, table: Table) -> None:
        """Keys are added with foreign_key_checks off, as a dump's restore does: InnoDB then
        adds one in place from the catalog alone, where with checks on it copies the whole
        table to check every row (500,000 rows: 0.01 s against 2.4 s). The rows came from
        a source that held the same keys; with the incremental step, workers read views
        a moment apart and the replay reconciles them, so a check could even fail here
        on a child whose parent the replay is about to bring."""
        have = {r[0] for r in self.all(
            "SELECT constraint_name FROM information_schema.referential_constraints "
            "WHERE constraint_schema = DATABASE() AND table_name = %s", (table.name,))}
        named = ((fk.name or f"{table.name[:40]}_fk{n}_{apply.digest(fk.ref_table)}", fk)
                 for n, fk in enumerate(table.foreign_keys))
        missing = [(name, fk) for name, fk in named if name not in have]
        if not missing:
            return
        self.execute("SET foreign_key_checks = 0")
        try:
            for name, fk in missing:
                if ddl.carries(table, self.scheme, self.flavor):
                    self.execute(ddl.foreign_key_sql(table, fk, name))
                else:
                    self.execute(foreign_key_sql(table, fk, name))
        finally:
            self.execute("SET foreign_key_checks = 1")

    def sync_sequences(self, table: Table) -> None:
        """Move AUTO_INCREMENT past the highest value in use (MySQL's twin of sequences)."""
        column = next((c for c in table.columns if c.autoincrement), None)
        if column is None:
            return
        top = self.one(f"SELECT max({quote(column.name)}) FROM {quote(table.name)}")
        if top is not None:
            self.execute(f"ALTER TABLE {quote(table.name)} AUTO_INCREMENT = {int(top) + 1}")

    def table_exists(self, name: str) -> bool:
        return self.one(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() "
            "AND table_name = %s", (name,)) is not None

    def has_rows(self, name: str) -> bool:
        return self.one(f"SELECT 1 FROM {quote(name)} LIMIT 1") is not None

    # rows ----------------------------------------------------------------

    def snapshot(self, exported: str | None = None) -> AbstractContextManager[SnapshotReader]:
        """A consistent snapshot read through mysqlclient, by key range (see snapshot.py)."""
        return opened(self.fast_connect, self.options["zero_dates"])

    def load(self, table: Table, rows: list[Row], checkpoint: Checkpoint) -> None:
        """LOAD DATA (or INSERTs) and the checkpoint in one transaction (see bulk.py)."""
        adapt = writer(table)
        if adapt is not same:
            rows = [adapt(r) for r in rows]
        self._ensure_checkpoint_table()  # DDL commits, so never inside the transaction
        if self._loader is None:
            self._loader = bulk.BulkLoader(self.fast_connect(local_infile=True))
        with client.write_errors(self.endpoint), self._loader.transaction() as cur:
            saved = self._fence(cur, checkpoint)
            if rows:
                self._loader.load(cur, table, rows)
            self._save_checkpoint(cur, checkpoint, saved)

    def capture(self, tables: list[Table], slot: str) -> Capture:
        capture = MysqlCapture(self, tables, slot)
        self._captures.append(capture)
        return capture

    def capture_problems(self, slot: str, tables: list[str] | None = None) -> list[str]:
        return capture_problems(self, tables)

    def ddl_ahead(self) -> str | None:
        lacking = grants.ddl_problems(self)
        if lacking:
            return (f"DDL on {self.endpoint} will stop the task with the change to make on the "
                    f"destination: replaying it needs a scratch table, and {lacking[0]}")
        return ddl_note(self.endpoint)

    def write_problems(self) -> list[str]:
        return grants.destination_problems(self)

    def apply(self, batch: Batch, checkpoint: Checkpoint | None) -> None:
        with self._write() as cur:
            saved = self._fence(cur, checkpoint)
            apply.apply_batch(cur, batch, self.mariadb)
            if checkpoint is not None:
                self._save_checkpoint(cur, checkpoint, saved)

    def remove_own_objects(self) -> None:
        if self.table_exists(CHECKPOINT_TABLE) and not self.has_rows(CHECKPOINT_TABLE):
            self.execute(f"DROP TABLE {quote(CHECKPOINT_TABLE)}")

    def read_checkpoint(self, owner: str) -> dict[str, str]:
        if not self.table_exists(CHECKPOINT_TABLE):
            return {}
        rows = self.all(f"SELECT name, value FROM {quote(CHECKPOINT_TABLE)} WHERE owner = %s",
                        (owner,))
        return {name: value for name, value in rows}

    def empty_tables(self, names: list[str]) -> None:
        with self._write() as cur:  # foreign keys unchecked; DELETE stays in the transaction
            for name in names:
                cur.execute(f"DELETE FROM {quote(name)}")

    def drop_checkpoint(self, owner: str) -> None:
        if not self.table_exists(CHECKPOINT_TABLE):
            return
        self.execute(f"DELETE FROM {quote(CHECKPOINT_TABLE)} WHERE owner = %s", (owner,))
        if self.one(f"SELECT 1 FROM {quote(CHECKPOINT_TABLE)} LIMIT 1") is None:
            self.execute(f"DROP TABLE {quote(CHECKPOINT_TABLE)}")

    def _fence(self, cur: Any, checkpoint: Checkpoint | None) -> str | None:
        """First in a transaction that carries `checkpoint`: its epoch row, inserted if absent
        and locked until the transaction ends (Checkpoint.fence_row); Fenced at once when a
        newer worker saved it, else the value saved. ON DUPLICATE KEY UPDATE locks an
        existing row exclusively (INSERT IGNORE would share it, and two workers upgrading
        their shared locks would deadlock); the locking read sees the latest commit."""
        if checkpoint is None or checkpoint.epoch is None:
            return None
        table = quote(CHECKPOINT_TABLE)
        cur.execute(f"INSERT INTO {table} VALUES (%s, %s, %s) ON DUPLICATE KEY UPDATE "
                    "value = value", checkpoint.fence_row())
        cur.execute(f"SELECT value FROM {table} WHERE owner = %s AND name = %s FOR UPDATE",
                    (checkpoint.owner, EPOCH_KEY))
        saved = str(cur.fetchone()[0])
        checkpoint.fenced_values(saved)
        return saved

    def _save_checkpoint(self, cur: Any, checkpoint: Checkpoint, saved: str | None) -> None:
        """Beside the rows, in their transaction; `saved` is what _fence returned at its
        start (a checkpoint with an epoch is fenced here when it was not)."""
        if checkpoint.epoch is not None and saved is None:
            saved = self._fence(cur, checkpoint)
        cur.executemany(
            f"INSERT INTO {quote(CHECKPOINT_TABLE)} VALUES (%s, %s, %s) "
            "ON DUPLICATE KEY UPDATE value = VALUES(value)",
            [(checkpoint.owner, k, v) for k, v in checkpoint.fenced_values(saved).items()],
        )

    def _ensure_checkpoint_table(self) -> None:
        self.execute(
            f"CREATE TABLE IF NOT EXISTS {quote(CHECKPOINT_TABLE)} (owner varchar(190) NOT NULL, "
            "name varchar(190) NOT NULL, value longtext NOT NULL, PRIMARY KEY (owner, name)) "
            "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
        )

    @contextmanager
    def _write(self) -> Iterator[Any]:
        """One transaction applied like a replica: foreign keys are not checked on the way."""
        import pymysql

        self._ensure_checkpoint_table()  # DDL commits, so never inside the transaction
        try:
            with client.unchecked_transaction(self.conn) as cur:
                yield cur
        except pymysql.err.OperationalError as exc:
            if exc.args[0] in _RETRY:
                raise TransientError(f"{self.endpoint}: {exc.args[-1]}") from None
            if exc.args[0] == 1290:  # read-only
                raise OperationFailed(f"{self.endpoint} refuses writes: {exc.args[-1]}") from None
            raise

    # operations ----------------------------------------------------------

    @property
    def dumper(self) -> MysqlDumper:
        return MysqlDumper(self, self.settings)

    @property
    def accounts(self) -> MysqlAccounts:
        """Migration accounts (accounts.py says what each grant is for)."""
        return MysqlAccounts(self)

    def verify_reader(self) -> MysqlVerifyReader:
        return MysqlVerifyReader(self.connect(), self.options["zero_dates"])

    def sessions(self) -> list[Session]:
        return sessions.list_sessions(self)

    def freeze(self, reason: str, lock: list[str] | None = None) -> bool:
        return sessions.freeze(self, reason, lock or [])

    def frozen(self) -> bool:
        return sessions.frozen(self)

    def fence_bypass(self) -> list[str]:
        return sessions.bypass(self)

    def writers_after_freeze(self) -> list[Session]:
        return sessions.writers_after_freeze(self)

    def end_sessions(self, ids: list[str]) -> None:
        for thread in ids:
            self.execute(f"KILL CONNECTION {int(thread)}")

    def unfreeze(self) -> None:
        sessions.unfreeze(self)

