"""What every engine does, in the vocabulary of turnout.model.

An engine knows nothing of tasks, the store or screens: it is told what to
read or write and returns rows, changes and positions. The stage that called
it decides what to save.

The interfaces an engine hands out live beside it: its read views in snapshot.py,
its change capture in capture.py (both re-exported here).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any, ClassVar

from turnout.alter import Alteration
from turnout.coalesce import Batch
from turnout.endpoint import Endpoint
from turnout.engines.capabilities import Accounts, Capabilities, Dumper, Keyspace
from turnout.engines.capture import Capture
from turnout.engines.checksums import VerifyReader
from turnout.engines.snapshot import KeySpan, SnapshotReader
from turnout.errors import BadInput, TurnoutError
from turnout.gaps import Gap
from turnout.model import Checkpoint, Key, Position, Row, Session, Table
from turnout.naming import Naming
from turnout.types import CanonicalType

__all__ = ["Accounts", "Capabilities", "Capture", "DirectCopy", "Dumper", "Engine", "KeySpan",
           "SnapshotReader", "check_account_name", "check_account_role", "ACCOUNT_ROLES"]


Chunk = tuple[Table, Table, KeySpan, Callable[[int, "Key | None"], Checkpoint]]
"""One chunk for DirectCopy.copy_chunks_from: source table, destination table, the keys
left, and what builds its checkpoint from the rows copied and the last key."""


class DirectCopy(ABC):
    """Optional: a destination that can pull rows straight from a source of its own kind.

    Rows never pass through Python, which is what makes same-engine copies
    fast; the checkpoint is still written in the same transaction.
    """

    @abstractmethod
    def can_copy_from(self, source: Engine) -> bool: ...

    @abstractmethod
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
        """Copy up to `limit` rows of `span` in key order; return how many and the last key.

        Fewer than `limit` rows means the span is exhausted, and the key
        returned may then be its end instead of the last row's. `reader` is
        the snapshot of `source` the rows should come from, so the copy sees
        what the full step sees (an engine whose capture replays harmlessly
        over a fresher view may read around it). `checkpoint(rows, last_key)`
        builds the checkpoint to save in the same transaction.
        """

    def copy_chunks_from(self, source: Engine, reader: SnapshotReader, chunks: list[Chunk],
                         limit: int) -> list[tuple[int, Key | None]]:
        """copy_chunk_from() of each chunk; an engine may commit them all in one transaction
        (small tables: a transaction each cost more than their rows)."""
        return [self.copy_chunk_from(source, reader, table, dest, span, limit, checkpoint)
                for table, dest, span, checkpoint in chunks]


class Engine(ABC):
    """One database, reached through one URL."""

    scheme: ClassVar[str]
    # What this engine can do, known before connecting (capabilities.py).
    capabilities: ClassVar[Capabilities] = Capabilities()
    # How long names may be, where they must be unique and whether case counts (naming.py).
    naming: Naming = Naming("this engine")

    def __init__(self, endpoint: Endpoint, *, create: bool = False) -> None:
        self.endpoint = endpoint

    @classmethod
    @abstractmethod
    def position_from_dict(cls, data: dict[str, Any]) -> Position: ...

    @classmethod
    def classify_error(cls, exc: BaseException) -> TurnoutError | None:
        """This engine's driver error as one of turnout's: transient (a lost connection, a
        deadlock: the runner retries) or terminal, with a one-line message. None when `exc`
        is not an error of this engine's drivers."""
        return None

    # catalog -------------------------------------------------------------

    @abstractmethod
    def list_tables(self) -> list[str]:
        """User tables, without turnout's own."""

    @abstractmethod
    def reflect(self, names: list[str]) -> list[Table]: ...

    @abstractmethod
    def type_problem(self, ctype: CanonicalType) -> str | None:
        """Why this engine cannot hold `ctype` faithfully, or None when it can."""

    def gaps_held(self, ctype: CanonicalType) -> frozenset[Gap]:
        """Values beyond common ground (gaps.py) a column of `ctype` may hold here."""
        return frozenset()

    def gaps_refused(self, ctype: CanonicalType) -> frozenset[Gap]:
        """Values beyond common ground a column of `ctype` cannot hold here."""
        return frozenset()

    def gap_test(self, table: Table, column: str, gap: Gap) -> str | None:
        """SQL true for a row whose `column` holds a value of `gap`; None where no row can.
        Asked only for gaps that gaps_held() names."""
        return None

    def first_key(self, table: Table, where: str) -> Key | None:
        """The key of a row (any) for which the SQL `where` holds; None when none does."""
        return None

    def find_gaps(self, table: Table, wanted: list[tuple[str, Gap]]) -> list[tuple[str, Gap, Key]]:
        """An example key for each (column, gap) of `wanted` that some row holds. Each test
        reads the whole table, so all of them go in one scan first: in the common case (no
        row holds any) that scan is all; otherwise each test runs alone to name its row."""
        tests = [(column, gap, test) for column, gap in wanted
                 if (test := self.gap_test(table, column, gap)) is not None]
        if len(tests) > 1 and self.first_key(
                table, " OR ".join(f"({test})" for _, _, test in tests)) is None:
            return []
        found = [(column, gap, self.first_key(table, test)) for column, gap, test in tests]
        return [(column, gap, key) for column, gap, key in found if key is not None]

    def boolean_problems(self, table: Table, columns: list[str]) -> dict[str, str]:
        """For each of these columns that this engine calls boolean and whose values are not
        all true or false: why (an example row and the fix, TABLE.COLUMN standing for the
        column). Engines whose booleans are real ones have nothing to say."""
        return {}

    @abstractmethod
    def create_table(self, table: Table) -> None:
        """Create the table, without secondary indexes (idempotent).

        Whether the primary key comes now or with create_indexes() after the
        data is the engine's choice (PostgreSQL builds it after, like pg_dump).
        """

    def create_tables(self, tables: list[Table]) -> None:
        """create_table() for each; an engine may make many in one transaction."""
        for table in tables:
            self.create_table(table)

    @abstractmethod
    def create_indexes(self, table: Table) -> None:
        """Build the keys and indexes create_table() left out (idempotent)."""

    def create_indexes_of(self, tables: list[Table]) -> None:
        """create_indexes() for each; an engine may build them in one transaction."""
        for table in tables:
            self.create_indexes(table)

    def index_parts(self, table: Table) -> list[str]:
        """Builds of the table's indexes that may run at once, each through
        create_index_part() on a connection of its own, before create_indexes() adds the
        rest; none where one build would wait for another (the default)."""
        return []

    def create_index_part(self, table: Table, part: str) -> None:  # noqa: B027 - no parts
        """Build one of index_parts() (idempotent)."""

    def create_foreign_keys(self, table: Table) -> None:  # noqa: B027 - SQLite has them inline
        """Add the table's foreign keys, once every table has its keys (idempotent)."""

    @abstractmethod
    def alter(self, table: Table, alteration: Alteration) -> str | None:
        """Make one alteration of `table` (as this side holds it now) unless the catalog shows
        it made already, so a DDL read again after a crash is harmless; the statement run,
        or None when there was nothing to do. Only those capabilities.alterations names."""

    @abstractmethod
    def alter_statement(self, table: Table, alteration: Alteration) -> str:
        """The statement alter() would run, for a person to read, change and run."""

    @abstractmethod
    def run_statement(self, sql: str) -> None:
        """Run statements a person wrote for this side (`turnout task ddl --apply-sql`)."""

    @abstractmethod
    def table_exists(self, name: str) -> bool: ...

    def existing_tables(self, names: list[str]) -> set[str]:
        """Which of `names` exist; an engine may look them all up in one query."""
        return {name for name in names if self.table_exists(name)}

    @abstractmethod
    def has_rows(self, name: str) -> bool: ...

    # rows ----------------------------------------------------------------

    @abstractmethod
    def snapshot(self, exported: str | None = None) -> AbstractContextManager[SnapshotReader]:
        """A consistent read view; `exported` names a snapshot Capture.exported_snapshot() gave."""

    @abstractmethod
    def load(self, table: Table, rows: list[Row], checkpoint: Checkpoint) -> None:
        """Insert rows into an empty key range and save the checkpoint, in one transaction."""

    @abstractmethod
    def capture(self, tables: list[Table], slot: str) -> Capture: ...

    def capture_problems(self, slot: str, tables: list[str] | None = None) -> list[str]:
        """What stops change capture of `tables` here (settings, privileges, table
        properties): one line each, with the fix."""
        return []

    def ddl_ahead(self) -> str | None:
        """What will become of DDL on this source's moved tables while a task follows it
        (carried in order with the rows, or a stop with the change to make), in one line,
        for precheck to say before anyone starts the task. None where nothing is said."""
        return None

    def write_problems(self) -> list[str]:
        """What stops this destination from creating and filling the task's tables
        (privileges): one line each, with the fix."""
        return []

    def apply_problems(self, tables: list[str]) -> list[str]:
        """What stops replayed changes from being written into those of `tables` that exist
        here (a column that refuses updates, say): one line each, with the fix."""
        return []

    def schema_problems(self, tables: list[Table]) -> list[str]:
        """What stops this destination from building `tables` as the schema step would
        (a type an extension brings, say): one line each, with the fix."""
        return []

    def leftover_captures(self, owned: set[str]) -> list[str]:
        """Capture objects turnout left on this source that no task in `owned` (slot names,
        as Engine.capture() gets them) claims: each may hold back the server's log."""
        return []

    @abstractmethod
    def apply(self, batch: Batch, checkpoint: Checkpoint | None) -> None:
        """Upsert and delete by key, and save the checkpoint (if any: a repair has none), in
        one transaction."""

    @abstractmethod
    def empty_tables(self, names: list[str]) -> None:
        """Delete every row of these tables, which reference each other in any order
        (for a task copying them afresh); other tables' rows stay as they are."""

    @abstractmethod
    def read_checkpoint(self, owner: str) -> dict[str, str]: ...

    @abstractmethod
    def drop_checkpoint(self, owner: str) -> None: ...

    def remove_own_objects(self) -> None:  # noqa: B027 - engines without any need nothing
        """Drop what turnout keeps here for itself (the checkpoint table) once no task uses
        it: `turnout finish` leaves nothing behind."""

    def counted(self, table: Table) -> set[str]:
        """The columns of `table`, built here by the schema step, whose next value the
        database gives an insert that leaves them out: every auto-increment column, where
        the engine lets several count."""
        return {c.name for c in table.columns if c.autoincrement}

    def sync_sequences(self, table: Table) -> None:  # noqa: B027 - most engines need nothing
        """Move the table's sequences past the highest value in use.

        Rows copied with their own ids leave a sequence behind; the first
        insert after switchover would then collide.
        """

    def verify_reader(self) -> VerifyReader | None:
        """Verification queries on a new connection of their own: verification reads
        ranges from several threads at once. Every table engine has one (a migration
        turnout cannot verify is one it does not make); None for a keyspace engine, which
        verifies key by key its own way (migrate/keyspace.py)."""
        return None

    def iter_rows(self, table: Table, chunk: int = 50_000) -> Iterator[Row]:
        """Every row of a table in key order (for summaries and checks); a table without a
        key in no particular order."""
        with self.snapshot() as snap:
            if not table.key:
                for rows in snap.stream(table, chunk):
                    yield from rows
                return
            after: Key | None = None
            positions = table.key_positions()
            while True:
                rows = snap.read_chunk(table, after, chunk)
                yield from rows
                if len(rows) < chunk:
                    return
                after = tuple(rows[-1][i] for i in positions)

    # operations ----------------------------------------------------------

    @abstractmethod
    def sessions(self) -> list[Session]: ...

    @abstractmethod
    def freeze(self, reason: str, lock: list[str] | None = None) -> bool:
        """Fence writes off for everyone but turnout (whose own sessions pass it), once;
        `lock`: accounts from fence_bypass() to lock out until unfreeze(). Whether this call
        put the fence up (False: it was up already)."""

    def frozen(self) -> bool:
        """Whether freeze()'s fence is up."""
        return False

    def fence_bypass(self) -> list[str]:
        """Accounts other than turnout's that can write past the fence by the server's
        privilege rules, each as "name (why)": while one is left, no freeze is proven."""
        return []

    def switchover_problems(self) -> list[str]:
        """What would stop a switchover's freeze here although the task itself can run (an
        account the fence cannot hold), one line each with the fix, for precheck to say
        before anyone depends on it. [] where the engine finds out only at the freeze."""
        return []

    def writers_after_freeze(self) -> list[Session]:
        """Sessions (not turnout's) that can still write although writes are frozen: those in
        the middle of a writing transaction, by default."""
        return [s for s in self.sessions() if s.writing and not s.own]

    @abstractmethod
    def end_sessions(self, ids: list[str]) -> None:
        """Disconnect these sessions (ids as sessions() gives them), rolling back their open
        transactions: for writers still open when writes are frozen. Called only where
        capabilities.end_sessions says the engine can."""

    @abstractmethod
    def unfreeze(self) -> None:
        """Undo exactly what freeze() did."""

    # optional capabilities (capabilities.py): None where the engine has none ---------

    @property
    def accounts(self) -> Accounts | None:
        """Migration accounts on this database (capabilities.accounts says whether, unopened)."""
        return None

    @property
    def dumper(self) -> Dumper | None:
        """The engine's own backup tool (capabilities.dump_tool names it, unopened)."""
        return None

    @property
    def keyspace(self) -> Keyspace | None:
        """The engine's own migration path, for an engine of keys (capabilities.keyspace)."""
        return None

    def close(self) -> None:  # noqa: B027 - engines without resources need nothing
        pass


_ACCOUNT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_account_name(user: str, limit: int) -> str:
    """`user` when it is a plain name of at most `limit` characters, else BadInput.

    Names end up inside GRANT statements and URLs; plain letters, digits and
    underscores need no escaping in either, so nothing a user types can
    change what a statement does.
    """
    if not _ACCOUNT_NAME.fullmatch(user) or len(user) > limit:
        raise BadInput(f"account name {user[:80]!r} is not allowed: use letters, digits and "
                       f"underscores, starting with a letter or underscore, at most {limit}")
    return user


ACCOUNT_ROLES = ("source", "dest")


def check_account_role(role: str) -> str:
    """`role` when it is a side of a task a migration account can serve, else BadInput."""
    if role not in ACCOUNT_ROLES:
        raise BadInput(f"unknown account role {role[:40]!r}: use source or dest")
    return role
