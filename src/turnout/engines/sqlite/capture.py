"""Trigger-based change capture for SQLite.

Triggers record only the key of each changed row, with the commit-order
sequence and the time, into a change-log table in the writer's own
transaction. The reader joins that log with the table in one read
transaction, so a batch carries every touched row exactly as the source holds
it at that moment: a deleted row is a delete, a present row an upsert. SQLite
has one writer at a time, so log sequence order is commit order.

The log has no gaps: AUTOINCREMENT numbers each change one past the last
(a rolled-back change gives its number back), and only ack() deletes, up to
what the destination has committed. So the first change after a task's
position is the next number, and a read that finds otherwise knows changes
were trimmed or the log made anew: an error, never a skip.

A table without a key has no key to look its row up by, so its triggers log
the whole row instead: the new one for an insert, the old one for a delete,
both for an update, each value as SQLite's quote() writes it (an SQL literal
that gives back the stored value exactly: a REAL keeps every bit, a BLOB
stays bytes). Every such change is handed out on its own and in order,
never folded into the row's latest state.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from turnout.engines.base import Capture
from turnout.engines.sqlite import newtables, reload
from turnout.engines.sqlite.catalog import reflect_table
from turnout.engines.sqlite.changelog import (
    SqlitePosition,
    decode_key_part,
    high_water,
    read_images,
    read_keyed,
)
from turnout.engines.sqlite.dialect import quote
from turnout.engines.sqlite.triggers import (
    NOW_SQL,
    image_json,
    key_json,
    log_table,
    trigger_name,
    trigger_sql,
)
from turnout.errors import NotFound, OperationFailed
from turnout.model import Change, Ddl, Op, Position, Table

DDL_NOTE = ("DDL on the source's tables is found at each read and made on the destination "
            "before the rows read with it (docs/ddl.md)")


class SqliteCapture(Capture):
    def __init__(self, connect: Any, tables: list[Table], slot: str) -> None:
        self._connect = connect
        self.tables = {t.name: t for t in tables}
        self.slot = slot
        self.log = quote(log_table(slot))
        self._schema_version: int | None = None
        self._placed = SqlitePosition(0)  # where a read starts: its DDL changes sit there
        self._selects: Callable[[str], bool] | None = None  # new tables that join

    ddl = True  # schema compared at each read (_check_schema)

    def ddl_note(self) -> str | None:
        return DDL_NOTE

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection = self._connect()
        db.create_function("turnout_key", 1, decode_key_part, deterministic=True)
        return db

    def install(self) -> None:
        db = self._db()
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {self.log} (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                "tbl TEXT NOT NULL, op TEXT NOT NULL, key TEXT NOT NULL, ts REAL NOT NULL)"
            )
            for table in self.tables.values():
                for sql in trigger_sql(self.slot, self.log, table):
                    db.execute(sql)
            # make sure the high-water mark exists even before the first change
            db.execute(
                "INSERT INTO sqlite_sequence (name, seq) SELECT ?, 0 WHERE NOT EXISTS "
                "(SELECT 1 FROM sqlite_sequence WHERE name = ?)",
                (log_table(self.slot), log_table(self.slot)),
            )
            db.execute("COMMIT")
        finally:
            db.close()

    def resume(self) -> None:
        """The task goes on from its checkpoint: the change log and every trigger install()
        made must still be there. Made again now, they would log only what comes from now on,
        and the changes in between would be skipped."""
        db = self._db()
        try:
            names = {r[0] for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")}
        finally:
            db.close()
        if log_table(self.slot) not in names:
            raise OperationFailed(
                f"the change log {log_table(self.slot)} of this task is gone from the source, "
                "and the changes since the task's checkpoint with it: start the task again with "
                "--resnapshot to copy the tables afresh"
            )
        # a table gone from the source (dropped while the task waited at the barrier, say)
        # logs nothing any more: the stream's DDL says what became of it
        unlogged = [t for t in self.tables if t in names
                    and any(trigger_name(self.slot, t, op) not in names for op in "idu")]
        if unlogged:
            raise OperationFailed(
                f"the change-capture triggers of {', '.join(map(repr, unlogged))} are gone from "
                "the source, so changes since may not be logged: start the task again with "
                "--resnapshot to copy the tables afresh"
            )

    def view_position(self, reader: Any) -> SqlitePosition | None:
        """The log's high-water mark read inside the reader's own transaction: the triggers
        write the log in the writer's transaction, so the view holds exactly the changes
        numbered up to it."""
        db = getattr(reader, "db", None)
        return None if db is None else high_water(db, self.slot)

    def current_position(self) -> SqlitePosition:
        db = self._db()
        try:
            return high_water(db, self.slot)
        finally:
            db.close()

    def read(self, after: Position, limit: int) -> tuple[list[Change], Position]:
        assert isinstance(after, SqlitePosition)
        db = self._db()
        try:
            self._placed = after
            self._stop_at_rename(db)
            created = self._adopt(db)
            reloaded = self._reload_keyless(db, after.seq)
            db.execute("BEGIN")
            ddls = created + self._check_schema(db, reloaded)
            end = high_water(db, self.slot).seq
            self._check_not_trimmed(db, after.seq, end)
            nth = db.execute(
                f"SELECT seq FROM {self.log} WHERE seq > ? ORDER BY seq LIMIT 1 OFFSET ?",
                (after.seq, limit - 1),
            ).fetchone()
            if nth is not None:
                end = nth[0]
            changes: list[Change] = []
            names = [r[0] for r in db.execute(
                f"SELECT DISTINCT tbl FROM {self.log} WHERE seq > ? AND seq <= ?",
                (after.seq, end),
            )]
            for name in names:
                table = self.tables.get(name)
                if table is not None and not table.key:
                    changes.extend(read_images(db, self.log, table, after.seq, end))
                elif table is not None:
                    changes.extend(read_keyed(db, self.log, table, after.seq, end))
            db.execute("COMMIT")
        finally:
            db.close()
        changes.sort(key=lambda c: c.position)
        return ddls + changes, SqlitePosition(end)

    def _check_not_trimmed(self, db: sqlite3.Connection, after: int, end: int) -> None:
        """Stop when the log no longer holds every change after the task's position (see the
        module's docstring): trimmed past it, or dropped and made anew."""
        if end < after:
            raise OperationFailed(
                f"the change log of this task starts over at {end}, behind the task's position "
                f"{after} (capture was removed and set up again?), so changes since are gone: "
                "start the task again with --resnapshot to copy the tables afresh"
            )
        if end == after:
            return
        first = db.execute(f"SELECT min(seq) FROM {self.log} WHERE seq > ?", (after,)).fetchone()[0]
        if first != after + 1:
            raise OperationFailed(
                f"the change log of this task was trimmed past the task's position {after} "
                f"(changes {after + 1} to {(first or end + 1) - 1} are gone): start the task "
                "again with --resnapshot to copy the tables afresh"
            )

    def follow_new_tables(self, selects: Callable[[str], bool]) -> None:
        self._selects = selects

    def _stop_at_rename(self, db: sqlite3.Connection) -> None:
        """Stop at a moved table renamed since the last read, which would otherwise look like
        a DROP TABLE (and a new table): SQLite moves the capture's triggers along with it,
        but they log the rows under the old name, which a read no longer finds."""
        if db.execute("PRAGMA schema_version").fetchone()[0] == self._schema_version:
            return
        for name in self.tables:
            row = db.execute("SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' "
                             "AND name = ?", (trigger_name(self.slot, name, "i"),)).fetchone()
            if row is not None and row[0] != name:
                raise OperationFailed(
                    f"table {name!r} was renamed to {row[0]!r} on the source: a renamed table "
                    "of a SQLite source is not followed, so the task stops here rather than "
                    "lose its rows: rename it back on the source and start the task with "
                    "--resnapshot (the tables are copied afresh), or delete the task and "
                    "create one that selects the new name (docs/ddl.md)")

    def _adopt(self, db: sqlite3.Connection) -> list[Change]:
        """Tables created since the last read that the task selects (newtables.py), as DDL
        changes; their rows are in the log from now on."""
        if self._selects is None:
            return []
        version = db.execute("PRAGMA schema_version").fetchone()[0]
        if version == self._schema_version:
            return []
        found = []
        for table in newtables.adopt(
                db, set(self.tables), self._selects, partial(trigger_sql, self.slot, self.log),
                lambda t, ref: key_json(t, ref) if t.key else image_json(t, ref),
                self.log, NOW_SQL):
            self.tables[table.name] = table
            ddl = Ddl(f"sqlite:new:{table.name}", _create_sql(db, table.name), table, ())
            found.append(Change(table.name, Op.DDL, (), None, time.time(), self._placed,
                                ddl=ddl))
        return found

    def _reload_keyless(self, db: sqlite3.Connection, after: int) -> dict[str, Table]:
        """Tables without a key whose columns changed, other than by a rename, since the last
        read: logged afresh after `after` (reload.py); each as its triggers now log it."""
        version = db.execute("PRAGMA schema_version").fetchone()[0]
        if version == self._schema_version:
            return {}
        done = {}
        for name, expected in self.tables.items():
            try:
                current = reflect_table(db, name)
            except NotFound:
                continue
            if (expected.key or current.key or _columns(current) == _columns(expected)
                    or reload.renamed_only(expected, current)):
                continue
            done[name] = reload.reload(
                db, name, after, [trigger_name(self.slot, name, op) for op in "idu"],
                partial(trigger_sql, self.slot, self.log), image_json, self.log, NOW_SQL)
        return done

    def _check_schema(self, db: sqlite3.Connection,
                      reloaded: dict[str, Table]) -> list[Change]:
        """DDL to a captured table since the last read, as DDL changes placed before the
        read's rows (which are read as the table holds them now, with its new columns).

        `schema_version` moves on any DDL in the file (turnout's own triggers too), so the
        tables are compared only when it has moved. A dropped table's DDL has no layout. A
        table without a key (its triggers log whole rows, value by value) moves to the
        columns its triggers log (renamed in place, or logged afresh: `reloaded`); one
        changed again since, or gaining or losing a key, waits for the next read or stops.
        """
        stale = False
        version = db.execute("PRAGMA schema_version").fetchone()[0]
        if version == self._schema_version:
            return []
        found = []
        for name, expected in list(self.tables.items()):
            try:
                current = reflect_table(db, name)
            except NotFound:  # the task's on_drop says what follows
                del self.tables[name]
                ddl = Ddl(f"sqlite:{version}:{name}", f"DROP TABLE {name}", None, ())
                found.append(Change(name, Op.DDL, (), None, time.time(), self._placed,
                                    ddl=ddl))
                continue
            if _layout(current) == _layout(expected):
                continue
            if bool(expected.key) != bool(current.key):
                raise OperationFailed(_changed(name, expected, current, keyless=True))
            if not current.key:
                logs = reloaded.get(name, expected)
                if _columns(current) != _columns(logs) and not reload.renamed_only(logs, current):
                    stale = True  # changed after this read's reload: the next one does it
                    continue
            self.tables[name] = current
            ddl = Ddl(f"sqlite:{version}:{name}", _create_sql(db, name), current,
                      _renames(expected, current))
            found.append(Change(name, Op.DDL, (), None, time.time(), self._placed, ddl=ddl))
        if not stale:
            self._schema_version = version
        return found

    def oldest_pending_ts(self, after: Position) -> float | None:
        assert isinstance(after, SqlitePosition)
        db = self._db()
        try:
            row = db.execute(
                f"SELECT ts FROM {self.log} WHERE seq > ? ORDER BY seq LIMIT 1", (after.seq,)
            ).fetchone()
        except sqlite3.OperationalError:
            return None
        finally:
            db.close()
        return row[0] if row else None

    def ack(self, upto: Position) -> None:
        assert isinstance(upto, SqlitePosition)
        db = self._db()
        try:
            db.execute(f"DELETE FROM {self.log} WHERE seq <= ?", (upto.seq,))
        finally:
            db.close()

    def remove(self) -> None:
        db = self._db()
        try:
            db.execute("BEGIN IMMEDIATE")
            prefix = f"_turnout_{self.slot}_"
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'"
            ).fetchall():
                if name.startswith(prefix):
                    db.execute(f"DROP TRIGGER IF EXISTS {quote(name)}")
            db.execute(f"DROP TABLE IF EXISTS {self.log}")
            has_sequence = db.execute("SELECT 1 FROM sqlite_master WHERE name = "
                                      "'sqlite_sequence'").fetchone()
            if has_sequence:  # only once some AUTOINCREMENT table has existed
                db.execute("DELETE FROM sqlite_sequence WHERE name = ?",
                           (log_table(self.slot),))
            db.execute("COMMIT")
        finally:
            db.close()


