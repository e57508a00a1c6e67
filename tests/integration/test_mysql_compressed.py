"""A compressed binlog is refused, never read past: python-mysql-replication does not know
MariaDB's compressed events (`log_bin_compress`) or MySQL's compressed transactions
(`binlog_transaction_compression`) and drops them without a word, rows and all. Precheck
refuses the setting; switched on while a task runs, the task stops at the first compressed
event of its tables, naming the table, the setting and the fix."""

from __future__ import annotations

import sqlite3
from typing import Any

from tests.integration.helpers import running, wait_caught_up
from tests.integration.test_mysql import my_execute
from turnout import api
from turnout.spec import TaskSpec
from turnout.store import Store


def test_precheck_refuses_a_compressed_binlog(store: Store, mariadb_server: Any,
                                              mysql_url: str, tmp_path: Any) -> None:
    my_execute(mysql_url, "CREATE TABLE t (id int PRIMARY KEY)")
    mariadb_server.sql("SET GLOBAL log_bin_compress = ON")
    try:
        api.create_task(TaskSpec("zpre", mysql_url, f"sqlite:///{tmp_path / 'd.db'}"), store)
        assert api.run_task("zpre", store=store) == "Failed"
        error = api.task_status("zpre", store)["error"]
    finally:
        mariadb_server.sql("SET GLOBAL log_bin_compress = OFF")
    assert "log_bin_compress = ON" in error and "SET GLOBAL log_bin_compress" in error


def test_compression_switched_on_mid_task_stops_it_on_the_first_compressed_rows(
        store: Store, mariadb_server: Any, mysql_url: str, tmp_path: Any) -> None:
    my_execute(mysql_url, "CREATE TABLE kept (id int PRIMARY KEY, v text);\n"
               "CREATE TABLE other (id int PRIMARY KEY, v text)")
    api.create_task(TaskSpec("zmid", mysql_url, f"sqlite:///{tmp_path / 'd.db'}",
                             tables=("kept",)), store)
    long = "x" * 2000  # past log_bin_compress_min_len (256 bytes by default)
    try:
        with running(store, "zmid", expect=("Failed",)):
            wait_caught_up(store, "zmid")
            mariadb_server.sql("SET GLOBAL log_bin_compress = ON")
            my_execute(mysql_url, f"INSERT INTO other VALUES (1, '{long}')")  # not the task's
            my_execute(mysql_url, f"INSERT INTO kept VALUES (1, '{long}')")
            status = api.wait_for("zmid", lambda s: s["state"] == "Failed", 60, store)
    finally:
        mariadb_server.sql("SET GLOBAL log_bin_compress = OFF")
    error = status["error"]
    assert "rows of table 'kept' compressed" in error, error
    assert "SET GLOBAL log_bin_compress = OFF" in error and "--resnapshot" in error


def test_a_row_image_without_every_column_stops_the_task(
        store: Store, mariadb_server: Any, mysql_url: str, tmp_path: Any) -> None:
    """binlog_row_image = MINIMAL switched on mid-task: an UPDATE logs the key and the
    changed column only, and the columns left out arrived as NULL (a silent wrong value)."""
    my_execute(mysql_url, "CREATE TABLE kept (id int PRIMARY KEY, v text, w int);\n"
               "INSERT INTO kept VALUES (1, 'a', 1)")
    dest = tmp_path / "d.db"
    api.create_task(TaskSpec("zmin", mysql_url, f"sqlite:///{dest}"), store)
    try:
        with running(store, "zmin", expect=("Failed",)):
            wait_caught_up(store, "zmin")
            mariadb_server.sql("SET GLOBAL binlog_row_image = 'MINIMAL'")
            my_execute(mysql_url, "UPDATE kept SET w = 2 WHERE id = 1")
            status = api.wait_for("zmin", lambda s: s["state"] == "Failed", 60, store)
    finally:
        mariadb_server.sql("SET GLOBAL binlog_row_image = 'FULL'")
    assert "rows of table 'kept' without all their columns" in status["error"]
    assert "SET GLOBAL binlog_row_image = FULL" in status["error"]
    with sqlite3.connect(dest) as db:
        assert db.execute("SELECT * FROM kept").fetchall() == [(1, "a", 1)]
