"""Tables that begin to match the task's --tables while the task is stopped, under a writer
that goes on while the task is down: created on the source then, they join at their
CREATE TABLE in the stream (every row they ever had is there), altered meanwhile or not;
one that existed before (renamed into the pattern), or a source whose stream carries no
DDL, stops the task naming the table and the way on (docs/ddl.md)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration import test_ddl_mysql as my
from tests.integration import test_ddl_postgres as pg
from tests.integration import test_ddl_sqlite as lite
from tests.integration.ddl import deleting, kill_through_ddl
from tests.integration.helpers import running, same_rows, wait_caught_up
from tests.integration.test_ddl_rename import plain_url  # noqa: F401 - a fixture
from tests.integration.test_keyless import multiset
from turnout import api
from turnout.spec import TaskSpec
from turnout.store import Store

PG_NEW = [
    "CREATE TABLE new_orders (id int PRIMARY KEY, acct int, note varchar(40))",
    "INSERT INTO new_orders SELECT g, g % 50, 'o' || g FROM generate_series(1, 300) g",
    "ALTER TABLE new_orders ALTER COLUMN note TYPE varchar(80)",
    "ALTER TABLE new_orders ADD COLUMN qty int NOT NULL DEFAULT 1",
    "UPDATE new_orders SET qty = 3, note = repeat('w', 70) WHERE id % 4 = 0",
    "DELETE FROM new_orders WHERE id % 9 = 0",
    "CREATE TABLE new_log (at int, what text)",  # no key
    "INSERT INTO new_log SELECT g % 7, 'l' || g FROM generate_series(1, 200) g",
    "UPDATE new_log SET what = 'changed' WHERE at = 3",
    "DELETE FROM new_log WHERE at = 5",
    "CREATE TABLE other_log (id int PRIMARY KEY, v text)",
    "INSERT INTO other_log VALUES (1, 'not moved')",
]
PG_AFTER = ["INSERT INTO new_orders (id, acct, note) VALUES (1000, 1, 'after the start')",
            "UPDATE new_orders SET qty = 7 WHERE id % 5 = 0",
            "INSERT INTO new_log VALUES (9, 'after the start'), (9, 'after the start')"]

MY_NEW = [
    "CREATE TABLE new_orders (id int PRIMARY KEY, acct int, note varchar(40))",
    "INSERT INTO new_orders WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
    "FROM g WHERE i < 300) SELECT i, i % 50, concat('o', i) FROM g",
    "ALTER TABLE new_orders MODIFY note varchar(80)",
    "ALTER TABLE new_orders ADD COLUMN qty int NOT NULL DEFAULT 1",
    "UPDATE new_orders SET qty = 3, note = repeat('w', 70) WHERE id % 4 = 0",
    "DELETE FROM new_orders WHERE id % 9 = 0",
    "CREATE TABLE new_log (at int, what text)",  # no key
    "INSERT INTO new_log WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
    "FROM g WHERE i < 200) SELECT i % 7, concat('l', i) FROM g",
    "UPDATE new_log SET what = 'changed' WHERE at = 3",
    "DELETE FROM new_log WHERE at = 5",
    "CREATE TABLE other_log (id int PRIMARY KEY, v text)",
    "INSERT INTO other_log VALUES (1, 'not moved')",
]
MY_AFTER = ["INSERT INTO new_orders (id, acct, note) VALUES (1000, 1, 'after the start')",
            "UPDATE new_orders SET qty = 7 WHERE id % 5 = 0"]


@pytest.fixture()
def dest(request: pytest.FixtureRequest, pg_server: Any) -> str:
    if request.param == "postgresql":
        return str(pg_server.create_database(f"stop_dst_{time.time_ns()}"))
    return str(request.getfixturevalue("mysql_url")) + "_dst"


def stopped_then_resumed(store: Store, name: str, writer: Any, while_stopped: Any,
                         after_start: Any) -> None:
    """Run the task caught up, stop it, make the new tables while the writer goes on, start it
    again and write more: it must catch up still migrating."""
    try:
        with running(store, name):
            wait_caught_up(store, name, timeout=60)
            writer.start()  # after: a writer that never pauses leaves no moment caught up
        while_stopped()
        with running(store, name):
            after_start()
            time.sleep(0.3)
            writer.halt.set()
            writer.join(10)
            wait_caught_up(store, name, timeout=90)
            assert api.task_status(name, store)["state"] == "Migrating"
    finally:
        writer.halt.set()
        writer.join(10)
    assert writer.transactions > 5
    messages = [e["message"] for e in api.events(name, store=store)]
    assert any("began to match --tables" in m for m in messages), messages


@pytest.mark.parametrize("dest", ["postgresql", "mysql"], indirect=True)
def test_pg_tables_created_while_stopped_join_at_their_create(store: Store, pg_url: str,
                                                              dest: str) -> None:
    pg.run_ddl(pg_url, [pg.ACCT], 0)
    api.create_task(TaskSpec("pgst", pg_url, dest, tables=("acct", "new_*")), store)
    with deleting(store, "pgst"):
        stopped_then_resumed(store, "pgst", pg.Writer(pg_url),
                             lambda: pg.run_ddl(pg_url, PG_NEW, 0),
                             lambda: pg.run_ddl(pg_url, PG_AFTER, 0))
        same_rows(pg_url, dest, ["acct", "new_orders"])
        assert multiset(pg_url, "new_log") == multiset(dest, "new_log")  # equal rows, no key
        assert sum(multiset(dest, "new_log").values()) == 200 - 28 + 2
        assert not _exists(dest, "other_log")


@pytest.mark.parametrize("dest", ["postgresql", "mysql"], indirect=True)
def test_mysql_tables_created_while_stopped_join_at_their_create(store: Store, mysql_url: str,
                                                                 dest: str) -> None:
    my.run_sql(mysql_url, my.ACCT)
    api.create_task(TaskSpec("myst", mysql_url, dest, tables=("acct", "new_*")), store)
    with deleting(store, "myst"):
        stopped_then_resumed(store, "myst", my.Writer(mysql_url),
                             lambda: my.run_sql(mysql_url, MY_NEW),
                             lambda: my.run_sql(mysql_url, MY_AFTER))
        same_rows(mysql_url, dest, ["acct", "new_orders"])
        assert multiset(mysql_url, "new_log") == multiset(dest, "new_log")
        assert not _exists(dest, "other_log")


def test_sqlite_tables_created_while_stopped_join_with_their_rows(store: Store,
                                                                  tmp_path: Path) -> None:
    source, target = tmp_path / "src.db", tmp_path / "dst.db"
    db = sqlite3.connect(source)
    db.executescript(lite.ACCT)
    db.close()
    api.create_task(TaskSpec("litest", f"sqlite:///{source}", f"sqlite:///{target}",
                             tables=("acct", "new_*")), store)
    with deleting(store, "litest"):
        stopped_then_resumed(store, "litest", lite.Writer(source), lambda: lite.run_sql(source, [
            "CREATE TABLE new_orders (id INTEGER PRIMARY KEY, acct INTEGER, note TEXT)",
            "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 300) "
            "INSERT INTO new_orders SELECT i, i % 50, 'o' || i FROM g",
            "ALTER TABLE new_orders ADD COLUMN qty INTEGER NOT NULL DEFAULT 1",
            "UPDATE new_orders SET qty = 3 WHERE id % 4 = 0",
        ]), lambda: lite.run_sql(source, [
            "INSERT INTO new_orders (id, acct, note) VALUES (1000, 1, 'after the start')"]))
        same_rows(f"sqlite:///{source}", f"sqlite:///{target}", ["acct", "new_orders"])


@pytest.mark.parametrize("dest", ["postgresql"], indirect=True)
def test_a_mysql_table_renamed_into_the_pattern_while_stopped_stops_the_task(
        store: Store, mysql_url: str, dest: str) -> None:
    """It existed before the task's position, so the stream holds no CREATE TABLE for it,
    nor its earlier rows: the task stops once caught up, naming it and the way on."""
    my.run_sql(mysql_url, [*my.ACCT, "CREATE TABLE side (id int PRIMARY KEY, v text)",
                           "INSERT INTO side VALUES (1, 'before')"])
    api.create_task(TaskSpec("myren", mysql_url, dest, tables=("acct", "new_*")), store)
    with deleting(store, "myren"):
        with running(store, "myren"):
            wait_caught_up(store, "myren", timeout=60)
        my.run_sql(mysql_url, ["RENAME TABLE side TO new_side",
                               "INSERT INTO new_side VALUES (2, 'after')"])
        with running(store, "myren", expect=("Failed",)):
            api.wait_for("myren", lambda s: s["state"] == "Failed", 60, store)
        error = api.task_status("myren", store)["error"]
        assert "'new_side'" in error and "--resnapshot" in error, error
        assert not _exists(dest, "new_side")


@pytest.mark.parametrize("dest", ["postgresql"], indirect=True)
def test_without_the_trigger_a_table_created_while_stopped_stops_the_task(
        store: Store, plain_url: str, dest: str) -> None:  # noqa: F811 - the fixture
    """No DDL in the stream and no row of the new table before its publication: the task
    stops at its start, naming the table, with nothing read."""
    pg.run_ddl(plain_url, [pg.ACCT], 0)
    api.create_task(TaskSpec("plainst", plain_url, dest, tables=("acct", "new_*")), store)
    with deleting(store, "plainst"):
        with running(store, "plainst"):
            wait_caught_up(store, "plainst", timeout=60)
        pg.run_ddl(plain_url, PG_NEW[:2], 0)
        with running(store, "plainst", expect=("Failed",)):
            api.wait_for("plainst", lambda s: s["state"] == "Failed", 60, store)
        error = api.task_status("plainst", store)["error"]
        assert "'new_orders'" in error and "--resnapshot" in error, error
        assert "--exclude new_orders" in error, error


def _exists(url: str, table: str) -> bool:
    from turnout import engines

    engine = engines.connect(url)
    try:
        return engine.table_exists(table)
    finally:
        engine.close()


@pytest.mark.parametrize("dest", ["postgresql"], indirect=True)
def test_kill_while_tables_created_while_stopped_join_changes_nothing(
        store: Store, mysql_url: str, dest: str) -> None:
    """The worker is killed (-9) again and again while it reads the new tables' CREATE
    TABLE and rows from the stream, with writes to them going on: the end is the same."""
    my.run_sql(mysql_url, my.ACCT)
    api.create_task(TaskSpec("mystkill", mysql_url, dest, tables=("acct", "new_*")), store)
    with deleting(store, "mystkill"):
        with running(store, "mystkill"):
            wait_caught_up(store, "mystkill", timeout=60)
        my.run_sql(mysql_url, MY_NEW)
        more = [f"INSERT INTO new_orders (id, acct, note) VALUES ({2000 + i}, {i}, 'more')"
                for i in range(40)] + ["ALTER TABLE new_orders ADD COLUMN later int DEFAULT 5",
                                       "UPDATE new_orders SET later = id WHERE id % 3 = 0"]
        sequence = threading.Thread(target=my.run_sql, args=(mysql_url, more, 0.05))
        writer = my.Writer(mysql_url)
        api.start_task("mystkill", store)
        writer.start()
        sequence.start()
        kill_through_ddl(store, "mystkill", mysql_url, dest, sequence, writer)
        same_rows(mysql_url, dest, ["new_orders"])
        assert multiset(mysql_url, "new_log") == multiset(dest, "new_log")


@pytest.mark.parametrize("dest", ["postgresql"], indirect=True)
def test_a_table_the_publication_did_not_take_stops_the_task(store: Store, pg_url: str,
                                                             dest: str) -> None:
    """An event trigger of an older turnout left a new table without a key out of the
    publication: its rows since are in no stream, so the start stops naming it."""
    import psycopg

    pg.run_ddl(pg_url, [pg.ACCT], 0)
    api.create_task(TaskSpec("pgunpub", pg_url, dest, tables=("acct", "new_*")), store)
    with deleting(store, "pgunpub"):
        with running(store, "pgunpub"):
            wait_caught_up(store, "pgunpub", timeout=60)
        pg.run_ddl(pg_url, ["CREATE TABLE new_log (at int, what text)",
                            "INSERT INTO new_log VALUES (1, 'a')"], 0)
        with psycopg.connect(pg_url, autocommit=True) as conn:  # as the older trigger left it
            publication = f"turnout_{store.get('pgunpub').capture_name}"
            conn.execute(f"ALTER PUBLICATION {publication} DROP TABLE new_log")
        with running(store, "pgunpub", expect=("Failed",)):
            api.wait_for("pgunpub", lambda s: s["state"] == "Failed", 60, store)
        error = api.task_status("pgunpub", store)["error"]
        assert "'new_log'" in error and "--resnapshot" in error, error
        assert not _exists(dest, "new_log")


@pytest.mark.parametrize("dest", ["postgresql"], indirect=True)
def test_without_the_trigger_a_table_renamed_to_a_selected_name_stops_at_the_start(
        store: Store, plain_url: str, dest: str) -> None:  # noqa: F811 - the fixture
    """Renamed while stopped to a name --tables selects too: the new name joins, so it is not
    among the tables the publication should hold, which still holds the table by OID: the
    task stops at its start naming the rename, with nothing read."""
    pg.run_ddl(plain_url, [pg.ACCT], 0)
    api.create_task(TaskSpec("plainren", plain_url, dest, tables=("acct", "acct_*")), store)
    with deleting(store, "plainren"):
        with running(store, "plainren"):
            wait_caught_up(store, "plainren", timeout=60)
        pg.run_ddl(plain_url, ["ALTER TABLE acct RENAME TO acct_old",
                               "INSERT INTO acct_old (id, n) VALUES (900001, 1)"], 0)
        with running(store, "plainren", expect=("Failed",)):
            api.wait_for("plainren", lambda s: s["state"] == "Failed", 60, store)
        error = api.task_status("plainren", store)["error"]
        assert "'public.acct_old'" in error and "renamed" in error, error
