"""SQLite's type affinity lets a column hold values its declared type does not name: text
in an INTEGER column, a BLOB in a TEXT or typeless one. Precheck reads each value's own
storage class (typeof()) and refuses such a column with its key and a fix that works; one
written after the precheck stops the task naming it, never arriving as something else."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from tests.integration.helpers import running, wait_caught_up
from turnout import api
from turnout.spec import TaskSpec
from turnout.store import Store


def _source(tmp_path: Path) -> str:
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, note TEXT)")
    conn.execute("INSERT INTO t VALUES (1, 1, 'a'), (2, 'not a number', 'b'), (3, 3, 'c')")
    conn.close()
    return f"sqlite:///{path}"


def test_text_in_an_integer_column_is_refused_then_carried_by_the_cast(
        store: Store, pg_url: str, tmp_path: Path) -> None:
    src = _source(tmp_path)
    api.create_task(TaskSpec("aff", src, pg_url), store)
    check = api.precheck("aff", store)
    assert not check["ok"]
    line, = check["problems"]
    assert line.startswith("t.n holds a value its column's type does not take"), line
    assert "(t key 2)" in line and "--cast t.n=text" in line
    api.delete_task("aff", store)

    api.create_task(TaskSpec("aff2", src, pg_url, casts={"t": {"n": "text"}}), store)
    with running(store, "aff2"):
        wait_caught_up(store, "aff2")
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT id, n FROM t ORDER BY id").fetchall()
    assert rows == [(1, "1"), (2, "not a number"), (3, "3")]


def test_a_blob_written_into_a_text_column_later_stops_the_task_naming_it(
        store: Store, pg_url: str, tmp_path: Path) -> None:
    src = _source(tmp_path)
    api.create_task(TaskSpec("blob", src, pg_url, casts={"t": {"n": "text"}}), store)
    with running(store, "blob", expect=("Failed",)):
        wait_caught_up(store, "blob")
        conn = sqlite3.connect(src.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("INSERT INTO t VALUES (4, 4, x'01')")
        conn.close()
        with pytest.raises(Exception):  # noqa: B017 - the task's own failure is checked below
            wait_caught_up(store, "blob", timeout=20)
    error = api.task_status("blob", store)["error"]
    assert error.startswith("t.note holds a BLOB, which would arrive as text (t key 4)"), error
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM t WHERE id = 4").fetchone() == (0,)
