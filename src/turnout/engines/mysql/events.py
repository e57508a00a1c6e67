"""Decoding the binlog's events into changes of the captured tables: row events into
inserts, updates and deletes in the catalog's column order and value forms, statements
into a TRUNCATE or a stop on DDL that would lose rows unseen.

capture.py owns the stream and the positions: it feeds each event of a transaction here
and hands the transaction out once its commit says where it ends.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from turnout.engines.mysql import ddlshadow, heartbeat, tablemaps
from turnout.engines.mysql.dialect import quote
from turnout.engines.mysql.heartbeat import HEARTBEAT_TABLE
from turnout.engines.mysql.link import MysqlSource
from turnout.engines.mysql.positions import MysqlPosition
from turnout.engines.mysql.values import binlog_reader
from turnout.errors import OperationFailed
from turnout.model import Change, Ddl, Key, Op, Table
from turnout.types import Kind

_DDL = re.compile(r"^\s*(ALTER|DROP|RENAME|TRUNCATE)\b", re.IGNORECASE)
# ALTERs that drop rows or move the table away without a row event
_ALTER_LOSES_ROWS = re.compile(r"\b(RENAME(?!\s+(COLUMN|INDEX|KEY)\b)|(TRUNCATE|DROP|EXCHANGE)"
                               r"\s+PARTITION)\b", re.IGNORECASE)
_DROP_TABLE = re.compile(r"^\s*DROP\s+TABLE\b", re.IGNORECASE)
# SAVEPOINT, ROLLBACK TO and RELEASE SAVEPOINT: statements inside a transaction
_SAVEPOINT = re.compile(r"^(SAVEPOINT|ROLLBACK\s+(?:WORK\s+)?TO|RELEASE\s+SAVEPOINT)\s+"
                        r"(?:SAVEPOINT\s+)?(.+?)\s*$", re.IGNORECASE | re.DOTALL)
# a change of rows logged as SQL text (a session with binlog_format STATEMENT or MIXED)
_DML = re.compile(r"^\s*(?:/\*.*?\*/\s*)*(INSERT|REPLACE|UPDATE|DELETE|LOAD\s+(DATA|XML))\b",
                  re.IGNORECASE | re.DOTALL)
_ZERO_DATE = ("out of date range", "out of datetime range", "out of datetime2 range")


@dataclass
class Transaction:
    """Changes of the transaction being read, before its commit says where it ends."""

    # (table, op, key, after, old key, before: the old row of a table without a key)
    items: list[tuple[str, Op, Key, dict[str, Any] | None, Key | None,
                      dict[str, Any] | None]] = field(default_factory=list)
    ts: float = 0.0
    keyless: bool = False  # changes a table without a key: never handed out in pieces
    beat: float | None = None  # the task's heartbeat written in it (HEARTBEAT_TABLE)
    marked: bool = False  # it writes the task's marker row (heartbeat.mark())
    ddls: dict[int, Ddl] = field(default_factory=dict)  # by place in `items` (Op.DDL)
    handed: int = 0  # changes handed out already, in pieces of a large transaction
    savepoints: dict[str, int] = field(default_factory=dict)  # name -> changes before it

    def finish(self, position: MysqlPosition) -> list[Change]:
        """Every change, carrying the transaction's end."""
        return [Change(t, op, key, after, self.ts, position, old_key=old, before=before,
                       ddl=self.ddls.get(i))
                for i, (t, op, key, after, old, before) in enumerate(self.items)]

    def piece(self, start: MysqlPosition) -> list[Change]:
        """The changes so far, carrying where the transaction started; they leave it."""
        ts = self.ts or time.time()
        items, self.items = self.items, []
        self.handed += len(items)
        return [Change(t, op, key, after, ts, start, old_key=old, before=before)
                for t, op, key, after, old, before in items]


def savepoint(txn: Transaction, query: str, ident: str) -> bool:
    """Whether `query` is a savepoint's statement, taken into `txn` if so. They come inside a
    transaction (Django's nested atomic blocks make them), which goes on after them. A
    ROLLBACK TO is in the binlog only where the transaction also changed a table that cannot
    roll back (MyISAM): then the rows after the savepoint are there and must be dropped."""
    found = _SAVEPOINT.match(query)
    if found is None:
        return False
    verb, name = found.group(1)[:3].upper(), found.group(2).strip("`")
    if verb == "SAV":
        txn.savepoints[name] = txn.handed + len(txn.items)
    elif verb == "REL":
        txn.savepoints.pop(name, None)
    else:
        _roll_back(txn, name, ident)
    return True


