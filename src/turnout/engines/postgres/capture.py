"""Change capture from PostgreSQL: a logical slot with the built-in pgoutput plugin, streamed.

A publication names the task's tables and a logical replication slot keeps
their changes. install() creates the slot over a replication connection
with EXPORT_SNAPSHOT, so the full step can read exactly the rows committed
before the slot's consistent point (exported_snapshot()); that connection
then stays silent until the first read(), which starts streaming on it.

Reading. read(after, limit) takes messages off the stream (replication.py)
without blocking and waits IDLE_WAIT_S on the socket for more, so an idle
source answers within about the poll interval. Whole transactions are
handed out in commit order, each change's position being its commit's end
LSN. Transactions whose commit record starts before `after` were applied
already and are read through without decoding their rows: a resumed stream
starts at the slot's confirmed flush, which may lie behind the destination.

Caught up. A quiet socket alone does not prove that nothing is left: the
server may still be decoding. A read notes where the WAL ends as it starts,
and calls itself caught up only once the server's reported position
(messages and keep-alives) or the destination's has reached it, waiting up
to CATCH_UP_WAIT_S for that; until then the delay counts from the first read
that could not tell, so "not delayed" means what it says.

Transactions larger than memory. A transaction is buffered only up to
`limit` changes. When one transaction alone reaches `limit`, it is handed
out in pieces of about `limit` changes. A piece's position keeps the `lsn`
of the last complete transaction and adds `xact` (where the big
transaction's commit record starts) and `part` (how many of its changes are
out so far): positions keep growing, so the destination applies each piece
with its checkpoint, yet the slot is only ever confirmed up to `lsn`, and a
restart (which parses `lsn` alone) replays the whole transaction from its
start; apply by key makes that harmless. Only the last piece carries the
commit's end LSN. A transaction that changes a table without a key is held
whole until its commit instead, since applying its rows twice is not
harmless (migrate/incremental.py). A read that has complete transactions to hand out stops
before a started one grows past `limit`, and keeps it for the next read.

Feedback. ack(upto) sends the destination's committed LSN as the flush
position at once (deferred until streaming starts, so the exported snapshot
lives). The server frees WAL up to it and restarts there after a crash.

Heartbeats. pgoutput sends nothing for other tables' transactions, so while
the captured tables are idle the slot would hold WAL back and the
destination's position would stand still. Every HEARTBEAT_S of idle reading
a transactional logical message is committed; it arrives as an empty
transaction whose commit end the destination saves and acknowledges.
Besides, beat() commits a message with turnout's clock every second from the
runner's heartbeat thread (migrate/heartbeat.py), on a connection of its own;
reads note the newest one they pass (beat_seen()), which is how current the
destination is.

The publication and the slot themselves are made, checked and dropped in slots.py;
the position type is in positions.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from turnout.engines.base import Capture
from turnout.engines.capture import SideConnection
from turnout.engines.postgres import ddlcapture, slots
from turnout.engines.postgres.dialect import quote
from turnout.engines.postgres.link import PgSource
from turnout.engines.postgres.pgoutput import ChangeDecoder, Message, decode
from turnout.engines.postgres.positions import PgPosition
from turnout.engines.postgres.replication import ReplicationStream, parse_lsn
from turnout.errors import OperationFailed
from turnout.model import Change, Position, Table

HEARTBEAT_S = 10.0  # seconds of idle capture between heartbeat commits
BEAT_PREFIX = "turnout_beat"  # logical messages that carry turnout's heartbeat (beat())
IDLE_WAIT_S = 0.1  # how long a read waits on an empty socket before it returns
CATCH_UP_WAIT_S = 0.5  # ... at most, while the server is still decoding older WAL
LONG_PAGE_HEADER = 40  # bytes of the largest WAL page header
READ_BUDGET_S = 2.0  # a read returns after this long even while messages keep coming

__all__ = ["PgCapture", "PgPosition"]


_UNPLACED = PgPosition(0)  # a decoded change's position until its piece is handed out


@dataclass
class _Open:
    """A transaction whose Begin has arrived and whose Commit has not."""

    lsn: int  # where its commit record starts
    commit_ts: float
    skip: bool  # applied before: read through it, hand nothing out
    handed: int = 0  # changes handed out already, in earlier pieces
    beat: float | None = None  # the heartbeat it carries (a logical message), if any
    changes: list[Change] = field(default_factory=list)  # decoded, not handed out yet
    keyless: bool = False  # changes a table without a key: never handed out in pieces


@dataclass
class _Read:
    """What one read() has gathered so far."""

    start: PgPosition
    end: PgPosition
    changes: list[Change] = field(default_factory=list)
    started: float = 0.0  # wall-clock time the read began
    last_ts: float | None = None
    idle: bool = False  # stopped because the stream had nothing more
    caught_up: bool = False  # ... and the server had decoded all WAL written before the read


class PgCapture(Capture):
    def __init__(self, engine: PgSource, tables: list[Table], slot: str) -> None:
        self.engine, self.schema = engine, engine.schema
        self.tables = {t.name: t for t in tables}
        self.slot = f"turnout_{slot}"
        self.conn = engine.connect()  # catalog, heartbeats, TOAST look-ups, value loaders
        self.decoder = ChangeDecoder(self.conn, self.schema, self.tables)
        self._stream: ReplicationStream | None = None
        self._consistent: int | None = None  # where a slot created here starts
        self._snapshot: str | None = None  # exported with it, until streaming starts
        self._exported: str | None = None  # its name, kept for view_position()
        self._open: _Open | None = None
        self._handed = _UNPLACED  # the end of what the last read handed out
        self._acked = 0  # the highest LSN the destination has committed
        self._pending_ts: float | None = None  # commit time of the oldest change left unread
        self._behind_since: float | None = None  # first read that could not confirm catching up
        self._last_heartbeat = time.monotonic()
        self._beat: float | None = None  # the newest heartbeat read through
        self._beat_conn = SideConnection(engine.connect)  # the heartbeat thread's own
        self.ddl = False  # whether DDL arrives in the stream (ddlcapture.py)
        self._joining: list[str] = []  # tables waiting for their CREATE TABLE in the stream
        self._stopped_by: OperationFailed | None = None  # raised by the next read

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return row[0] if row else None

    # setting up ------------------------------------------------------------

    def install(self) -> None:
        """Create the publication and the slot, for a task that starts from scratch (or over).

        A slot left by a run that died before the task saved where capture
        starts is kept: nothing has been read from it, and it holds every
        change since it was made (the reverse task of a switchover counts on
        that). Unless it cannot be read from any more, or its publication was
        missing, which decoding would need back to the slot's start.
        """
        self.ddl = ddlcapture.install(self.conn, self.schema, list(self.tables))
        published = self._publish(create=True)
        database, here = self._slot_database()
        if database == here and (not published or self._slot_lost() is not None):
            self._drop_slot()
            database = None
        if database is None:
            self._stream = ReplicationStream(self.engine.url, self.engine.endpoint)
            self._consistent, self._snapshot = self._stream.create_slot(self.slot)
            self._exported = self._snapshot
        else:
            self._check_slot()
        self._seed_moved()

    def resume(self) -> None:
        """The task goes on from its checkpoint: its slot and publication must still be there,
        the slot still able to hand out every change since then. Nothing is created: a slot
        made now would start now, skipping whatever was committed while the task was stopped;
        a publication made now would not cover the changes before it (decoding reads the
        catalog as it was when each change was written)."""
        self.ddl = ddlcapture.refresh(self.conn, self.schema)
        self._seed_moved()
        away = [] if self.ddl else slots.renamed_away(self.conn, self.schema, self.slot,
                                                        list(self.tables))
        if away:  # with the trigger, its row in the stream stops the task at the rename
            raise slots.renamed_away_stop(away)
        if not self._publish(create=False):
            raise OperationFailed(
                f"the publication {self.slot} of this task is gone from {self.engine.endpoint}, "
                "so the changes since then cannot be read: start the task again with "
                "--resnapshot to copy the tables afresh"
            )
        self._check_slot()

    def _seed_moved(self) -> None:
        """Tell the decoder each moved table's OID now, so a later Relation message with that
        OID under another name stops the task even when no row of the table came through
        under its old name in this run."""
        rows = self.conn.execute(
            "SELECT c.relname, c.oid FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = ANY(%s) "
            "AND c.relkind IN ('r', 'p')", (self.schema, list(self.tables))).fetchall()
        self.decoder.seed_moved({int(oid): name for name, oid in rows})

    def joining(self, names: list[str]) -> None:
        """The event trigger added such a table to the publication in its CREATE TABLE's
        own transaction: it stays there, so its rows come after that CREATE in the stream.
        One not there is not added now: its rows before now would be missing."""
        self._joining = list(names)

    def _publish(self, create: bool) -> bool:
        tables = list(self.tables) + ([ddlcapture.DDL_TABLE] if self.ddl else [])
        if self._joining and self.ddl:
            kept = slots.published(self.conn, self.schema, self.slot, self._joining)
            if missing := sorted(set(self._joining) - set(kept)):
                raise slots.unpublished_stop(missing)
            tables += kept
        return slots.publish(self.conn, self.schema, self.slot, tables, create)

    def follow_new_tables(self, selects: Callable[[str], bool]) -> None:
        self.decoder.selects = selects

    def ddl_note(self) -> str | None:
        return ddlcapture.note(self.ddl, self.engine.endpoint, self.schema)

    def _check_slot(self) -> None:
        slots.check_slot(self.conn, self.engine.endpoint, self.slot)

    def _slot_lost(self) -> str | None:
        return slots.slot_lost(self.conn, self.slot)

    def _slot_database(self) -> tuple[str | None, str]:
        return slots.slot_database(self.conn, self.slot)

    def exported_snapshot(self) -> str | None:
        return self._snapshot

    def view_position(self, reader: Any) -> PgPosition | None:
        """The slot's consistent point, for a view inside the snapshot the slot exported:
        it holds exactly the transactions that committed before that point. Another view
        (a later run's, once that snapshot is gone) has no place in the slot's stream."""
        imported = getattr(reader, "imported", None)
        if self._consistent is None or imported is None or imported != self._exported:
            return None
        return PgPosition(self._consistent)

    def current_position(self) -> PgPosition:
        if self._consistent is not None:
            return PgPosition(self._consistent)
        lsn = self._one(
            "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s",
            (self.slot,),
        )
        return PgPosition.parse(lsn)

    def close(self) -> None:
        """Let go of the slot: a later read, here or in another process, starts it again."""
        self._beat_conn.close()
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def remove(self) -> None:
        self.close()
        database, here = self._slot_database()
        if database == here:  # a slot of that name elsewhere is not this task's
            self._drop_slot()
        self.conn.execute(f"DROP PUBLICATION IF EXISTS {quote(self.slot)}")
        ddlcapture.remove_unused(self.conn, self.schema)

    def _drop_slot(self) -> None:
        slots.drop_slot(self.conn, self.slot)

    # reading ---------------------------------------------------------------

    def marker(self) -> PgPosition:
        """A logical message in a transaction of its own: the stream passes it like any commit,
        even when the captured tables are idle, and it tells its own LSN."""
        lsn = self._one("SELECT pg_logical_emit_message(true, 'turnout', 'marker')::text")
        return PgPosition.parse(lsn)

    def read(self, after: Position, limit: int) -> tuple[list[Change], Position]:
        assert isinstance(after, PgPosition)
        stopped, self._stopped_by = self._stopped_by, None
        if stopped is not None and after == self._handed:
            raise stopped  # everything before it is applied now
        target = self._wal_now()
        stream = self._streaming_from(after)
        batch = _Read(start=after, end=after, started=time.time())
        begun = time.monotonic()
        while not self._full(batch, limit) and time.monotonic() - begun < READ_BUDGET_S:
            settled = bool(batch.changes) and self._open is None
            data = stream.message(0.0 if settled else IDLE_WAIT_S, self.stall_timeout_s)
            if data is not None:
                try:
                    self._take(decode(data), batch)
                except OperationFailed as exc:  # a stop met after changes still to hand out
                    if not batch.changes:
                        raise
                    self._stopped_by = exc
                    break
                continue
            batch.caught_up = self._open is None and max(stream.wal_end, self._acked) >= target
            if settled or batch.caught_up or time.monotonic() - begun >= CATCH_UP_WAIT_S:
                batch.idle = True
                break
        self._handed = batch.end
        self._pending_ts = self._unread_ts(batch)
        if not batch.changes and batch.idle and self._open is None:
            self._heartbeat()
        return batch.changes, batch.end

    def _wal_now(self) -> int:
        """Where the server's WAL ends now: a read that gets this far has missed nothing older.

        The insert position counts commits not flushed yet (synchronous_commit
        = off), which decoding waits for. Right after a page header it is
        moved back to the page start, where the last record ended.
        """
        lsn, block = self.conn.execute(
            "SELECT pg_current_wal_insert_lsn()::text, current_setting('wal_block_size')::int"
        ).fetchone()
        at = parse_lsn(lsn)
        return at - at % block if at % block <= LONG_PAGE_HEADER else at

    def _streaming_from(self, after: PgPosition) -> ReplicationStream:
        """The stream, started (or restarted) so that its next message follows `after`."""
        stream = self._stream
        if stream is not None and stream.streaming and after == self._handed:
            return stream
        if stream is None or stream.streaming:
            if stream is not None:
                stream.close()
            stream = self._stream = ReplicationStream(self.engine.url, self.engine.endpoint)
        self._check_slot()  # the server would say less, or (invalidated) look transient
        slots.check_not_read_past(self.conn, self.engine.endpoint, self.slot, after.lsn)
        stream.start(self.slot, after.lsn, self.slot)
        self._snapshot = None  # the first command on its connection ended it
        self._open, self._handed = None, after
        if self._acked:
            stream.confirm(self._acked)
        return stream

    def _full(self, batch: _Read, limit: int) -> bool:
        """Whether the read has enough; hands out a piece of a transaction too big for one."""
        open_ = self._open
        buffered = len(open_.changes) if open_ is not None and not open_.skip else 0
        if len(batch.changes) + buffered < limit:
            return False
        if not batch.changes and open_ is not None:
            if open_.keyless:  # held whole until its commit (incremental.py says why)
                return False
            open_.handed += buffered
            piece = PgPosition(batch.end.lsn, xact=open_.lsn, part=open_.handed)
            batch.changes = [c.placed(piece) for c in open_.changes]
            open_.changes = []
            batch.end, batch.last_ts = piece, open_.commit_ts
        return True

    def _take(self, message: Message, batch: _Read) -> None:
        kind, open_ = message.kind, self._open
        if kind == "R" and message.relation is not None:
            self.decoder.relation(message.relation)
        elif kind == "B":
            start = batch.start
            handed = start.part if message.lsn == start.xact else 0
            skip = message.lsn < start.lsn
            self._open = _Open(message.lsn, message.commit_ts, skip, handed)
        elif kind == "M" and open_ is not None and message.prefix == BEAT_PREFIX:
            open_.beat = float(message.content.decode())
        elif kind in ("I", "U", "D", "T") and open_ is not None and not open_.skip:
            changes = self.decoder.changes(message, open_.commit_ts, _UNPLACED)
            open_.keyless = open_.keyless or any(
                c.table in self.tables and not self.tables[c.table].key for c in changes)
            open_.changes.extend(changes)
        elif kind == "C" and open_ is not None:
            self._open = None
            if open_.beat is not None:
                self._beat = open_.beat
            if not open_.skip:
                end = PgPosition(message.end_lsn)
                batch.changes.extend(c.placed(end) for c in open_.changes)
                batch.end, batch.last_ts = end, message.commit_ts

    def _unread_ts(self, batch: _Read) -> float | None:
        """Commit time of the oldest change not handed out, as far as this read can tell.

        When the stream went quiet before the server's decoding reached the
        WAL end seen at the start, something may still come: it is no newer
        than the first such read.
        """
        if self._open is not None and not self._open.skip:
            return self._open.commit_ts
        if batch.caught_up:
            self._behind_since = None
            return None
        if not batch.idle and batch.last_ts is not None:
            return batch.last_ts  # stopped early: what follows committed no earlier
        if self._behind_since is None:
            self._behind_since = batch.started
        return self._behind_since

    def _heartbeat(self) -> None:
        """While the captured tables are idle, commit a tiny logical message now and then.

        Its empty transaction reaches the destination like any other, so the
        saved position, the slot and the freed WAL follow the source's WAL.
        """
        now = time.monotonic()
        if now - self._last_heartbeat >= HEARTBEAT_S:
            self._last_heartbeat = now
            self.conn.execute("SELECT pg_logical_emit_message(true, 'turnout', 'heartbeat')")

    def beat(self) -> None:
        """A logical message with turnout's clock in it, in a transaction of its own."""
        self._beat_conn.use(lambda conn, _first: conn.execute(
            "SELECT pg_logical_emit_message(true, %s, %s)", (BEAT_PREFIX, repr(time.time()))))

    def beat_seen(self) -> float | None:
        return self._beat

    def oldest_pending_ts(self, after: Position) -> float | None:
        """Known from the last read: the stream cannot be peeked without consuming it."""
        return self._pending_ts

    def ack(self, upto: Position) -> None:
        assert isinstance(upto, PgPosition)
        if upto.lsn <= self._acked:
            return
        self._acked = upto.lsn  # a piece's lsn: the transaction before it, never more
        if self._stream is not None and self._stream.streaming:
            self._stream.confirm(upto.lsn)
