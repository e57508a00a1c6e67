"""SqliteEngine: what turnout asks of a database, answered for one SQLite file; the
package docstring (__init__.py) says where each part lives."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from turnout.alter import Alteration
from turnout.coalesce import Batch
from turnout.endpoint import Endpoint
from turnout.engines.base import Capture, DirectCopy, Engine, KeySpan, SnapshotReader
from turnout.engines.booleans import odd_booleans
from turnout.engines.capabilities import Capabilities
from turnout.engines.keyrange import after_key
from turnout.engines.sqlite import alter, catalog, faults, sessions
from turnout.engines.sqlite.apply import apply_ops, upsert_sql
from turnout.engines.sqlite.capture import DDL_NOTE, SqliteCapture
from turnout.engines.sqlite.changelog import SqlitePosition
from turnout.engines.sqlite.checksums import SqliteVerifyReader
from turnout.engines.sqlite.dialect import (
    column_list,
    create_index_sql,
    create_table_sql,
    key_predicate,
    quote,
)
from turnout.engines.sqlite.dump import SqliteDumper
from turnout.engines.sqlite.snapshot import SqliteSnapshot
from turnout.engines.sqlite.values import adapt_rows, gaps_held, gaps_refused
from turnout.engines.sqlite.values import gap_test as value_gap_test
from turnout.errors import (
    BadInput,
    NotFound,
    OperationFailed,
    TransientError,
    TurnoutError,
    Unsupported,
)
from turnout.gaps import Gap
from turnout.model import EPOCH_KEY, Checkpoint, Key, Position, Row, Session, Table
from turnout.naming import Naming
from turnout.types import GEOMETRY_FIX, CanonicalType, Kind

CHECKPOINT_TABLE = "_turnout_checkpoint"
SOURCE_ALIAS = "turnout_source"


class SqliteEngine(Engine, DirectCopy):
    scheme = "sqlite"
    naming = Naming("SQLite", fold_tables=True, fold_columns=True, indexes_per_schema=True,
                    named_foreign_keys=False)
    capabilities = Capabilities(
        no_accounts="SQLite has no accounts ({endpoint}): the database file's permissions "
                    "decide who may read or write it",
        dump_tool="SQLite's backup API", parallel_writes=False,
        alterations=alter.ALTERATIONS, text_lengths=False)

    def __init__(self, endpoint: Endpoint, *, create: bool = False) -> None:
        super().__init__(endpoint, create=create)
        self.path = Path(endpoint.path)
        self._wal_checked = False
        if not endpoint.path:
            raise BadInput(f"{endpoint} names no file: write sqlite:///path/to/file.db")
        if not self.path.exists():
            if not create:
                raise NotFound(f"SQLite file {self.path} does not exist: check the path in the URL")
            if not self.path.parent.exists():
                raise NotFound(f"directory {self.path.parent} does not exist: create it first")
        try:
            self.db = self.connect()
            self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            raise BadInput(f"{self.path} is not a usable SQLite database: {exc}") from None

    @classmethod
    def classify_error(cls, exc: BaseException) -> TurnoutError | None:
        return faults.classify(exc)

    def connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA synchronous=NORMAL")
        sessions.pass_fence(db)  # writes through a switchover's fence are turnout's alone
        return db

    def close(self) -> None:
        self.db.close()

    def use_wal(self) -> None:
        """Switch the file to WAL so turnout's long reads never block the application's writers.

        The setting persists in the file. Best effort: when another process
        holds a lock right now, turnout carries on in the current mode.
        """
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:
            pass

    @classmethod
    def position_from_dict(cls, data: dict[str, Any]) -> Position:
        return SqlitePosition(int(data["seq"]))

    # catalog -------------------------------------------------------------

    def list_tables(self) -> list[str]:
        return catalog.list_tables(self.db)

    def reflect(self, names: list[str]) -> list[Table]:
        return [catalog.reflect_table(self.db, n) for n in names]

    def type_problem(self, ctype: CanonicalType) -> str | None:
        """SQLite stores any value in any column, but MySQL's geometry bytes mean nothing there."""
        if ctype.kind is Kind.GEOMETRY:
            return GEOMETRY_FIX.format(engine="SQLite")
        return None

    def gaps_held(self, ctype: CanonicalType) -> frozenset[Gap]:
        return gaps_held(ctype)

    def gaps_refused(self, ctype: CanonicalType) -> frozenset[Gap]:
        return gaps_refused(ctype)

    def gap_test(self, table: Table, column: str, gap: Gap) -> str | None:
        if table.primary_key == (column,) and table.column(column).native_type.upper() == "INTEGER":
            return None  # the rowid itself, which holds integers only
        return value_gap_test(quote(column), table.column(column).type.kind, gap)

    def first_key(self, table: Table, where: str) -> Key | None:
        row = self.db.execute(f"SELECT {column_list(table.key)} FROM {quote(table.name)} "
                              f"WHERE {where} LIMIT 1").fetchone()
        return tuple(row) if row else None

    def boolean_problems(self, table: Table, columns: list[str]) -> dict[str, str]:
        """A BOOLEAN column here holds whatever was put in it: 2, 'yes'…"""
        fix = ("neither true nor false: give the column a type that holds it, such as "
               "--cast TABLE.COLUMN=int16 (or text)")
        found = odd_booleans(lambda sql: self.db.execute(sql).fetchall(), table, columns,
                             quote)
        return {column: f"the row with key ({key}) holds {value!r}, which is {fix}"
                for column, (key, value) in found.items()}

    def counted(self, table: Table) -> set[str]:
        """SQLite counts only in an INTEGER PRIMARY KEY of one column (the rowid)."""
        key = table.primary_key
        return set(key) if len(key) == 1 and table.column(key[0]).autoincrement else set()

    def create_table(self, table: Table) -> None:
        self.db.execute(create_table_sql(table))

    def alter(self, table: Table, alteration: Alteration) -> str | None:
        return alter.alter(self.db, table, alteration)

    def alter_statement(self, table: Table, alteration: Alteration) -> str:
        return alter.statement(table, alteration)

    def run_statement(self, sql: str) -> None:
        self.db.executescript(sql)

    def create_indexes(self, table: Table) -> None:
        """Index names are per database here: one of that name on another table is an error
        to report, never a reason to skip this one."""
        built = {r[0]: r[1] for r in self.db.execute(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'").fetchall()}
        for index in table.indexes:
            owner = built.get(index.name)
            if owner is None:
                self.db.execute(create_index_sql(table, index))
            elif owner != table.name:
                raise OperationFailed(
                    f"cannot build index {index.name!r} of table {table.name!r}: table "
                    f"{owner!r} has an index called so: drop or rename it on the destination")

    def table_exists(self, name: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        return row is not None

    def has_rows(self, name: str) -> bool:
        return self.db.execute(f"SELECT 1 FROM {quote(name)} LIMIT 1").fetchone() is not None

    # rows ----------------------------------------------------------------

    @contextmanager
    def snapshot(self, exported: str | None = None) -> Iterator[SnapshotReader]:
        self.use_wal()
        db = self.connect()
        try:
            db.execute("BEGIN")  # in WAL mode the first read fixes the view for the whole block
            yield SqliteSnapshot(db)
            db.execute("COMMIT")
        finally:
            db.close()

    def load(self, table: Table, rows: list[Row], checkpoint: Checkpoint) -> None:
        sql = (
            f"INSERT INTO {quote(table.name)} ({column_list(table.column_names)}) "
            f"VALUES ({', '.join('?' * len(table.columns))})"
        )
        with self._write() as db:
            saved = _fence(db, checkpoint)
            db.executemany(sql, adapt_rows(table, rows))
            _save_checkpoint(db, checkpoint, saved)

    def can_copy_from(self, source: Engine) -> bool:
        return isinstance(source, SqliteEngine)

    def copy_chunk_from(
        self,
        source: Engine,
        reader: SnapshotReader,
        table: Table,
        dest: Table,
        span: KeySpan,
        limit: int,
        checkpoint: Callable[[int, Key | None], Checkpoint],
    ) -> tuple[int, Key | None]:
        """INSERT … SELECT from the attached source file, around `reader`.

        The attached file shows its latest commit rather than the snapshot;
        trigger capture replays every change since its start onto these
        rows by key, so the two meet all the same.
        """
        assert isinstance(source, SqliteEngine)
        if SOURCE_ALIAS not in {r[1] for r in self.db.execute("PRAGMA database_list")}:
            source.use_wal()
            self.db.execute(f"ATTACH DATABASE ? AS {SOURCE_ALIAS}", (str(source.path),))
        key = column_list(table.key)
        after = span.after
        where, params = after_key(key, after, "?")
        if span.upto is not None:  # only ranges a reader's split() made have an end
            where += " AND" if where else "WHERE"
            where += f" ({key}) <= ({', '.join('?' * len(span.upto))})"
            params += list(span.upto)
        params.append(limit)
        with self._write() as db:
            saved = _fence(db, checkpoint(0, None))  # whose epoch, before any row
            copied = db.execute(
                f"INSERT INTO main.{quote(dest.name)} ({column_list(dest.column_names)}) "
                f"SELECT {column_list(table.column_names)} FROM {SOURCE_ALIAS}.{quote(table.name)} "
                f"{where} ORDER BY {key} LIMIT ?",
                params,
            ).rowcount
            last = after
            if copied:  # the last key in the source's own order (its collations may differ)
                last = tuple(db.execute(
                    f"SELECT {key} FROM {SOURCE_ALIAS}.{quote(table.name)} {where} "
                    f"ORDER BY {key} LIMIT 1 OFFSET ?",
                    [*params[:-1], copied - 1],
                ).fetchone())
            _save_checkpoint(db, checkpoint(copied, last), saved)
        return copied, last

    def ddl_ahead(self) -> str | None:
        return DDL_NOTE

    def capture(self, tables: list[Table], slot: str) -> Capture:
        self.use_wal()
        return SqliteCapture(self.connect, tables, slot)

    def apply(self, batch: Batch, checkpoint: Checkpoint | None) -> None:
        try:
            self._apply(batch, checkpoint, clear_first=False)
        except sqlite3.IntegrityError:
            # Rows that trade unique values (a↔b) collide when upserted one by one;
            # clearing every touched key first makes any permutation fit.
            self._apply(batch, checkpoint, clear_first=True)

    def _apply(self, batch: Batch, checkpoint: Checkpoint | None, clear_first: bool) -> None:
        with self._write() as db:
            saved = _fence(db, checkpoint)
            for tb in batch.tables.values():
                if tb.truncate:  # a source TRUNCATE: every row goes before what followed it
                    db.execute(f"DELETE FROM {quote(tb.table.name)}")
                delete = f"DELETE FROM {quote(tb.table.name)} WHERE {key_predicate(tb.table.key)}"
                keys = [*tb.deletes, *tb.upserts] if clear_first else list(tb.deletes)
                if keys:  # keys hold other engines' values too (a time, a decimal)
                    db.executemany(delete, adapt_rows(tb.table, keys))
                if tb.upserts:
                    rows = adapt_rows(tb.table, tb.upserts.values())
                    db.executemany(upsert_sql(tb.table), rows)
                if tb.ops:
                    apply_ops(db, tb)
            if checkpoint is not None:
                _save_checkpoint(db, checkpoint, saved)

    def remove_own_objects(self) -> None:
        if self.table_exists(CHECKPOINT_TABLE) and not self.has_rows(CHECKPOINT_TABLE):
            self.db.execute(f"DROP TABLE {CHECKPOINT_TABLE}")

    def read_checkpoint(self, owner: str) -> dict[str, str]:
        if not self.table_exists(CHECKPOINT_TABLE):
            return {}
        rows = self.db.execute(
            f"SELECT name, value FROM {CHECKPOINT_TABLE} WHERE owner = ?", (owner,)
        ).fetchall()
        return dict(rows)

    def drop_checkpoint(self, owner: str) -> None:
        if self.table_exists(CHECKPOINT_TABLE):
            self.db.execute(f"DELETE FROM {CHECKPOINT_TABLE} WHERE owner = ?", (owner,))
            if not self.db.execute(f"SELECT 1 FROM {CHECKPOINT_TABLE} LIMIT 1").fetchone():
                self.db.execute(f"DROP TABLE {CHECKPOINT_TABLE}")

    def empty_tables(self, names: list[str]) -> None:
        self.db.execute("PRAGMA foreign_keys = OFF")  # no effect inside a transaction
        with self._write() as db:
            for name in names:
                db.execute(f"DELETE FROM {quote(name)}")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        db = self.db
        if not self._wal_checked:
            self.use_wal()
            self._wal_checked = True
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransientError(f"{self.path} is locked by another writer: {exc}") from None
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # operations ----------------------------------------------------------

    @property
    def dumper(self) -> SqliteDumper:
        return SqliteDumper(self.path, self.connect)

    def verify_reader(self) -> SqliteVerifyReader:
        return SqliteVerifyReader(self.connect())

    def sessions(self) -> list[Session]:
        return sessions.open_by(self.path)

    def freeze(self, reason: str, lock: list[str] | None = None) -> bool:
        return sessions.freeze(self.db, self.list_tables(), reason)

    def frozen(self) -> bool:
        return sessions.frozen(self.db)

    def writers_after_freeze(self) -> list[Session]:
        """None once the fence is up: its triggers refuse any other connection's write, and
        putting them up waited for the writer that was inside a transaction."""
        return [] if self.frozen() else super().writers_after_freeze()

    def end_sessions(self, ids: list[str]) -> None:
        """Never asked (capabilities.end_sessions): a program holding the file is no
        server session turnout could end."""
        raise Unsupported(f"{self.endpoint} cannot end sessions: stop the programs holding it")

    def unfreeze(self) -> None:
        sessions.unfreeze(self.db)


def _fence(db: sqlite3.Connection, checkpoint: Checkpoint | None) -> str | None:
    """First in a transaction that carries `checkpoint`: Fenced at once when a newer worker
    saved its epoch, else the value saved (None: none yet). BEGIN IMMEDIATE holds the
    file's write lock, so no other worker writes, the first epoch row included, until
    this transaction ends."""
    if checkpoint is None or checkpoint.epoch is None:
        return None
    _create_checkpoint_table(db)
    row = db.execute(f"SELECT value FROM {CHECKPOINT_TABLE} WHERE owner = ? AND name = ?",
                     (checkpoint.owner, EPOCH_KEY)).fetchone()
    saved = row[0] if row else None
    checkpoint.fenced_values(saved)
    return saved


def _create_checkpoint_table(db: sqlite3.Connection) -> None:
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {CHECKPOINT_TABLE} "
        "(owner TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (owner, name))"
    )


def _save_checkpoint(db: sqlite3.Connection, checkpoint: Checkpoint, saved: str | None) -> None:
    """Beside the rows, in their transaction; `saved`: what _fence read at its start."""
    _create_checkpoint_table(db)
    db.executemany(
        f"INSERT INTO {CHECKPOINT_TABLE} VALUES (?, ?, ?) "
        "ON CONFLICT (owner, name) DO UPDATE SET value = excluded.value",
        [(checkpoint.owner, k, v) for k, v in checkpoint.fenced_values(saved).items()],
    )