def _roll_back(txn: Transaction, name: str, ident: str) -> None:
    at = txn.savepoints.get(name)
    if at is None or at < txn.handed:
        raise NotFollowed(
            f"a transaction rolled back to savepoint {name!r} at {ident} after turnout had "
            "handed out changes past it (a transaction larger than a batch, or a savepoint "
            "it did not see), so the task stops here rather than apply rows rolled back: "
            "start the task again with --resnapshot")
    keep = at - txn.handed
    del txn.items[keep:]
    txn.ddls = {i: ddl for i, ddl in txn.ddls.items() if i < keep}
    txn.savepoints = {n: i for n, i in txn.savepoints.items() if i <= at}


class SourceDdl(OperationFailed):
    """DDL on a captured table: the task stops until the destination has the change."""


class NotFollowed(SourceDdl):
    """Changes of a captured table that the binlog does not carry as rows turnout can apply
    (a statement logged as text, an XA transaction whose outcome comes later)."""


class StaleTableMap(SourceDdl):
    """Rows that their table map does not describe: never decoded, the task stops there."""


class EventDecoder:
    """The captured tables' readers and checked table maps, for one task's stream."""

    def __init__(self, engine: MysqlSource, tables: dict[str, Table], slot: str) -> None:
        self.engine = engine
        self.tables = tables
        self.slot = slot
        self._readers = {n: binlog_reader(t, engine.options["zero_dates"])
                         for n, t in tables.items()}
        self._json = {n: [c.name for c in t.columns if c.type.kind is Kind.JSON]
                      for n, t in tables.items()}
        with engine.conn.cursor() as cur:  # generated columns too: the binlog carries them
            self._known = {n: _as_streamed(tablemaps.data_types(cur, n), t)
                           for n, t in tables.items()}
        self._checked: dict[int, Any] = {}  # table id -> its map, once held against the catalog
        self.selects: Callable[[str], bool] = lambda _: False  # a new table joins (Capture)

    def forget_table_maps(self) -> None:
        """Every map is held against the catalog again (a binlog file starts, capture.py)."""
        self._checked = {}

    def check_ddl(self, txn: Transaction, event: Any, query: str, ident: str = "") -> None:
        """A DDL of a captured table into `txn` (ALTER TABLE, CREATE or DROP INDEX) with the
        table's layout after it (ddlshadow.py); `ident` names where it was read.

        Stop on DDL that drops or renames a captured table (named in this database or
        qualified with its name): its rows would vanish from the binlog unnoticed. A
        TRUNCATE, logged as a statement of its own, becomes a change of its own.

        An ALTER that empties, drops or swaps a partition stops the task too (its rows go
        without row events, and the destination has no such partition to mirror it).
        Other ALTERs pass here: an index changes nothing captured, and a change of
        columns shows in the next row event, which names its columns (_row()).

        A change of rows logged as text (INSERT, UPDATE, DELETE… from a session with
        binlog_format STATEMENT or MIXED) that names a captured table stops the task: its
        rows are in no row event (_statement_change()).
        """
        schema = event.schema.decode() if isinstance(event.schema, bytes) else event.schema
        pairs = ddlshadow.renamed_tables(query, schema, self.engine.database)
        if pairs is not None:
            self._renames(txn, pairs, query, ident)
            return
        found = ddlshadow.target(query, schema, self.engine.database)
        if found is not None and found[0] in self.tables and not _ALTER_LOSES_ROWS.search(query):
            self._ddl(txn, found[0], query, found[1], ident)
            return
        new = ddlshadow.created(query, schema, self.engine.database)
        if (new is not None and new[0] not in self.tables and not new[0].startswith("_turnout")
                and self.selects(new[0])):
            self._ddl(txn, new[0], query, new[1], ident)
            return
        if _DML.match(query):
            self._statement_change(query, schema, ident)
            return
        if not _DDL.match(query) or (query[:5].upper() == "ALTER"
                                     and not _ALTER_LOSES_ROWS.search(query)):
            return
        for name in self._named(query, schema):
            if query[:8].upper() == "TRUNCATE":
                txn.items.append((name, Op.TRUNCATE, (), None, None, None))
            elif _DROP_TABLE.match(query):  # the task's on_drop says what follows
                txn.ddls[len(txn.items)] = Ddl(f"{ident}:{name}", query, None, ())
                txn.items.append((name, Op.DDL, (), None, None, None))
            else:
                raise SourceDdl(
                    f"table {name!r} was dropped, renamed or lost a partition's rows at the "
                    f"source during incremental migration ({query[:80]}): delete and recreate "
                    "the task to copy it afresh, or leave it out with --exclude"
                )

    def _named(self, query: str, schema: str) -> list[str]:
        """The captured tables a statement names (qualified with the database, or not when
        it ran in the database)."""
        database = re.escape(self.engine.database)
        prefix = "" if schema == self.engine.database else rf"`?{database}`?\s*\.\s*"
        return [name for name in self.tables
                if re.search(rf"(?<![\w$]){prefix}`?{re.escape(name)}`?(?![\w$])", query)]

    def _statement_change(self, query: str, schema: str, ident: str) -> None:
        """INSERT, UPDATE, DELETE… logged as text: a session ran with binlog_format STATEMENT
        or MIXED (precheck holds only the global setting). Its rows are in no row event, so
        passing it by would lose them; a statement naming a captured table stops the task
        (naming it as read, not written, stops it too: loud, where a miss is silent)."""
        named = self._named(query, schema)
        if named:
            raise NotFollowed(
                f"table {named[0]!r} was changed by a statement the binlog holds as SQL text, "
                f"not as rows ({' '.join(query.split())[:80]}, at {ident}): that session ran "
                "with binlog_format = STATEMENT or MIXED, whose changes turnout cannot apply "
                "exactly, so the task stops here rather than skip them: have that client keep "
                "binlog_format = ROW, then start the task again with --resnapshot")

    def prepared(self, txn: Transaction, ident: str) -> None:
        """An XA transaction's first phase ended (XA PREPARE); its XA COMMIT or XA ROLLBACK
        comes later in the binlog, as a transaction of its own. Its rows are in `txn`: one
        that changed a captured table stops the task, as they may yet be rolled back."""
        tables = sorted({item[0] for item in txn.items})
        if tables:
            raise NotFollowed(
                f"table {tables[0]!r} was written by an XA transaction prepared at {ident} "
                "(XA PREPARE), whose XA COMMIT or XA ROLLBACK comes later in the binlog; "
                "turnout does not follow two-phase XA transactions, so the task stops here "
                "rather than apply rows that may be rolled back: end XA transactions on the "
                "source with XA COMMIT … ONE PHASE, or leave the table out with --exclude, "
                "then start the task again with --resnapshot")

    def _renames(self, txn: Transaction, pairs: list[tuple[str | None, str | None]],
                 query: str, ident: str) -> None:
        """A RENAME TABLE: followed when it renames one moved table within the database (the
        rows after it come under the new name); a stop when it moves one elsewhere, renames
        another table into the task's --tables, or renames several at once (a swap)."""
        ours = [(old, new) for old, new in pairs if old in self.tables or (
            new is not None and not new.startswith("_turnout") and self.selects(new))]
        if not ours:
            return
        said = " ".join(query.split())[:120]
        old, new = ours[0]
        if len(pairs) == 1 and old in self.tables and new is not None:
            before = self.tables.pop(old)
            after = replace(before, name=new)
            self.tables[new] = after
            self._readers[new] = self._readers.pop(old)
            self._json[new] = self._json.pop(old)
            self._known[new] = self._known.pop(old)
            self._checked = {}
            txn.ddls[len(txn.items)] = Ddl(f"{ident}:{old}", query, after, ())
            txn.items.append((old, Op.DDL, (), None, None, None))
            return
        if len(pairs) > 1:
            why = "a RENAME TABLE of several tables at once (a swap) is not followed"
        elif new is None:
            why = f"{old!r} moved to another database, which the task does not read"
        else:
            why = f"the task did not move it, and its --tables select the new name {new!r}"
        raise SourceDdl(
            f"table {old or new!r} was renamed on the source ({said}): {why}, so the task "
            "stops here rather than lose rows: rename it back on the source and start the "
            "task with --resnapshot (the tables are copied afresh), or delete the task and "
            "create one that selects the new name (docs/ddl.md)")

    def _ddl(self, txn: Transaction, name: str, query: str, span: tuple[int, int],
             ident: str) -> None:
        """The DDL as a change, and the table's readers and checks moved to its new layout."""
        try:
            ddl = ddlshadow.replay(self.engine, self.slot, name, self.tables.get(name), query,
                                   span, ident)
        except Exception as exc:  # noqa: BLE001 - the task stops as it did before DDL was read
            raise SourceDdl(
                f"table {name!r} changed on the source during incremental migration "
                f"({' '.join(query.split())[:120]}) and its new layout could not be worked out "
                f"({' '.join(str(exc).split())[:160]}): make the same change on the "
                "destination, then start the task again") from exc
        assert ddl.after is not None
        after = ddl.after
        self.tables[name] = after
        self._readers[name] = binlog_reader(after, self.engine.options["zero_dates"])
        self._json[name] = [c.name for c in after.columns if c.type.kind is Kind.JSON]
        self._known[name] = _as_streamed({}, after)
        self._checked = {}
        txn.ddls[len(txn.items)] = ddl
        txn.items.append((name, Op.DDL, (), None, None, None))

    def rows(self, txn: Transaction, event: Any, kind: str, stream: Any) -> None:
        """A row event's changes into `txn`; `stream` names where it was read if it stops."""
        table = self.tables.get(event.table)
        if table is None:
            if event.table == HEARTBEAT_TABLE:
                txn.beat = heartbeat.read(event, self.slot) or txn.beat
                txn.marked = txn.marked or heartbeat.marked(event, self.slot)
            return
        self._check_map(table, event, stream)
        txn.ts = float(event.timestamp)
        txn.keyless = txn.keyless or not table.key
        names = table.column_names
        # rows read by rowcodec where it reads the map's columns, else by the library
        # (rawevents.py decides, as the event is read)
        for row in event.rows:
            if kind == "UpdateRowsEvent":
                old = self._row(table, row["before_values"], row["before_none_sources"])
                new = self._row(table, row["after_values"], row["after_none_sources"])
                old_key, key = _key(table, old), _key(table, new)
                after = dict(zip(names, new, strict=True))
                before = None if table.key else dict(zip(names, old, strict=True))
                txn.items.append((table.name, Op.UPDATE, key, after, old_key, before))
            elif kind == "WriteRowsEvent":
                new = self._row(table, row["values"], row["none_sources"])
                after = dict(zip(names, new, strict=True))
                txn.items.append((table.name, Op.INSERT, _key(table, new), after, None, None))
            else:
                old = self._row(table, row["values"], row["none_sources"])
                before = None if table.key else dict(zip(names, old, strict=True))
                txn.items.append((table.name, Op.DELETE, _key(table, old), None, None, before))

    def _check_map(self, table: Table, event: Any, stream: Any) -> None:
        """Stop before decoding rows their table map may not describe; everything before them
        is applied first (capture's read()).

        Every row event: its own column count against the map's. Every new map (once per
        table id and binlog file): its column names and types against the catalog, where a
        difference is a change of the table on the source.
        """
        if event.number_of_columns != len(event.columns):
            raise StaleTableMap(
                f"table {table.name!r}: a binlog row event before {stream.log_file}:"
                f"{stream.log_pos} has {event.number_of_columns} columns where its table "
                f"map (table id {event.table_id}) has {len(event.columns)}, so the rows were "
                "not decoded; start the task again, and if it stops here again, start it "
                "with --resnapshot"
            )
        mapped = event.table_map[event.table_id]
        if self._checked.get(event.table_id) is mapped:
            return
        changes = tablemaps.column_changes(event.columns, table.column_names,
                                           self._known[table.name])
        if changes:
            raise SourceDdl(
                f"table {table.name!r} changed on the source during incremental migration "
                f"(column {', '.join(changes)}): make the same change on the destination, "
                "then start the task again"
            )
        self._checked[event.table_id] = mapped

    def _zero_date(self, table: Table, column: str, values: dict[str, Any]) -> str:
        """The binlog library gives a zero or partly zero date as None with only a reason, so
        the date itself (`2024-00-10`) is read from the source's row as it is now: a later
        change of the row follows in the stream. A row gone since (its delete follows), or
        holding a real date by now: `0000-00-00`."""
        match = " AND ".join(f"{quote(k)} = %s" for k in table.key)
        rows = self.engine.all(f"SELECT CAST({quote(column)} AS CHAR) FROM {quote(table.name)} "
                               f"WHERE {match}", [values[k] for k in table.key])
        text = rows[0][0] if rows else None
        if isinstance(text, bytes):
            text = text.decode()
        zero = text is not None and "0000" in (text[:4], text[5:7] * 2, text[8:10] * 2)
        return str(text) if zero else "0000-00-00"

    def _row(self, table: Table, values: dict[str, Any], nones: dict[str, str]) -> tuple[Any, ...]:
        """The event's values in the catalog's column order, converted like a query's."""
        for name in self._json[table.name]:  # MySQL's binary JSON null: None, but not NULL
            if values[name] is None and name not in nones:
                values = {**values, name: "null"}
        if not nones:  # no NULL, empty set or zero date: nothing to tell apart
            return self._readers[table.name](tuple(map(values.__getitem__, table.column_names)))
        row = []
        for name in table.column_names:
            value, why = values[name], nones.get(name)
            if why == "empty set":
                value = ""
            elif why in _ZERO_DATE:  # the reader applies the task's zero-date rule
                value = self._zero_date(table, name, values)
            row.append(value)
        return self._readers[table.name](tuple(row))


def _as_streamed(live: dict[str, str], table: Table) -> dict[str, str]:
    """Each column's data type as the stream has the table (which a task resuming behind a
    DDL has, not the catalog): from the column's own type, else the catalog's."""
    columns = list(table.columns) + [c for _, c in table.generated]
    if not all(c.native_type for c in columns):
        return live
    return {c.name: _data_type(c.native_type) for c in columns}


def _data_type(native: str) -> str:
    """information_schema's data type of a column type (`int(11) unsigned` is `int`)."""
    return re.split(r"[\s(]", native.strip().lower(), maxsplit=1)[0]


def _key(table: Table, row: tuple[Any, ...]) -> Key:
    return tuple(row[i] for i in table.key_positions())
