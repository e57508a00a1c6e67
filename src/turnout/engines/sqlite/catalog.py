"""Reading SQLite's catalog into turnout's Table form."""

from __future__ import annotations

import re
import sqlite3

from turnout.engines.sqlite.dialect import canonical_type, portable_default, quote
from turnout.errors import NotFound
from turnout.model import Column, ForeignKey, Index, Table

TURNOUT_PREFIX = "_turnout"


def list_tables(db: sqlite3.Connection) -> list[str]:
    rows = db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
    ).fetchall()
    return [r[0] for r in rows if not r[0].startswith(TURNOUT_PREFIX)]


def reflect_table(db: sqlite3.Connection, name: str) -> Table:
    row = db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    if row is None:
        raise NotFound(f"table {name!r} does not exist in this SQLite database")
    create_sql = row[0] or ""
    has_autoincrement = bool(re.search(r"\bAUTOINCREMENT\b", create_sql, re.I))

    info = db.execute(f"PRAGMA table_xinfo({quote(name)})").fetchall()
    pk_cols = sorted((r[5], r[1]) for r in info if r[5])
    primary_key = tuple(c for _, c in pk_cols)
    columns = []
    for _cid, col, declared, notnull, default, pk, hidden in info:
        if hidden:  # generated columns are recomputed on the destination, not copied
            continue
        ctype = canonical_type(declared or "")
        columns.append(
            Column(
                name=col,
                type=ctype,
                nullable=not notnull and not (pk and len(primary_key) == 1 and _is_rowid(declared)),
                default=default,
                autoincrement=has_autoincrement and bool(pk) and len(primary_key) == 1,
                native_type=declared or "",
                portable_default=portable_default(default, ctype),
            )
        )
    return Table(
        name=name,
        origin="sqlite",
        columns=tuple(columns),
        primary_key=primary_key,
        indexes=tuple(_indexes(db, name)),
        foreign_keys=tuple(_foreign_keys(db, name, primary_key)),
    )


def _is_rowid(declared: str | None) -> bool:
    return (declared or "").strip().upper() == "INTEGER"


def _indexes(db: sqlite3.Connection, table: str) -> list[Index]:
    found = []
    for _seq, name, unique, origin, partial in db.execute(
        f"PRAGMA index_list({quote(table)})"
    ).fetchall():
        if origin == "pk" or partial:
            continue
        cols = [r[2] for r in db.execute(f"PRAGMA index_info({quote(name)})").fetchall()]
        if not cols or any(c is None for c in cols):
            continue  # expression indexes are not carried over (reported by precheck later)
        if name.startswith("sqlite_autoindex_"):
            name = f"{table}_{'_'.join(cols)}_key"
        found.append(Index(name=name, columns=tuple(cols), unique=bool(unique)))
    return sorted(found, key=lambda i: i.name)


def _foreign_keys(db: sqlite3.Connection, table: str, pk: tuple[str, ...]) -> list[ForeignKey]:
    groups: dict[int, list[tuple]] = {}
    for row in db.execute(f"PRAGMA foreign_key_list({quote(table)})").fetchall():
        groups.setdefault(row[0], []).append(row)
    fks = []
    for rows in groups.values():
        rows.sort(key=lambda r: r[1])
        ref_table = rows[0][2]
        ref_cols = [r[4] for r in rows]
        if any(c is None for c in ref_cols):  # REFERENCES t without columns means t's primary key
            ref_info = db.execute(f"PRAGMA table_info({quote(ref_table)})").fetchall()
            ref_cols = [r[1] for r in sorted(ref_info, key=lambda r: r[5]) if r[5]]
        fks.append(
            ForeignKey(
                columns=tuple(r[3] for r in rows),
                ref_table=ref_table,
                ref_columns=tuple(ref_cols),
                on_update=rows[0][5],
                on_delete=rows[0][6],
            )
        )
    return fks
