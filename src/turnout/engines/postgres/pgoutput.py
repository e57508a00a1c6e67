"""Decoding the pgoutput logical replication protocol (version 1): messages, then Changes.

decode() turns one message into plain values; ChangeDecoder turns row
messages into turnout's Changes for the task's tables.

Only what turnout needs: begin, commit, relation, insert, update, delete,
truncate and logical messages (turnout's heartbeats). Values arrive in
PostgreSQL's text form; `None` is NULL and UNCHANGED marks a TOASTed value the
server did not resend.

Begin already names the transaction's commit record (`lsn`) and commit time,
so a reader can tell before any change arrives whether the transaction was
applied earlier, and how old the changes it is about to hand out are.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from turnout.engines.postgres import ddlcapture
from turnout.engines.postgres.dialect import column_list, qualified, quote
from turnout.engines.postgres.values import load_rows_as_text
from turnout.errors import OperationFailed
from turnout.model import Change, Key, Op, Position, Table

UNCHANGED = object()  # an unchanged TOASTed value: never write it over real data
PG_EPOCH_OFFSET = 946_684_800  # seconds from 1970-01-01 to 2000-01-01


@dataclass
class Relation:
    oid: int
    schema: str
    name: str
    columns: list[tuple[str, int, bool]]  # name, type oid, part of the replica identity


@dataclass
class Message:
    kind: str  # B, C, R, I, U, D, T, M, or other kinds turnout ignores
    oid: int = 0
    new: list[Any] | None = None  # column values (text, None or UNCHANGED)
    old: list[Any] | None = None  # old key or old row, when the server sent one
    commit_ts: float = 0.0
    lsn: int = 0  # B, C: where the commit record starts; M: where the message is
    end_lsn: int = 0  # C: where the commit record ends (the transaction's position)
    xid: int = 0  # B only
    prefix: str = ""  # M only
    content: bytes = b""  # M only
    relation: Relation | None = None
    oids: tuple[int, ...] = ()


_STRUCTS: dict[str, struct.Struct] = {}  # each format compiled once: a catch-up decodes
_INT16, _INT32 = struct.Struct("!h"), struct.Struct("!i")  # millions of messages
_NULL, _TOASTED = ord("n"), ord("u")


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, fmt: str) -> Any:
        compiled = _STRUCTS.get(fmt)
        if compiled is None:
            compiled = _STRUCTS[fmt] = struct.Struct(fmt)
        value = compiled.unpack_from(self.data, self.at)
        self.at += compiled.size
        return value[0]

    def string(self) -> str:
        end = self.data.index(b"\0", self.at)
        text = self.data[self.at:end].decode()
        self.at = end + 1
        return text

    def tuple_data(self) -> list[Any]:
        """The columns of one row: text, None (NULL) or UNCHANGED ('u', a TOASTed value)."""
        data, at = self.data, self.at
        values: list[Any] = []
        count = _INT16.unpack_from(data, at)[0]
        at += 2
        for _ in range(count):
            kind = data[at]
            at += 1
            if kind == _NULL:
                values.append(None)
            elif kind == _TOASTED:
                values.append(UNCHANGED)
            else:
                size = _INT32.unpack_from(data, at)[0]
                at += 4
                values.append(data[at:at + size].decode())
                at += size
        self.at = at
        return values


def decode(data: bytes) -> Message:
    r = _Reader(bytes(data))
    kind = chr(r.take("!B"))
    if kind == "B":
        final = r.take("!Q")
        ts = r.take("!q") / 1e6 + PG_EPOCH_OFFSET
        return Message("B", lsn=final, commit_ts=ts, xid=r.take("!I"))
    if kind == "C":
        r.take("!B")  # flags
        lsn, end = r.take("!Q"), r.take("!Q")
        ts = r.take("!q") / 1e6 + PG_EPOCH_OFFSET
        return Message("C", lsn=lsn, end_lsn=end, commit_ts=ts)
    if kind == "M":
        r.take("!B")  # flags: 1 when transactional
        lsn, prefix = r.take("!Q"), r.string()
        size = r.take("!I")
        return Message("M", lsn=lsn, prefix=prefix, content=r.data[r.at:r.at + size])
    if kind == "R":
        oid, schema, name = r.take("!I"), r.string(), r.string()
        r.take("!B")  # replica identity setting
        columns = []
        for _ in range(r.take("!h")):
            flags, col, type_oid = r.take("!B"), r.string(), r.take("!I")
            r.take("!i")  # type modifier
            columns.append((col, type_oid, bool(flags & 1)))
        return Message("R", oid=oid, relation=Relation(oid, schema, name, columns))
    if kind == "I":
        oid = r.take("!I")
        r.take("!B")  # 'N'
        return Message("I", oid=oid, new=r.tuple_data())
    if kind == "U":
        oid = r.take("!I")
        marker = chr(r.take("!B"))
        old = None
        if marker in ("K", "O"):
            old = r.tuple_data()
            r.take("!B")  # 'N'
        return Message("U", oid=oid, old=old, new=r.tuple_data())
    if kind == "D":
        oid = r.take("!I")
        r.take("!B")  # 'K' or 'O'
        return Message("D", oid=oid, old=r.tuple_data())
    if kind == "T":
        count = r.take("!i")
        r.take("!B")  # options
        return Message("T", oids=tuple(r.take("!I") for _ in range(count)))
    return Message(kind)


class ChangeDecoder:
    """Row messages as turnout Changes of the task's tables.

    Values are loaded by psycopg's own loaders for the column types, so a
    change holds what a query on the same columns returns. A TOASTed value
    the server did not resend is read from the table itself. Relations are
    checked against the task's tables the first time a change uses them, so
    DDL on the source stops the task instead of misplacing values.
    """

    def __init__(self, conn: Any, schema: str, tables: dict[str, Table]) -> None:
        self.conn, self.schema, self.tables = conn, schema, tables
        self.relations: dict[int, Relation] = {}
        self.selects: Callable[[str], bool] = lambda _: False  # a new table joins (Capture)
        self._checked: set[int] = set()  # relation oids whose columns match the task's table
        self._moved: dict[int, str] = {}  # relation oid -> the task's table it was seen as
        self._loaders: dict[int, Any] = {}
        self._rows: Any = None  # a cursor whose loaders read rows (values.load_rows_as_text)

    def relation(self, relation: Relation) -> None:
        """Note a relation's columns; stop when one of the task's tables now goes by another
        name or schema (RENAME TO, SET SCHEMA): its rows would no longer match any table."""
        was = self._moved.get(relation.oid)
        if was is not None and (relation.schema, relation.name) != (self.schema, was):
            raise _renamed(was, f"{relation.schema}.{relation.name}")
        if relation.schema == self.schema and relation.name in self.tables:
            self._moved[relation.oid] = relation.name
        self.relations[relation.oid] = relation
        self._checked.discard(relation.oid)

    def seed_moved(self, oids: dict[int, str]) -> None:
        """The task's tables' OIDs as the source catalog has them when capture starts:
        without the event trigger, a rename is otherwise seen only after a row went
        through under the old name in this run."""
        self._moved.update(oids)

    def changes(self, message: Message, ts: float, position: Position) -> list[Change]:
        """The changes an insert, update, delete or truncate makes ([] for other tables).

        One TRUNCATE names every table it empties (those CASCADE reached too):
        each of the task's tables among them gets a TRUNCATE change.
        """
        if message.kind == "I" and self._is_ddl(message.oid):
            return self._ddl(message, ts, position)
        if message.kind == "T":
            tables = [self._table(oid) for oid in message.oids]
            return [Change(t.name, Op.TRUNCATE, (), None, ts, position) for t in tables if t]
        table = self._table(message.oid)
        if table is None:
            return []
        types = [c[1] for c in self.relations[message.oid].columns]
        if not table.key:
            return [self._image_change(table, message, types, ts, position)]
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

    def _is_ddl(self, oid: int) -> bool:
        relation = self.relations[oid]
        return relation.schema == self.schema and relation.name == ddlcapture.DDL_TABLE

    def _ddl(self, message: Message, ts: float, position: Position) -> list[Change]:
        """A row the DDL trigger wrote: a DDL change of one of the task's tables, whose
        columns the rows after it have (the Relation message that follows says so too)."""
        names = [c[0] for c in self.relations[message.oid].columns]
        values = dict(zip(names, message.new or [], strict=True))
        name = values["table_name"]
        was = ddlcapture.renamed_from(values)
        if was is not None and was in self.tables:  # followed: the rows go on under `name`
            return self._rename(was, values, ts, position)
        if was is not None and self.selects(name):
            raise _renamed(was, name, values["statement"])
        table = self.tables.get(name)
        if table is None and ddlcapture.created(values) and self.selects(name):
            if ddlcapture.unlogged(values):
                raise OperationFailed(
                    f"table {name!r} was created UNLOGGED during incremental migration and "
                    "--tables selects it, but an unlogged table writes no WAL, so none of its "
                    f"rows can be followed: leave it out with --exclude {name}, or make it "
                    f"logged (ALTER TABLE {name} SET LOGGED) and start the task again with "
                    "--resnapshot")
            if ddlcapture.filled_when_created(values):
                raise OperationFailed(
                    f"table {name!r} was made by {values['tag']} during incremental migration "
                    "and --tables selects it, but the rows that statement wrote are not in "
                    "the change stream: start the task again with --resnapshot to copy every "
                    f"table afresh, or leave it out with --exclude {name}")
            table = Table(name, (), schema=self.schema, origin="postgresql")
        if table is None:
            return []
        ddl = ddlcapture.record(values, table, "pg:")
        if ddl.after is not None:
            self.tables[table.name] = ddl.after
        self._checked.clear()
        return [Change(table.name, Op.DDL, (), None, ts, position, ddl=ddl)]

    def _rename(self, was: str, values: dict[str, Any], ts: float,
                position: Position) -> list[Change]:
        """A RENAME TABLE of one of the task's tables: a DDL change of the table under its
        old name whose layout has the new one; its rows after it come under the new name."""
        ddl = ddlcapture.record(values, self.tables.pop(was), "pg:")
        assert ddl.after is not None
        after = replace(ddl.after, name=values["table_name"])
        ddl = replace(ddl, after=after)
        self.tables[after.name] = after
        self._moved = {oid: after.name if name == was else name
                       for oid, name in self._moved.items()}
        self._checked.clear()
        return [Change(was, Op.DDL, (), None, ts, position, ddl=ddl)]

    def _image_change(self, table: Table, message: Message, types: list[int], ts: float,
                      position: Position) -> Change:
        """A change of a table without a key, with its whole old row: REPLICA IDENTITY FULL
        sends it (flattened, TOASTed values included), and a new row's TOASTed value the
        server did not resend is the old row's, since it did not change."""
        cols = table.column_names
        before = None
        if message.kind in ("U", "D"):
            if message.old is None:
                raise OperationFailed(
                    f"table {table.name!r} has no key and its changes came without the old row "
                    f"(REPLICA IDENTITY is no longer FULL): run ALTER TABLE "
                    f"{qualified(self.schema, table.name)} REPLICA IDENTITY FULL on the source, "
                    "then start the task again with --resnapshot")
            before = self._values(message.old, types)
        if message.kind == "D":
            return Change(table.name, Op.DELETE, (), None, ts, position,
                          before=dict(zip(cols, before or [], strict=True)))
        new = self._values(message.new or [], types)
        if before is not None:
            new = [old if value is UNCHANGED else value
                   for value, old in zip(new, before, strict=True)]
        after = dict(zip(cols, new, strict=True))
        op = Op.INSERT if message.kind == "I" else Op.UPDATE
        return Change(table.name, op, (), after, ts, position,
                      before=None if before is None else dict(zip(cols, before, strict=True)))

    def _table(self, oid: int) -> Table | None:
        """The task's table a relation is; stop when its columns changed (DDL)."""
        relation = self.relations[oid]
        if relation.schema != self.schema:
            return None
        table = self.tables.get(relation.name)
        if table is None or oid in self._checked:
            return table
        now = [c[0] for c in relation.columns]
        if now != list(table.column_names):
            added = sorted(set(now) - set(table.column_names))
            removed = sorted(set(table.column_names) - set(now))
            raise OperationFailed(
                f"table {table.name!r} changed on the source during incremental migration "
                f"(added {', '.join(added) or 'nothing'}; removed {', '.join(removed) or 'nothing'}"
                "): make the same change on the destination, then start the task again"
            )
        self._checked.add(oid)
        return table

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

            cursor = self._cursor()
            loader = self._loaders[oid] = Transformer(cursor).get_loader(oid, Format.TEXT)
        return loader

    def _current_row(self, table: Table, key: Key) -> tuple[Any, ...] | None:
        match = " AND ".join(f"{quote(k)} = %s" for k in table.key)
        sql = (f"SELECT {column_list(table.column_names)} FROM "
               f"{qualified(self.schema, table.name)} WHERE {match}")
        row = self._cursor().execute(sql, key).fetchone()
        return tuple(row) if row else None

    def _cursor(self) -> Any:
        """The cursor whose loaders read rows as a snapshot does (arrays and ranges as text)."""
        if self._rows is None:
            self._rows = self.conn.cursor()
            load_rows_as_text(self._rows)
        return self._rows


def _key(values: list[Any], key_at: tuple[int, ...]) -> Key:
    return tuple(values[i] for i in key_at)


def _renamed(was: str, now: str, statement: str = "") -> OperationFailed:
    """The stop for a renamed table: turnout does not follow one yet, and going on would
    lose its rows (under the new name they match no table of the task) without a word."""
    said = f" ({' '.join(statement.split())[:200]})" if statement else ""
    return OperationFailed(
        f"table {was!r} was renamed to {now!r} on the source{said}: a renamed table is not "
        "followed, so the task stops here rather than lose its rows: rename it back on the "
        "source and start the task with --resnapshot (the tables are copied afresh), or "
        "delete the task and create one that selects the new name (docs/ddl.md)")
