"""Change capture from MySQL / MariaDB: ROW events of the binlog through python-mysql-replication.

Nothing is installed on the source: the binlog is already there. Turnout
connects as a replica (one binlog dump connection, blocking, with server
heartbeats every binlog.HEARTBEAT_S so an idle source still answers) and hands out
whole transactions, each change carrying its transaction's end (file +
offset of the event after the commit), which is where a resumed stream
starts. On MariaDB the position also carries the GTID state there (the last
GTID of each domain, positions.py); with the URL option `resume_by=gtid` a resumed
stream starts from that state instead, so it survives a failover to a server
whose binlog files have other names.

A transaction with more changes than one batch is handed out in pieces:
every piece but the last carries the position the transaction started
from, so a checkpoint saved with it never claims the transaction is done,
and a crash replays the whole transaction (apply is by key, so replaying is
harmless).

Column values are matched to the catalog by name, which needs the binlog to
carry names (`binlog_row_metadata = FULL`, MySQL 8 and MariaDB 10.5+); the
precheck asks for it. Without names, ENUM and SET values are lost in the
binlog, so guessing would lose data.

Table ids. A row event names its table by an id that the server hands out
in memory and hands out again after a restart, so a table map is only good
in the binlog file it came in: every map is forgotten at the start of each
file (its Rotate and Format_description events, which a reconnect sends
too), and a map is held against the catalog before its rows are decoded
(tablemaps.py).

This module owns the stream, its positions and how transactions are handed out; decoding
each event into changes is in events.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from turnout.engines.base import Capture
from turnout.engines.capture import SideConnection
from turnout.engines.mysql import binlog, heartbeat, rawevents
from turnout.engines.mysql.captureneeds import ddl_note
from turnout.engines.mysql.events import (
    EventDecoder,
    SourceDdl,
    StaleTableMap,
    Transaction,
    savepoint,
)
from turnout.engines.mysql.heartbeat import HEARTBEAT_TABLE
from turnout.engines.mysql.link import MysqlSource
from turnout.engines.mysql.positions import GtidState, MysqlPosition, not_in_binlogs, tracked
from turnout.errors import OperationFailed
from turnout.model import Change, Position, Table

READ_BUDGET_S = 1.0  # a read returns after this long once at a transaction boundary
EAGER_S = 0.1  # or after this long when the apply side waits for it (_hand_out_now)
ADVANCE_IDLE_S = 10.0  # while the captured tables are idle, move the checkpoint this often

__all__ = ["MysqlCapture", "SourceDdl", "StaleTableMap"]


class MysqlCapture(Capture):
    def __init__(self, engine: MysqlSource, tables: list[Table], slot: str) -> None:
        self.engine = engine
        self.tables = {t.name: t for t in tables}
        self.slot = slot
        self._decoder = EventDecoder(engine, self.tables, slot)
        self._only_tables = [*self.tables, HEARTBEAT_TABLE]  # the stream's row filter
        self._stream: Any = None
        self._read_to = MysqlPosition("", 0)  # end of the last transaction read
        self._handed: MysqlPosition | None = None  # the position read() last returned
        self._last_advance = time.monotonic()
        self._txn = Transaction()
        self._pending_ts: float | None = None
        self._stopped_by: SourceDdl | None = None  # DDL met after changes still to hand out
        self._gtids: GtidState | None = None  # MariaDB: the GTID state as transactions end
        self._from_gtid: str | None = None  # the GTID state the stream started from, if any
        self._trust_next = False  # take the next commit whatever its file (see _accept)
        self._beat: float | None = None  # the newest heartbeat read through
        self._floor: float | None = None  # the same, read since the stream opened (_end)
        self._marked = False  # a switchover's marker read: hand its position out at once
        self._beat_conn = SideConnection(engine.connect)  # the heartbeat thread's own

    # set-up ----------------------------------------------------------------

    ddl = True  # QUERY events carry DDL; events.py reads it (ddlshadow.py)

    def follow_new_tables(self, selects: Callable[[str], bool]) -> None:
        self._decoder.selects = selects

    def ddl_note(self) -> str | None:
        return ddl_note(self.engine.endpoint)

    def install(self) -> None:
        """Nothing to install: check the binlog is there (the precheck said how to fix it)."""

    def resume(self) -> None:
        """Nothing installed to check: whether the binlog still holds the task's position is
        asked where the stream opens (_open), on every start and reconnect."""

    def remove(self) -> None:
        self._close()
        heartbeat.drop(self.engine, self.slot)

    def close(self) -> None:
        """Close the binlog stream now: a stream left to the garbage collector (a task
        that failed) keeps the server's dump thread on its binlog, which then cannot
        be purged."""
        self._close()

    def view_position(self, reader: Any) -> MysqlPosition | None:
        """The binlog position MariaDB names for a consistent snapshot (snapshot.py): the
        end of the last transaction the view holds. MySQL names none."""
        view = getattr(reader, "view", None)
        if not view and not self.engine.mariadb:
            raise OperationFailed(
                f"{self.engine.endpoint} is MySQL, which does not name the binlog position of "
                "a consistent snapshot (MariaDB does), so a table without a key cannot be "
                "copied while capture runs without some changes applied twice: give such "
                "tables a primary key, or leave them out with --exclude")
        if not view:
            return None
        file, _, pos = view.rpartition(":")
        return MysqlPosition(file, int(pos))

    def current_position(self) -> MysqlPosition:
        """The binlog's end. The GTID is read first: a commit in between then leaves it behind
        the file and offset, never ahead, so a resume by GTID replays it (harmless by key)
        instead of skipping it."""
        gtid = self._gtid()
        row = self.engine.all("SHOW MASTER STATUS")
        if not row:
            raise OperationFailed(f"{self.engine.endpoint} has no binary log: enable log_bin")
        return MysqlPosition(row[0][0], int(row[0][1]), gtid or None)

    def marker(self) -> MysqlPosition:
        """The binlog's end, then a marker row committed after it. While the captured tables
        are idle (fenced, for a switchover) the capture moves its checkpoint only every
        ADVANCE_IDLE_S, so a heartbeat committed before this call could keep the
        destination short of the binlog's end that long; the marker's commit makes the
        capture hand out its position at once (_hand_out)."""
        position = self.current_position()
        try:
            heartbeat.mark(self.engine, self.slot)
        except Exception:  # noqa: BLE001 - without it the checkpoint still gets there, later
            pass
        return position

    def _gtid(self) -> str | None:
        name = "gtid_binlog_pos" if self.engine.mariadb else "gtid_executed"
        try:
            return str(self.engine.one(f"SELECT @@GLOBAL.{name}") or "") or None
        except Exception:  # noqa: BLE001 - without it, a resume goes by file and offset
            return None

    # reading ---------------------------------------------------------------

    def read(self, after: Position, limit: int) -> tuple[list[Change], Position]:
        assert isinstance(after, MysqlPosition)
        if self._stream is None or after != self._handed:
            self._open(after)
        elif self._stopped_by is not None:  # everything before the DDL is applied now
            raise self._stopped_by
        changes: list[Change] = []
        begun = time.monotonic()
        deadline = begun + READ_BUDGET_S
        idle, last_ts = False, None
        while True:
            event = self._fetch()
            kind = rawevents.kind_of(event)
            if event is None or kind == "HeartbeatLogEvent":
                if not self._txn.items:
                    idle = True  # the server has nothing more to send
                    break
                continue
            try:
                committed = self._event(event, kind)
            except SourceDdl as ddl:
                if not changes:
                    raise
                self._stopped_by = ddl  # hand out what came before, stop on the next read
                break
            if committed is not None:
                last_ts = self._txn.ts
                if self._txn.beat is not None:
                    self._beat = self._floor = self._txn.beat
                self._marked = self._marked or self._txn.marked
                taken = self._accept(committed)
                if taken is not None:
                    changes.extend(self._finish(taken))
                    self._read_to = taken
                self._txn = Transaction()
            if len(self._txn.items) >= limit and not self._txn.keyless:
                # a large transaction: hand out a piece (never of one changing a table
                # without a key, see migrate/incremental.py: it is held until its commit)
                last_ts = self._txn.ts
                changes.extend(self._piece(self._read_to))
                break
            if not self._txn.items and (len(changes) >= limit or time.monotonic() > deadline):
                break
            if changes and not self._txn.items and self._hand_out_now(begun):
                idle = not binlog.waiting(self._stream)
                break
        self._pending_ts = None if idle else (last_ts or time.time())
        return changes, self._hand_out(after, bool(changes))

    def _hand_out_now(self, begun: float) -> bool:
        """At a transaction boundary with changes read: whether to end the read before its
        limit or budget. Only while the apply side waits for it (else a larger batch costs
        nothing in delay and less per change), and then once nothing more has been sent, or
        after EAGER_S of reading (a source that keeps sending would hold it to the budget)."""
        waits = self.applier_waiting
        if waits is None or not waits.is_set():
            return False
        return (not binlog.waiting(self._stream)
                or time.monotonic() - begun > EAGER_S)

    def _hand_out(self, after: MysqlPosition, changed: bool) -> MysqlPosition:
        """Where the caller may checkpoint. Without changes of our tables, move on only now and
        then: every move is a write, and on a shared server that write is one more event;
        but at once past a switchover's marker, which drain() waits for."""
        position = self._read_to
        now = time.monotonic()
        if not changed and not self._marked and now - self._last_advance < ADVANCE_IDLE_S:
            position = after
        elif position != after:
            self._last_advance = now
            self._marked = False
        self._handed = position
        return position

    def _open(self, after: MysqlPosition) -> None:
        self._close()
        self._from_gtid = after.gtid if self._by_gtid(after) else None
        if self._from_gtid is None:
            self._check_not_purged(after)
        self._stream = binlog.open_stream(self.engine, self.slot,
                                          binlog.start_at(after, self._from_gtid),
                                          self._only_tables, self.stall_timeout_s)
        self._txn = Transaction()
        self._floor = None  # a heartbeat read before may come after what is read now
        self._decoder.forget_table_maps()
        self._read_to = self._handed = after
        self._gtids = tracked(after.gtid) if self.engine.mariadb else None  # MySQL: UUID sets
        self._trust_next = self._from_gtid is not None

    def _by_gtid(self, after: MysqlPosition) -> bool:
        """Whether to start from the position's GTID state (resume_by=gtid, MariaDB only)."""
        if self.engine.options["resume_by"] != "gtid":
            return False
        if not self.engine.mariadb:
            raise OperationFailed(f"{self.engine.endpoint}: resume_by=gtid is implemented for "
                                  "MariaDB only; use resume_by=file")
        return bool(after.gtid)  # a position stored without one (older turnout) goes by file

    def _accept(self, end: MysqlPosition) -> MysqlPosition | None:
        """The end of a transaction just read, with the GTID state after it; None when it was
        read before. A stream started by GTID takes its first commit as new, since the
        stored file may be another server's (the server sends only what follows the
        state); after that, and always by file, file and offset tell: the library's
        silent reconnect starts over from where the stream was opened."""
        if not (self._trust_next or end > self._read_to):
            if self._gtids is not None:
                self._gtids.discard()
            return None
        self._trust_next = False
        return replace(end, gtid=self._gtids.commit() if self._gtids is not None else None)

    def _fetch(self) -> Any:
        """The next event; a GTID start the server refuses becomes a one-line failure."""
        import pymysql

        try:
            return self._stream.fetchone()
        except pymysql.err.OperationalError as exc:
            if self._from_gtid is None or exc.args[0] != 1236:  # 1236: cannot read the binlog
                raise
            refused = not_in_binlogs(self._from_gtid, str(self.engine.endpoint), exc.args[-1])
        self._close()
        raise refused

    def _check_not_purged(self, after: MysqlPosition) -> None:
        files = {r[0] for r in self.engine.all("SHOW BINARY LOGS")}
        if after.file not in files:
            raise OperationFailed(
                f"the binlog file {after.file} where this task resumes has been purged from "
                f"{self.engine.endpoint}, so changes since then are gone: start the task again "
                "with --resnapshot to copy the tables afresh, and keep binlogs longer "
                "(binlog_expire_logs_seconds / expire_logs_days)"
            )

    def _event(self, event: Any, kind: str) -> MysqlPosition | None:
        """Take one event in; the position after it when it ends a transaction."""
        if kind == rawevents.Unreadable.kind:
            raise self._unreadable(event)
        if kind in ("RotateEvent", "FormatDescriptionEvent"):
            self._forget_table_maps()
            return None
        if kind == "MariadbGtidEvent":
            self._txn = Transaction()
            if self._gtids is not None:
                self._gtids.begin(event.gtid)
            return None
        if kind == rawevents.XaPrepare.kind:
            if event.one_phase:  # MySQL's XA COMMIT … ONE PHASE: a commit
                return self._end(event)
            self._decoder.prepared(self._txn, self._ident())
            self._txn = Transaction()  # it held none of the task's changes
            return None
        if kind == "QueryEvent":
            query = event.query.strip()
            upper = query[:8].upper()
            if upper == "BEGIN" or upper == "XA START":
                self._txn = Transaction()
                return None
            if upper[:6] == "XA END":  # the transaction goes on to its XA PREPARE
                return None
            if savepoint(self._txn, query, self._ident()):  # inside the transaction
                return None
            if query.upper() != "COMMIT":
                self._decoder.check_ddl(self._txn, event, query, self._ident())
                # a table created since joins the list the stream filters rows by (the
                # library holds this very list and looks names up in it at each event)
                self._only_tables.extend(t for t in self.tables if t not in self._only_tables)
            return self._end(event)
        if kind == "XidEvent":
            return self._end(event)
        self._decoder.rows(self._txn, event, kind, self._stream)
        return None

    def _ident(self) -> str:
        """Where the stream is, as a DDL's or a stop's message names it."""
        return f"mysql:{self._stream.log_file}:{self._stream.log_pos}"

    def _unreadable(self, event: rawevents.Unreadable) -> OperationFailed:
        """An event the library would have dropped, with the changes in it (rawevents.py)."""
        return OperationFailed(
            f"the binlog of {self.engine.endpoint} holds {event.what} before "
            f"{self._stream.log_file}:{self._stream.log_pos}, which turnout cannot apply, so "
            f"the task stops here rather than pass it by: {event.fix}")

    def _forget_table_maps(self) -> None:
        """A binlog file starts (or the stream reconnected, which starts with one): the table
        ids of the file before may name other tables in this one, so every map is read again.

        The library forgets them only at a Rotate event with a timestamp, which a restart
        does not write; the Rotate the server sends where a stream starts has none, and the
        events that follow come from where the stream was asked to start, so the table maps
        the library kept before a silent reconnect would be applied to them too.
        """
        self._stream.table_map = {}
        self._decoder.forget_table_maps()

    def _end(self, event: Any) -> MysqlPosition:
        floor = max(self._floor or 0.0, self._txn.beat or 0.0) or None
        self._txn.ts = binlog.commit_time(float(event.timestamp), time.time(), floor)
        return MysqlPosition(self._stream.log_file, int(self._stream.log_pos))

    def _finish(self, position: MysqlPosition) -> list[Change]:
        txn, self._txn = self._txn, Transaction()
        return txn.finish(position)

    def _piece(self, start: MysqlPosition) -> list[Change]:
        return self._txn.piece(start)

    def beat(self) -> None:
        """The task's heartbeat row set to turnout's clock, through a connection of its own."""
        self._beat_conn.use(lambda conn, first: heartbeat.write(conn, self.slot, first))

    def beat_seen(self) -> float | None:
        return self._beat

    def oldest_pending_ts(self, after: Position) -> float | None:
        return self._pending_ts

    def ack(self, upto: Position) -> None:
        """Nothing to free: the server keeps binlogs by its own expiry setting."""

    def _close(self) -> None:
        self._beat_conn.close()
        if self._stream is not None:
            self._stream.close()
            self._stream = None
