"""What change capture offers the incremental step: set up on the source, resumed from a
checkpoint, read as committed changes with the position they end at, acknowledged, removed.

Each engine implements it in its own capture module (engines/<engine>/capture.py).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from turnout.engines.snapshot import SnapshotReader
from turnout.model import Change, Position

INSTALL_WAIT: ContextVar[float | None] = ContextVar("install_wait", default=None)
"""Seconds installing a capture may wait for one transaction running on the server (None: as
long as it takes); bounded_capture_wait() sets it, an engine whose install waits reads it."""


@contextmanager
def bounded_capture_wait(seconds: float) -> Iterator[None]:
    """While inside, installing a capture gives up (TransientError) rather than wait longer
    than `seconds` for a transaction running on the server (a PostgreSQL slot does)."""
    token = INSTALL_WAIT.set(seconds)
    try:
        yield
    finally:
        INSTALL_WAIT.reset(token)


class Capture(ABC):
    """Change capture for a set of tables under one name (the slot)."""

    # A stream that brings neither data nor a keep-alive for this long is lost (packets
    # dropped without a reset): the task option of that name, set before the first read.
    stall_timeout_s: float = 30.0
    # Set while the apply side waits for a read (migrate/incremental.py): a capture that
    # gathers a batch over time may then hand out what it has rather than gather more;
    # None (no such side, or not said): gather as the capture would.
    applier_waiting: threading.Event | None = None
    # Whether DDL on the captured tables arrives in the stream as Op.DDL changes (set by
    # install() or resume(), which know whether the source allows it); without it a DDL
    # stops the task.
    ddl: bool = False

    def follow_new_tables(self, selects: Callable[[str], bool]) -> None:  # noqa: B027
        """Hand out tables created from now on whose names `selects` accepts (a DDL change,
        then their rows), where the engine's capture can; others ignore it."""

    def joining(self, names: list[str]) -> None:  # noqa: B027
        """Tables that began to match the task's --tables while it was stopped, left out of
        the tables it captures: called before resume(). Each joins where the stream brings
        its CREATE TABLE (migrate/joining.py); an engine whose own set-up would lose that
        (a publication set to the task's tables) keeps them in it."""

    def ddl_note(self) -> str | None:
        """One line for the task's events: what becomes of DDL on this source."""
        return None

    def close(self) -> None:  # noqa: B027 - captures without connections need nothing
        """Let go of the connections reading needs (the runner reconnects with a new one)."""

    def beat(self) -> None:  # noqa: B027 - a capture whose log has its own time needs none
        """Write a heartbeat on the source now: turnout's clock, in a transaction of its own,
        through a connection of its own (a thread calls it every second while the task
        follows changes). Reading it back says how current the destination is."""

    def beat_seen(self) -> float | None:
        """The newest heartbeat (its time, turnout's clock) that the reads so far went past:
        every change committed before it was handed out by then. None before the first."""
        return None

    @abstractmethod
    def install(self) -> None:
        """Set up what capture needs on the source (idempotent), for a task that starts from
        scratch or over (--resnapshot): only then may capture start from now."""

    @abstractmethod
    def resume(self) -> None:
        """Check, before a task goes on from its checkpoint, that what install() set up is
        still there and still holds every change since; an error with the fix (--resnapshot)
        when not. Never sets anything up again: capture set up now would start now, and the
        changes in between would be skipped without a word."""

    def exported_snapshot(self) -> str | None:
        """A snapshot that lines up exactly with where capture starts, if install() made one.

        Engines whose log can hand one out when capture is created (PostgreSQL's
        slot with EXPORT_SNAPSHOT) return its name, valid until the full step
        has opened its snapshot with it; None means any fresh snapshot will do,
        since replaying from the capture start is idempotent.
        """
        return None

    def view_position(self, reader: SnapshotReader) -> Position | None:
        """Where this capture stands in the view `reader` reads (a reader of this source's
        snapshot()): every change at or before it is in that view, every later one is not.
        None when the engine cannot tell.

        The full step asks it for each table without a key: such a table's copy must
        not have the changes captured before it applied again (see incremental.py).
        """
        return None

    @abstractmethod
    def current_position(self) -> Position:
        """The end of the log now: changes committed later come after it."""

    def marker(self) -> Position:
        """Commit a marker now; the position returned is reached by a destination once it
        has applied everything the source committed before this call (switchover proves zero
        lag with it). Where current_position() is the log's end, that is enough."""
        return self.current_position()

    @abstractmethod
    def read(self, after: Position, limit: int) -> tuple[list[Change], Position]:
        """Committed changes after `after`, at most about `limit`, and the position they end at."""

    @abstractmethod
    def oldest_pending_ts(self, after: Position) -> float | None:
        """Commit time of the first change after `after`, None when there is none."""

    @abstractmethod
    def ack(self, upto: Position) -> None:
        """The destination has committed everything up to `upto`: the source may free it."""

    @abstractmethod
    def remove(self) -> None:
        """Remove everything install() put on the source."""




class SideConnection:
    """A connection a capture keeps for one side job (the heartbeat), apart from the stream:
    opened on first use, dropped when a use fails so that the next use connects again (a
    server that restarted must not leave the job on a dead connection), closed quietly."""

    def __init__(self, connect: Callable[[], Any]) -> None:
        self._connect = connect
        self._conn: Any = None

    def use(self, job: Callable[[Any, bool], None]) -> None:
        """Run `job(connection, first)`, `first` telling a fresh connection from a kept one."""
        first = self._conn is None
        try:
            if first:
                self._conn = self._connect()
            job(self._conn, first)
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - a connection that broke is gone either way
                pass
