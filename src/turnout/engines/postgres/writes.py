"""Writing to PostgreSQL: the transactions that apply batches and carry checkpoints.

PgWrites is the part of PostgresEngine (engine.py) that writes: apply() turns a batch into
set-based statements (apply.py) inside one transaction with the task's checkpoint
(checkpoints.py), which a worker with an epoch fences first; the session's staging tables
(apply.Staging) are known to exist once the transaction that made them commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from turnout.coalesce import Batch
from turnout.engines import engine_class
from turnout.engines.postgres import apply, checkpoints, sessions
from turnout.engines.postgres.dialect import qualified
from turnout.errors import OperationFailed, TransientError
from turnout.model import Checkpoint

__all__ = ["PgWrites"]


class _FenceMet(Exception):
    """A write met a switchover's fence put up after this session began; it may pass now."""


class PgWrites:
    """Mixed into PostgresEngine, whose connection (autocommit) and schema it writes to."""

    conn: Any
    schema: str
    endpoint: Any

    def init_writes(self) -> None:
        self._replica_checked = False
        self._replica = False  # whether batches apply with session_replication_role = replica
        self._checkpoints_made = False  # a transaction of ours committed into the table
        self._saving = False  # the open transaction writes a checkpoint
        self._fenced: str | None = None  # its epoch row's value, locked at its start
        self._staging = apply.Staging()  # the session's staging tables (apply.py)

    def apply(self, batch: Batch, checkpoint: Checkpoint | None) -> None:
        import psycopg

        try:
            try:
                self._apply(batch, checkpoint, clear_first=False)
            except psycopg.errors.UniqueViolation:
                self._apply(batch, checkpoint, clear_first=True)  # rows trading unique values
        except _FenceMet:  # fenced since this session began: it holds the key now
            self._apply(batch, checkpoint, clear_first=False)

    def _apply(self, batch: Batch, checkpoint: Checkpoint | None, clear_first: bool) -> None:
        parents_first = apply.parents_first(list(batch.tables.values()))
        with self._write(checkpoint) as cur:
            for tb in reversed(parents_first):  # a source TRUNCATE: children empty first
                if tb.truncate:
                    apply.delete_all(cur, self.schema, tb)
            cascade = self._replica and not _cascades_logged(batch)
            if cascade:  # foreign keys fire while deleting, repeating what the source did
                cur.execute("SET LOCAL session_replication_role = origin")
            for tb in reversed(parents_first):  # children lose rows before their parents
                keys = [*tb.deletes, *tb.upserts] if clear_first else list(tb.deletes)
                if keys:
                    apply.delete_keys(cur, self._staging, self.schema, tb, keys)
            if cascade:
                cur.execute("SET LOCAL session_replication_role = replica")
            for tb in parents_first:  # parents gain rows before their children
                if tb.upserts:
                    apply.upsert(cur, self._staging, self.schema, tb)
                if tb.ops:  # a table without a key: each change in order
                    apply.apply_ops(cur, self._staging, self.schema, tb)
            if checkpoint is not None:
                self._save_checkpoint(cur, checkpoint)

    def empty_tables(self, names: list[str]) -> None:
        """One TRUNCATE for all: PostgreSQL accepts it when foreign keys stay within the set."""
        if names:
            with self._write() as cur:
                cur.execute("TRUNCATE " + ", ".join(qualified(self.schema, n) for n in names))

    # checkpoints (checkpoints.py) ----------------------------------------

    def remove_own_objects(self) -> None:
        checkpoints.remove_if_empty(self.conn, self.schema)

    def read_checkpoint(self, owner: str) -> dict[str, str]:
        return checkpoints.read(self.conn, self.schema, owner)

    def drop_checkpoint(self, owner: str) -> None:
        self._checkpoints_made = False
        checkpoints.drop(self.conn, self.schema, owner)

    def _save_checkpoint(self, cur: Any, checkpoint: Checkpoint) -> None:
        checkpoints.save(cur, self.schema, checkpoint, create=not self._checkpoints_made,
                         saved=self._fenced)
        self._saving = True

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
            self._replica = True
        except psycopg.errors.InsufficientPrivilege:
            pass

    @contextmanager
    def _write(self, fence: Checkpoint | None = None) -> Iterator[Any]:
        """One transaction; one that will carry `fence` (a checkpoint with an epoch) locks its
        epoch row first (checkpoints.fence), before any other row."""
        import psycopg

        self._replica_role()
        self._saving = False
        self._fenced = None
        try:
            try:
                with self.conn.transaction(), self.conn.cursor() as cur:
                    if fence is not None and fence.epoch is not None:
                        self._fenced = checkpoints.fence(cur, self.schema, fence,
                                                         create=not self._checkpoints_made)
                        self._saving = True
                    yield cur
            except BaseException:
                self._staging.ended()  # rolled back: the staging tables it made went too
                raise
            if self.conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                self._staging.committed()
            else:  # a savepoint of a transaction still open: its tables are not for sure
                self._staging.ended()
            self._checkpoints_made = self._checkpoints_made or self._saving
        except psycopg.errors.ReadOnlySqlTransaction as exc:
            if sessions.pass_fence(self.conn, self.schema):
                raise _FenceMet(str(exc)) from None
            raise OperationFailed(f"{self.endpoint} refuses writes: {exc}") from None
        except (psycopg.errors.DeadlockDetected, psycopg.errors.LockNotAvailable) as exc:
            raise TransientError(f"{self.endpoint}: {exc}") from None


def _cascades_logged(batch: Batch) -> bool:
    """Whether the batch's source logged the rows its foreign key actions changed."""
    origins = {tb.table.origin for tb in batch.tables.values()}
    return all(engine_class(o).capabilities.logs_cascades for o in origins if o)
