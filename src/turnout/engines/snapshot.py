"""What a source's consistent read view offers the full step and verification: rows in key
order by chunks and key ranges, keyless tables in one stream, and views shared with or
taken after it for parallel workers.

`where` (read_range, stream): a row filter the reader may apply in its SELECT, one
filters/pushdown.py made safe to apply there (it never drops a row the caller's own check
keeps). A reader may ignore it and return every row: the caller checks each row anyway.

Each engine implements it in its own snapshot module (engines/<engine>/snapshot.py).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import NamedTuple

from turnout.filters.expr import Expr
from turnout.model import Key, Position, Row, Table


class KeySpan(NamedTuple):
    """Rows with key above `after` and at most `upto`; None leaves that side open."""

    after: Key | None = None
    upto: Key | None = None


class SnapshotReader(ABC):
    """A consistent read view of the source, open for the duration of a `with` block."""

    @abstractmethod
    def read_chunk(self, table: Table, after: Key | None, limit: int) -> list[Row]:
        """Up to `limit` rows in key order with key greater than `after` (all when None)."""

    @abstractmethod
    def count_rows(self, table: Table) -> int: ...

    def count_all(self, tables: list[Table]) -> list[int]:
        """count_rows() of each table; an engine may count many in one query."""
        return [self.count_rows(table) for table in tables]

    def split_all(self, tables: list[Table], rows: int) -> list[list[Key]]:
        """split() of each table; an engine may size them all in one query first."""
        return [self.split(table, rows) for table in tables]

    def position(self) -> Position | None:
        """Where capture stands in this very view (None when the engine cannot tell)."""
        return None

    def stream(self, table: Table, limit: int, where: Expr | None = None,
               ) -> Iterator[list[Row]]:
        """Every row of a table without a key, in chunks of at most `limit` (never an empty
        one), in no particular order, all from this one view.

        A table without a key has no order to resume a read from, so the full step
        reads it in one go (and copies it again from empty after a crash). Close the
        iterator when leaving early: it may hold a cursor or this reader's connection.
        """
        raise NotImplementedError(f"{type(self).__name__} reads no tables without a key")
        yield []  # pragma: no cover - makes this a generator

    def split(self, table: Table, rows: int) -> list[Key]:
        """Keys cutting the table into ranges of about `rows` rows, for parallel copies.

        Each key ends a range (inclusive). [] reads the table as one range,
        which suits engines that cannot tell cheaply where the cuts fall or
        cannot read one view from several connections (see share()).
        """
        return []

    def read_range(self, table: Table, span: KeySpan, limit: int,
                   where: Expr | None = None) -> list[Row]:
        """read_chunk() within `span` (`where` ignored here).

        Only ranges that split() made have an end, so engines that split
        override this.
        """
        if span.upto is not None:
            raise NotImplementedError(f"{type(self).__name__} reads no bounded key ranges")
        return self.read_chunk(table, span.after, limit)

    def share(self) -> AbstractContextManager[SnapshotReader] | None:
        """Another reader of this very view on a connection of its own, for a parallel worker.

        Call it from the thread that owns this reader; the connection opens
        when the block is entered (in the worker) and this reader must stay
        open meanwhile. None when the engine cannot share a view.
        """
        return None

    def later(self) -> AbstractContextManager[SnapshotReader] | None:
        """Another reader on a connection of its own, in a consistent view of its own taken
        no earlier than this one, for a parallel worker of a full step whose changes are
        replayed afterwards.

        Why a later view will do there: the replay starts from a capture position
        taken before this reader's view and applies by key (upserts, deletes), so it
        converges whatever a later view read. Engines that cannot hand their view to
        another connection (MySQL) still read in parallel this way. Used only when the
        caller says the changes will be replayed; threading as for share(). None when
        the engine has no such readers.
        """
        return None


