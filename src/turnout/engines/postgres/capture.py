"""Change capture from PostgreSQL through logical decoding with the built-in pgoutput plugin.

A publication names the task's tables and a logical replication slot keeps
their changes. Each read peeks at the slot (whole transactions, in commit
order) without consuming; ack() advances the slot only after the
destination has committed, so the server keeps every change turnout has not
applied, and frees WAL for everything it has.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from turnout.engines.base import Capture
from turnout.engines.postgres.dialect import column_list, qualified, quote
from turnout.engines.postgres.pgoutput import UNCHANGED, Message, Relation, decode
from turnout.errors import OperationFailed
from turnout.model import Change, Key, Op, Position, Table

HEARTBEAT_S = 10.0  # seconds of idle capture between heartbeat commits


@dataclass(frozen=True, eq=False)
class PgPosition(Position):
    """A WAL position (LSN): the end of a committed transaction."""

    lsn: int
    engine = "postgresql"

    def to_dict(self) -> dict[str, Any]:
        return {"lsn": f"{self.lsn >> 32:X}/{self.lsn & 0xFFFFFFFF:X}"}

    def _order(self) -> tuple[Any, ...]:
        return (self.lsn,)

    @classmethod
    def parse(cls, text: str) -> PgPosition:
        high, low = text.split("/")
        return cls((int(high, 16) << 32) + int(low, 16))


class PgCapture(Capture):
    def __init__(self, engine: Any, tables: list[Table], slot: str) -> None:
        self.engine, self.schema = engine, engine.schema
        self.tables = {t.name: t for t in tables}
        self.slot = f"turnout_{slot}"
        self.conn = engine.connect()
        self.relations: dict[int, Relation] = {}
        self._loaders: dict[int, Any] = {}
        self._pending_ts: float | None = None  # commit time of the oldest change left unread
        self._last_heartbeat = time.monotonic()

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return row[0] if row else None

    def install(self) -> None:
        names = ", ".join(qualified(self.schema, t) for t in self.tables)
        if self._one("SELECT 1 FROM pg_publication WHERE pubname = %s", (self.slot,)):
            current = {r[0] for r in self.conn.execute(
                "SELECT tablename FROM pg_publication_tables WHERE pubname = %s AND "
                "schemaname = %s", (self.slot, self.schema)).fetchall()}
            if current != set(self.tables):  # only when the task's tables changed
                self.conn.execute(f"ALTER PUBLICATION {quote(self.slot)} SET TABLE {names}")
        else:
            self.conn.execute(f"CREATE PUBLICATION {quote(self.slot)} FOR TABLE {names}")
        if not self._one("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (self.slot,)):
            self.conn.execute(
                "SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (self.slot,)
            )

    def current_position(self) -> PgPosition:
        lsn = self._one(
            "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s",
            (self.slot,),
        )
        return PgPosition.parse(lsn)

    def _peek(self, upto: str | None, limit: int | None) -> list[Message]:
        rows = self.conn.execute(
            "SELECT data FROM pg_logical_slot_peek_binary_changes(%s, %s::pg_lsn, %s, "
            "'proto_version', '1', 'publication_names', %s, 'messages', 'true')",
            (self.slot, upto, limit, self.slot),
        ).fetchall()
        return [decode(r[0]) for r in rows]

    def read(self, after: Position, limit: int) -> tuple[list[Change], Position]:
        assert isinstance(after, PgPosition)
        # Decoding sees WAL up to what is flushed; with synchronous_commit = off a commit can
        # sit unflushed for a while, so the insert position would claim changes not yet read.
        upto = self._one("SELECT pg_current_wal_flush_lsn()::text")
        messages = self._peek(upto, limit)
        changes: list[Change] = []
        pending: list[Message] = []
        last, last_ts = after.lsn, None
        for message in messages:
            if message.kind == "R" and message.relation is not None:
                self._relation(message.relation)
            elif message.kind in ("I", "U", "D", "T"):
                pending.append(message)
            elif message.kind == "C":
                if message.end_lsn > after.lsn:
                    position = PgPosition(message.end_lsn)
                    for change in pending:
                        changes.extend(self._change(change, message.commit_ts, position))
                    last, last_ts = max(last, message.end_lsn), message.commit_ts
                pending = []
        if len(messages) < limit:  # nothing committed before `upto` is left unread
            self._pending_ts = None
            if not changes:
                self._heartbeat()
        else:  # more to come, committed no earlier than what was just read
            self._pending_ts = last_ts
        return changes, PgPosition(last)

    def _heartbeat(self) -> None:
        """While the captured tables are idle, commit a tiny logical message now and then.

        The slot may only move to the end of a commit turnout has read: the
        flushed position can fall inside a commit record, and decoding skips a
        transaction whose commit starts before the slot. The heartbeat's
        commit is such a safe point, so WAL of other tables is freed.
        """
        now = time.monotonic()
        if now - self._last_heartbeat >= HEARTBEAT_S:
            self._last_heartbeat = now
            self.conn.execute("SELECT pg_logical_emit_message(true, 'turnout', 'heartbeat')")

    def _relation(self, relation: Relation) -> None:
        """Remember a relation; stop when a captured table's columns changed (DDL)."""
        self.relations[relation.oid] = relation
        table = self.tables.get(relation.name)
        if table is None or relation.schema != self.schema:
            return
        now = [c[0] for c in relation.columns]
        if now != list(table.column_names):
            added = sorted(set(now) - set(table.column_names))
            removed = sorted(set(table.column_names) - set(now))
            raise OperationFailed(
                f"table {table.name!r} changed on the source during incremental migration "
                f"(added {', '.join(added) or 'nothing'}; removed {', '.join(removed) or 'nothing'}"
                "): make the same change on the destination, then start the task again"
            )

    def _change(self, message: Message, ts: float, position: PgPosition) -> list[Change]:
        if message.kind == "T":
            names = [self.relations[o].name for o in message.oids if o in self.relations]
            raise OperationFailed(
                f"TRUNCATE of {', '.join(names)} on the source during incremental migration: "
                "truncate the destination too, then start the task again"
            )
        relation = self.relations[message.oid]
        table = self.tables.get(relation.name)
        if table is None:
            return []
        types = [c[1] for c in relation.columns]
        key_at = table.key_positions()
        if message.kind == "D":
            old = self._values(message.old or [], types)
            return [Change(table.name, Op.DELETE, _key(old, key_at), None, ts, position)]
        new = self._values(message.new or [], types)
        key = _key(new, key_at)
        if any(v is UNCHANGED for v in new):
            current = self._current_row(table, key)  # TOASTed values the server did not resend
            if current is None:
                return []  # deleted since; the delete follows in the stream
            new = list(current)
        after = dict(zip(table.column_names, new, strict=True))
        old_key = None
        if message.kind == "U" and message.old is not None:
            old_key = _key(self._values(message.old, types), key_at)
        op = Op.INSERT if message.kind == "I" else Op.UPDATE
        return [Change(table.name, op, key, after, ts, position, old_key=old_key)]

    def _values(self, texts: list[Any], types: list[int]) -> list[Any]:
        """Text values as the Python values a query on the same columns returns."""
        out = []
        for text, oid in zip(texts, types, strict=True):
            if text is None or text is UNCHANGED:
                out.append(text)
            else:
                out.append(self._loader(oid).load(text.encode()))
        return out

    def _loader(self, oid: int) -> Any:
        loader = self._loaders.get(oid)
        if loader is None:
            from psycopg.adapt import Transformer
            from psycopg.pq import Format

            loader = self._loaders[oid] = Transformer(self.conn).get_loader(oid, Format.TEXT)
        return loader

    def _current_row(self, table: Table, key: Key) -> tuple[Any, ...] | None:
        match = " AND ".join(f"{quote(k)} = %s" for k in table.key)
        sql = (f"SELECT {column_list(table.column_names)} FROM "
               f"{qualified(self.schema, table.name)} WHERE {match}")
        row = self.conn.execute(sql, key).fetchone()
        return tuple(row) if row else None

    def oldest_pending_ts(self, after: Position) -> float | None:
        """Known from the last read: peeking again would decode the next transaction twice."""
        return self._pending_ts

    def ack(self, upto: Position) -> None:
        assert isinstance(upto, PgPosition)
        confirmed = self.current_position()
        if confirmed.lsn < upto.lsn:
            self.conn.execute(
                "SELECT pg_replication_slot_advance(%s, %s::pg_lsn)",
                (self.slot, upto.to_dict()["lsn"]),
            )

    def remove(self) -> None:
        if self._one("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (self.slot,)):
            self.conn.execute("SELECT pg_drop_replication_slot(%s)", (self.slot,))
        self.conn.execute(f"DROP PUBLICATION IF EXISTS {quote(self.slot)}")


def _key(values: list[Any], key_at: tuple[int, ...]) -> Key:
    return tuple(values[i] for i in key_at)
