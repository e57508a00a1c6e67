"""DDL on a SQLite source during the incremental step, under a running writer: found at
each read, made on the destination before the rows read with it; the task never stops."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from tests.integration.ddl import (
    AcctWriter,
    assert_ddl_made,
    caught_up_then_kill_through_ddl,
    ddl_under_writer,
    deleting,
)
from tests.integration.helpers import running, same_rows, wait_caught_up
from tests.integration.test_keyless import multiset
from turnout import api, engines
from turnout.spec import TaskSpec
from turnout.store import Store

ACCT = """
CREATE TABLE acct (id INTEGER PRIMARY KEY, name VARCHAR(20), n INTEGER NOT NULL DEFAULT 0,
                   amount NUMERIC(8,2));
WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 500)
INSERT INTO acct SELECT i, 'a' || i, i, i / 10.0 FROM g;
"""

DDL = [
    "ALTER TABLE acct ADD COLUMN colour TEXT NOT NULL DEFAULT 'red'",
    "UPDATE acct SET colour = 'blue' WHERE id % 7 = 0",
    "ALTER TABLE acct RENAME COLUMN name TO title",
    "UPDATE acct SET title = 'renamed' WHERE id % 5 = 0",
    "ALTER TABLE acct ADD COLUMN spare INTEGER",
    "UPDATE acct SET spare = id WHERE id % 3 = 0",
    "ALTER TABLE acct DROP COLUMN spare",
    "CREATE TABLE fresh (id INTEGER PRIMARY KEY, note VARCHAR(40))",
    "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 200) "
    "INSERT INTO fresh SELECT i, 'f' || i FROM g",
    "CREATE INDEX acct_amount ON acct (amount)",
    "UPDATE fresh SET note = 'changed' WHERE id % 4 = 0",
    "DROP INDEX acct_amount",
    "DELETE FROM fresh WHERE id % 9 = 0",
    "CREATE INDEX acct_n ON acct (n)",
]


def run_sql(path: Path, statements: list[str], pause: float = 0.0) -> None:
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        for statement in statements:
            db.execute(statement)
            time.sleep(pause)
    finally:
        db.close()


class Writer(AcctWriter):
    """acct's writer on SQLite."""

    seed, placeholder = 22, "?"

    def run(self) -> None:
        db = sqlite3.connect(self.target, timeout=30, isolation_level=None)
        for batch in self.batches():
            db.execute("BEGIN IMMEDIATE")
            for sql, params in batch:
                db.execute(sql, params)
            db.execute("COMMIT")
        db.close()


def test_sqlite_ddl_is_made_in_order_under_a_writer(store: Store, tmp_path: Path) -> None:
    src, dst = tmp_path / "src.db", tmp_path / "dst.db"
    sqlite3.connect(src).executescript(ACCT)
    source, dest = f"sqlite:///{src}", f"sqlite:///{dst}"
    api.create_task(TaskSpec("slddl", source, dest), store)
    with deleting(store, "slddl"):
        ddl_under_writer(store, "slddl", Writer(src), lambda: run_sql(src, DDL, 0.15))
        assert_ddl_made(store, "slddl", source, dest)


def test_kill_in_the_middle_of_sqlite_ddl_changes_nothing(store: Store, tmp_path: Path) -> None:
    src, dst = tmp_path / "src.db", tmp_path / "dst.db"
    sqlite3.connect(src).executescript(ACCT)
    source, dest = f"sqlite:///{src}", f"sqlite:///{dst}"
    api.create_task(TaskSpec("slkill", source, dest), store)
    sequence = threading.Thread(target=run_sql, args=(src, DDL, 0.25))
    writer = Writer(src)
    with deleting(store, "slkill"):
        caught_up_then_kill_through_ddl(store, "slkill", source, dest, sequence, writer,
                                        (0.4, 0.7, 0.5))


