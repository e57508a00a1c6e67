"""Backups with SQLite's own online backup API, and restores by attaching the copy.

sqlite3.Connection.backup copies the whole file in one step, inside one read
transaction, so the copy is consistent even while the application writes. The
copy then loses every table the task does not select and turnout's own tables
and triggers, which leaves exactly the selected tables with their indexes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from turnout.engines.capabilities import Dumper
from turnout.engines.sqlite.catalog import TURNOUT_PREFIX
from turnout.engines.sqlite.dialect import column_list, quote
from turnout.errors import BadInput, TransientError

FILE = "dump.sqlite"
ALIAS = "turnout_backup"


class SqliteDumper(Dumper):
    """The backup API for the file at `path`; `connect` opens it as the engine does."""

    def __init__(self, path: Path, connect: Callable[[], sqlite3.Connection]) -> None:
        self.path, self.connect = path, connect

    def dump(self, tables: list[str], directory: Path) -> dict[str, Any]:
        return dump(self.connect(), tables, directory)

    def restore(self, dumped: dict[str, Any], directory: Path, tables: list[str]) -> None:
        restore(self.connect(), self.path, directory, tables)


def dump(source: sqlite3.Connection, tables: list[str], directory: Path) -> dict[str, Any]:
    """A consistent copy of the file `source` has open, cut down to `tables`; always
    available. Closes `source`."""
    target = directory / FILE
    copy = sqlite3.connect(target, isolation_level=None)
    try:
        source.backup(copy)  # pages=-1: one step, so no writer can interleave
        _keep_only(copy, set(tables))
        rows = {t: int(copy.execute(f"SELECT count(*) FROM {quote(t)}").fetchone()[0])
                for t in tables}
        copy.execute("VACUUM")
    finally:
        copy.close()
        source.close()
    return {"tool": "sqlite3 backup API", "version": sqlite3.sqlite_version, "files": [FILE],
            "rows": rows}


def _keep_only(db: sqlite3.Connection, tables: set[str]) -> None:
    """Drop every other table (the task's change logs among them) and turnout's triggers."""
    listed = db.execute("SELECT type, name FROM sqlite_master WHERE type IN ('table', 'trigger') "
                        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").fetchall()
    db.execute("PRAGMA foreign_keys = OFF")
    db.execute("BEGIN")
    for kind, name in listed:
        if kind == "trigger" and name.startswith(TURNOUT_PREFIX):
            db.execute(f"DROP TRIGGER IF EXISTS {quote(name)}")
        elif kind == "table" and name not in tables:
            db.execute(f"DROP TABLE IF EXISTS {quote(name)}")
    db.execute("COMMIT")


def restore(db: sqlite3.Connection, path: Path, directory: Path, tables: list[str]) -> None:
    """Attach the copy and, in one transaction, replace each table's rows with the copy's
    (creating tables the target lacks, as the copy defines them): all of it or nothing.
    Closes `db`, a connection to the file at `path`."""
    try:
        db.execute("PRAGMA foreign_keys = OFF")  # rows arrive in any order of the tables
        db.execute(f"ATTACH DATABASE ? AS {ALIAS}", (str(directory / FILE),))
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransientError(f"{path} is locked by another writer: {exc}") from None
        try:
            for table in tables:
                _replace(db, table)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    finally:
        db.close()


def _replace(db: sqlite3.Connection, table: str) -> None:
    names = [r[1] for r in db.execute(f"PRAGMA {ALIAS}.table_xinfo({quote(table)})") if not r[6]]
    if not names:
        raise BadInput(f"{FILE} holds no table {table!r} although the manifest lists it: "
                       "the backup is damaged")
    if not db.execute("SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = ?",
                      (table,)).fetchone():
        for (sql,) in db.execute(f"SELECT sql FROM {ALIAS}.sqlite_master WHERE tbl_name = ? "
                                 "AND type IN ('table', 'index') AND sql IS NOT NULL "
                                 "ORDER BY type DESC", (table,)).fetchall():
            db.execute(sql)  # 'table' sorts after 'index': DESC creates the table first
    cols = column_list(names)
    db.execute(f"DELETE FROM main.{quote(table)}")
    db.execute(f"INSERT INTO main.{quote(table)} ({cols}) SELECT {cols} "
               f"FROM {ALIAS}.{quote(table)}")
