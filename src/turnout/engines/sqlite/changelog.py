"""SQLite's change log read back: a position in it, the highest number it handed out,
and the changes a range of it holds for one table (capture.py says how triggers write it).

A table with a key logs keys only, so its range is read joined with the table: each touched
row as the table holds it now. A table without a key logs whole rows as quote() literals,
read back in order, one change each.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from turnout.engines.sqlite import reload
from turnout.engines.sqlite.dialect import quote
from turnout.engines.sqlite.triggers import log_table
from turnout.model import Change, Op, Position, Table
from turnout.types import Kind


@dataclass(frozen=True, eq=False)
class SqlitePosition(Position):
    """A sequence number in a task's change log (0 = before any change)."""

    seq: int
    engine = "sqlite"

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq}

    def _order(self) -> tuple[Any, ...]:
        return (self.seq,)


def high_water(db: sqlite3.Connection, slot: str) -> SqlitePosition:
    """The highest sequence ever handed out in the slot's log: survives the log being trimmed."""
    try:
        row = db.execute(
            "SELECT seq FROM sqlite_sequence WHERE name = ?", (log_table(slot),)
        ).fetchone()
    except sqlite3.OperationalError:  # no AUTOINCREMENT table yet: no sqlite_sequence either
        row = None
    return SqlitePosition(int(row[0]) if row else 0)


def read_keyed(db: sqlite3.Connection, log: str, table: Table, lo: int,
               hi: int) -> list[Change]:
    """The touched keys of one table with each row's current content (NULLs when gone)."""
    joins = " AND ".join(
        f"t.{quote(k)} IS {_key_part_sql(table, k, i)}" for i, k in enumerate(table.key)
    )
    cols = table.column_names
    sql = (
        f"SELECT c.key, max(c.seq), c.ts, c.op, t.{quote(table.key[0])} IS NOT NULL, "
        f"{', '.join(f't.{quote(c)}' for c in cols)} "
        f"FROM {log} c LEFT JOIN {quote(table.name)} t ON {joins} "
        f"WHERE c.seq > ? AND c.seq <= ? AND c.tbl = ? GROUP BY c.key"
    )
    out = []
    for logged_key, seq, ts, op, present, *values in db.execute(sql, (lo, hi, table.name)):
        key = tuple(decode_key_part(v) for v in json.loads(logged_key))
        position = SqlitePosition(seq)
        if present:
            op_kind = Op.INSERT if op == "insert" else Op.UPDATE
            out.append(Change(table.name, op_kind, key, dict(zip(cols, values, strict=True)),
                              ts, position))
        else:
            out.append(Change(table.name, Op.DELETE, key, None, ts, position))
    return out

def read_images(db: sqlite3.Connection, log: str, table: Table, lo: int,
                hi: int) -> list[Change]:
    """Every logged change of a table without a key, in order, with its whole rows."""
    cols = table.column_names
    out = []
    for seq, op, image, ts in db.execute(
            f"SELECT seq, op, key, ts FROM {log} WHERE seq > ? AND seq <= ? "
            "AND tbl = ? AND op <> ? ORDER BY seq", (lo, hi, table.name, reload.SUPERSEDED)):
        values = json.loads(image)
        position = SqlitePosition(seq)
        if op == reload.TRUNCATE:  # logged afresh: emptied, its rows follow (reload.py)
            out.append(Change(table.name, Op.TRUNCATE, (), None, ts, position,
                              reloaded=True))
        elif op == "update":
            before, after = (dict(zip(cols, map(unquote, v), strict=True)) for v in values)
            out.append(Change(table.name, Op.UPDATE, (), after, ts, position, before=before))
        else:
            row = dict(zip(cols, map(unquote, values), strict=True))
            if op == "insert":
                out.append(Change(table.name, Op.INSERT, (), row, ts, position))
            else:
                out.append(Change(table.name, Op.DELETE, (), None, ts, position, before=row))
    return out


def unquote(text: str) -> Any:
    """A value back from the SQL literal quote() wrote: NULL, an integer, a real, 'text'
    (quotes doubled inside) or X'hex'."""
    if text == "NULL":
        return None
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    if text[:2] in ("X'", "x'"):
        return bytes.fromhex(text[2:-1])
    try:
        return int(text)
    except ValueError:
        return float(text)


def _key_part_sql(table: Table, column: str, i: int) -> str:
    part = f"json_extract(c.key, '$[{i}]')"
    if table.column(column).type.kind in (Kind.BINARY, Kind.ANY):
        return f"turnout_key({part})"
    return part


def decode_key_part(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("x:"):
        return bytes.fromhex(value[2:])
    return value