def test_a_new_sqlite_table_matching_the_pattern_is_created_and_followed(
    store: Store, tmp_path: Path
) -> None:
    src, dst = tmp_path / "src.db", tmp_path / "dst.db"
    sqlite3.connect(src).executescript(ACCT)
    source, dest = f"sqlite:///{src}", f"sqlite:///{dst}"
    api.create_task(TaskSpec("slnew", source, dest, tables=("acct", "new_*")), store)
    with deleting(store, "slnew"):
        with running(store, "slnew"):
            wait_caught_up(store, "slnew", timeout=60)
            run_sql(src, [
                "CREATE TABLE new_orders (id INTEGER PRIMARY KEY, acct INTEGER, note TEXT)",
                "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 300) "
                "INSERT INTO new_orders SELECT i, i % 50, 'o' || i FROM g",
                "CREATE TABLE other_log (id INTEGER PRIMARY KEY, v TEXT)",
                "INSERT INTO other_log VALUES (1, 'not moved')",
                "UPDATE new_orders SET note = 'changed' WHERE id % 4 = 0",
                "DELETE FROM new_orders WHERE id % 9 = 0",
                "CREATE INDEX new_orders_acct ON new_orders (acct)",
                "ALTER TABLE new_orders ADD COLUMN qty INTEGER NOT NULL DEFAULT 1",
                "CREATE TABLE new_notes (body TEXT)",  # without a key: its rows as they come
                "INSERT INTO new_notes VALUES ('one'), ('two'), ('two')",
                "DELETE FROM new_notes WHERE rowid = 2",
            ], 0.1)
            wait_caught_up(store, "slnew", timeout=60)
            assert api.task_status("slnew", store)["state"] == "Migrating"
        same_rows(source, dest, ["acct", "new_orders", "new_notes"])
        engine = engines.connect(dest)
        assert not engine.table_exists("other_log")
        assert "new_orders_acct" in {i.name for i in engine.reflect(["new_orders"])[0].indexes}


class NotesWriter(AcctWriter):
    """Writes `notes` (no key: equal rows too) by its column `n`, which no DDL touches."""

    seed = 23

    def run(self) -> None:
        db = sqlite3.connect(self.target, timeout=30, isolation_level=None)
        while not self.halt.is_set():
            db.execute("BEGIN IMMEDIATE")
            for _ in range(self.rng.randint(1, 4)):
                n = self.rng.randint(1, 40)
                pick = self.rng.random()
                if pick < 0.5:
                    db.execute("INSERT INTO notes (n) VALUES (?)", (n,))
                elif pick < 0.8:
                    db.execute("UPDATE notes SET n = n + 1 WHERE rowid IN (SELECT rowid FROM "
                               "notes WHERE n = ? LIMIT 1)", (n,))
                else:
                    db.execute("DELETE FROM notes WHERE rowid IN (SELECT rowid FROM notes "
                               "WHERE n = ? LIMIT 1)", (n,))
            db.execute("COMMIT")
            self.transactions += 1
            time.sleep(0.005)
        db.close()


NOTES = """
CREATE TABLE notes (n INTEGER, body TEXT);
WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 300)
INSERT INTO notes SELECT i % 40, 'b' || (i % 3) FROM g;
"""
NOTES_DDL = [
    "ALTER TABLE notes ADD COLUMN colour TEXT NOT NULL DEFAULT 'red'",
    "UPDATE notes SET colour = 'blue' WHERE n % 7 = 0",
    "INSERT INTO notes (n, body, colour) VALUES (99, 'with colour', 'green')",
    "ALTER TABLE notes RENAME COLUMN body TO title",
    "UPDATE notes SET title = 'renamed' WHERE n % 5 = 0",
    "ALTER TABLE notes ADD COLUMN spare INTEGER",
    "UPDATE notes SET spare = n WHERE n % 3 = 0",
    "CREATE INDEX notes_n ON notes (n)",
]


