"""Savepoints inside a transaction (Django's nested atomic blocks make them) on a MariaDB
source: the binlog logs SAVEPOINT as a statement in the middle of the transaction, and a
ROLLBACK TO where the transaction also changed a table that cannot roll back, with the
rows after the savepoint still before it. Capture used to end the transaction at each
such statement: the changes before it were handed out with a position (and GTID state)
inside the transaction, and the rows a ROLLBACK TO undid were applied."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from tests.integration.helpers import running, same_rows, wait_caught_up
from tests.integration.test_mysql import _connect, my_execute
from turnout import api, engines
from turnout.engines.mysql.positions import MysqlPosition
from turnout.spec import TaskSpec
from turnout.store import Store


def _savepoints(cur: Any) -> None:
    cur.execute("BEGIN")
    cur.execute("INSERT INTO kept VALUES (1, 'outer')")
    cur.execute("SAVEPOINT s1")
    cur.execute("INSERT INTO kept VALUES (2, 'inner, released')")
    cur.execute("RELEASE SAVEPOINT s1")
    cur.execute("SAVEPOINT s2")
    cur.execute("INSERT INTO kept VALUES (3, 'inner, rolled back')")
    cur.execute("ROLLBACK TO SAVEPOINT s2")
    cur.execute("INSERT INTO kept VALUES (4, 'outer again')")
    cur.execute("COMMIT")


def test_a_transaction_with_savepoints_is_handed_out_whole_at_its_commit(
        mariadb_server: Any, mysql_url: str) -> None:
    my_execute(mysql_url, "CREATE TABLE kept (id int PRIMARY KEY, v text)")
    engine = engines.connect(mysql_url + "?resume_by=gtid")
    try:
        (table,) = engine.reflect(["kept"])
        capture = engine.capture([table], "savepoints")
        start = capture.current_position()
        with _connect(mysql_url) as conn, conn.cursor() as cur:
            _savepoints(cur)
        batches, deadline = [], time.monotonic() + 30
        position = start
        while position == start and time.monotonic() < deadline:
            changes, position = capture.read(start, 1000)
            batches += [changes] if changes else []
        assert [[c.key for c in b] for b in batches] == [[(1,), (2,), (4,)]]
        assert isinstance(position, MysqlPosition)
        assert {c.position for c in batches[0]} == {position}  # the commit's end, nothing inside
        server = mariadb_server.sql(f"SELECT BINLOG_GTID_POS('{position.file}', {position.pos})")
        assert position.gtid == server
        capture.close()
    finally:
        engine.close()


def test_rows_a_rollback_to_savepoint_undid_do_not_arrive(store: Store, mysql_url: str,
                                                           tmp_path: Any) -> None:
    """With a MyISAM table written in the transaction, MariaDB logs the ROLLBACK TO and the
    rows it undid before it."""
    my_execute(mysql_url, "CREATE TABLE kept (id int PRIMARY KEY, v text)")
    my_execute(mysql_url, "CREATE TABLE plain (id int PRIMARY KEY, v text) ENGINE=MyISAM")
    dest = f"sqlite:///{tmp_path / 'd.db'}"
    api.create_task(TaskSpec("sp", mysql_url, dest), store)
    with running(store, "sp"):
        wait_caught_up(store, "sp")
        with _connect(mysql_url) as conn, conn.cursor() as cur:
            cur.execute("SHOW MASTER STATUS")
            file, pos = cur.fetchone()[:2]
            cur.execute("BEGIN")
            cur.execute("INSERT INTO kept VALUES (1, 'a')")
            cur.execute("SAVEPOINT s1")
            cur.execute("INSERT INTO kept VALUES (2, 'undone')")
            cur.execute("INSERT INTO plain VALUES (2, 'not transactional: stays')")
            cur.execute("ROLLBACK TO SAVEPOINT s1")
            cur.execute("INSERT INTO kept VALUES (3, 'c')")
            cur.execute("COMMIT")
            # from here only: earlier tests on this server may have logged bytes no text is made of
            cur.execute(f"SHOW BINLOG EVENTS IN '{file}' FROM {int(pos)}")
            assert any(str(r[5]).startswith("ROLLBACK TO") for r in cur.fetchall())
        wait_caught_up(store, "sp")
    same_rows(mysql_url, dest)
    with sqlite3.connect(dest.removeprefix("sqlite:///")) as db:
        assert db.execute("SELECT id FROM kept ORDER BY id").fetchall() == [(1,), (3,)]
        assert db.execute("SELECT id FROM plain").fetchall() == [(2,)]
