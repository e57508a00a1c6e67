"""Changes of a captured table that the binlog does not carry as rows turnout can apply stop
the task, naming the table and the fix, instead of passing by:

- a statement logged as SQL text: a session with binlog_format = STATEMENT (precheck holds
  only the global setting), whose INSERT and UPDATE were dropped without a word before;
- an XA transaction prepared in two phases: its rows come before its XA PREPARE, and its
  XA COMMIT or XA ROLLBACK later as a transaction of its own. Before, the rows were applied
  at its XA END, so a rolled-back XA transaction's row reached the destination.

The same writes to a table the task does not move, and XA … ONE PHASE, pass."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.helpers import running, wait_caught_up
from tests.integration.test_mysql import _connect, my_execute
from turnout import api
from turnout.spec import TaskSpec
from turnout.store import Store


def _follow(store: Store, name: str, mysql_url: str, dest: str,
            writes: Callable[[Any], None]) -> dict[str, Any]:
    """Run a task on `kept` (not `other`) until caught up, make `writes` through a cursor of
    their own, then write one ordinary row and report where the task got to."""
    my_execute(mysql_url, "CREATE TABLE kept (id int PRIMARY KEY, v text);\n"
               "CREATE TABLE other (id int PRIMARY KEY, v text)")
    api.create_task(TaskSpec(name, mysql_url, dest, tables=("kept",)), store)
    with running(store, name, expect=("Stopped", "Failed")):
        wait_caught_up(store, name)
        with _connect(mysql_url) as conn, conn.cursor() as cur:
            writes(cur)
            conn.commit()
        my_execute(mysql_url, "INSERT INTO kept VALUES (100, 'after')")
        # failed, or past the last row (the tests that fail never get there)
        return api.wait_for(name, lambda s: s["state"] == "Failed" or (100, "after") in
                            _rows(dest), 60, store)


def _rows(dest: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(dest.removeprefix("sqlite:///")) as db:
        return db.execute("SELECT id, v FROM kept ORDER BY id").fetchall()


def test_a_statement_logged_as_text_stops_the_task(store: Store, mysql_url: str,
                                                   tmp_path: Any) -> None:
    def writes(cur: Any) -> None:
        cur.execute("INSERT INTO kept VALUES (1, 'row')")  # as a row event
        cur.execute("SET SESSION binlog_format = 'STATEMENT'")
        cur.execute("INSERT INTO other VALUES (1, 'text')")  # not the task's: passes
        cur.execute("/* app */ UPDATE kept SET v = 'text' WHERE id = 1")

    dest = f"sqlite:///{tmp_path / 'd.db'}"
    status = _follow(store, "stmt", mysql_url, dest, writes)
    assert status["state"] == "Failed", status
    assert "table 'kept' was changed by a statement" in status["error"]
    assert "binlog_format = ROW" in status["error"] and "--resnapshot" in status["error"]
    assert _rows(dest) == [(1, "row")]  # what came before it, and not past it


@pytest.mark.parametrize("outcome", ["XA COMMIT 'x1'", "XA ROLLBACK 'x1'"])
def test_a_prepared_xa_transaction_stops_the_task(store: Store, mysql_url: str,
                                                  tmp_path: Any, outcome: str) -> None:
    def writes(cur: Any) -> None:
        cur.execute("INSERT INTO kept VALUES (1, 'before')")
        cur.execute("XA START 'x1'")
        cur.execute("INSERT INTO kept VALUES (2, 'prepared')")
        cur.execute("XA END 'x1'")
        cur.execute("XA PREPARE 'x1'")
        cur.execute(outcome)

    dest = f"sqlite:///{tmp_path / 'd.db'}"
    status = _follow(store, "xa", mysql_url, dest, writes)
    assert status["state"] == "Failed", status
    assert "table 'kept' was written by an XA transaction prepared" in status["error"]
    assert _rows(dest) == [(1, "before")]


def test_one_phase_xa_and_xa_of_other_tables_pass(store: Store, mysql_url: str,
                                                  tmp_path: Any) -> None:
    def writes(cur: Any) -> None:
        cur.execute("XA START 'a'")
        cur.execute("INSERT INTO kept VALUES (1, 'one phase')")
        cur.execute("XA END 'a'")
        cur.execute("XA COMMIT 'a' ONE PHASE")
        cur.execute("XA START 'b'")
        cur.execute("INSERT INTO other VALUES (1, 'two phases, not the task''s')")
        cur.execute("XA END 'b'")
        cur.execute("XA PREPARE 'b'")
        cur.execute("XA COMMIT 'b'")

    dest = f"sqlite:///{tmp_path / 'd.db'}"
    status = _follow(store, "xa1", mysql_url, dest, writes)
    assert status["state"] != "Failed", status
    assert _rows(dest) == [(1, "one phase"), (100, "after")]