def test_ddl_on_a_table_without_a_key_is_made_under_a_writer(store: Store,
                                                             tmp_path: Path) -> None:
    """ADD COLUMN logs the table afresh (its triggers log values by column), RENAME COLUMN
    keeps its triggers; equal rows stay equal in number. SQLite itself refuses a DROP
    COLUMN while the capture's triggers name the column."""
    src, dst = tmp_path / "src.db", tmp_path / "dst.db"
    sqlite3.connect(src).executescript(NOTES)
    source, dest = f"sqlite:///{src}", f"sqlite:///{dst}"
    api.create_task(TaskSpec("slnokey", source, dest), store)
    with deleting(store, "slnokey"):
        with running(store, "slnokey"):
            wait_caught_up(store, "slnokey", timeout=60)
            writer = NotesWriter(src)
            writer.start()
            try:
                run_sql(src, NOTES_DDL, 0.15)
                with pytest.raises(sqlite3.OperationalError, match="trigger"):
                    run_sql(src, ["ALTER TABLE notes DROP COLUMN spare"])
                time.sleep(0.3)
            finally:
                writer.halt.set()
                writer.join(10)
            wait_caught_up(store, "slnokey", timeout=60)
            assert api.task_status("slnokey", store)["state"] == "Migrating"
        assert writer.transactions > 20
        assert multiset(source, "notes") == multiset(dest, "notes")
        assert [c.name for c in engines.connect(dest).reflect(["notes"])[0].columns] == [
            "n", "title", "colour", "spare"]
        made = [e["message"] for e in api.events("slnokey", store=store)
                if e["message"].startswith("DDL on notes")]
        assert any("RENAME COLUMN" in m for m in made), made
        assert any("ADD COLUMN" in m and "colour" in m for m in made), made
        print(made)


def test_kill_in_the_middle_of_ddl_on_a_table_without_a_key_changes_nothing(
        store: Store, tmp_path: Path) -> None:
    """A restart after the table was logged afresh but before its DDL was applied logs it
    afresh again after the same place: no equal row counted twice or lost."""
    src, dst = tmp_path / "src.db", tmp_path / "dst.db"
    sqlite3.connect(src).executescript(ACCT + NOTES)
    source, dest = f"sqlite:///{src}", f"sqlite:///{dst}"
    api.create_task(TaskSpec("slnokeykill", source, dest), store)
    sequence = threading.Thread(target=run_sql, args=(src, NOTES_DDL, 0.25))
    writer = NotesWriter(src)
    with deleting(store, "slnokeykill"):
        caught_up_then_kill_through_ddl(store, "slnokeykill", source, dest, sequence, writer,
                                        (0.4, 0.7, 0.5))
        assert multiset(source, "notes") == multiset(dest, "notes")
        assert writer.transactions > 20


@pytest.mark.parametrize("stopped", [False, True])
def test_a_renamed_table_stops_the_task_naming_both_names(store: Store, tmp_path: Path,
                                                          stopped: bool) -> None:
    """SQLite's schema compare would see a renamed table as dropped (and a new one): the
    task stops naming the table and its new name instead, with nothing lost; renamed while
    running or while the task was stopped."""
    src, dst = tmp_path / "src.db", tmp_path / "dst.db"
    sqlite3.connect(src).executescript(ACCT)
    api.create_task(TaskSpec("sqren", f"sqlite:///{src}", f"sqlite:///{dst}"), store)
    rename = ["INSERT INTO acct (id, n) VALUES (900000, 1)", "ALTER TABLE acct RENAME TO acct2",
              "INSERT INTO acct2 (id, n) VALUES (900001, 1)"]
    with deleting(store, "sqren"):
        if stopped:
            with running(store, "sqren"):
                wait_caught_up(store, "sqren", timeout=60)
            run_sql(src, rename)
        with running(store, "sqren", expect=("Failed",)):
            if not stopped:
                wait_caught_up(store, "sqren", timeout=60)
                run_sql(src, rename)
            api.wait_for("sqren", lambda s: s["state"] == "Failed", 60, store)
        error = api.task_status("sqren", store)["error"]
        assert "'acct'" in error and "'acct2'" in error and "--resnapshot" in error, error
        assert "acct2" not in engines.connect(f"sqlite:///{dst}").list_tables()
