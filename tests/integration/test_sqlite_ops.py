"""Freeze / unfreeze and session listing on a real SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import make_db
from turnout import api, engines
from turnout.errors import NotFound
from turnout.spec import TaskSpec
from turnout.store import Store


def test_freeze_blocks_every_write_with_a_clear_message_and_unfreeze_undoes_it(
    tmp_path: Path,
) -> None:
    path = make_db(tmp_path / "app.db", "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT);"
                   'CREATE TABLE "b c" (id INTEGER PRIMARY KEY);'
                   "INSERT INTO a VALUES (1, 'x');")
    engine = engines.connect(f"sqlite:///{path}")
    engine.freeze("switchover of task shop")
    app = sqlite3.connect(path)
    for sql in ("INSERT INTO a VALUES (2, 'y')", "UPDATE a SET v = 'z'", "DELETE FROM a",
                'INSERT INTO "b c" VALUES (1)'):
        with pytest.raises(sqlite3.IntegrityError, match="writes are frozen: switchover of task"):
            app.execute(sql)
        app.rollback()  # the failed statement leaves the app's transaction open
    assert app.execute("SELECT v FROM a").fetchall() == [("x",)]  # reads still work
    engine.freeze("again")  # idempotent
    engine.unfreeze()
    app.execute("INSERT INTO a VALUES (2, 'y')")
    app.commit()
    triggers = app.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
    assert triggers == []


def test_own_process_is_marked_as_turnout(tmp_path: Path) -> None:
    path = make_db(tmp_path / "app.db", "CREATE TABLE a (id INTEGER PRIMARY KEY);")
    engine = engines.connect(f"sqlite:///{path}")
    mine = [s for s in engine.sessions() if s.own]
    assert mine and all(not s.writing for s in mine)


def test_deleting_a_task_that_never_captured_leaves_the_source_as_it_was(
        store: Store, tmp_path: Path) -> None:
    """No change log was ever made, so SQLite has no sqlite_sequence table to clean."""
    src = make_db(tmp_path / "plain.db", "CREATE TABLE t (id INTEGER PRIMARY KEY);")
    api.create_task(TaskSpec("never", f"sqlite:///{src}", f"sqlite:///{tmp_path / 'd.db'}"),
                    store)
    api.delete_task("never", store)
    with pytest.raises(NotFound):
        api.task_status("never", store)