def _columns(table: Table) -> tuple[object, ...]:
    return tuple((c.name, c.type, c.nullable, c.default) for c in table.columns)


def _layout(table: Table) -> tuple[object, ...]:
    return (tuple((c.name, c.type, c.nullable, c.default) for c in table.columns), table.key,
            tuple((i.name, i.columns, i.unique) for i in table.indexes))


def _renames(before: Table, after: Table) -> tuple[tuple[str, str], ...]:
    """Columns renamed: SQLite keeps a renamed column in its place with its type, appends
    an added one and moves the columns after a dropped one up. A column gone whose place
    now holds a column that came, of the same type, is taken as renamed (a drop of the last
    column and an add of one of its type between two reads look the same: docs/ddl.md)."""
    gone = set(before.column_names) - set(after.column_names)
    came = set(after.column_names) - set(before.column_names)
    return tuple((a.name, b.name) for a, b in zip(before.columns, after.columns, strict=False)
                 if a.name in gone and b.name in came and a.type == b.type)


def _create_sql(db: sqlite3.Connection, name: str) -> str:
    row = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                     (name,)).fetchone()
    return str(row[0]) if row else ""


def _changed(name: str, expected: Table, current: Table, keyless: bool = False) -> str:
    """Why the task stops at a change of a table it does not follow: one without a key, whose
    triggers log its rows' values column by column (those logged since are in the old
    columns), so the task starts again with --resnapshot."""
    added = sorted(set(current.column_names) - set(expected.column_names))
    removed = sorted(set(expected.column_names) - set(current.column_names))
    what = "; ".join(part for part in (
        f"added {', '.join(added)}" if added else "",
        f"removed {', '.join(removed)}" if removed else "") if part) or "columns or key changed"
    if keyless:
        return (f"table {name!r} (without a key) changed on the source during incremental "
                f"migration ({what}): start the task again with --resnapshot to copy it afresh")
    return (f"table {name!r} changed on the source during incremental migration ({what}): "
            "make the same change on the destination, then start the task again")
